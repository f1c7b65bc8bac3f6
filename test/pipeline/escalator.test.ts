/**
 * Escalation against the GitHub stand-in: one comment and one label per pull request, not one per
 * reconcile, and none again after a restart (the hidden marker is found). Every request is counted;
 * the stand-in checks each against GitHub's OpenAPI description.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createMetrics, type WildsealMetrics } from "../../src/ops/metrics.ts";
import { createEscalator, type EscalationSettings, type Escalator } from "../../src/pipeline/escalator.ts";
import { escalationMarker } from "../../src/pipeline/escalation.ts";
import type { SyncOutcome } from "../../src/pipeline/sync.ts";
import type { FakeGitHub } from "../helpers/fake-github.ts";
import { captureLog, type CapturedLog } from "../helpers/capture-log.ts";
import { client, withFake } from "../github/support.ts";
import { metricValue } from "./watch-world.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SETTINGS: EscalationSettings = { warnBeforeMs: 21 * DAY, escalateAfterMs: 72 * HOUR, label: "wildseal-escalated", mentions: [] };
const ESCALATION_OPS = ["pulls/get", "issues/list-comments", "issues/create-comment", "issues/add-labels"];

/** What sync reports in pull-request mode while PR #number is pending. */
function pending(number: number, committedNotAfter?: Date): SyncOutcome {
  return {
    kind: "pull-request",
    tip: "a".repeat(40),
    commit: "b".repeat(40),
    branch: "wildseal/renew-bbbbbbbbbbbb",
    summary: { changes: [{ action: "renew", tenants: ["acme"] }], certSha256: "b".repeat(64), certNotAfter: new Date("2027-03-01T00:00:00Z"), domain: "*.example.com" },
    pullRequest: { kind: "unchanged", number, url: `https://example.invalid/pull/${number}`, superseded: [], autoMerge: { kind: "not-requested" } },
    diagnostics: [],
    changes: [],
    ...(committedNotAfter === undefined ? {} : { committedNotAfter }),
  };
}

const MERGED_INTO_BASE: SyncOutcome = { kind: "unchanged", tip: "c".repeat(40), diagnostics: [], changes: [] };

interface Process {
  readonly escalator: Escalator;
  readonly metrics: WildsealMetrics;
  readonly captured: CapturedLog;
  /** moves this process's clock */
  setNow(d: Date): void;
}

/** One wildseal process (its own memory, metrics and log) against the stand-in. */
function start(fake: FakeGitHub, now: Date, more: { settings?: Partial<EscalationSettings>; served?: () => Date | undefined; retries?: number } = {}): Process {
  let clock = now;
  const captured = captureLog();
  const metrics = createMetrics({ defaultMetrics: false });
  const octokit = client(fake, more.retries === undefined ? {} : { retries: more.retries });
  const escalator = createEscalator({
    settings: { ...SETTINGS, ...more.settings },
    log: captured.log,
    metrics,
    now: () => clock,
    ...(more.served === undefined ? {} : { servedNotAfter: more.served }),
    github: { owner: fake.owner, repo: fake.repo, client: () => Promise.resolve(octokit) },
  });
  return { escalator, metrics, captured, setNow: (d) => (clock = d) };
}

function openRenewal(fake: FakeGitHub): { number: number; createdAt: Date } {
  const pr = fake.openPullRequestAs("wildseal-bot", { head: "wildseal/renew-bbbbbbbbbbbb", title: "renew *.example.com for 1 tenant", body: "renewal" });
  return { number: pr.number, createdAt: new Date(pr.createdAt) };
}

function escalationRequests(fake: FakeGitHub): string[] {
  return fake.exchanges.filter((e) => ESCALATION_OPS.includes(e.operation)).map((e) => `${e.operation} ${e.status}`);
}

function warnings(c: CapturedLog): string[] {
  return c.lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === "warn").map((l) => l.msg);
}

/** One reconcile as watch runs it: sync reported, then escalation evaluated. */
async function reconcile(p: Process, outcome: SyncOutcome): Promise<void> {
  p.escalator.observeSync(outcome);
  await p.escalator.evaluate();
}

test("a stuck PR gets one comment and the label; the second and third reconciles make no GitHub request at all", async () => {
  await withFake({}, async (fake) => {
    const pr = openRenewal(fake);
    const p = start(fake, new Date(pr.createdAt.getTime() + 73 * HOUR));
    await reconcile(p, pending(pr.number));
    assert.deepEqual(escalationRequests(fake), ["pulls/get 200", "issues/list-comments 200", "issues/create-comment 201", "issues/add-labels 200"]);
    const comments = fake.pull(pr.number).comments;
    assert.equal(comments.length, 1);
    assert.ok(comments[0]?.body.includes(escalationMarker("pull-request")));
    assert.match(comments[0]?.body ?? "", new RegExp(`#${pr.number} is unmerged after 3d 1h`));
    assert.doesNotMatch(comments[0]?.body ?? "", /cc @/);
    assert.deepEqual(fake.pull(pr.number).labels.map((l) => l.name), ["wildseal-escalated"]);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "pull-request" }), 1);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "expiry" }), 0);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_github_actions_total", { action: "comment" }), 1);
    assert.equal(Math.round(await metricValue(p.metrics, "wildseal_pull_request_age_seconds")), 73 * 3600);

    const before = fake.exchanges.length;
    p.setNow(new Date(pr.createdAt.getTime() + 80 * HOUR));
    await reconcile(p, pending(pr.number));
    await reconcile(p, pending(pr.number));
    assert.equal(fake.exchanges.length, before, "no request on later reconciles");
    assert.equal(fake.pull(pr.number).comments.length, 1);
    assert.equal(warnings(p.captured).filter((m) => m.startsWith("escalation:")).length, 1, "warned once, on the state change");
  });
});

test("a restart finds its earlier comment by the marker and the label already on: reads, posts nothing", async () => {
  await withFake({}, async (fake) => {
    const pr = openRenewal(fake);
    const later = new Date(pr.createdAt.getTime() + 96 * HOUR);
    await reconcile(start(fake, later), pending(pr.number));
    assert.equal(fake.pull(pr.number).comments.length, 1);
    const before = fake.exchanges.length;

    const restarted = start(fake, later);
    await reconcile(restarted, pending(pr.number));
    assert.deepEqual(fake.exchanges.slice(before).map((e) => e.operation), ["pulls/get", "issues/list-comments"]);
    assert.equal(fake.pull(pr.number).comments.length, 1);
    assert.equal(fake.pull(pr.number).labels.length, 1);
    assert.equal(await metricValue(restarted.metrics, "wildseal_escalation_active", { reason: "pull-request" }), 1, "still escalated");
    assert.equal(await metricValue(restarted.metrics, "wildseal_escalation_github_actions_total", { action: "comment" }), 0);
  });
});

test("the marker is found beyond the first page of a long discussion", async () => {
  await withFake({ maxPerPage: 2 }, async (fake) => {
    const pr = openRenewal(fake);
    for (let i = 0; i < 5; i++) fake.addComment(pr.number, `review note ${i}`);
    fake.addComment(pr.number, `**wildseal escalation**\n\n${escalationMarker("pull-request")}\n`, "wildseal-bot");
    await reconcile(start(fake, new Date(pr.createdAt.getTime() + 96 * HOUR)), pending(pr.number));
    assert.equal(fake.exchangesFor("issues/list-comments").length, 3);
    assert.equal(fake.exchangesFor("issues/create-comment").length, 0);
    assert.equal(fake.pull(pr.number).comments.length, 6);
  });
});

test("the comment mentions the configured team", async () => {
  await withFake({}, async (fake) => {
    const pr = openRenewal(fake);
    const p = start(fake, new Date(pr.createdAt.getTime() + 73 * HOUR), { settings: { mentions: ["@acme/platform", "@alice"] } });
    await reconcile(p, pending(pr.number));
    assert.match(fake.pull(pr.number).comments[0]?.body ?? "", /^cc @acme\/platform @alice$/m);
  });
});

test("a young PR is read once; when it gets old the comment and label follow without reading it again", async () => {
  await withFake({}, async (fake) => {
    const pr = openRenewal(fake);
    const p = start(fake, new Date(pr.createdAt.getTime() + HOUR));
    await reconcile(p, pending(pr.number));
    await reconcile(p, pending(pr.number));
    assert.deepEqual(escalationRequests(fake), ["pulls/get 200"]);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "pull-request" }), 0);
    p.setNow(new Date(pr.createdAt.getTime() + 73 * HOUR));
    await reconcile(p, pending(pr.number));
    assert.deepEqual(escalationRequests(fake), ["pulls/get 200", "issues/list-comments 200", "issues/create-comment 201", "issues/add-labels 200"]);
  });
});

test("a merged PR is not escalated, however old", async () => {
  await withFake({}, async (fake) => {
    const pr = openRenewal(fake);
    fake.mergePullRequest(pr.number);
    const p = start(fake, new Date(pr.createdAt.getTime() + 30 * DAY));
    await reconcile(p, pending(pr.number));
    assert.deepEqual(escalationRequests(fake), ["pulls/get 200"]);
    assert.equal(fake.pull(pr.number).comments.length, 0);
    assert.equal(fake.pull(pr.number).labels.length, 0);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "pull-request" }), 0);
  });
});

test("a closed PR is not escalated, and a base branch that holds everything clears the escalation", async () => {
  await withFake({}, async (fake) => {
    const stuck = openRenewal(fake);
    const p = start(fake, new Date(stuck.createdAt.getTime() + 73 * HOUR));
    await reconcile(p, pending(stuck.number));
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "pull-request" }), 1);
    // merged meanwhile: the next sync finds the base branch up to date
    await reconcile(p, MERGED_INTO_BASE);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "pull-request" }), 0);
    assert.equal(await metricValue(p.metrics, "wildseal_pull_request_age_seconds"), 0);
    const cleared = p.captured.lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.msg.startsWith("escalation cleared"));
    assert.equal(cleared.length, 1);
    assert.equal(cleared[0]?.level, "info");

    const closed = fake.openPullRequestAs("wildseal-bot", { head: "wildseal/add-cccccccccccc", title: "add tenant beta", body: "x" });
    const q = start(fake, new Date(Date.parse(closed.createdAt) + 30 * DAY));
    // closed by a person after this process's last sync saw it open
    fake.pull(closed.number).state = "closed";
    await reconcile(q, pending(closed.number));
    assert.equal(fake.pull(closed.number).comments.length, 0);
  });
});

test("expiry: the served notAfter within --warn-before warns once, comments on the pending PR once, and clears", async () => {
  await withFake({}, async (fake) => {
    const pr = openRenewal(fake);
    let served: Date | undefined = new Date(pr.createdAt.getTime() + 30 * DAY);
    const p = start(fake, pr.createdAt, { served: () => served });
    await reconcile(p, pending(pr.number));
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "expiry" }), 0);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_not_after_seconds", { source: "served" }), served.getTime() / 1000);

    served = new Date(pr.createdAt.getTime() + 20 * DAY);
    await reconcile(p, pending(pr.number));
    await reconcile(p, pending(pr.number));
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "expiry" }), 1);
    assert.equal(warnings(p.captured).length, 1);
    assert.match(warnings(p.captured)[0] ?? "", /earliest certificate served to tenants .* expires in 20d/);
    const comments = fake.pull(pr.number).comments;
    assert.equal(comments.length, 1);
    assert.ok(comments[0]?.body.includes(escalationMarker("expiry")));
    assert.ok(!comments[0]?.body.includes(escalationMarker("pull-request")), "the PR itself is young");

    // three days on the PR is stuck as well: one more comment, for that reason only; the label is on already
    p.setNow(new Date(pr.createdAt.getTime() + 73 * HOUR));
    await reconcile(p, pending(pr.number));
    assert.equal(fake.pull(pr.number).comments.length, 2);
    assert.ok(fake.pull(pr.number).comments[1]?.body.includes(escalationMarker("pull-request")));
    assert.ok(!fake.pull(pr.number).comments[1]?.body.includes(escalationMarker("expiry")));
    assert.equal(fake.exchangesFor("issues/add-labels").length, 1);

    // the renewed certificate is served
    served = new Date(pr.createdAt.getTime() + 90 * DAY);
    await reconcile(p, MERGED_INTO_BASE);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "expiry" }), 0);
  });
});

test("without a verifier, the certificate the base branch holds stands in for the served one, else the source certificate", async () => {
  await withFake({}, async (fake) => {
    const pr = openRenewal(fake);
    const p = start(fake, pr.createdAt);
    p.escalator.observeSource(new Date(pr.createdAt.getTime() + 90 * DAY));
    await reconcile(p, pending(pr.number, new Date(pr.createdAt.getTime() + 10 * DAY)));
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "expiry" }), 1, "the old certificate is still live");
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_not_after_seconds", { source: "committed" }), (pr.createdAt.getTime() + 10 * DAY) / 1000);
    await reconcile(p, MERGED_INTO_BASE);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_active", { reason: "expiry" }), 0);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_not_after_seconds", { source: "source" }), (pr.createdAt.getTime() + 90 * DAY) / 1000);
    assert.equal(await metricValue(p.metrics, "wildseal_escalation_not_after_seconds", { source: "committed" }), 0, "the stale series is gone");
  });
});

test("a GitHub failure is logged and counted, not fatal, and the comment follows on the next reconcile", async () => {
  await withFake({}, async (fake) => {
    const pr = openRenewal(fake);
    fake.beforeNext("issues/create-comment", (f) => f.failNext(1, 500));
    const q = start(fake, new Date(pr.createdAt.getTime() + 73 * HOUR), { retries: 0 });
    await reconcile(q, pending(pr.number));
    assert.equal(fake.pull(pr.number).comments.length, 0);
    assert.equal(await metricValue(q.metrics, "wildseal_escalation_github_failures_total"), 1);
    assert.ok(warnings(q.captured).some((m) => /commenting on the pull request failed; retried on the next reconcile/.test(m)));
    await reconcile(q, pending(pr.number));
    assert.equal(fake.pull(pr.number).comments.length, 1);
    assert.equal(fake.exchangesFor("issues/add-labels").length, 1, "the label went on despite the failed comment, once");
  });
});
