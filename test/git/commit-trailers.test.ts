import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { InvalidInputError } from "../../src/errors.ts";
import { type CommitSummary, commitMessage, parseTrailers } from "../../src/git/trailers.ts";

const SHA = "ab".repeat(32);
const NOT_AFTER = new Date("2026-03-01T12:00:00.789Z");

function summary(changes: CommitSummary["changes"]): CommitSummary {
  return { changes, certSha256: SHA, certNotAfter: NOT_AFTER, domain: "*.example.com" };
}

function subject(message: string): string {
  return message.split("\n")[0] ?? "";
}

/** What git itself reads as trailers: `git interpret-trailers --parse`. */
function gitTrailers(message: string): string {
  return execFileSync("git", ["interpret-trailers", "--parse"], {
    input: message,
    env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent", GIT_CONFIG_NOSYSTEM: "1", LANG: "C" },
  }).toString("utf8");
}

describe("commit message", () => {
  it("names a renewal with the domain and the tenant count", () => {
    const names = Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, "0")}`);
    const msg = commitMessage(summary([{ action: "renew", tenants: names }]));
    assert.equal(subject(msg), "renew *.example.com for 12 tenants");
  });

  it("names an added tenant", () => {
    assert.equal(subject(commitMessage(summary([{ action: "add", tenants: ["acme"] }]))), "add tenant acme");
  });

  it("joins several actions in contract order and switches to a count beyond three names", () => {
    const msg = commitMessage(
      summary([
        { action: "remove", tenants: ["old1", "old2", "old3", "old4"] },
        { action: "add", tenants: ["acme"] },
        { action: "renew", tenants: ["a", "b", "c"] },
      ]),
    );
    assert.equal(subject(msg), "renew *.example.com for 3 tenants; add tenant acme; remove 4 tenants");
  });

  it("writes exactly the contract's trailers after a blank line, tenants sorted, date without millis", () => {
    const msg = commitMessage(
      summary([
        { action: "add", tenants: ["zeta"] },
        { action: "renew", tenants: ["beta", "acme"] },
      ]),
    );
    assert.equal(
      msg,
      [
        "renew *.example.com for 2 tenants; add tenant zeta",
        "",
        "Wildseal-Action: renew, add",
        `Wildseal-Cert-Sha256: ${SHA}`,
        "Wildseal-Cert-Not-After: 2026-03-01T12:00:00Z",
        "Wildseal-Tenants: acme, beta, zeta",
        "",
      ].join("\n"),
    );
  });

  it("is read back by git interpret-trailers exactly as written", () => {
    const msg = commitMessage(summary([{ action: "reseal", tenants: ["acme", "beta"] }]));
    assert.equal(
      gitTrailers(msg),
      [
        "Wildseal-Action: reseal",
        `Wildseal-Cert-Sha256: ${SHA}`,
        "Wildseal-Cert-Not-After: 2026-03-01T12:00:00Z",
        "Wildseal-Tenants: acme, beta",
        "",
      ].join("\n"),
    );
  });

  it("refuses tenant names that could break the trailer block", () => {
    assert.throws(() => commitMessage(summary([{ action: "add", tenants: ["a, b"] }])), InvalidInputError);
    assert.throws(() => commitMessage(summary([{ action: "add", tenants: ["a\nWildseal-Action: remove"] }])), InvalidInputError);
    assert.throws(() => commitMessage(summary([])), InvalidInputError);
  });
});

describe("trailer parsing", () => {
  it("round-trips what commitMessage writes", () => {
    const msg = commitMessage(
      summary([
        { action: "renew", tenants: ["beta", "acme"] },
        { action: "remove", tenants: ["gone"] },
      ]),
    );
    assert.deepEqual(parseTrailers(msg), {
      actions: ["renew", "remove"],
      tenants: ["acme", "beta", "gone"],
      certSha256: SHA,
      certNotAfter: new Date("2026-03-01T12:00:00Z"),
    });
  });

  it("reads keys case-insensitively and folded continuation lines, as git does", () => {
    const msg = "subject\n\nbody text\n\nwildseal-action: add\nWildseal-Tenants: acme,\n  beta\nSigned-off-by: X <x@y>\n";
    assert.deepEqual(parseTrailers(msg), { actions: ["add"], tenants: ["acme", "beta"] });
  });

  it("ignores a last paragraph that is prose, and unknown actions", () => {
    assert.deepEqual(parseTrailers("subject\n\nWildseal-Action: add\nthis is prose\n"), {});
    assert.deepEqual(parseTrailers("subject\n\nWildseal-Action: destroy\n"), {});
    assert.deepEqual(parseTrailers("only a subject"), {});
  });
});
