import { test } from "node:test";
import assert from "node:assert/strict";
import { publishPullRequest } from "../../src/github/pull-request.ts";
import { apiBaseUrl } from "../../src/github/repo-ref.ts";
import { pullRequestMarker } from "../../src/github/pr-body.ts";
import { ACME, BETA, CERT_A, CERT_B, change, client, withFake } from "./support.ts";
import { captureLog } from "../helpers/capture-log.ts";

function openWildsealPulls(fake: Parameters<Parameters<typeof withFake>[1]>[0], base = "main") {
  return fake.pulls({ state: "open", base }).filter((p) => p.head.startsWith("wildseal/"));
}

test("the first change opens a pull request with labels and the tenant and certificate tables", async () => {
  await withFake({}, async (fake) => {
    const opts = change(fake, { actions: ["add"], cert: CERT_A, tenants: [{ ...ACME, change: "add" }], labels: ["wildseal", "tls"] });
    const r = await publishPullRequest(client(fake), opts);
    assert.equal(r.kind, "created");
    assert.deepEqual(r.superseded, []);
    assert.deepEqual(r.autoMerge, { kind: "not-requested" });
    const pr = fake.pull(r.number);
    assert.equal(r.url, `${fake.baseUrl}/acme/gitops/pull/${r.number}`);
    assert.equal(pr.head, "wildseal/add-aaaaaaaaaaaa");
    assert.equal(pr.base, "main");
    assert.equal(pr.title, "add *.example.com for 1 tenant");
    assert.deepEqual(pr.labels.map((l) => l.name), ["wildseal", "tls"]);
    assert.match(pr.body, /^\| acme \| prod-east \| acme \| acme\.example\.com \| strict \| add \|$/m);
    assert.match(pr.body, /^\| SHA-256 fingerprint ✱ \| \(none\) \| a{12}0{52} \|$/m);
    assert.ok(pr.body.includes(pullRequestMarker("main")));
    assert.deepEqual(fake.exchanges.map((e) => `${e.operation} ${e.status}`), ["pulls/list 200", "pulls/create 201", "issues/add-labels 200"]);
    assert.ok(fake.exchanges.every((e) => e.userAgent?.startsWith("wildseal/0.1.0 ") === true), fake.exchanges[0]?.userAgent);
  });
});

test("a renewal opens its successor, closes the old PR with a pointer, deletes its branch: one open PR per base", async () => {
  await withFake({}, async (fake) => {
    const octokit = client(fake);
    const first = await publishPullRequest(octokit, change(fake, { actions: ["renew"], cert: CERT_A, tenants: [ACME] }));
    const second = await publishPullRequest(octokit, change(fake, { actions: ["renew"], cert: CERT_B, before: CERT_A, tenants: [ACME] }));
    assert.equal(second.kind, "created");
    assert.notEqual(second.number, first.number);
    assert.deepEqual(second.superseded, [first.number]);
    const old = fake.pull(first.number);
    assert.equal(old.state, "closed");
    assert.deepEqual(old.comments.map((c) => c.body.split(":")[0]), [`Superseded by #${second.number}`]);
    assert.ok(!fake.branchNames().includes("wildseal/renew-aaaaaaaaaaaa"), "old branch deleted");
    assert.ok(fake.branchNames().includes("wildseal/renew-bbbbbbbbbbbb"));
    assert.deepEqual(openWildsealPulls(fake).map((p) => p.number), [second.number]);
    assert.match(fake.pull(second.number).body, /^\| Serial ✱ \| 0A \| 0B \|$/m);
  });
});

test("the same change again is unchanged: no second PR, no write", async () => {
  await withFake({}, async (fake) => {
    const octokit = client(fake);
    const first = await publishPullRequest(octokit, change(fake, { actions: ["renew"], cert: CERT_B, before: CERT_A, tenants: [ACME, BETA] }));
    const writesBefore = fake.exchanges.length;
    const again = await publishPullRequest(octokit, change(fake, { actions: ["renew"], cert: CERT_B, before: CERT_A, tenants: [BETA, ACME] }));
    assert.deepEqual({ kind: again.kind, number: again.number, superseded: again.superseded }, { kind: "unchanged", number: first.number, superseded: [] });
    assert.deepEqual(fake.exchanges.slice(writesBefore).map((e) => e.operation), ["pulls/list"]);
    assert.equal(fake.pulls().length, 1);
  });
});

test("a different change on the same branch updates the open PR in place", async () => {
  await withFake({}, async (fake) => {
    const octokit = client(fake);
    const first = await publishPullRequest(octokit, change(fake, { actions: ["add"], cert: CERT_A, tenants: [{ ...ACME, change: "add" }] }));
    const second = await publishPullRequest(
      octokit,
      change(fake, { actions: ["add"], cert: CERT_A, tenants: [{ ...ACME, change: "add" }, { ...BETA, change: "add" }] }),
    );
    assert.equal(second.kind, "updated");
    assert.equal(second.number, first.number);
    const pr = fake.pull(first.number);
    assert.equal(pr.title, "add *.example.com for 2 tenants");
    assert.match(pr.body, /^\| beta \| prod-east \| beta \| beta\.example\.com \| strict \| add \|$/m);
    assert.equal(fake.pulls().length, 1);
    // labels were already there: not added again
    assert.equal(fake.exchangesFor("issues/add-labels").length, 1);
  });
});

test("422 'a pull request already exists' from a concurrent publisher is adopted and updated", async () => {
  await withFake({}, async (fake) => {
    const opts = change(fake, { actions: ["renew"], cert: CERT_B, before: CERT_A, tenants: [ACME] });
    // another replica opens the same branch's PR between our listing and our create
    fake.beforeNext("pulls/create", (f) => {
      f.openPullRequestAs("wildseal-bot", { head: opts.head, title: "stale title", body: `stale\n\n${pullRequestMarker("main")}` });
    });
    const r = await publishPullRequest(client(fake), opts);
    assert.deepEqual(fake.exchangesFor("pulls/create").map((e) => e.status), [422]);
    assert.equal(r.kind, "updated");
    assert.equal(fake.pulls().length, 1);
    assert.equal(fake.pull(r.number).title, opts.title);
    assert.equal(fake.pull(r.number).body, opts.body);
    assert.deepEqual(fake.pull(r.number).labels.map((l) => l.name), ["wildseal", "tls"]);
  });
});

test("auto-merge is enabled through GraphQL, and not requested again once on", async () => {
  await withFake({}, async (fake) => {
    const octokit = client(fake);
    const opts = { ...change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }), autoMerge: "SQUASH" as const };
    const r = await publishPullRequest(octokit, opts);
    assert.deepEqual(r.autoMerge, { kind: "enabled" });
    assert.deepEqual(fake.pull(r.number).autoMerge, { mergeMethod: "SQUASH" });
    const again = await publishPullRequest(octokit, opts);
    assert.deepEqual(again.autoMerge, { kind: "already-enabled" });
    assert.equal(fake.exchangesFor("graphql").length, 1);
  });
});

test("auto-merge refused with 'clean status' (or not allowed) is logged, and the PR still stands", async () => {
  await withFake({}, async (fake) => {
    const { log, lines } = captureLog();
    fake.graphqlErrorNext("Pull request Pull request is in clean status");
    const r = await publishPullRequest(client(fake, { log }), {
      ...change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }),
      autoMerge: "MERGE",
      log,
    });
    assert.equal(r.kind, "created");
    assert.deepEqual(r.autoMerge, { kind: "declined", reason: "Pull request Pull request is in clean status" });
    assert.ok(lines.some((l) => l.includes('"level":"warn"') && l.includes("auto-merge not enabled") && l.includes("clean status")));
  });
  await withFake({ autoMergeAllowed: false }, async (fake) => {
    const r = await publishPullRequest(client(fake), { ...change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }), autoMerge: "REBASE" });
    assert.equal(r.autoMerge.kind, "declined");
    assert.equal(fake.pull(r.number).state, "open");
  });
});

test("people's PRs, unmarked wildseal/ branches and other bases are never closed", async () => {
  await withFake({}, async (fake) => {
    fake.pushBranch("release");
    const human = fake.openPullRequestAs("alice", { head: "feature/docs", title: "docs", body: "docs" });
    const unmarked = fake.openPullRequestAs("alice", { head: "wildseal/my-experiment", title: "mine", body: "no marker here" });
    const octokit = client(fake);
    const release = await publishPullRequest(octokit, change(fake, { actions: ["renew"], cert: CERT_A, tenants: [ACME], base: "release" }));
    await publishPullRequest(octokit, change(fake, { actions: ["renew"], cert: CERT_A, tenants: [ACME] }));
    const r = await publishPullRequest(octokit, change(fake, { actions: ["renew"], cert: CERT_B, before: CERT_A, tenants: [ACME] }));
    assert.equal(r.superseded.length, 1);
    for (const n of [human.number, unmarked.number, release.number]) assert.equal(fake.pull(n).state, "open", `#${n}`);
    assert.deepEqual(openWildsealPulls(fake, "release").map((p) => p.number), [release.number]);
    // main's superseded PR shared its branch with release's open PR: the branch stays
    assert.ok(fake.branchNames().includes("wildseal/renew-aaaaaaaaaaaa"));
  });
});

test("open PRs are read across pages, so an old wildseal PR on a later page is still superseded", async () => {
  await withFake({ maxPerPage: 2 }, async (fake) => {
    const octokit = client(fake);
    const old = await publishPullRequest(octokit, change(fake, { actions: ["renew"], cert: CERT_A, tenants: [ACME] }));
    for (let i = 0; i < 5; i++) fake.openPullRequestAs("alice", { head: `feature/${i}`, title: `f${i}`, body: "" });
    const r = await publishPullRequest(octokit, change(fake, { actions: ["renew"], cert: CERT_B, before: CERT_A, tenants: [ACME] }));
    assert.deepEqual(r.superseded, [old.number]);
    assert.ok(fake.exchangesFor("pulls/list").length >= 1 + 3, "the second listing took three pages");
    assert.deepEqual(openWildsealPulls(fake).map((p) => p.number), [r.number]);
  });
});

test("GitHub Enterprise Server: REST under /api/v3 and GraphQL under /api/graphql", async () => {
  await withFake({ enterprise: true }, async (fake) => {
    const baseUrl = apiBaseUrl("ghe.corp.example", fake.baseUrl);
    const r = await publishPullRequest(client(fake, { baseUrl }), {
      ...change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }),
      autoMerge: "SQUASH",
    });
    assert.equal(r.kind, "created");
    assert.deepEqual(r.autoMerge, { kind: "enabled" });
    assert.ok(fake.exchanges.every((e) => e.path.startsWith("/api/")));
    assert.deepEqual(fake.exchangesFor("graphql").map((e) => e.path), ["/api/graphql"]);
  });
});
