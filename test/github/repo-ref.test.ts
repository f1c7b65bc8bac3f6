import { test } from "node:test";
import assert from "node:assert/strict";
import { apiBaseUrl, hostOfApiUrl, parseRepositoryFlag, pullRequestRepository, repoFromRemoteUrl } from "../../src/github/repo-ref.ts";
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

test("--github-repository is read by the remote's own owner/repo parser: a bad value is a usage error, not a crash", () => {
  assert.deepEqual(parseRepositoryFlag("acme/gitops"), { owner: "acme", repo: "gitops" });
  assert.deepEqual(parseRepositoryFlag("acme/gitops.git"), { owner: "acme", repo: "gitops" });
  for (const bad of ["acme", "acme/", "/gitops", "acme/gitops/extra", "", "-acme/gitops", "acme/git ops"]) {
    assert.throws(() => parseRepositoryFlag(bad), (e: unknown) => e instanceof UsageError && /--github-repository/.test(e.message), bad);
  }
});

test("an explicit repository lives on the host of --github-api-url, else the remote's, else github.com", () => {
  const repository = "acme/gitops";
  assert.equal(hostOfApiUrl("https://api.github.com"), "github.com");
  assert.equal(hostOfApiUrl("https://api.octo.ghe.com/"), "octo.ghe.com");
  assert.equal(hostOfApiUrl("https://ghe.corp.example:8443/api/v3"), "ghe.corp.example:8443");
  assert.deepEqual(pullRequestRepository("/srv/git/gitops.git", { repository, apiUrl: "https://ghe.corp.example/api/v3" }), {
    owner: "acme",
    repo: "gitops",
    host: "ghe.corp.example",
  });
  // a GitHub Enterprise remote whose path is no owner/repo: the API is still its host's
  const ghe = pullRequestRepository("https://ghe.corp.example/scm/platform/gitops.git", { repository });
  assert.equal(ghe.host, "ghe.corp.example");
  assert.equal(apiBaseUrl(ghe.host), "https://ghe.corp.example/api/v3");
  assert.equal(pullRequestRepository("/srv/git/gitops.git", { repository }).host, "github.com");
  assert.deepEqual(pullRequestRepository("git@github.com:acme/gitops.git", {}), { owner: "acme", repo: "gitops", host: "github.com" });
  assert.throws(() => pullRequestRepository("/srv/git/gitops.git", { repository, apiUrl: "ftp://x" }), UsageError);
});
