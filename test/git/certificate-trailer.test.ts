import { test } from "node:test";
import assert from "node:assert/strict";
import { commitMessage, parseTrailers } from "../../src/git/trailers.ts";

test("one Wildseal-Certificate trailer per renewed certificate, read back as a list; none without certificates", () => {
  const base = {
    changes: [{ action: "renew" as const, tenants: ["acme", "orga"] }],
    certSha256: "a".repeat(64),
    certNotAfter: new Date("2027-01-01T00:00:00Z"),
    domain: "*.example.com",
  };
  const message = commitMessage({ ...base, certificates: ["com", "org"] });
  assert.match(message, /\nWildseal-Tenants: acme, orga\nWildseal-Certificate: com\nWildseal-Certificate: org\n$/);
  assert.deepEqual(parseTrailers(message).certificates, ["com", "org"]);
  assert.deepEqual(parseTrailers(message).tenants, ["acme", "orga"]);
  const plain = commitMessage(base);
  assert.doesNotMatch(plain, /Wildseal-Certificate/);
  assert.equal(parseTrailers(plain).certificates, undefined);
  assert.throws(() => commitMessage({ ...base, certificates: ["Not A Label"] }), /certificate name "Not A Label" is not a DNS label/);
});
