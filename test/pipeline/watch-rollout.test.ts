import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startWatch, type Watcher } from "../../src/pipeline/watch.ts";
import { parseProbeAddresses } from "../../src/rollout/probe-address.ts";
import type { GeneratedCertificate } from "../../src/tls/generate.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";
import { tempDir } from "../helpers/git-fixtures.ts";
import { startLoopbackIngress } from "../rollout/loopback-ingress.ts";
import { FakeTime, seriesIn } from "./rollout-time.ts";
import { makeSyncWorld } from "./sync-world.ts";
import { captureLog, commitCount, filesOf, KubeletVolume, waitUntil, watchOptions } from "./watch-world.ts";

const MINUTE = 60_000;

/** What the loopback ingress needs of a certificate: the PEM chain and its key. */
function served(m: TlsMaterial): GeneratedCertificate {
  const files = filesOf(m);
  return { certPem: files["tls.crt"], keyPem: { reveal: () => files["tls.key"] } } as unknown as GeneratedCertificate;
}

describe("wildseal watch --verify-rollout", () => {
  it(
    "through the real watch and its shallow clone: a pushed renewal is stale until the ingress reloads, then current; /metrics shows states, durations and the served notAfter",
    { timeout: 120_000 },
    async () => {
      const world = await makeSyncWorld(["acme", "beta"]);
      const ingress = await startLoopbackIngress();
      const dir = tempDir("wildseal-rollout-volume-");
      const volume = new KubeletVolume(`${dir.path}/secret`);
      const captured = captureLog();
      const time = new FakeTime(Date.now());
      let watcher: Watcher | undefined;
      try {
        const first = await world.issue(10);
        const renewed = await world.issue(1);
        for (const h of ["acme.example.com", "beta.example.com"]) ingress.serve(h, served(first));
        await volume.create(filesOf(first));
        watcher = await startWatch(
          watchOptions(world, { kind: "volume", dir: volume.dir, settleMs: 50, rereadIntervalMs: 60_000 }, captured, {
            listen: "127.0.0.1:0",
            now: time.now,
            verifyRollout: {
              probeAddresses: parseProbeAddresses([`*.example.com=${ingress.address}`]),
              probeTimeoutMs: 5_000,
              probeIntervalMs: MINUTE,
              deadlineMs: 30 * MINUTE,
              scheduler: time.scheduler,
            },
          }),
        );
        const w = watcher;
        const rollout = w.rollout;
        assert.ok(rollout !== undefined);
        const states = async () => {
          await rollout.settled();
          return rollout.rows().map((r) => `${r.tenant}=${r.state}`).join(",");
        };
        await waitUntil(async () => commitCount(world.remote.path) === 2 && (await states()) === "acme=current,beta=current", "the first publish current");
        assert.equal(rollout.earliestServedNotAfter()?.getTime(), first.leaf.notAfter.getTime());

        await volume.swap(filesOf(renewed));
        await waitUntil(async () => commitCount(world.remote.path) === 3 && (await states()) === "acme=stale,beta=stale", "the renewal stale");
        const metrics = async () => (await fetch(`${w.url ?? ""}/metrics`)).text();
        let text = await metrics();
        assert.equal(seriesIn(text, 'wildseal_tenants_by_rollout_state{state="stale"}'), 2);
        assert.equal(seriesIn(text, 'wildseal_tenants_by_rollout_state{state="current"}'), 0);
        assert.equal(seriesIn(text, "wildseal_served_certificate_not_after_seconds"), first.leaf.notAfter.getTime() / 1000);

        for (const h of ["acme.example.com", "beta.example.com"]) ingress.serve(h, served(renewed));
        time.advance(MINUTE);
        await waitUntil(async () => (await states()) === "acme=current,beta=current", "current after the reload");
        text = await metrics();
        assert.equal(seriesIn(text, 'wildseal_tenants_by_rollout_state{state="current"}'), 2);
        assert.equal(seriesIn(text, "wildseal_rollout_duration_seconds_count"), 2);
        assert.equal(seriesIn(text, "wildseal_served_certificate_not_after_seconds"), renewed.leaf.notAfter.getTime() / 1000);
        assert.ok(captured.messages().includes("rollout verified: every probed tenant serves its committed certificate"));
      } finally {
        await watcher?.stop();
        await ingress.close();
        dir.cleanup();
        world.cleanup();
      }
    },
  );
});
