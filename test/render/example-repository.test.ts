import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/model/index.ts";
import { renderRepository } from "../../src/render/render-repository.ts";
import { hashTree, makeLeaf, tempDir } from "./render-fixture.ts";

const project = join(import.meta.dirname, "..", "..");

/** A copy of the project's own example GitOps repository (public certificates only). */
function exampleRepository(): string {
  const dir = tempDir("wildseal-example-");
  for (const entry of ["wildseal.yaml", "tenants", "templates", "clusters"]) cpSync(join(project, entry), join(dir, entry), { recursive: true });
  return dir;
}

test("the project's example repository renders, twice byte for byte, and kubectl kustomize builds every cluster", async () => {
  const repo = exampleRepository();
  const { tls } = await makeLeaf();
  const first = await renderRepository({ repoDir: repo, tls });
  assert.deepEqual(first.diagnostics, []);
  assert.deepEqual(
    first.changes.map((c) => `${c.cluster}/${c.tenant}:${c.kind}`),
    ["prod-east/acme:add", "prod-east/globex:add", "prod-west/initech:add"],
  );
  const before = hashTree(repo);
  assert.equal(before.size, 8, "3 tenants x 2 files + 2 cluster indexes");
  const second = await renderRepository({ repoDir: repo, tls });
  assert.ok(second.changes.every((c) => c.kind === "keep"));
  assert.deepEqual(hashTree(repo), before, "a second render writes identical bytes");

  const { config } = await loadConfig(repo);
  const clusters = config?.clusters.map((c) => c.name) ?? [];
  assert.deepEqual(clusters, ["prod-east", "prod-west"]);
  assert.deepEqual(readdirSync(join(repo, "rendered")).sort(), clusters);
  for (const cluster of clusters) {
    // kubectl is a test dependency: a missing binary fails this test (ENOENT), it does not skip it.
    const built = execFileSync("kubectl", ["kustomize", join(repo, "rendered", cluster)], { encoding: "utf8", timeout: 60_000 });
    const kinds = [...built.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]);
    assert.deepEqual(kinds, cluster === "prod-east" ? ["SealedSecret", "SealedSecret"] : ["SealedSecret"], built);
    assert.match(built, /wildseal\.dev\/cert-sha256: [0-9a-f]{64}/);
  }
});
