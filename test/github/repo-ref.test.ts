import { test } from "node:test";
import assert from "node:assert/strict";
import { apiBaseUrl, repoFromRemoteUrl } from "../../src/github/repo-ref.ts";
import { UsageError } from "../../src/errors.ts";

test("owner and repo are read from https, scp-like ssh and ssh:// remotes", () => {
  const cases: [string, { owner: string; repo: string; host: string }][] = [
    ["https://github.com/acme/gitops.git", { owner: "acme", repo: "gitops", host: "github.com" }],
    ["https://github.com/acme/gitops", { owner: "acme", repo: "gitops", host: "github.com" }],
    ["https://github.com/acme/gitops/", { owner: "acme", repo: "gitops", host: "github.com" }],
    ["https://x-access-token:ghs_secret@github.com/acme/gitops.git", { owner: "acme", repo: "gitops", host: "github.com" }],
    ["https://GHE.Corp.example:8443/platform/tls.repo.git", { owner: "platform", repo: "tls.repo", host: "ghe.corp.example:8443" }],
    ["git@github.com:acme/gitops.git", { owner: "acme", repo: "gitops", host: "github.com" }],
    ["org-42@ghe.corp.example:acme/gitops", { owner: "acme", repo: "gitops", host: "ghe.corp.example" }],
    ["ssh://git@github.com/acme/gitops", { owner: "acme", repo: "gitops", host: "github.com" }],
    ["ssh://git@ghe.corp.example:2222/acme/gitops.git", { owner: "acme", repo: "gitops", host: "ghe.corp.example" }],
  ];
  for (const [url, want] of cases) assert.deepEqual(repoFromRemoteUrl(url), want, url);
});

test("anything that is not a GitHub owner/repo remote is a usage error", () => {
  for (const url of [
    "/srv/git/gitops.git",
    "file:///srv/git/gitops.git",
    "http://github.com/acme/gitops.git",
    "git://github.com/acme/gitops.git",
    "https://github.com/acme",
    "https://github.com/acme/gitops/tree/main",
    "https://github.com/-acme/gitops",
    "git@github.com:/acme/gitops.git",
    "https://github.com/acme/gitops.git?x=1",
    "",
  ]) {
    assert.throws(() => repoFromRemoteUrl(url), UsageError, url);
  }
});

test("a rejected remote's error message never shows its credentials", () => {
  const err = (() => {
    try {
      repoFromRemoteUrl("https://user:ghp_supersecret@github.com/acme");
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  assert.ok(err instanceof UsageError);
  assert.doesNotMatch(err.message, /supersecret/);
  assert.match(err.message, /https:\/\/\*\*\*@github\.com\/acme/);
});

test("the API base URL is api.github.com, <host>/api/v3 for GitHub Enterprise Server, or the override", () => {
  assert.equal(apiBaseUrl("github.com"), "https://api.github.com");
  assert.equal(apiBaseUrl("ghe.corp.example"), "https://ghe.corp.example/api/v3");
  assert.equal(apiBaseUrl("ghe.corp.example:8443"), "https://ghe.corp.example:8443/api/v3");
  assert.equal(apiBaseUrl("octo.ghe.com"), "https://api.octo.ghe.com");
  assert.equal(apiBaseUrl("github.com", "http://127.0.0.1:9999/api/v3/"), "http://127.0.0.1:9999/api/v3");
  assert.throws(() => apiBaseUrl("github.com", "ftp://x"), UsageError);
  assert.throws(() => apiBaseUrl("github.com", "https://u:p@ghe.example/api/v3"), UsageError);
});
