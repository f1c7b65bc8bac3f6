import { test } from "node:test";
import assert from "node:assert/strict";
import { warnAboutUrlPassword } from "../../src/cli/sync.ts";

test("a password inside --repo draws a warning that does not repeat it", () => {
  let stderr = "";
  warnAboutUrlPassword("https://x-access-token:ghp_s3cretToken@github.com/acme/gitops.git", (s) => void (stderr += s));
  assert.match(stderr, /carries a password, which the process list shows; use WILDSEAL_GIT_TOKEN_FILE/);
  assert.doesNotMatch(stderr, /ghp_s3cretToken/);
  for (const quiet of ["https://github.com/acme/gitops.git", "https://user@github.com/acme/gitops.git", "/srv/git/gitops.git", "git@github.com:acme/gitops.git"]) {
    let out = "";
    warnAboutUrlPassword(quiet, (s) => void (out += s));
    assert.equal(out, "", quiet);
  }
});
