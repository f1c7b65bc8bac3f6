/**
 * The two floods of the security finding, against the real ops endpoint and webhook in a child process
 * (its RSS read from /proc; its file-descriptor limit lowered like a container's).
 * Measured by hand with bench/ops-flood.ts; bounds here are generous on purpose.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { openIdleConnections, probe, rssBytes, slowBodies, spawnTarget, type Probe } from "./fixtures/flood.ts";

const SECRET = "flood-test-secret";
const MB = 1024 * 1024;
/** a kubelet's default probe timeout is 1 s; 2 s leaves room for a busy 2-core machine */
const PROBE_BOUND_MS = 2_000;
/** defaults: 8 MiB body budget + 256 connections × (≤16 KiB headers + socket state) + GC slack ≈ 30 MB */
const RSS_GROWTH_BOUND = 100 * MB;

function failedProbes(probes: readonly Probe[]): string[] {
  return probes.filter((p) => p.status !== 200 || p.ms > PROBE_BOUND_MS).map((p) => `${p.status ?? p.error} in ${p.ms.toFixed(0)} ms`);
}

async function signedPush(port: number): Promise<number> {
  const body = JSON.stringify({ ref: "refs/heads/main", after: "0123456789abcdef0123456789abcdef01234567" });
  const signature = `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;
  const res = await fetch(`http://127.0.0.1:${port}/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": "after-flood", "x-hub-signature-256": signature, connection: "close" },
    body,
  });
  await res.text();
  return res.status;
}

describe("ops endpoint under a flood", () => {
  it(
    "400 slow 1 MiB webhook bodies with a well-formed wrong signature: RSS stays bounded, /healthz answers, nothing triggers",
    { timeout: 60_000 },
    async () => {
      const target = await spawnTarget({ secret: SECRET });
      try {
        await new Promise((r) => setTimeout(r, 500));
        const baseline = rssBytes(target.pid);
        let maxRss = baseline;
        const probes: Probe[] = [];
        let flooding = true;
        // 32 KiB every 500 ms: a 1 MiB body would need 16 s, past the 10 s body deadline.
        const flood = slowBodies({
          port: target.port,
          count: 400,
          declaredBytes: MB,
          chunkBytes: 32 * 1024,
          everyMs: 500,
          durationMs: 13_000,
          headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": `sha256=${randomBytes(32).toString("hex")}` },
        }).finally(() => (flooding = false));
        while (flooding) {
          maxRss = Math.max(maxRss, rssBytes(target.pid));
          probes.push(await probe(target.port, "/healthz", PROBE_BOUND_MS * 2));
          await new Promise((r) => setTimeout(r, 200));
        }
        const { statuses, bytesWritten } = await flood;
        console.log(
          `RSS ${(baseline / MB).toFixed(0)} → max ${(maxRss / MB).toFixed(0)} MB; statuses ${JSON.stringify(statuses)}; ` +
            `${(bytesWritten / MB).toFixed(1)} MiB sent; /healthz max ${Math.max(...probes.map((p) => p.ms)).toFixed(0)} ms over ${probes.length} probes`,
        );
        assert.ok(maxRss - baseline < RSS_GROWTH_BOUND, `RSS grew by ${((maxRss - baseline) / MB).toFixed(0)} MB`);
        assert.deepEqual(failedProbes(probes), []);
        assert.ok(probes.length >= 10, "probed throughout the flood");
        assert.ok((statuses["503"] ?? 0) >= 300, `most bodies are refused unread for lack of budget: ${JSON.stringify(statuses)}`);
        assert.ok((statuses["408"] ?? 0) + (statuses["401"] ?? 0) <= 8, "at most 8 MiB / 1 MiB bodies were admitted");
        assert.ok(bytesWritten < 20 * MB, "refused senders are hung up on, not drained");
        assert.deepEqual(target.triggers, []);
        assert.equal(await signedPush(target.port), 202, "the budget is free again once the flood is gone");
        await waitFor(() => target.triggers.length === 1, 5_000);
        assert.equal(target.triggers.length, 1);
      } finally {
        await target.stop();
      }
    },
  );

  it("2,000 idle connections against a server limited to 1024 file descriptors: /healthz still answers", { timeout: 60_000 }, async () => {
    const target = await spawnTarget({ secret: SECRET, fdLimit: 1024 });
    const idle = await openIdleConnections(target.port, 2_000);
    try {
      const probes: Probe[] = [];
      for (let i = 0; i < 5; i++) {
        probes.push(await probe(target.port, "/healthz", PROBE_BOUND_MS * 2));
        probes.push(await probe(target.port, "/readyz", PROBE_BOUND_MS * 2));
      }
      console.log(`closed by the server: ${idle.closedByServer()}; probes max ${Math.max(...probes.map((p) => p.ms)).toFixed(0)} ms`);
      assert.deepEqual(failedProbes(probes), []);
      // 256 by default: the rest were closed to make room, oldest first
      await waitFor(() => idle.closedByServer() >= 2_000 - 256, 5_000);
    } finally {
      await idle.destroy();
      await target.stop();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
