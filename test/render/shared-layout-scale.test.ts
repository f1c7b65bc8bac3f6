import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { renderRepository } from "../../src/render/render-repository.ts";
import { DAY, changedPaths, hashTree, makeLeaf, makeRepo, writeFiles } from "./render-fixture.ts";

/**
 * What a renewal of 1,000 tenants on one cluster writes, per layout (quoted in
 * docs/configuration.md#layouts): every tenant's sealed-secret.yaml in the per-tenant layout, the
 * one _shared/sealed-secret.yaml in the shared layout. File counts, not timings.
 */

const TENANTS = 1_000;

function config(layout: "per-tenant" | "shared"): string {
  return `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: scale}
spec:
  source: {namespace: cert-manager, name: wildcard-example-com}
  layout: ${layout}
  clusters:
    - name: east
      sealingCert: clusters/east/sealed-secrets.pem
  output: rendered
`;
}

async function renewalWrites(layout: "per-tenant" | "shared"): Promise<{ files: string[]; renewed: number }> {
  const tenants = Array.from({ length: TENANTS }, (_, i) => ({ name: `t${String(i).padStart(4, "0")}`, cluster: "east", hosts: [`t${i}.example.com`] }));
  const dir = await makeRepo({ clusters: ["east"], tenants });
  writeFiles(dir, { "wildseal.yaml": config(layout) });
  const old = await makeLeaf({ notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() + 60 * DAY) });
  const cold = await renderRepository({ repoDir: dir, tls: old.tls });
  assert.deepEqual(cold.diagnostics, []);
  const before = hashTree(dir);
  const renewed = await makeLeaf({ notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 89 * DAY) });
  const r = await renderRepository({ repoDir: dir, tls: renewed.tls });
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(changedPaths(before, hashTree(dir)), [...r.files.written].sort(), "what the render says it wrote is what changed");
  return { files: r.files.written, renewed: r.changes.filter((c) => c.kind === "renew").length };
}

describe(`renewal of ${TENANTS} tenants on one cluster`, () => {
  test("per-tenant layout: one sealed-secret.yaml per tenant is rewritten", async () => {
    const { files, renewed } = await renewalWrites("per-tenant");
    assert.equal(renewed, TENANTS);
    assert.equal(files.length, TENANTS);
    assert.ok(files.every((f) => f.endsWith("/sealed-secret.yaml")));
  });

  test("shared layout: only _shared/sealed-secret.yaml is rewritten, and every tenant is reported renewed", async () => {
    const { files, renewed } = await renewalWrites("shared");
    assert.equal(renewed, TENANTS);
    assert.deepEqual(files, ["rendered/east/_shared/sealed-secret.yaml"]);
  });
});
