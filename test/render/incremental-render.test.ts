import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatDiagnostic, type InvalidInputError } from "../../src/errors.ts";
import { renderRepository } from "../../src/render/render-repository.ts";
import { parseSealedSecrets } from "../../src/seal/sealed-secret.ts";
import { DAY, changedPaths, hashTree, makeLeaf, makeRepo, tenantYaml, writeFiles } from "./render-fixture.ts";

const CLUSTERS = ["prod-east", "prod-west"];
const TENANTS = [
  { name: "acme", cluster: "prod-east" },
  { name: "beta", cluster: "prod-east", scope: "namespace-wide" },
  { name: "gamma", cluster: "prod-west", namespace: "gamma-apps" },
];

function encryptedData(dir: string, cluster: string, tenant: string): Record<string, string> {
  const text = readFileSync(join(dir, "rendered", cluster, tenant, "sealed-secret.yaml"), "utf8");
  return parseSealedSecrets(text, "x")[0]?.spec.encryptedData ?? {};
}

describe("incremental rendering", () => {
  test("rendering twice gives identical bytes and reports every tenant as kept", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    const first = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(first.diagnostics, []);
    assert.deepEqual(first.changes.map((c) => `${c.kind} ${c.cluster}/${c.tenant}`), ["add prod-east/acme", "add prod-east/beta", "add prod-west/gamma"]);
    const before = hashTree(dir);
    const second = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(changedPaths(before, hashTree(dir)), []);
    assert.deepEqual(second.changes.map((c) => c.kind), ["keep", "keep", "keep"]);
    assert.deepEqual(second.files, { written: [], removed: [] });
  });

  test("adding one tenant changes only its folder and its cluster's index", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    const before = hashTree(dir);
    writeFiles(dir, { "tenants/delta.yaml": tenantYaml({ name: "delta", cluster: "prod-west" }) });
    const r = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(changedPaths(before, hashTree(dir)), [
      "rendered/prod-west/delta/kustomization.yaml",
      "rendered/prod-west/delta/sealed-secret.yaml",
      "rendered/prod-west/kustomization.yaml",
    ]);
    assert.match(readFileSync(join(dir, "rendered/prod-west/kustomization.yaml"), "utf8"), /resources:\n {2}- delta\n {2}- gamma\n/);
  });

  test("a renewed leaf re-seals every tenant's SealedSecret", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const old = await makeLeaf({ notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() + 60 * DAY) });
    await renderRepository({ repoDir: dir, tls: old.tls });
    const before = hashTree(dir);
    const renewed = await makeLeaf({ notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 89 * DAY) });
    const r = await renderRepository({ repoDir: dir, tls: renewed.tls });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.changes.map((c) => c.kind), ["renew", "renew", "renew"]);
    assert.deepEqual(changedPaths(before, hashTree(dir)), [
      "rendered/prod-east/acme/sealed-secret.yaml",
      "rendered/prod-east/beta/sealed-secret.yaml",
      "rendered/prod-west/gamma/sealed-secret.yaml",
    ]);
    assert.match(readFileSync(join(dir, "rendered/prod-east/acme/sealed-secret.yaml"), "utf8"), new RegExp(`wildseal.dev/cert-sha256: ${renewed.tls.leaf.sha256}`));
  });

  test("an older certificate than the committed one is refused for every tenant, output untouched", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const newer = await makeLeaf({ notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 89 * DAY) });
    await renderRepository({ repoDir: dir, tls: newer.tls });
    const before = hashTree(dir);
    const older = await makeLeaf({ notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() + 30 * DAY) });
    const r = await renderRepository({ repoDir: dir, tls: older.tls });
    assert.deepEqual(changedPaths(before, hashTree(dir)), []);
    assert.deepEqual(r.changes.map((c) => c.kind), ["hold", "hold", "hold"]);
    assert.equal(r.diagnostics.length, 3);
    const d = formatDiagnostic(r.diagnostics[0] ?? { path: "", line: 0, col: 0, message: "" });
    assert.match(d, /^rendered\/prod-east\/acme\/sealed-secret\.yaml:6:34: tenant acme: refusing to replace the committed certificate \(notAfter \S+\) with an older one/);
  });

  test("an invalid tenant keeps its output byte for byte while the others are rendered", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    const before = hashTree(dir);
    writeFiles(dir, {
      "tenants/acme.yaml": `${tenantYaml({ name: "acme", cluster: "prod-east" })}  bogus: field\n`,
      "tenants/beta.yaml": tenantYaml({ name: "beta", cluster: "prod-east", scope: "namespace-wide", values: { team: "b" } }),
      "tenants/delta.yaml": tenantYaml({ name: "delta", cluster: "prod-east" }),
    });
    const r = await renderRepository({ repoDir: dir, tls });
    assert.ok(r.diagnostics.some((d) => d.path === "tenants/acme.yaml"), r.diagnostics.map(formatDiagnostic).join("\n"));
    const after = hashTree(dir);
    for (const [p, h] of before) if (p.startsWith("rendered/prod-east/acme/")) assert.equal(after.get(p), h, p);
    assert.ok(after.has("rendered/prod-east/delta/sealed-secret.yaml"));
    assert.deepEqual(
      r.changes.map((c) => `${c.kind} ${c.cluster}/${c.tenant}`),
      ["hold prod-east/acme", "keep prod-east/beta", "add prod-east/delta", "keep prod-west/gamma"],
    );
    assert.match(readFileSync(join(dir, "rendered/prod-east/kustomization.yaml"), "utf8"), /- acme\n {2}- beta\n {2}- delta\n/);
  });

  test("a removed tenant's folder is pruned and dropped from the index; a moved tenant changes cluster", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    rmSync(join(dir, "tenants/beta.yaml"));
    writeFiles(dir, { "tenants/gamma.yaml": tenantYaml({ name: "gamma", cluster: "prod-east", namespace: "gamma-apps" }) });
    const r = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.cluster}/${c.tenant}`), ["keep prod-east/acme", "remove prod-east/beta", "add prod-east/gamma", "remove prod-west/gamma"]);
    assert.deepEqual([...hashTree(dir).keys()], [
      "rendered/prod-east/acme/kustomization.yaml",
      "rendered/prod-east/acme/sealed-secret.yaml",
      "rendered/prod-east/gamma/kustomization.yaml",
      "rendered/prod-east/gamma/sealed-secret.yaml",
      "rendered/prod-east/kustomization.yaml",
      "rendered/prod-west/kustomization.yaml",
    ]);
  });

  test("a host the certificate does not cover holds that tenant with the host's position", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: [...TENANTS, { name: "evil", cluster: "prod-west", hosts: ["a.b.example.com"] }] });
    const { tls } = await makeLeaf();
    const r = await renderRepository({ repoDir: dir, tls });
    assert.equal(r.diagnostics.length, 1);
    assert.equal(r.diagnostics[0]?.path, "tenants/evil.yaml");
    assert.equal(r.diagnostics[0]?.line, 7);
    assert.ok(!hashTree(dir).has("rendered/prod-west/evil/sealed-secret.yaml"));
    assert.ok(r.changes.some((c) => c.tenant === "evil" && c.kind === "hold"));
  });

  test("a template change rewrites the files but keeps the ciphertext (no re-seal)", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    const sealedBefore = encryptedData(dir, "prod-east", "acme");
    writeFiles(dir, { "templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${tenant.name}-info\n  namespace: ${tenant.namespace}\ndata:\n  hosts: ${tenant.hosts}\n" });
    const r = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.changes.map((c) => c.kind), ["update", "update", "update"]);
    assert.deepEqual(encryptedData(dir, "prod-east", "acme"), sealedBefore);
    assert.match(readFileSync(join(dir, "rendered/prod-east/acme/kustomization.yaml"), "utf8"), /- config\.yaml\n {2}- sealed-secret\.yaml\n/);
  });

  test("a scope change re-seals (update) and the committed file is rewritten", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    const sealedBefore = encryptedData(dir, "prod-east", "acme");
    writeFiles(dir, { "tenants/acme.yaml": tenantYaml({ name: "acme", cluster: "prod-east", scope: "cluster-wide" }) });
    const r = await renderRepository({ repoDir: dir, tls });
    assert.equal(r.changes.find((c) => c.tenant === "acme")?.kind, "update");
    assert.notDeepEqual(encryptedData(dir, "prod-east", "acme"), sealedBefore);
  });

  test("a hand edit of a generated file is restored, and a generated stray file is cleaned", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    const before = hashTree(dir);
    const index = join(dir, "rendered/prod-east/acme/kustomization.yaml");
    writeFileSync(index, readFileSync(index, "utf8").replace("resources:", "resources: # edited\n"));
    writeFileSync(join(dir, "rendered/prod-east/acme/stray.yaml"), readFileSync(index, "utf8"));
    const r = await renderRepository({ repoDir: dir, tls });
    assert.equal(r.changes.find((c) => c.tenant === "acme")?.kind, "update");
    assert.deepEqual(changedPaths(before, hashTree(dir)), []);
  });

  test("a file without the generated header is never overwritten or deleted: nothing is written", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    writeFileSync(join(dir, "rendered/prod-east/acme/kustomization.yaml"), "edited\n");
    writeFileSync(join(dir, "rendered/prod-east/acme/stray.txt"), "x");
    const before = hashTree(dir);
    await assert.rejects(renderRepository({ repoDir: dir, tls }), (e: unknown) => {
      const ds = (e as InvalidInputError).diagnostics.map(formatDiagnostic);
      assert.deepEqual(
        ds.map((d) => d.split(": ")[0]),
        ["rendered/prod-east/acme/kustomization.yaml:1:1", "rendered/prod-east/acme/stray.txt:1:1"],
      );
      assert.match(ds[0] ?? "", /was not generated by wildseal, yet it is inside the output folder rendered\/ .*nothing was written/);
      return true;
    });
    assert.deepEqual(changedPaths(before, hashTree(dir)), []);
  });

  test("an empty file in a tenant folder (what a crash can leave, rendered files are not fsynced) is rewritten, not refused", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    const before = hashTree(dir);
    const sealed = join(dir, "rendered/prod-east/acme/sealed-secret.yaml");
    writeFileSync(sealed, "");
    const r = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.changes.find((c) => c.tenant === "acme")?.kind, "update");
    assert.match(readFileSync(sealed, "utf8"), /kind: SealedSecret/);
    assert.deepEqual(changedPaths(before, hashTree(dir)), ["rendered/prod-east/acme/sealed-secret.yaml"], "only the emptied file changed");
  });

  test("an expired certificate publishes nothing", async () => {
    const dir = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    const r = await renderRepository({ repoDir: dir, tls, now: new Date(tls.leaf.notAfter.getTime() + 1000), sourceLabel: "source.yaml" });
    assert.match(formatDiagnostic(r.diagnostics[0] ?? { path: "", line: 0, col: 0, message: "" }), /^source\.yaml:1:1: the certificate expired at/);
    assert.deepEqual([...hashTree(dir).keys()], []);
  });

  test("worker-thread sealing gives the same files as single-thread sealing (except ciphertext)", async () => {
    const a = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const b = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { tls } = await makeLeaf();
    const now = new Date();
    await renderRepository({ repoDir: a, tls, now, parallel: false });
    await renderRepository({ repoDir: b, tls, now, parallel: true });
    const strip = (dir: string, p: string): string => readFileSync(join(dir, p), "utf8").replace(/(tls\.(crt|key)): \S+/g, "$1: X");
    const files = [...hashTree(a).keys()];
    assert.deepEqual(files, [...hashTree(b).keys()]);
    for (const p of files) assert.equal(strip(a, p), strip(b, p), p);
  });
});
