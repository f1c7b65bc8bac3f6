/**
 * Escalation wired into `watch`: evaluated after each reconcile, with the PR sync published and the
 * certificate the reconcile read. The decisions and the GitHub side in detail: escalation.test.ts and
 * escalator.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWatch, type Watcher } from "../../src/pipeline/watch.ts";
import { escalationMarker } from "../../src/pipeline/escalation.ts";
import type { EscalationSettings } from "../../src/pipeline/escalator.ts";
import type { FakeGitHub } from "../helpers/fake-github.ts";
import { remoteBranches, tempDir } from "../helpers/git-fixtures.ts";
import { client, tokenAuth, withFake } from "../github/support.ts";
import { makeSyncWorld } from "./sync-world.ts";
import { captureLog, KubeletVolume, filesOf, metricValue, reconciles, waitUntil, watchOptions } from "./watch-world.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ESCALATION: EscalationSettings = { warnBeforeMs: 21 * DAY, escalateAfterMs: 72 * HOUR, label: "wildseal-escalated", mentions: ["@acme/platform"] };

function mirrorBranches(fake: FakeGitHub, remote: string): void {
  const copy = (f: FakeGitHub): void => {
    for (const b of remoteBranches(remote)) if (b.startsWith("wildseal/") && !f.branchNames().includes(b)) f.pushBranch(b);
  };
  fake.beforeNext("pulls/create", copy);
}

test("watch in pull-request mode: a PR unmerged past --escalate-after is commented on and labelled once over several reconciles", { timeout: 90_000 }, async () => {
  const world = await makeSyncWorld(["acme"]);
  const dir = tempDir("wildseal-escalation-");
  const captured = captureLog();
  let watcher: Watcher | undefined;
  try {
    await withFake({ owner: "acme", repo: "gitops" }, async (fake) => {
      const volume = new KubeletVolume(`${dir.path}/secret`);
      await volume.create(filesOf(await world.issue(0)));
      mirrorBranches(fake, world.remote.path);
      watcher = await startWatch(
        watchOptions(world, { kind: "volume", dir: volume.dir, rereadIntervalMs: 60_000 }, captured, {
          delivery: { kind: "pull-request", github: { auth: tokenAuth(), client: client(fake), repository: "acme/gitops", labels: ["wildseal"], autoMerge: false } },
          escalation: ESCALATION,
          // three days and an hour after the PR is opened
          now: () => new Date(Date.now() + 73 * HOUR),
          resyncIntervalMs: 150,
        }),
      );
      const w = watcher;
      await waitUntil(async () => (await reconciles(w.metrics)) >= 4, "four reconciles");
      await w.stop();
      const [pr] = fake.pulls({ state: "open" });
      assert.ok(pr !== undefined, "a PR is open");
      assert.equal(pr.comments.length, 1, "one comment over every reconcile");
      assert.ok(pr.comments[0]?.body.includes(escalationMarker("pull-request")));
      assert.match(pr.comments[0]?.body ?? "", /^cc @acme\/platform$/m);
      assert.deepEqual(pr.labels.map((l) => l.name).sort(), ["wildseal", "wildseal-escalated"]);
      assert.equal(fake.exchangesFor("issues/create-comment").length, 1);
      assert.equal(fake.exchangesFor("pulls/get").length, 1, "the PR is read once per process");
      assert.equal(await metricValue(w.metrics, "wildseal_escalation_active", { reason: "pull-request" }), 1);
      // no verifier runs and the base branch holds nothing yet: the source certificate (90 days) is not near expiry
      assert.equal(await metricValue(w.metrics, "wildseal_escalation_active", { reason: "expiry" }), 0);
    });
  } finally {
    await watcher?.stop();
    world.cleanup();
    dir.cleanup();
  }
});

test("watch in push mode: a source certificate within --warn-before warns once and sets the gauge; a given served notAfter wins", { timeout: 90_000 }, async () => {
  const world = await makeSyncWorld(["acme"]);
  const dir = tempDir("wildseal-escalation-");
  const captured = captureLog();
  let watcher: Watcher | undefined;
  try {
    const volume = new KubeletVolume(`${dir.path}/secret`);
    // issued 80 days ago, valid for 90: ten days left
    const cert = await world.issue(80);
    await volume.create(filesOf(cert));
    let served: Date | undefined;
    watcher = await startWatch(
      watchOptions(world, { kind: "volume", dir: volume.dir, rereadIntervalMs: 60_000 }, captured, {
        escalation: ESCALATION,
        servedNotAfter: () => served,
        resyncIntervalMs: 150,
      }),
    );
    const w = watcher;
    await waitUntil(async () => (await reconciles(w.metrics)) >= 3, "three reconciles");
    assert.equal(await metricValue(w.metrics, "wildseal_escalation_active", { reason: "expiry" }), 1);
    assert.equal(await metricValue(w.metrics, "wildseal_escalation_not_after_seconds", { source: "source" }), cert.leaf.notAfter.getTime() / 1000);
    const warned = () => captured.lines.map((l) => JSON.parse(l) as { level: string; msg: string; component?: string }).filter((l) => l.component === "escalation");
    assert.equal(warned().filter((l) => l.level === "warn").length, 1, "one warn line, not one per reconcile");
    assert.match(warned()[0]?.msg ?? "", /the source certificate .* expires in (9d|10d)/);

    served = new Date(Date.now() + 60 * DAY);
    const n = await reconciles(w.metrics);
    await waitUntil(async () => (await reconciles(w.metrics)) >= n + 2, "two more reconciles");
    assert.equal(await metricValue(w.metrics, "wildseal_escalation_active", { reason: "expiry" }), 0);
    assert.equal(warned().filter((l) => l.msg.startsWith("escalation cleared")).length, 1);
  } finally {
    await watcher?.stop();
    world.cleanup();
    dir.cleanup();
  }
});
