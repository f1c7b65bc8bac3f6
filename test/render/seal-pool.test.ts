import assert from "node:assert/strict";
import { describe, test, after } from "node:test";
import { renderRepository } from "../../src/render/render-repository.ts";
import { SealPool, closeSharedSealPool, sharedSealPool, workerState } from "../../src/render/seal-batch.ts";
import type { SealBatch } from "../../src/render/seal-batch.ts";
import { hybridDecrypt, sealLabel } from "../../src/seal/hybrid.ts";
import { parseSealingCertificate } from "../../src/seal/sealing-cert.ts";
import { parseSealedSecrets } from "../../src/seal/sealed-secret.ts";
import { createPrivateKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeLeaf, makeRepo, sealingPair } from "./render-fixture.ts";
import { until } from "../helpers/wait.ts";

after(() => closeSharedSealPool());

async function batchOf(n: number, clusters = ["prod"]): Promise<SealBatch> {
  const pair = await sealingPair("prod");
  const now = new Date();
  return {
    jobs: Array.from({ length: n }, (_, i) => ({ cluster: clusters[i % clusters.length] as string, target: { scope: "strict" as const, namespace: `ns-${i}`, name: "wildcard-tls" } })),
    certs: new Map([["prod", parseSealingCertificate(pair.certPem, { now })]]),
    items: new Map([["tls.crt", Buffer.from("chain")], ["tls.key", Buffer.from("key")]]),
    now,
  };
}

async function opens(results: readonly Readonly<Record<string, string>>[], batch: SealBatch): Promise<void> {
  const key = createPrivateKey((await sealingPair("prod")).keyPem.reveal());
  results.forEach((r, i) => {
    const label = sealLabel((batch.jobs[i] as SealBatch["jobs"][number]).target);
    // each result opens only with its own job's label: results are in job order
    assert.equal(hybridDecrypt(key, label, Buffer.from(r["tls.crt"] as string, "base64")).toString(), "chain");
    assert.equal(hybridDecrypt(key, label, Buffer.from(r["tls.key"] as string, "base64")).toString(), "key");
  });
}

describe("the sealing pool", () => {
  test("seals a batch across worker threads and the main thread, results in job order", async () => {
    const pool = new SealPool(2);
    try {
      const batch = await batchOf(120);
      const progress: number[] = [];
      const results = await pool.seal(batch, (done) => progress.push(done));
      assert.equal(results.length, 120);
      await opens(results, batch);
      assert.equal(progress.at(-1), 120);
      assert.deepEqual(progress, [...progress].sort((a, b) => a - b), "progress only grows");
      assert.equal(pool.threads, 2);
    } finally {
      await pool.close();
    }
  });

  test("a worker's error fails the batch with a clear message, and the pool seals the next batch", async () => {
    const pool = new SealPool(2);
    try {
      const bad = await batchOf(40, ["prod", "nowhere"]);
      await assert.rejects(pool.seal(bad), /no sealing certificate for cluster nowhere/);
      const good = await batchOf(40);
      await opens(await pool.seal(good), good);
    } finally {
      await pool.close();
    }
  });

  test("idle workers are terminated after the idle time, and the next batch starts new ones", async () => {
    const pool = new SealPool(2, 50);
    try {
      const first = await batchOf(40);
      await opens(await pool.seal(first), first);
      const before = pool.threadIds;
      assert.equal(before.length, 2);
      await until(() => pool.threads === 0, "idle workers released");
      const second = await batchOf(40);
      await opens(await pool.seal(second), second);
      assert.equal(pool.threads, 2);
      assert.ok(pool.threadIds.every((id) => !before.includes(id)), "new threads serve the next batch");
    } finally {
      await pool.close();
    }
  });

  test("the worker side zeroes its copy of the plaintext when a batch ends", async () => {
    const handle = workerState();
    const pair = await sealingPair("prod");
    const item = new Uint8Array(Buffer.from("secret"));
    handle({ kind: "begin", batch: 1, certs: [["prod", pair.certPem]], items: [["tls.key", item]], now: Date.now() });
    const reply = handle({ kind: "seal", batch: 1, chunk: 0, jobs: [{ cluster: "prod", target: { scope: "strict", namespace: "a", name: "b" } }] });
    assert.equal(reply?.ok, true);
    handle({ kind: "end", batch: 1 });
    assert.ok(item.every((b) => b === 0));
    assert.deepEqual(handle({ kind: "seal", batch: 1, chunk: 1, jobs: [] }), { ok: false, batch: 1, chunk: 1, message: "chunk of a batch that was never begun" });
  });

  test("two renders in one process reuse the same worker threads", async () => {
    const tenants = Array.from({ length: 12 }, (_, i) => ({ name: `t${i}`, cluster: "prod" }));
    const dir1 = await makeRepo({ clusters: ["prod"], tenants });
    const dir2 = await makeRepo({ clusters: ["prod"], tenants });
    const { tls } = await makeLeaf();
    const r1 = await renderRepository({ repoDir: dir1, tls, parallel: true });
    assert.deepEqual(r1.diagnostics, []);
    const pool = sharedSealPool();
    const threads = pool.threadIds;
    assert.ok(threads.length > 0);
    const r2 = await renderRepository({ repoDir: dir2, tls, parallel: true });
    assert.deepEqual(r2.diagnostics, []);
    assert.equal(sharedSealPool(), pool);
    assert.deepEqual(pool.threadIds, threads);
    // and what they sealed opens for its own tenant
    const key = createPrivateKey((await sealingPair("prod")).keyPem.reveal());
    const doc = parseSealedSecrets(readFileSync(join(dir2, "rendered/prod/t7/sealed-secret.yaml"), "utf8"), "x")[0];
    const blob = Buffer.from(doc?.spec.encryptedData["tls.key"] ?? "", "base64");
    assert.ok(hybridDecrypt(key, sealLabel({ scope: "strict", namespace: "t7", name: "wildcard-tls" }), blob).length > 0);
  });

  test("a render reports reading, sealing and writing, each ending at its total", async () => {
    const tenants = Array.from({ length: 5 }, (_, i) => ({ name: `p${i}`, cluster: "prod" }));
    const dir = await makeRepo({ clusters: ["prod"], tenants });
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    writeFileSync(join(dir, "tenants/p9.yaml"), readFileSync(join(dir, "tenants/p0.yaml"), "utf8").replaceAll("p0", "p9"));
    const seen: string[] = [];
    const r = await renderRepository({ repoDir: dir, tls, onProgress: (x) => seen.push(`${x.phase} ${x.done}/${x.total}`) });
    assert.deepEqual(r.diagnostics, []);
    assert.ok(seen.includes("read 5/5"), seen.join());
    assert.ok(seen.includes("seal 1/1"), seen.join());
    assert.ok(seen.includes("write 1/1"), seen.join());
  });
});
