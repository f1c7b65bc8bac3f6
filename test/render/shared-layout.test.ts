import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import { loadConfig } from "../../src/model/load-config.ts";
import { committedCertificates } from "../../src/pipeline/committed-certificate.ts";
import { renderRepository } from "../../src/render/render-repository.ts";
import { readExistingTree } from "../../src/render/rendered-files.ts";
import { listTenants } from "../../src/render/tenant-list.ts";
import { parseSealedSecrets, unsealSealedSecret } from "../../src/seal/sealed-secret.ts";
import { rfc3339 } from "../../src/rfc3339.ts";
import { kustomize, type Built } from "./kustomize.ts";
import { DAY, changedPaths, hashTree, makeLeaf, makeRepo, sealingPair, tenantYaml, writeFiles } from "./render-fixture.ts";

/**
 * The shared layout (docs/configuration.md#layouts): one cluster-wide SealedSecret per cluster in
 * rendered/<cluster>/_shared/, reused by every tenant folder through kustomize, so a renewal
 * rewrites O(clusters) files.
 */

interface ClusterSpec {
  readonly name: string;
  readonly layout?: "shared" | "per-tenant";
}

/** wildseal.yaml with `spec.layout` and per-cluster layouts. */
function layoutConfig(clusters: readonly ClusterSpec[], layout?: "shared" | "per-tenant", defaults = "{secretName: wildcard-tls}"): string {
  return `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: test}
spec:
  source: {namespace: cert-manager, name: wildcard-example-com}
${layout === undefined ? "" : `  layout: ${layout}\n`}  clusters:
${clusters.map((c) => `    - name: ${c.name}\n      sealingCert: clusters/${c.name}/sealed-secrets.pem${c.layout === undefined ? "" : `\n      layout: ${c.layout}`}`).join("\n")}
  defaults: ${defaults}
  output: rendered
`;
}

const INGRESS = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: \${tenant.name}
  namespace: \${tenant.namespace}
spec:
  tls:
    - hosts: \${tenant.hosts}
      secretName: \${tenant.secretName}
`;

async function sharedRepo(tenants = [{ name: "acme", namespace: "acme-web" }, { name: "beta", secretName: "beta-tls" }]): Promise<string> {
  const dir = await makeRepo({ clusters: ["east"], tenants: tenants.map((t) => ({ ...t, cluster: "east" })), templates: { "ingress.yaml": INGRESS } });
  writeFiles(dir, { "wildseal.yaml": layoutConfig([{ name: "east" }], "shared") });
  return dir;
}

const paths = (dir: string): string[] => [...hashTree(dir).keys()];
const read = (dir: string, p: string): string => readFileSync(join(dir, p), "utf8");

/** Unseals a built SealedSecret with the cluster's key and checks it is the source certificate. */
async function assertUnsealsToSource(built: Built, cluster: string, source: Awaited<ReturnType<typeof makeLeaf>>): Promise<void> {
  const [obj] = parseSealedSecrets(built.text, `${built.namespace}/${built.name}`);
  assert.ok(obj);
  const secret = unsealSealedSecret(obj, [(await sealingPair(cluster)).privateKey], built.name);
  for (const item of ["tls.crt", "tls.key"]) {
    assert.ok(secret.data.get(item)?.equals(source.tls.secret.data.get(item)!), `${built.namespace}/${built.name} ${item}`);
  }
}

describe("shared layout", () => {
  test("a shared cluster gets one _shared/ SealedSecret; tenant folders hold a kustomization that reuses it and no ciphertext", async () => {
    const dir = await sharedRepo();
    const leaf = await makeLeaf();
    const r = await renderRepository({ repoDir: dir, tls: leaf.tls });
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.cluster}/${c.tenant}`), ["add east/acme", "add east/beta"]);
    assert.deepEqual(paths(dir), [
      "rendered/east/_shared/kustomization.yaml",
      "rendered/east/_shared/sealed-secret.yaml",
      "rendered/east/acme/ingress.yaml",
      "rendered/east/acme/kustomization.yaml",
      "rendered/east/beta/ingress.yaml",
      "rendered/east/beta/kustomization.yaml",
      "rendered/east/kustomization.yaml",
    ]);
    // the index lists the tenants only: _shared/ alone would be a SealedSecret without a namespace
    assert.match(read(dir, "rendered/east/kustomization.yaml"), /resources:\n {2}- acme\n {2}- beta\n$/);
    const shared = read(dir, "rendered/east/_shared/sealed-secret.yaml");
    assert.match(shared, /sealedsecrets\.bitnami\.com\/cluster-wide: "true"/);
    for (const a of ["cert-sha256", "cert-not-after", "sealing-cert-sha256", "sealed-inputs-sha256"]) assert.match(shared, new RegExp(`wildseal\\.dev/${a}: `));
    assert.match(shared, new RegExp(`wildseal.dev/cert-sha256: ${leaf.tls.leaf.sha256}`));
    const k = read(dir, "rendered/east/acme/kustomization.yaml");
    assert.match(k, /resources:\n {2}- \.\.\/_shared\n {2}- ingress\.yaml\n/);
    assert.match(k, /allowNameChange: true/);
    assert.match(k, /value: acme-web/);
    for (const renewalFact of [leaf.tls.leaf.sha256, rfc3339(leaf.tls.leaf.notAfter), "sealed-inputs-sha256", "encryptedData", "cluster-wide"]) {
      assert.ok(!k.includes(renewalFact), `the tenant kustomization must not carry ${renewalFact}`);
    }
  });

  test("kubectl kustomize builds the shared layout into one SealedSecret per tenant, in its namespace with its Secret name, and each unseals to the source", async () => {
    const dir = await sharedRepo();
    const leaf = await makeLeaf();
    await renderRepository({ repoDir: dir, tls: leaf.tls });
    const built = kustomize(join(dir, "rendered/east"));
    const sealed = built.filter((b) => b.kind === "SealedSecret");
    assert.deepEqual(sealed.map((b) => `${b.namespace}/${b.name}`).sort(), ["acme-web/wildcard-tls", "beta/beta-tls"]);
    assert.deepEqual(built.filter((b) => b.kind === "Ingress").map((b) => `${b.namespace}/${b.name}`).sort(), ["acme-web/acme", "beta/beta"]);
    for (const s of sealed) {
      const tenant = s.namespace === "acme-web" ? "acme" : "beta";
      // the tenant's own labels and annotations (from the SealedSecret template) and the fingerprints from _shared/
      assert.match(s.text, new RegExp(`wildseal\\.dev/tenant: ${tenant}`));
      assert.match(s.text, /app\.kubernetes\.io\/managed-by: wildseal/);
      assert.match(s.text, new RegExp(`wildseal\\.dev/cert-sha256: ${leaf.tls.leaf.sha256}`));
      assert.match(s.text, new RegExp(`\\n {6}name: ${s.name}\\n {6}namespace: ${s.namespace}\\n`), "spec.template.metadata names the tenant's Secret");
      await assertUnsealsToSource(s, "east", leaf);
    }
  });

  test("rendering twice changes nothing", async () => {
    const dir = await sharedRepo();
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    const before = hashTree(dir);
    const r = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(changedPaths(before, hashTree(dir)), []);
    assert.deepEqual(r.changes.map((c) => c.kind), ["keep", "keep"]);
    assert.deepEqual(r.files, { written: [], removed: [] });
  });

  test("a renewal rewrites only _shared/ and reports every tenant of the cluster as renewed", async () => {
    const dir = await sharedRepo();
    const old = await makeLeaf({ notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() + 60 * DAY) });
    await renderRepository({ repoDir: dir, tls: old.tls });
    const before = hashTree(dir);
    const renewed = await makeLeaf({ notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 89 * DAY) });
    const r = await renderRepository({ repoDir: dir, tls: renewed.tls });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.tenant}`), ["renew acme", "renew beta"]);
    assert.deepEqual(changedPaths(before, hashTree(dir)), ["rendered/east/_shared/sealed-secret.yaml"]);
    assert.deepEqual(r.files.written, ["rendered/east/_shared/sealed-secret.yaml"]);
    for (const s of kustomize(join(dir, "rendered/east")).filter((b) => b.kind === "SealedSecret")) await assertUnsealsToSource(s, "east", renewed);
  });

  test("adding a tenant writes only its folder and the cluster index", async () => {
    const dir = await sharedRepo();
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    const before = hashTree(dir);
    writeFiles(dir, { "tenants/gamma.yaml": tenantYaml({ name: "gamma", cluster: "east" }) });
    const r = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.tenant}`), ["keep acme", "keep beta", "add gamma"]);
    assert.deepEqual(changedPaths(before, hashTree(dir)), [
      "rendered/east/gamma/ingress.yaml",
      "rendered/east/gamma/kustomization.yaml",
      "rendered/east/kustomization.yaml",
    ]);
  });

  test("switching a cluster between layouts re-renders it both ways, and each way builds and unseals", async () => {
    const dir = await sharedRepo();
    writeFiles(dir, { "wildseal.yaml": layoutConfig([{ name: "east" }]) });
    const leaf = await makeLeaf();
    await renderRepository({ repoDir: dir, tls: leaf.tls });
    const perTenant = paths(dir);
    assert.ok(perTenant.includes("rendered/east/acme/sealed-secret.yaml"));
    assert.ok(!perTenant.some((p) => p.includes("_shared")));

    writeFiles(dir, { "wildseal.yaml": layoutConfig([{ name: "east", layout: "shared" }]) });
    const toShared = await renderRepository({ repoDir: dir, tls: leaf.tls });
    assert.deepEqual(toShared.diagnostics, []);
    assert.deepEqual(toShared.changes.map((c) => c.kind), ["update", "update"]);
    assert.deepEqual(toShared.files.removed.sort(), ["rendered/east/acme/sealed-secret.yaml", "rendered/east/beta/sealed-secret.yaml"]);
    assert.ok(existsSync(join(dir, "rendered/east/_shared/sealed-secret.yaml")));
    for (const s of kustomize(join(dir, "rendered/east")).filter((b) => b.kind === "SealedSecret")) await assertUnsealsToSource(s, "east", leaf);

    writeFiles(dir, { "wildseal.yaml": layoutConfig([{ name: "east", layout: "per-tenant" }], "shared") });
    const back = await renderRepository({ repoDir: dir, tls: leaf.tls });
    assert.deepEqual(back.diagnostics, []);
    assert.deepEqual(back.changes.map((c) => c.kind), ["update", "update"]);
    assert.deepEqual(paths(dir), perTenant);
    assert.ok(back.files.removed.includes("rendered/east/_shared"));
    const built = kustomize(join(dir, "rendered/east")).filter((b) => b.kind === "SealedSecret");
    assert.doesNotMatch(built.map((b) => b.text).join(""), /cluster-wide/);
    for (const s of built) await assertUnsealsToSource(s, "east", leaf);
  });

  test("_shared/ stays while any tenant folder uses it and goes with the last one", async () => {
    const dir = await sharedRepo();
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    rmSync(join(dir, "tenants/acme.yaml"));
    const one = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(one.changes.map((c) => `${c.kind} ${c.tenant}`), ["remove acme", "keep beta"]);
    assert.ok(existsSync(join(dir, "rendered/east/_shared/sealed-secret.yaml")));
    rmSync(join(dir, "tenants/beta.yaml"));
    const none = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(none.changes.map((c) => `${c.kind} ${c.tenant}`), ["remove beta"]);
    assert.deepEqual(paths(dir), ["rendered/east/kustomization.yaml"]);
    assert.deepEqual(none.files.removed, ["rendered/east/beta", "rendered/east/_shared"]);
  });

  test("a held tenant's folder keeps _shared/ alive after the cluster switches to per-tenant, and _shared/ goes once it is fixed", async () => {
    const dir = await sharedRepo();
    const { tls } = await makeLeaf();
    await renderRepository({ repoDir: dir, tls });
    const betaBefore = hashTree(dir, "rendered/east/beta");
    writeFiles(dir, {
      "wildseal.yaml": layoutConfig([{ name: "east", layout: "per-tenant" }]),
      "tenants/beta.yaml": tenantYaml({ name: "beta", cluster: "east", secretName: "beta-tls" }, "  colour: blue\n"),
    });
    const held = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(held.changes.map((c) => `${c.kind} ${c.tenant}`), ["update acme", "hold beta"]);
    assert.deepEqual(changedPaths(betaBefore, hashTree(dir, "rendered/east/beta")), [], "the held tenant's folder stays byte for byte");
    assert.ok(existsSync(join(dir, "rendered/east/_shared/sealed-secret.yaml")), "beta's folder still reuses _shared/");
    assert.ok(existsSync(join(dir, "rendered/east/acme/sealed-secret.yaml")));
    const beta = kustomize(join(dir, "rendered/east")).filter((b) => b.kind === "SealedSecret").map((b) => `${b.namespace}/${b.name}`);
    assert.deepEqual(beta.sort(), ["acme-web/wildcard-tls", "beta/beta-tls"]);

    writeFiles(dir, { "tenants/beta.yaml": tenantYaml({ name: "beta", cluster: "east", secretName: "beta-tls" }) });
    const fixed = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(fixed.diagnostics, []);
    assert.deepEqual(fixed.changes.map((c) => `${c.kind} ${c.tenant}`), ["keep acme", "update beta"]);
    assert.ok(!existsSync(join(dir, "rendered/east/_shared")));
  });

  test("in one repository a shared cluster and a per-tenant cluster each keep their own layout", async () => {
    const dir = await makeRepo({
      clusters: ["east", "west"],
      tenants: [{ name: "acme", cluster: "east" }, { name: "beta", cluster: "east" }, { name: "gamma", cluster: "west" }],
    });
    writeFiles(dir, { "wildseal.yaml": layoutConfig([{ name: "east", layout: "shared" }, { name: "west" }]) });
    const old = await makeLeaf({ notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() + 60 * DAY) });
    await renderRepository({ repoDir: dir, tls: old.tls });
    assert.deepEqual(paths(dir), [
      "rendered/east/_shared/kustomization.yaml",
      "rendered/east/_shared/sealed-secret.yaml",
      "rendered/east/acme/kustomization.yaml",
      "rendered/east/beta/kustomization.yaml",
      "rendered/east/kustomization.yaml",
      "rendered/west/gamma/kustomization.yaml",
      "rendered/west/gamma/sealed-secret.yaml",
      "rendered/west/kustomization.yaml",
    ]);
    assert.doesNotMatch(read(dir, "rendered/west/gamma/sealed-secret.yaml"), /cluster-wide/, "the per-tenant cluster keeps strict scope");
    const before = hashTree(dir);
    const renewed = await makeLeaf({ notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 89 * DAY) });
    const r = await renderRepository({ repoDir: dir, tls: renewed.tls });
    assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.cluster}/${c.tenant}`), ["renew east/acme", "renew east/beta", "renew west/gamma"]);
    assert.deepEqual(changedPaths(before, hashTree(dir)), ["rendered/east/_shared/sealed-secret.yaml", "rendered/west/gamma/sealed-secret.yaml"]);
    for (const cluster of ["east", "west"]) {
      for (const s of kustomize(join(dir, "rendered", cluster)).filter((b) => b.kind === "SealedSecret")) await assertUnsealsToSource(s, cluster, renewed);
    }
  });

  test("a tenant that writes scope: strict in a shared cluster keeps a strict SealedSecret of its own", async () => {
    const dir = await sharedRepo([{ name: "acme", namespace: "acme-web" }, { name: "beta", scope: "strict" } as never]);
    const leaf = await makeLeaf();
    const r = await renderRepository({ repoDir: dir, tls: leaf.tls });
    assert.deepEqual(r.diagnostics, []);
    assert.ok(existsSync(join(dir, "rendered/east/beta/sealed-secret.yaml")));
    assert.ok(!existsSync(join(dir, "rendered/east/acme/sealed-secret.yaml")));
    const beta = read(dir, "rendered/east/beta/sealed-secret.yaml");
    assert.doesNotMatch(beta, /cluster-wide|namespace-wide/);
    const built = kustomize(join(dir, "rendered/east")).filter((b) => b.kind === "SealedSecret");
    assert.deepEqual(built.map((b) => `${b.namespace}/${b.name}`).sort(), ["acme-web/wildcard-tls", "beta/wildcard-tls"]);
    for (const s of built) await assertUnsealsToSource(s, "east", leaf);
  });

  test("a certificate older than the shared one is refused: the cluster's tenants are held and nothing is written", async () => {
    const dir = await sharedRepo();
    const newer = await makeLeaf({ notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 89 * DAY) });
    await renderRepository({ repoDir: dir, tls: newer.tls });
    const before = hashTree(dir);
    const older = await makeLeaf({ notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() + 60 * DAY) });
    const r = await renderRepository({ repoDir: dir, tls: older.tls });
    assert.deepEqual(r.changes.map((c) => c.kind), ["hold", "hold"]);
    assert.ok(r.diagnostics.every((d) => d.reason === "downgrade" && d.path === "rendered/east/_shared/sealed-secret.yaml"), r.diagnostics.map(formatDiagnostic).join("\n"));
    assert.deepEqual(changedPaths(before, hashTree(dir)), []);
  });

  test("tenant list and the committed-certificate facts find a shared tenant's certificate in _shared/", async () => {
    const dir = await sharedRepo();
    const leaf = await makeLeaf();
    await renderRepository({ repoDir: dir, tls: leaf.tls });
    const listing = await listTenants(dir, async () => null);
    assert.deepEqual(listing.rows.map((r) => [r.name, r.certificateNotAfter]), [["acme", rfc3339(leaf.tls.leaf.notAfter)], ["beta", rfc3339(leaf.tls.leaf.notAfter)]]);
    const facts = committedCertificates(await readExistingTree(dir, "rendered"), "rendered").newest;
    assert.equal(facts?.sha256, leaf.tls.leaf.sha256);
  });
});

describe("layout configuration", () => {
  test("spec.layout applies to every cluster unless clusters[].layout overrides it", async () => {
    const dir = await makeRepo({ clusters: ["east", "west"], tenants: [] });
    writeFiles(dir, { "wildseal.yaml": layoutConfig([{ name: "east" }, { name: "west", layout: "per-tenant" }], "shared") });
    const { config, diagnostics } = await loadConfig(dir);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(config?.clusters.map((c) => [c.name, c.layout ?? "per-tenant"]), [["east", "shared"], ["west", "per-tenant"]]);
  });

  test("without layout fields the configuration loads exactly as before (no layout recorded)", async () => {
    const dir = await makeRepo({ clusters: ["east"], tenants: [] });
    const { config } = await loadConfig(dir);
    assert.equal(config?.clusters[0] !== undefined && "layout" in config.clusters[0], false);
  });

  test("a narrower spec.defaults.scope when every cluster is shared is an error at its line and column", async () => {
    const dir = await makeRepo({ clusters: ["east"], tenants: [] });
    writeFiles(dir, { "wildseal.yaml": layoutConfig([{ name: "east" }], "shared", "\n    scope: strict") });
    const { config, diagnostics } = await loadConfig(dir);
    assert.equal(config, undefined);
    assert.deepEqual(diagnostics.map(formatDiagnostic), [
      "wildseal.yaml:11:12: spec.defaults.scope is strict, but every cluster has layout shared, which seals one cluster-wide SealedSecret per cluster: remove spec.defaults.scope (or set it to cluster-wide), set layout: per-tenant for the clusters that need strict secrets, or set scope: strict in the tenant files that need it",
    ]);
    // with a per-tenant cluster left, the default serves that cluster's tenants
    writeFiles(dir, { "wildseal.yaml": layoutConfig([{ name: "east" }, { name: "west", layout: "per-tenant" }], "shared", "\n    scope: strict") });
    writeFiles(dir, { "clusters/west/sealed-secrets.pem": (await sealingPair("west")).certPem });
    assert.deepEqual((await loadConfig(dir)).diagnostics, []);
  });

  test("an unknown layout is refused at its line and column", async () => {
    const dir = await makeRepo({ clusters: ["east"], tenants: [] });
    writeFiles(dir, { "wildseal.yaml": layoutConfig([{ name: "east", layout: "pooled" as never }]) });
    const { diagnostics } = await loadConfig(dir);
    assert.equal(diagnostics.length, 1);
    assert.match(formatDiagnostic(diagnostics[0]!), /^wildseal\.yaml:9:15: spec\.clusters\[0\]\.layout must be one of "per-tenant", "shared"/);
  });
});
