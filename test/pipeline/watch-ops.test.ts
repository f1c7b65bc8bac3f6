import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startWatch, type WatchOptions, type Watcher } from "../../src/pipeline/watch.ts";
import { FakeApiServer } from "../helpers/fake-apiserver.ts";
import { makeSyncWorld, type SyncWorld } from "./sync-world.ts";
import { captureLog, commitCount, filesOf, metricValue, waitUntil, watchOptions, type CapturedLog } from "./watch-world.ts";

const NS = "cert-manager";
const NAME = "wildcard-example-com";

function options(world: SyncWorld, api: FakeApiServer, captured: CapturedLog): WatchOptions {
  const source = {
    kind: "secret",
    namespace: NS,
    name: NAME,
    kubeConfig: api.kubeConfig(),
    timing: { stallTimeoutMs: 2_000, watchdogIntervalMs: 100, resyncIntervalMs: 0, requestTimeoutMs: 2_000, backoff: { initialMs: 20, maxMs: 200 } },
  } as const;
  return watchOptions(world, source, captured, { debounceMs: 50, listen: "127.0.0.1:0", retry: { initialMs: 50, maxMs: 100, maxRetries: 1 } });
}

describe("wildseal watch: operations", () => {
  it("/healthz, /readyz (after the first successful reconcile) and /metrics with the five wildseal metrics; a restart commits nothing", { timeout: 90_000 }, async () => {
    const world = await makeSyncWorld(["acme", "beta"]);
    const api = await FakeApiServer.start();
    const captured = captureLog();
    let watcher: Watcher | undefined;
    let second: Watcher | undefined;
    try {
      // the Secret does not exist yet: reconciles fail, the process is alive but not ready
      watcher = await startWatch(options(world, api, captured));
      const url = watcher.url ?? "";
      await waitUntil(() => watcher?.status().lastOutcome === "failed", "a failed reconcile (no Secret yet)");
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/readyz`)).status, 503);

      const cert = await world.issue(3);
      api.putSecret(NS, NAME, { data: filesOf(cert) });
      await waitUntil(() => watcher?.status().succeededOnce === true, "the first successful reconcile");
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      assert.equal(commitCount(world.remote.path), 2);

      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      for (const name of [
        "wildseal_certificate_not_after_seconds",
        "wildseal_reconcile_total",
        "wildseal_last_success_timestamp_seconds",
        "wildseal_tenants",
        "wildseal_gate_failures_total",
      ]) {
        assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), `${name} is exported`);
      }
      assert.match(text, /^wildseal_tenants\{cluster="prod-east"\} 2$/m);
      assert.match(text, /^wildseal_reconcile_total\{result="published"\} 1$/m);
      assert.ok(/^wildseal_reconcile_total\{result="failed"\} [1-9]/m.test(text), "the failed reconciles are counted");
      assert.equal(await metricValue(watcher.metrics, "wildseal_certificate_not_after_seconds"), cert.leaf.notAfter.getTime() / 1000);
      assert.ok((await metricValue(watcher.metrics, "wildseal_last_success_timestamp_seconds")) > 0);

      await watcher.stop();
      await assert.rejects(fetch(`${url}/healthz`), "the ops server is closed after stop");

      // level-triggered: a restart reconciles against Git and finds nothing to do
      second = await startWatch(options(world, api, captured));
      await waitUntil(() => second?.status().succeededOnce === true, "the restarted watcher's startup reconcile");
      assert.equal(second.status().lastOutcome, "unchanged");
      assert.equal(commitCount(world.remote.path), 2, "a restart makes no commit");
    } finally {
      await watcher?.stop();
      await second?.stop();
      await api.close();
      world.cleanup();
    }
  });
});

describe("wildseal watch: leader election", () => {
  it("only the Lease holder publishes; when it stops, the standby takes over and publishes the next renewal", { timeout: 120_000 }, async () => {
    const world = await makeSyncWorld(["acme"]);
    const api = await FakeApiServer.start();
    const logA = captureLog();
    const logB = captureLog();
    const timing = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 50, requestTimeoutMs: 2_000 };
    const elect = (identity: string) => ({ leaderElection: { namespace: NS, identity, kubeConfig: api.kubeConfig(), timing } });
    let a: Watcher | undefined;
    let b: Watcher | undefined;
    try {
      api.putSecret(NS, NAME, { data: filesOf(await world.issue(20)) });
      a = await startWatch({ ...options(world, api, logA), ...elect("replica-a") });
      await waitUntil(() => commitCount(world.remote.path) === 2, "the leader's first commit");
      b = await startWatch({ ...options(world, api, logB), ...elect("replica-b") });
      await waitUntil(() => logB.messages().includes("not the leader: reconcile skipped"), "the standby skipping its startup reconcile");

      api.putSecret(NS, NAME, { data: filesOf(await world.issue(10)) });
      await waitUntil(() => commitCount(world.remote.path) === 3, "the renewal, pushed by the leader");
      await Promise.all([a.idle(), b.idle()]);
      assert.ok(logA.messages().includes("pushed"));
      assert.ok(!logB.messages().includes("pushed"), "the standby never pushed");

      await a.stop(); // releases the Lease
      await waitUntil(() => logB.messages().includes("became leader"), "the standby taking over");
      const renewed = await world.issue(0);
      api.putSecret(NS, NAME, { data: filesOf(renewed) });
      await waitUntil(() => commitCount(world.remote.path) === 4, "the next renewal, pushed by the new leader");
      await b.idle();
      assert.ok(logB.messages().includes("pushed"), "the new leader pushed");
      assert.ok(world.unsealAll().get("acme")?.crt.equals(renewed.secret.data.get("tls.crt")?.reveal() ?? Buffer.alloc(1)));
    } finally {
      await a?.stop();
      await b?.stop();
      await api.close();
      world.cleanup();
    }
  });
});
