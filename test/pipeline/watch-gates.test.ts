import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { certificateGate, diagnosticGate } from "../../src/pipeline/gates.ts";
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
        assert.ok(captured.messages().includes("certificate refused by a safety gate: nothing was published"));
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
      assert.ok(captured.lines.some((l) => l.includes("host beta.example.org is not covered")));
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
    } finally {
      await w.watcher.stop();
      w.cleanup();
      world.cleanup();
    }
  });

  it("classifies refusals into stable reasons", () => {
    assert.equal(certificateGate("x: tls.key does not match the leaf certificate in tls.crt (sha256 ab)"), "key-mismatch");
    assert.equal(certificateGate("x: the leaf certificate expired at 2020-01-01T00:00:00.000Z; renew it"), "expired");
    assert.equal(certificateGate("x: the leaf certificate is not valid before 2030-01-01"), "not-yet-valid");
    assert.equal(certificateGate("x: tls.crt holds no PEM block"), "invalid-certificate");
    const at = { line: 1, col: 1 };
    assert.equal(diagnosticGate({ path: "rendered/p/a/sealed-secret.yaml", ...at, message: "tenant a: refusing to replace the committed certificate (notAfter x) with an older one (…)" }), "downgrade");
    assert.equal(diagnosticGate({ path: "tenants/a.yaml", ...at, message: "host a.example.org is not covered by the certificate (DNS names: *.example.com)" }), "uncovered-host");
    assert.equal(diagnosticGate({ path: "tenants/a.yaml", ...at, message: "unknown field colour" }), "invalid-tenant");
    assert.equal(diagnosticGate({ path: "tenants", ...at, message: "is a symbolic link; wildseal reads …" }), "invalid-tenant");
    assert.equal(diagnosticGate({ path: "templates", ...at, message: "is not a folder, but templates/ must be one" }), "invalid-template");
    assert.equal(diagnosticGate({ path: "tenants", ...at, message: "removal of 1 tenant folder held (acme (prod-east)): tenants/ has problems" }), "removal-held");
    assert.equal(diagnosticGate({ path: "tenants", ...at, message: "3 tenant folders would be removed (a, b, c), more than --max-removals 2" }), "removal-held");
    assert.equal(diagnosticGate({ path: "templates/x.yaml", ...at, message: "unknown placeholder" }), "invalid-template");
    assert.equal(diagnosticGate({ path: "clusters/p/sealed-secrets.pem", ...at, message: "expired" }), "sealing-certificate");
    assert.equal(diagnosticGate({ path: "wildseal.yaml", ...at, message: "bad" }), "invalid-config");
  });
});
