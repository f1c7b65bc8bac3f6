import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createMetrics } from "../../src/ops/metrics.ts";
import { readBranchSnapshot, startRolloutVerifier, type RolloutVerifier } from "../../src/pipeline/rollout-verifier.ts";
import { probe, type ProbeResult } from "../../src/rollout/probe.ts";
import { parseProbeAddresses, type DialTarget } from "../../src/rollout/probe-address.ts";
import { generateLeaf, type GeneratedCertificate } from "../../src/tls/generate.ts";
import { captureLog, type CapturedLog } from "../helpers/capture-log.ts";
import { startLoopbackIngress, type LoopbackIngress } from "../rollout/loopback-ingress.ts";
import { fingerprint, makeRolloutWorld, type RolloutWorld } from "../rollout/rollout-world.ts";
import { exposed, FakeTime, notAfterSeconds, pushedOutcome } from "./rollout-time.ts";

const MINUTE = 60_000;
const DAY = 86_400_000;
const HOSTS = ["acme.example.com", "globex.example.com", "shop.example.com"];

interface Rig {
  readonly world: RolloutWorld;
  readonly ingress: LoopbackIngress;
  readonly time: FakeTime;
  readonly captured: CapturedLog;
  readonly metrics: ReturnType<typeof createMetrics>;
  readonly probes: string[];
  readonly verifier: RolloutVerifier;
  /** advance the clock and wait for the rounds it fired */
  advance(ms: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The world's work tree read as the watch's shallow clone would be (no history: earlier
 * certificates are known only from what the verifier saw), the loopback ingress for *.example.com,
 * and real TLS probes counted.
 */
async function rig(world: RolloutWorld, ingress: LoopbackIngress, extra: { deadlineMs?: number } = {}): Promise<Rig> {
  const time = new FakeTime(Date.now() - 3_600_000);
  const captured = captureLog();
  const metrics = createMetrics({ defaultMetrics: false });
  const probes: string[] = [];
  const verifier = startRolloutVerifier({
    probeAddresses: parseProbeAddresses([`*.example.com=${ingress.address}`]),
    probeTimeoutMs: 5_000,
    probeIntervalMs: MINUTE,
    deadlineMs: extra.deadlineMs ?? 30 * MINUTE,
    readBranch: async () => ({ ...(await readBranchSnapshot(world.dir)), history: { kind: "none", reason: "as the watch's shallow clone" } }),
    log: captured.log,
    metrics,
    now: time.now,
    scheduler: time.scheduler,
    probeOne: (t: DialTarget, o): Promise<ProbeResult> => {
      probes.push(t.servername);
      return probe(t, o);
    },
  });
  await verifier.settled();
  return {
    world,
    ingress,
    time,
    captured,
    metrics,
    probes,
    verifier,
    async advance(ms) {
      time.advance(ms);
      await verifier.settled();
    },
    stop: () => verifier.stop(),
  };
}

const states = (v: RolloutVerifier) => Object.fromEntries(v.rows().map((r) => [r.tenant, r.state]));
const deadlineLines = (c: CapturedLog) =>
  c.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l["msg"]).startsWith("rollout deadline passed"));

describe("rollout verifier", () => {
  let world: RolloutWorld;
  let ingress: LoopbackIngress;
  let old: GeneratedCertificate;
  let renewed: GeneratedCertificate;
  before(async () => {
    ingress = await startLoopbackIngress();
    const probeWorld = await makeRolloutWorld();
    probeWorld.cleanup();
    old = await generateLeaf(probeWorld.ca, { dnsNames: ["*.example.com"], notAfter: new Date(Date.now() + 30 * DAY) });
    renewed = await generateLeaf(probeWorld.ca, { dnsNames: ["*.example.com"], notAfter: new Date(Date.now() + 90 * DAY) });
  });
  after(async () => {
    await ingress.close();
  });

  const fresh = async (): Promise<RolloutWorld> => {
    world = await makeRolloutWorld();
    await world.publish(old);
    for (const h of HOSTS) ingress.serve(h, old);
    return world;
  };

  it("a renewal shows stale until the ingress switches, then current: the duration is observed once per tenant and the served notAfter follows", async () => {
    const r = await rig(await fresh(), ingress);
    try {
      assert.deepEqual(states(r.verifier), { acme: "current", globex: "current" });
      assert.equal(r.probes.length, 3, "each host once");
      assert.equal(await exposed(r.metrics, 'wildseal_tenants_by_rollout_state{state="current"}'), 2);
      assert.equal(await exposed(r.metrics, "wildseal_served_certificate_not_after_seconds"), notAfterSeconds(old));
      assert.equal(await exposed(r.metrics, "wildseal_rollout_duration_seconds_count"), 0, "current at the first look: when it became current is unknown");

      const published = await world.publish(renewed);
      r.time.set(Date.parse(published.date));
      r.verifier.synced(pushedOutcome(published.commit));
      await r.verifier.settled();
      // the last probe is an hour old: probed at once, and the ingress still serves the certificate this process saw committed before
      assert.equal(r.probes.length, 6);
      assert.deepEqual(states(r.verifier), { acme: "stale", globex: "stale" });
      assert.equal(await exposed(r.metrics, 'wildseal_tenants_by_rollout_state{state="stale"}'), 2);
      assert.equal(await exposed(r.metrics, 'wildseal_tenants_by_rollout_state{state="current"}'), 0);
      assert.equal(r.verifier.rows()[0]?.served?.sha256, fingerprint(old));

      for (const h of HOSTS) ingress.serve(h, renewed);
      await r.advance(30_000);
      assert.equal(r.probes.length, 6, "not probed again within the interval");
      assert.deepEqual(states(r.verifier), { acme: "stale", globex: "stale" });
      await r.advance(30_000);
      assert.equal(r.probes.length, 9);
      assert.deepEqual(states(r.verifier), { acme: "current", globex: "current" });
      assert.equal(await exposed(r.metrics, "wildseal_rollout_duration_seconds_count"), 2);
      assert.equal(await exposed(r.metrics, "wildseal_rollout_duration_seconds_sum"), 120, "commit → first seen current: 60 s each");
      assert.equal(await exposed(r.metrics, "wildseal_served_certificate_not_after_seconds"), notAfterSeconds(renewed));
      assert.equal(r.verifier.earliestServedNotAfter()?.getTime(), notAfterSeconds(renewed) * 1000);
      assert.ok(r.captured.messages().includes("rollout verified: every probed tenant serves its committed certificate"));

      await r.advance(MINUTE);
      assert.equal(await exposed(r.metrics, "wildseal_rollout_duration_seconds_count"), 2, "observed once, not on every round");
      assert.equal(deadlineLines(r.captured).length, 0);
    } finally {
      await r.stop();
      world.cleanup();
    }
  });

  it("a tenant still stale at the deadline is logged in exactly one line; the served notAfter is the earliest served", async () => {
    const r = await rig(await fresh(), ingress, { deadlineMs: 5 * MINUTE });
    try {
      const published = await world.publish(renewed);
      r.time.set(Date.parse(published.date));
      r.verifier.synced(pushedOutcome(published.commit));
      await r.verifier.settled();
      ingress.serve("acme.example.com", renewed);
      ingress.serve("globex.example.com", renewed);
      // shop.example.com (globex) keeps the old certificate
      for (let i = 0; i < 15; i++) await r.advance(MINUTE);
      assert.deepEqual(states(r.verifier), { acme: "current", globex: "stale" });
      const lines = deadlineLines(r.captured);
      assert.equal(lines.length, 1, JSON.stringify(lines));
      assert.equal(lines[0]?.["level"], "warn");
      assert.equal(lines[0]?.["tenant"], "globex");
      assert.equal(lines[0]?.["cluster"], "prod-east");
      assert.equal(lines[0]?.["state"], "stale");
      assert.equal(lines[0]?.["servedSha256"], fingerprint(old).slice(0, 12));
      assert.equal(lines[0]?.["lagSeconds"], 5 * 60, "the last round before the deadline");
      assert.equal(await exposed(r.metrics, "wildseal_served_certificate_not_after_seconds"), notAfterSeconds(old), "the old certificate is still served somewhere");
      assert.equal(await exposed(r.metrics, 'wildseal_tenants_by_rollout_state{state="stale"}'), 1);
      assert.equal(await exposed(r.metrics, "wildseal_rollout_duration_seconds_count"), 1, "only acme became current");
    } finally {
      await r.stop();
      world.cleanup();
    }
  });

  it("no host is probed more often than the probe interval, however often reconciles report", async () => {
    const r = await rig(await fresh(), ingress);
    try {
      const start = r.probes.length;
      for (let i = 0; i < 30; i++) {
        // a reconcile every 10 s, each naming a tip the verifier has not read: a read each time, never an extra probe
        r.verifier.synced(pushedOutcome(`${i}`.padStart(40, "0")));
        await r.advance(10_000);
      }
      // 300 s: probes at 60, 120, 180, 240, 300 s
      const count = (h: string) => r.probes.slice(start).filter((p) => p === h).length;
      for (const h of HOSTS) assert.equal(count(h), 5, h);
    } finally {
      await r.stop();
      world.cleanup();
    }
  });

  it("a foreign certificate and an unreachable host are told apart from stale; the served notAfter is NaN until a probe succeeds", async () => {
    world = await makeRolloutWorld();
    await world.publish(old);
    const other = await startLoopbackIngress();
    const foreign = await generateLeaf(world.ca, { dnsNames: ["*.example.com"] });
    other.serve("acme.example.com", foreign);
    const time = new FakeTime(Date.now());
    const metrics = createMetrics({ defaultMetrics: false });
    const v = startRolloutVerifier({
      probeAddresses: parseProbeAddresses([`acme.example.com=${other.address}`, "*.example.com=127.0.0.1:1"]),
      probeTimeoutMs: 5_000,
      probeIntervalMs: MINUTE,
      deadlineMs: 30 * MINUTE,
      readBranch: () => readBranchSnapshot(world.dir),
      log: captureLog().log,
      metrics,
      now: time.now,
      scheduler: time.scheduler,
    });
    try {
      await v.settled();
      assert.deepEqual(states(v), { acme: "foreign", globex: "unreachable" });
      assert.equal(await exposed(metrics, 'wildseal_tenants_by_rollout_state{state="foreign"}'), 1);
      assert.equal(await exposed(metrics, 'wildseal_tenants_by_rollout_state{state="unreachable"}'), 1);
      assert.equal(v.earliestServedNotAfter()?.getTime(), notAfterSeconds(foreign) * 1000, "what is served, ours or not");
      await v.stop();
    } finally {
      await other.close();
      world.cleanup();
    }
    const none = createMetrics({ defaultMetrics: false });
    const empty = startRolloutVerifier({
      probeAddresses: [],
      probeTimeoutMs: 1_000,
      probeIntervalMs: MINUTE,
      deadlineMs: MINUTE,
      readBranch: () => Promise.resolve({ tip: null, tenants: [], history: { kind: "none", reason: "empty" } }),
      log: captureLog().log,
      metrics: none,
      scheduler: new FakeTime(0).scheduler,
    });
    await empty.settled();
    assert.match(await none.registry.metrics(), /^wildseal_served_certificate_not_after_seconds nan$/im);
    await empty.stop();
  });
});
