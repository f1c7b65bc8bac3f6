import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { sync } from "../../src/pipeline/sync.ts";
import { startWatch, type Watcher } from "../../src/pipeline/watch.ts";
import { pushAsPerson, remoteFile, tempDir } from "../helpers/git-fixtures.ts";
import { makeSyncWorld, sourceOf, tenantYaml, type SyncWorld } from "./sync-world.ts";
import {
  assertNoKeyMaterial,
  captureLog,
  watchOptions,
  commitCount,
  expiredFiles,
  filesOf,
  manifestOf,
  metricValue,
  mismatchedFiles,
  waitUntil,
  type CapturedLog,
  type TlsFiles,
} from "./watch-world.ts";

/** The gate refusals the watcher logged: each line's `gate` (the metric label) with the level and the path it names. */
function gatesLogged(captured: CapturedLog): { gate: string; level: string; path?: string }[] {
  return captured.lines
    .map((l) => JSON.parse(l) as { gate?: string; level: string; path?: string })
    .filter((l): l is { gate: string; level: string; path?: string } => typeof l.gate === "string");
}

/** Faster than watch-world's defaults: gate refusals are retried once, quickly. */
const GATE_TIMING = { debounceMs: 50, retry: { initialMs: 50, maxMs: 100, maxRetries: 1 } } as const;

/** Starts a watcher on a manifest file holding `files`, waits for its first reconcile to settle. */
async function watchManifest(world: SyncWorld, files: TlsFiles, captured: CapturedLog): Promise<{ watcher: Watcher; cleanup(): void }> {
  const dir = tempDir("wildseal-manifest-");
  const path = `${dir.path}/secret.yaml`;
  await writeFile(path, manifestOf(files), { mode: 0o600 });
  const watcher = await startWatch(watchOptions(world, { kind: "manifest", path, rereadIntervalMs: 60_000 }, captured, GATE_TIMING));
  await waitUntil(() => watcher.status().lastOutcome !== undefined, "the startup reconcile");
  await watcher.idle();
  return { watcher, cleanup: dir.cleanup };
}

describe("wildseal watch: safety gates refuse and publish nothing", () => {
  for (const [gate, make] of [
    ["expired", expiredFiles],
    ["key-mismatch", mismatchedFiles],
  ] as const) {
    it(`${gate}: the certificate is refused as a whole, nothing is committed, the refusal is counted`, { timeout: 60_000 }, async () => {
      const world = await makeSyncWorld(["acme"]);
      const captured = captureLog();
      const files = await make(world.ca);
      const w = await watchManifest(world, files, captured);
      try {
        assert.equal(w.watcher.status().lastOutcome, "failed");
        assert.equal(w.watcher.status().succeededOnce, false);
        assert.equal(commitCount(world.remote.path), 1, "only the seed commit");
        assert.equal(remoteFile(world.remote.path, "main", "rendered/prod-east/acme/sealed-secret.yaml"), undefined);
        assert.ok((await metricValue(w.watcher.metrics, "wildseal_gate_failures_total", { reason: gate })) >= 1, `gate ${gate} counted`);
        assert.ok(gatesLogged(captured).some((l) => l.gate === gate && l.level === "error"), `an error naming gate ${gate} was logged`);
        assertNoKeyMaterial(captured.lines, files["tls.key"]);
      } finally {
        await w.watcher.stop();
        w.cleanup();
        world.cleanup();
      }
    });
  }

  it("uncovered host: that tenant is held (nothing rendered for it), the covered tenant is published", { timeout: 60_000 }, async () => {
    const world = await makeSyncWorld(["acme", "beta"]);
    const captured = captureLog();
    pushAsPerson(world.remote.path, "main", { "tenants/beta.yaml": tenantYaml("beta").replace("beta.example.com", "beta.example.org") }, "beta moves to .org");
    const w = await watchManifest(world, filesOf(await world.issue(5)), captured);
    try {
      assert.equal(commitCount(world.remote.path), 3, "seed, person, wildseal");
      assert.ok(remoteFile(world.remote.path, "main", "rendered/prod-east/acme/sealed-secret.yaml") !== undefined, "acme published");
      assert.equal(remoteFile(world.remote.path, "main", "rendered/prod-east/beta/sealed-secret.yaml"), undefined, "beta held");
      assert.ok((await metricValue(w.watcher.metrics, "wildseal_gate_failures_total", { reason: "uncovered-host" })) >= 1);
      assert.ok(gatesLogged(captured).some((l) => l.gate === "uncovered-host" && l.path === "tenants/beta.yaml"), "beta's hold was logged with its gate");
    } finally {
      await w.watcher.stop();
      w.cleanup();
      world.cleanup();
    }
  });

  it("downgrade: a certificate older than the committed one publishes nothing", { timeout: 60_000 }, async () => {
    const world = await makeSyncWorld(["acme"]);
    const captured = captureLog();
    const newer = await world.issue(1);
    await sync({ repo: world.remote.path, branch: "main", source: sourceOf(newer), delivery: { kind: "push" }, credentials: NO_CREDENTIALS });
    const committed = remoteFile(world.remote.path, "main", "rendered/prod-east/acme/sealed-secret.yaml");
    const w = await watchManifest(world, filesOf(await world.issue(20)), captured);
    try {
      assert.equal(w.watcher.status().lastOutcome, "unchanged");
      assert.equal(commitCount(world.remote.path), 2, "seed and the newer certificate only");
      assert.equal(remoteFile(world.remote.path, "main", "rendered/prod-east/acme/sealed-secret.yaml"), committed);
      assert.ok(world.unsealAll().get("acme")?.crt.equals(newer.secret.data.get("tls.crt")?.reveal() ?? Buffer.alloc(1)), "acme keeps the newer certificate");
      assert.ok((await metricValue(w.watcher.metrics, "wildseal_gate_failures_total", { reason: "downgrade" })) >= 1);
      assert.ok(gatesLogged(captured).some((l) => l.gate === "downgrade" && l.path === "rendered/prod-east/acme/sealed-secret.yaml"));
    } finally {
      await w.watcher.stop();
      w.cleanup();
      world.cleanup();
    }
  });
});
