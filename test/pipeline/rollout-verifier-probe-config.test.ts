import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createMetrics } from "../../src/ops/metrics.ts";
import { readBranchSnapshot, startRolloutVerifier } from "../../src/pipeline/rollout-verifier.ts";
import type { SyncOutcome } from "../../src/pipeline/sync.ts";
import { captureLog } from "../helpers/capture-log.ts";
import { git } from "../helpers/git-fixtures.ts";
import { startLoopbackIngress, type LoopbackIngress } from "../rollout/loopback-ingress.ts";
import { makeRolloutWorld, type RolloutWorld } from "../rollout/rollout-world.ts";
import { CONFIG } from "./sync-world.ts";
import { FakeTime } from "./rollout-time.ts";

/**
 * `watch --verify-rollout` with no `--probe-address`: each cluster's `probe.address` from the
 * branch's wildseal.yaml, one host served by tenants of two clusters dialled once per cluster, and an
 * edit of the file applied at the next read of the branch.
 */

const config = (westAddress: string, eastAddress: string): string =>
  `${CONFIG.replace("      sealingCert: clusters/prod-east/sealed-secrets.pem\n", `      sealingCert: clusters/prod-east/sealed-secrets.pem\n      probe: {address: "${eastAddress}"}\n`)}`.replace(
    "  defaults:",
    `    - name: prod-west\n      sealingCert: clusters/prod-east/sealed-secrets.pem\n      probe: {address: "${westAddress}"}\n  defaults:`,
  );

let east: LoopbackIngress;
let west: LoopbackIngress;
let world: RolloutWorld;
before(async () => {
  [east, west] = await Promise.all([startLoopbackIngress(), startLoopbackIngress()]);
  world = await makeRolloutWorld(
    [
      { name: "acme", hosts: ["acme.example.com"] },
      { name: "acme-west", cluster: "prod-west", hosts: ["acme.example.com"] },
    ],
    config(west.address, east.address),
  );
});
after(async () => {
  await Promise.all([east.close(), west.close()]);
  world.cleanup();
});

describe("rollout verifier with probe addresses in wildseal.yaml", () => {
  it("dials each tenant's host at its cluster's probe.address, and follows an edit of the file at the next branch read", async () => {
    const committed = await world.issue();
    const other = await world.issue();
    await world.publish(committed);
    east.serve("acme.example.com", committed);
    // prod-west's ingress has not picked the certificate up yet
    west.serve("acme.example.com", other);

    const time = new FakeTime(Date.now());
    const verifier = startRolloutVerifier({
      probeAddresses: [],
      probeTimeoutMs: 5_000,
      probeIntervalMs: 60_000,
      deadlineMs: 30 * 60_000,
      readBranch: () => readBranchSnapshot(world.dir),
      log: captureLog().log,
      metrics: createMetrics({ defaultMetrics: false }),
      now: time.now,
      scheduler: time.scheduler,
    });
    try {
      await verifier.settled();
      const rows = () =>
        verifier
          .rows()
          .map((r) => [r.tenant, r.cluster, r.state, r.hosts.map((h) => h.address).join(",")])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      assert.deepEqual(rows(), [
        ["acme", "prod-east", "current", east.address],
        ["acme-west", "prod-west", "foreign", west.address],
      ]);
      assert.deepEqual([east.seen, west.seen], [["acme.example.com"], ["acme.example.com"]], "one handshake per cluster, each with the host as SNI");

      // the file now sends prod-west's hosts to the ingress that serves the committed certificate
      writeFileSync(join(world.dir, "wildseal.yaml"), config(east.address, east.address));
      git(world.dir, ["commit", "--quiet", "--all", "-m", "probe prod-west through the east ingress"]);
      const tip = git(world.dir, ["rev-parse", "HEAD"]).trim();
      const unchanged: SyncOutcome = { kind: "unchanged", tip, diagnostics: [], changes: [] };
      verifier.synced(unchanged);
      await verifier.settled();
      assert.deepEqual(rows(), [
        ["acme", "prod-east", "current", east.address],
        ["acme-west", "prod-west", "current", east.address],
      ]);
    } finally {
      await verifier.stop();
    }
  });
});
