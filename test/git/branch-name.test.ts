import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { UsageError } from "../../src/errors.ts";
import { branchNameProblem, reviewBranchName, validateBranchName } from "../../src/git/branch-name.ts";

/** git's own verdict on `refs/heads/<name>`. */
function gitAccepts(name: string): boolean {
  try {
    execFileSync("git", ["check-ref-format", `refs/heads/${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const NAMES = [
  "main",
  "release/1.2",
  "wildseal/renew-abc123",
  "feature/x_y-z",
  "a..b",
  "x.lock",
  "a/x.lock/b",
  ".hidden",
  "a/.b",
  "trailing/",
  "/leading",
  "double//slash",
  "dot.",
  "has space",
  "tab\tname",
  "tilde~1",
  "caret^",
  "colon:x",
  "q?",
  "star*",
  "br[acket",
  "back\\slash",
  "at@{brace",
  "nul\u0001x",
  "del\u007fx",
  "ünïcode",
];

describe("branch names", () => {
  it("agree with git check-ref-format", () => {
    for (const name of NAMES) {
      assert.equal(branchNameProblem(name) === undefined, gitAccepts(name), JSON.stringify(name));
    }
  });

  it("also refuse what git would read as an option, and HEAD", () => {
    for (const name of ["-f", "--upload-pack=touch", "HEAD", "@", ""]) {
      assert.throws(() => validateBranchName(name), UsageError, JSON.stringify(name));
    }
    assert.equal(validateBranchName("main"), "main");
  });

  it("name review branches after the actions and the certificate fingerprint", () => {
    const s = {
      changes: [
        { action: "add" as const, tenants: ["acme"] },
        { action: "renew" as const, tenants: ["acme", "beta"] },
      ],
      certSha256: "ABCDEF0123456789".repeat(4),
      certNotAfter: new Date(0),
      domain: "*.example.com",
    };
    assert.equal(reviewBranchName(s), "wildseal/renew-add-abcdef012345");
    assert.equal(branchNameProblem(reviewBranchName(s)), undefined);
  });
});
