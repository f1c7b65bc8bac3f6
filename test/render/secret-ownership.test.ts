import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { renderRepository } from "../../src/render/render-repository.ts";
import { DAY, changedPaths, hashTree, makeLeaf, makeRepo, tenantYaml, writeFiles } from "./render-fixture.ts";

test("a newcomer claiming a live tenant's Secret is skipped, whatever its file name; the cluster still builds", async () => {
  const dir = await makeRepo({ clusters: ["prod-east"], tenants: [{ name: "zeta", cluster: "prod-east", namespace: "shared" }] });
  const { tls } = await makeLeaf();
  await renderRepository({ repoDir: dir, tls });
  const before = hashTree(dir);

  // "alpha" sorts before "zeta": file order alone would hand it zeta's live Secret
  writeFiles(dir, { "tenants/alpha.yaml": tenantYaml({ name: "alpha", cluster: "prod-east", namespace: "shared" }) });
  const r = await renderRepository({ repoDir: dir, tls });
  assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.cluster}/${c.tenant}`), ["hold /alpha", "keep prod-east/zeta"]);
  assert.deepEqual(changedPaths(before, hashTree(dir)), [], "zeta's output and the index are untouched");
  assert.ok(
    r.diagnostics.some((d) => d.path === "tenants/alpha.yaml" && /already delivered by tenant zeta/.test(d.message)),
    JSON.stringify(r.diagnostics),
  );
  execFileSync("kubectl", ["kustomize", join(dir, "rendered", "prod-east")], { encoding: "utf8", timeout: 60_000 });

  // a renewal still reaches the live owner
  const renewed = await makeLeaf({ notBefore: new Date(Date.now() - DAY) });
  const r2 = await renderRepository({ repoDir: dir, tls: renewed.tls });
  assert.deepEqual(r2.changes.map((c) => `${c.kind} ${c.tenant}`), ["hold alpha", "renew zeta"]);
});

test("a stale certificate reaches no tenant: not a live one, and not one added meanwhile", async () => {
  const dir = await makeRepo({ clusters: ["prod-east"], tenants: [{ name: "acme", cluster: "prod-east" }] });
  const current = await makeLeaf({ notBefore: new Date(Date.now() - DAY) }); // expires in ~89 days
  await renderRepository({ repoDir: dir, tls: current.tls });
  writeFiles(dir, { "tenants/delta.yaml": tenantYaml({ name: "delta", cluster: "prod-east" }) });
  const before = hashTree(dir);

  const stale = await makeLeaf({ notBefore: new Date(Date.now() - 30 * DAY) }); // expires in ~60 days
  const r = await renderRepository({ repoDir: dir, tls: stale.tls });
  assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.tenant}`), ["hold acme", "hold delta"]);
  assert.deepEqual(changedPaths(before, hashTree(dir)), [], "nothing written");
  assert.deepEqual(
    r.diagnostics.map((d) => `${d.path} ${/tenant (\w+): refusing/.exec(d.message)?.[1]}`),
    ["rendered/prod-east/acme/sealed-secret.yaml acme", "rendered/prod-east/acme/sealed-secret.yaml delta"],
  );
});
