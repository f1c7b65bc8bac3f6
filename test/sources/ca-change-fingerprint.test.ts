import assert from "node:assert/strict";
import { test } from "node:test";
import { tlsFingerprint } from "../../src/sources/tls-fingerprint.ts";
import { SecretBytes } from "../../src/tls/types.ts";

const item = (s: string): SecretBytes => new SecretBytes(Buffer.from(s));
const base = new Map([
  ["tls.crt", item("chain")],
  ["tls.key", item("key")],
]);

test("a change of ca.crt alone is a change of the source (its tenants are re-sealed); other items are not", () => {
  const withCa = new Map([...base, ["ca.crt", item("ca one")]]);
  assert.notEqual(tlsFingerprint(withCa), tlsFingerprint(base), "ca.crt added");
  assert.notEqual(tlsFingerprint(new Map([...base, ["ca.crt", item("ca two")]])), tlsFingerprint(withCa), "ca.crt replaced");
  assert.notEqual(tlsFingerprint(new Map([...base, ["ca.crt", item("")]])), tlsFingerprint(base), "an empty ca.crt differs from none");
  assert.equal(tlsFingerprint(new Map([...withCa, ["note.txt", item("x")]])), tlsFingerprint(withCa), "an unrelated item changes nothing");
});
