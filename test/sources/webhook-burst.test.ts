/**
 * A burst of thousands of distinct webhook deliveries coalesces into one reconcile; its
 * "reconcile started" line must stay one short line (counts per kind, a few examples), not a list of
 * every delivery.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_PENDING_TRIGGERS, startReconcileLoop, summarizeTriggers } from "../../src/pipeline/loop.ts";
import type { Trigger } from "../../src/trigger.ts";
import { captureLog } from "../helpers/capture-log.ts";

/** what the webhook hands the loop for one delivery */
const delivery = (i: number): Trigger => ({
  kind: "webhook",
  detail: `push ${i.toString(16).padStart(40, "0")} (delivery 7d3c1a00-0000-11ef-8000-${i.toString(16).padStart(12, "0")})`,
});

describe("logging a burst of triggers", () => {
  it("summarises a batch as counts per kind and the first example of each kind, clipped", () => {
    const s = summarizeTriggers([
      { kind: "startup" },
      delivery(1),
      delivery(2),
      { kind: "git-poll", detail: "main at abc" },
      { kind: "volume-changed", detail: "x".repeat(10_000) },
    ]);
    assert.equal(s.triggerCount, 5);
    assert.deepEqual(s.triggerKinds, { startup: 1, webhook: 2, "git-poll": 1, "volume-changed": 1 });
    assert.equal(s.triggers.length, 3, "at most three examples");
    assert.deepEqual(s.triggers, ["startup", `webhook: ${delivery(1).detail}`, "git-poll: main at abc"]);
    assert.deepEqual(summarizeTriggers([{ kind: "volume-changed", detail: "x".repeat(10_000) }]).triggers[0]?.length, 121, "120 characters and an ellipsis");
  });

  it("a burst of 5,000 webhook deliveries is one reconcile, logged in one bounded line with counts", { timeout: 30_000 }, async () => {
    const captured = captureLog();
    const batches: Array<readonly Trigger[]> = [];
    const loop = startReconcileLoop({
      reconcile: async (_signal, triggers) => {
        batches.push(triggers);
        return { kind: "unchanged" };
      },
      debounceMs: 50,
      resyncIntervalMs: 0,
      log: captured.log,
    });
    try {
      for (let i = 0; i < 5_000; i++) loop.trigger(delivery(i));
      loop.trigger({ kind: "git-poll", detail: "main at 0123" });
      await loop.idle();
    } finally {
      await loop.stop();
    }
    assert.equal(batches.length, 1, "one reconcile for the burst");
    assert.equal(batches[0]?.length, MAX_PENDING_TRIGGERS + 1, "the reconcile sees the first distinct triggers up to the limit, and every kind");
    assert.deepEqual(batches[0]?.at(-1), { kind: "git-poll", detail: "main at 0123" });
    const started = captured.lines.filter((l) => l.includes('"reconcile started"'));
    assert.equal(started.length, 1);
    const line = started[0] ?? "";
    console.log(`"reconcile started" for 5,001 triggers: ${Buffer.byteLength(line)} bytes`);
    assert.ok(Buffer.byteLength(line) < 1_024, `${Buffer.byteLength(line)} bytes`);
    const entry = JSON.parse(line) as { triggerCount: number; triggerKinds: Record<string, number>; triggers: string[] };
    assert.equal(entry.triggerCount, 5_001, "the log counts every trigger, the ones left out too");
    assert.deepEqual(entry.triggerKinds, { webhook: 5_000, "git-poll": 1 });
    assert.deepEqual(entry.triggers, [`webhook: ${delivery(0).detail}`, "git-poll: main at 0123"]);
  });
});
