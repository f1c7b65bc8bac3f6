import { test } from "node:test";
import assert from "node:assert/strict";
import { ExitCode, UsageError } from "../../src/errors.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { sync, type SyncOptions } from "../../src/pipeline/sync.ts";
import type { FakeGitHub } from "../helpers/fake-github.ts";
import { remoteBranches, remoteLog } from "../helpers/git-fixtures.ts";
import { client, tokenAuth, withFake } from "../github/support.ts";
import { makeSyncWorld, sourceOf } from "./sync-world.ts";

/** Git pushes go to the real bare remote; the stand-in learns of the wildseal/* branches as GitHub would. */
function mirrorBranches(fake: FakeGitHub, remote: string): void {
  fake.beforeNext("pulls/create", (f) => {
    for (const b of remoteBranches(remote)) if (b.startsWith("wildseal/") && !f.branchNames().includes(b)) f.pushBranch(b);
  });
}

test("pull-request mode: one PR per base, superseded on renewal, unchanged on a repeat, body with the certificate table", async () => {
  const world = await makeSyncWorld(["acme", "beta"]);
  try {
    await withFake({ owner: "acme", repo: "gitops" }, async (fake) => {
      const opts = (material: Awaited<ReturnType<typeof world.issue>>): SyncOptions => ({
        repo: world.remote.path,
        branch: "main",
        source: sourceOf(material),
        credentials: NO_CREDENTIALS,
        delivery: {
          kind: "pull-request",
          github: { auth: tokenAuth(), client: client(fake), repository: "acme/gitops", labels: ["wildseal"], autoMerge: false },
        },
      });
      const first = await world.issue(30);
      mirrorBranches(fake, world.remote.path);
      const r1 = await sync(opts(first));
      assert.equal(r1.kind, "pull-request");
      if (r1.kind !== "pull-request") return;
      assert.equal(r1.pullRequest.kind, "created");
      assert.equal(r1.branch, `wildseal/add-${first.leaf.sha256.slice(0, 12)}`);
      assert.equal(remoteLog(world.remote.path, "main").length, 1, "the base branch is not pushed to");
      const pr1 = fake.pull(r1.pullRequest.number);
      assert.equal(pr1.title, "add tenants acme, beta");
      assert.match(pr1.body, /^\| acme \| prod-east \| acme \| acme\.example\.com \| strict \| add \|$/m);
      assert.ok(pr1.body.includes(first.leaf.sha256), "the new fingerprint is in the body");

      const again = await sync(opts(first));
      assert.equal(again.kind, "pull-request");
      if (again.kind === "pull-request") assert.equal(again.pullRequest.kind, "unchanged");
      assert.equal(fake.pulls().length, 1, "an identical change opens no second PR");

      const renewed = await world.issue(0);
      mirrorBranches(fake, world.remote.path);
      const r2 = await sync(opts(renewed));
      assert.equal(r2.kind, "pull-request");
      if (r2.kind !== "pull-request") return;
      assert.equal(r2.pullRequest.kind, "created");
      assert.deepEqual(r2.pullRequest.superseded, [r1.pullRequest.number]);
      assert.equal(fake.pull(r1.pullRequest.number).state, "closed");
      assert.deepEqual(
        fake.pulls({ state: "open", base: "main" }).map((p) => p.number),
        [r2.pullRequest.number],
        "exactly one open wildseal PR for the base",
      );
      assert.ok(fake.pull(r2.pullRequest.number).body.includes(renewed.leaf.sha256));
    });
  } finally {
    world.cleanup();
  }
});

test("a malformed --github-repository is a usage error (exit 2) before anything is cloned", async () => {
  const world = await makeSyncWorld([]);
  try {
    const material = await world.issue(5);
    await assert.rejects(
      sync({
        repo: world.remote.path,
        branch: "main",
        credentials: NO_CREDENTIALS,
        source: sourceOf(material),
        delivery: { kind: "pull-request", github: { auth: tokenAuth(), repository: "acme", labels: [], autoMerge: false } },
      }),
      (e: unknown) => e instanceof UsageError && e.exitCode === ExitCode.usage && /--github-repository must be OWNER\/REPO/.test(e.message),
    );
  } finally {
    world.cleanup();
  }
});
