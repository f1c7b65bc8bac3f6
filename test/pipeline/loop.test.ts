import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { createLogger } from "../../src/ops/logger.ts";
import { createMetrics } from "../../src/ops/metrics.ts";
import { backoffDelay } from "../../src/backoff.ts";
import { MAX_PENDING_TRIGGERS, PendingTriggers, startReconcileLoop, type ReconcileLoop } from "../../src/pipeline/loop.ts";
import type { ReconcileOutcome, Trigger } from "../../src/trigger.ts";

const DEBOUNCE = 500;
const RESYNC = 60_000;
const RETRY = { initialMs: 1_000, maxMs: 8_000, maxRetries: 3 };

function silentLog() {
  return createLogger({ level: "silent", destination: new Writable({ write: (_c, _e, cb) => cb() }) });
}

/** Let promise continuations run (setImmediate is not mocked). */
async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

async function advance(ms: number): Promise<void> {
  mock.timers.tick(ms);
  await flush();
}

interface Call {
  readonly triggers: readonly Trigger[];
  readonly signal: AbortSignal;
  readonly settle: (o: ReconcileOutcome) => void;
}

/** A reconcile whose every run stays open until the test settles it, or until it is aborted. */
function controlledReconcile() {
  const calls: Call[] = [];
  const reconcile = (signal: AbortSignal, triggers: readonly Trigger[]) =>
    new Promise<ReconcileOutcome>((resolve) => {
      calls.push({ triggers, signal, settle: resolve });
      signal.addEventListener("abort", () => resolve({ kind: "failed", error: signal.reason }));
    });
  return { calls, reconcile };
}

describe("reconcile loop", () => {
  let loop: ReconcileLoop | undefined;
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: 1_000_000 }));
  afterEach(async () => {
    const l = loop;
    loop = undefined;
    if (l) {
      const stopped = l.stop();
      await flush();
      await stopped;
    }
    mock.timers.reset();
  });

  it("runs the startup trigger at once, without waiting for the debounce", async () => {
    const r = controlledReconcile();
    loop = startReconcileLoop({ reconcile: r.reconcile, debounceMs: DEBOUNCE, resyncIntervalMs: RESYNC, log: silentLog() });
    loop.trigger({ kind: "startup" });
    await advance(0);
    assert.equal(r.calls.length, 1);
    assert.deepEqual(r.calls[0]?.triggers, [{ kind: "startup" }]);
  });

  it("debounces a burst of triggers into one reconcile", async () => {
    const r = controlledReconcile();
    loop = startReconcileLoop({ reconcile: r.reconcile, debounceMs: DEBOUNCE, resyncIntervalMs: RESYNC, log: silentLog() });
    loop.trigger({ kind: "secret-changed", detail: "rv=1" });
    await advance(100);
    loop.trigger({ kind: "secret-changed", detail: "rv=1" });
    loop.trigger({ kind: "volume-changed" });
    await advance(DEBOUNCE - 101);
    assert.equal(r.calls.length, 0, "nothing runs inside the debounce window");
    await advance(1);
    assert.equal(r.calls.length, 1);
    assert.deepEqual(r.calls[0]?.triggers, [{ kind: "secret-changed", detail: "rv=1" }, { kind: "volume-changed" }]);
  });

  it("coalesces triggers that arrive during a reconcile into exactly one follow-up", async () => {
    const r = controlledReconcile();
    loop = startReconcileLoop({ reconcile: r.reconcile, debounceMs: DEBOUNCE, resyncIntervalMs: RESYNC, log: silentLog() });
    loop.trigger({ kind: "startup" });
    await advance(0);
    assert.equal(r.calls.length, 1);
    loop.trigger({ kind: "git-poll", detail: "abc" });
    loop.trigger({ kind: "webhook" });
    loop.trigger({ kind: "git-poll", detail: "abc" });
    await advance(DEBOUNCE * 10);
    assert.equal(r.calls.length, 1, "never two reconciles at once");
    r.calls[0]?.settle({ kind: "unchanged" });
    await flush();
    await advance(DEBOUNCE);
    assert.equal(r.calls.length, 2);
    assert.deepEqual(r.calls[1]?.triggers, [{ kind: "git-poll", detail: "abc" }, { kind: "webhook" }]);
    r.calls[1]?.settle({ kind: "published", commit: "c0ffee" });
    await flush();
    await advance(DEBOUNCE * 10);
    assert.equal(r.calls.length, 2, "no further reconcile without a new trigger");
    await loop.idle();
  });

  it("resyncs periodically with a resync trigger", async () => {
    const r = controlledReconcile();
    loop = startReconcileLoop({ reconcile: r.reconcile, debounceMs: DEBOUNCE, resyncIntervalMs: RESYNC, log: silentLog() });
    await advance(RESYNC);
    await advance(DEBOUNCE);
    assert.equal(r.calls.length, 1);
    assert.deepEqual(r.calls[0]?.triggers, [{ kind: "resync" }]);
    r.calls[0]?.settle({ kind: "unchanged" });
    await flush();
    await advance(RESYNC);
    await advance(DEBOUNCE);
    assert.equal(r.calls.length, 2);
  });

  it("retries a failure with growing backoff, a bounded number of times, then waits for a trigger", async () => {
    let calls = 0;
    const reconcile = async (): Promise<ReconcileOutcome> => {
      calls += 1;
      return { kind: "failed", error: new Error("remote unreachable") };
    };
    const metrics = createMetrics({ defaultMetrics: false });
    loop = startReconcileLoop({
      reconcile,
      debounceMs: DEBOUNCE,
      resyncIntervalMs: 0,
      log: silentLog(),
      metrics,
      retry: RETRY,
      random: () => 0, // lower edge of the jitter: delays 500, 1000, 2000
    });
    loop.trigger({ kind: "startup" });
    await advance(0);
    assert.equal(calls, 1);
    await advance(499);
    assert.equal(calls, 1, "first retry waits half the initial delay at the low jitter edge");
    await advance(1);
    assert.equal(calls, 2);
    await advance(1_000);
    assert.equal(calls, 3);
    await advance(2_000);
    assert.equal(calls, 4, "maxRetries = 3 → four attempts in all");
    await advance(RETRY.maxMs * 10);
    assert.equal(calls, 4, "no retries beyond the bound");
    await loop.idle();
    loop.trigger({ kind: "webhook" });
    await advance(RETRY.maxMs * 2);
    assert.equal(calls, 5, "a new trigger starts a new cycle");
    const text = await metrics.registry.metrics();
    assert.match(text, /wildseal_reconcile_total\{result="failed"\} 5/);
    assert.equal(loop.status().succeededOnce, false);
  });

  it("makes new triggers wait out the backoff after a failure", async () => {
    const r = controlledReconcile();
    loop = startReconcileLoop({
      reconcile: r.reconcile,
      debounceMs: DEBOUNCE,
      resyncIntervalMs: 0,
      log: silentLog(),
      retry: RETRY,
      random: () => 0.999,
    });
    loop.trigger({ kind: "startup" });
    await advance(0);
    r.calls[0]?.settle({ kind: "failed", error: new Error("boom") });
    await flush();
    loop.trigger({ kind: "secret-changed" });
    await advance(DEBOUNCE);
    assert.equal(r.calls.length, 1, "the debounce alone does not override the backoff");
    await advance(RETRY.initialMs - DEBOUNCE);
    assert.equal(r.calls.length, 2);
    assert.deepEqual(r.calls[1]?.triggers, [{ kind: "startup" }, { kind: "secret-changed" }]);
    r.calls[1]?.settle({ kind: "unchanged" });
    await flush();
    assert.equal(loop.status().succeededOnce, true);
    assert.equal(loop.status().consecutiveFailures, 0);
  });

  it("counts a thrown error as a failed reconcile", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    loop = startReconcileLoop({
      reconcile: async () => {
        throw new Error("bug");
      },
      debounceMs: DEBOUNCE,
      resyncIntervalMs: 0,
      log: silentLog(),
      metrics,
      retry: { ...RETRY, maxRetries: 0 },
    });
    loop.trigger({ kind: "startup" });
    await advance(0);
    await loop.idle();
    assert.equal(loop.status().lastOutcome, "failed");
    assert.match(await metrics.registry.metrics(), /wildseal_reconcile_total\{result="failed"\} 1/);
  });

  it("stop() during a reconcile aborts its signal, waits for it to settle, and accepts no more triggers", async () => {
    const r = controlledReconcile();
    const metrics = createMetrics({ defaultMetrics: false });
    const l = startReconcileLoop({ reconcile: r.reconcile, debounceMs: DEBOUNCE, resyncIntervalMs: RESYNC, log: silentLog(), metrics });
    l.trigger({ kind: "startup" });
    await advance(0);
    const call = r.calls[0];
    assert.ok(call);
    let stopped = false;
    const stopping = l.stop().then(() => {
      stopped = true;
    });
    await flush();
    assert.equal(call.signal.aborted, true);
    await stopping;
    assert.equal(stopped, true);
    l.trigger({ kind: "webhook" });
    await advance(RESYNC * 2);
    assert.equal(r.calls.length, 1, "a stopped loop runs nothing, not even the resync");
    assert.equal(l.status().alive, false);
    await l.idle();
  });

  it("stop() with a grace period lets a reconcile that finishes in time complete without abort", async () => {
    const r = controlledReconcile();
    const l = startReconcileLoop({ reconcile: r.reconcile, debounceMs: DEBOUNCE, resyncIntervalMs: RESYNC, log: silentLog() });
    l.trigger({ kind: "startup" });
    await advance(0);
    const stopping = l.stop({ graceMs: 10_000 });
    await advance(1_000);
    r.calls[0]?.settle({ kind: "published", commit: "abc" });
    await flush();
    await stopping;
    assert.equal(r.calls[0]?.signal.aborted, false);
    assert.equal(l.status().succeededOnce, true);
  });
});

describe("backoff and coalescing helpers", () => {
  it("keeps backoff within [d/2, d) and caps it", () => {
    const p = { initialMs: 100, maxMs: 1_000 };
    assert.equal(backoffDelay(p, 1, () => 0), 50);
    assert.equal(backoffDelay(p, 3, () => 0), 200);
    assert.equal(backoffDelay(p, 30, () => 0.999_999), 1_000);
    for (let attempt = 1; attempt < 12; attempt++) {
      const d = backoffDelay(p, attempt, Math.random);
      assert.ok(d >= 50 && d <= 1_000, `attempt ${attempt}: ${d}`);
    }
  });

  it("keeps one entry per kind and detail", () => {
    const pending = new PendingTriggers();
    for (const t of [{ kind: "resync" }, { kind: "resync" }, { kind: "git-poll", detail: "a" }, { kind: "git-poll", detail: "b" }] as const) {
      pending.add(t);
    }
    assert.deepEqual(pending.take().triggers, [{ kind: "resync" }, { kind: "git-poll", detail: "a" }, { kind: "git-poll", detail: "b" }]);
    assert.equal(pending.size, 0, "take empties the set");
  });

  it("a flood of distinct triggers is bounded: past the limit only a kind not yet pending gets in", () => {
    const pending = new PendingTriggers();
    for (let i = 0; i < 100_000; i++) pending.add({ kind: "webhook", detail: `delivery ${i}` });
    assert.equal(pending.size, MAX_PENDING_TRIGGERS);
    pending.add({ kind: "webhook", detail: "one more" });
    pending.add({ kind: "resync" });
    const { triggers: batch, dropped } = pending.take();
    assert.deepEqual(dropped, { webhook: 100_000 - MAX_PENDING_TRIGGERS + 1 }, "what was left out is still counted");
    assert.equal(batch.length, MAX_PENDING_TRIGGERS + 1, "the resync is kept: a kind nothing else stands for");
    assert.deepEqual(batch.at(-1), { kind: "resync" });
    assert.deepEqual(batch[0], { kind: "webhook", detail: "delivery 0" }, "arrival order");
  });
});
