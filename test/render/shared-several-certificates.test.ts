import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import { loadConfig } from "../../src/model/load-config.ts";
import { checkRepository } from "../../src/render/check-repository.ts";
import { renderRepository } from "../../src/render/render-repository.ts";
import { parseCommittedSealedSecret, readCanonicalSealedSecret } from "../../src/render/sealed-secret-document.ts";
import { sharedBaseFolder } from "../../src/render/shared-layout.ts";
import { listTenants } from "../../src/render/tenant-list.ts";
import { rfc3339 } from "../../src/rfc3339.ts";
import { parseSealedSecrets, unsealSealedSecret } from "../../src/seal/sealed-secret.ts";
import { certificateSources, certificatesConfig, COM, ORG, type CertificatesConfigOptions } from "../helpers/several-certificates.ts";
import { kustomize, type Built } from "./kustomize.ts";
import { DAY, changedPaths, hashTree, makeLeaf, makeRepo, sealingPair, tenantYaml, writeFiles, type Leaf } from "./render-fixture.ts";

/**
 * The shared layout with several certificates (docs/configuration.md#layouts): one sealed base per
 * (cluster, certificate), rendered/<cluster>/_shared/<certificate>/, and each shared tenant's
 * kustomization lists its certificate's base. With one certificate the base stays _shared/ itself.
 */

/** wildseal.yaml: east and west in the shared layout; `certificates` as spec.certificates, or "source" for the one-certificate spec.source form. */
const config = (certificates: CertificatesConfigOptions["certificates"]): string => certificatesConfig({ certificates, layout: "shared", clusters: ["east", "west"], output: "rendered" });

const TENANTS = [
  { name: "acme", cluster: "east", namespace: "acme-web", hosts: ["acme.example.com"] },
  { name: "beta", cluster: "east", secretName: "beta-tls", hosts: ["beta.example.org"] },
  { name: "gamma", cluster: "west", hosts: ["gamma.example.com"] },
  { name: "delta", cluster: "west", hosts: ["delta.example.org"] },
];
/** tenant → the certificate that must seal it */
const CERT_OF: Readonly<Record<string, string>> = { acme: "com", beta: "org", gamma: "com", delta: "org" };

function repo(certs: Parameters<typeof config>[0] = [COM, ORG]): Promise<string> {
  return makeRepo({ clusters: ["east", "west"], tenants: TENANTS, config: config(certs) });
}

interface Certs {
  readonly com: Leaf;
  readonly org: Leaf;
}

async function leaves(): Promise<Certs> {
  return { com: await makeLeaf({ dnsNames: ["*.example.com"] }), org: await makeLeaf({ dnsNames: ["*.example.org"] }) };
}

const given = (c: Certs) => certificateSources({ com: c.com, org: c.org });

const render = (dir: string, c: Certs) => renderRepository({ repoDir: dir, tls: c.com.tls, certificates: given(c) });
const paths = (dir: string): string[] => [...hashTree(dir).keys()];
const read = (dir: string, p: string): string => readFileSync(join(dir, p), "utf8");

/** Every wildseal.dev/cert-sha256 value in a built object (metadata and spec.template.metadata carry one each). */
const certShas = (b: Built): string[] => [...b.text.matchAll(/wildseal\.dev\/cert-sha256: "?([0-9a-f]{64})/g)].map((m) => m[1] ?? "");

/** Builds one tenant folder with kubectl kustomize: its one SealedSecret carries `leaf`'s fingerprint and unseals to `leaf`. */
async function assertTenantBuildsWith(dir: string, cluster: string, tenant: string, leaf: Leaf): Promise<void> {
  const sealed = kustomize(join(dir, "rendered", cluster, tenant)).filter((b) => b.kind === "SealedSecret");
  assert.equal(sealed.length, 1, `${cluster}/${tenant}: one SealedSecret`);
  const s = sealed[0]!;
  assert.deepEqual(certShas(s), [leaf.tls.leaf.sha256, leaf.tls.leaf.sha256], `${cluster}/${tenant}: cert-sha256 of its certificate`);
  const [obj] = parseSealedSecrets(s.text, `${s.namespace}/${s.name}`);
  assert.ok(obj);
  const secret = unsealSealedSecret(obj, [(await sealingPair(cluster)).privateKey], s.name);
  for (const item of ["tls.crt", "tls.key"]) assert.ok(secret.data.get(item)?.equals(leaf.tls.secret.data.get(item)!), `${cluster}/${tenant} ${item}`);
}

async function assertEveryTenantBuilds(dir: string, c: Certs, tenants = TENANTS): Promise<void> {
  for (const t of tenants) await assertTenantBuildsWith(dir, t.cluster, t.name, CERT_OF[t.name] === "org" ? c.org : c.com);
}

describe("shared layout with several certificates", () => {
  test("wildseal.yaml with several certificates and a shared cluster loads, and validate finds nothing wrong", async () => {
    const dir = await repo();
    const { config: loaded, diagnostics } = await loadConfig(dir);
    assert.deepEqual(diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(loaded?.certificates.map((c) => c.name), ["com", "org"]);
    assert.deepEqual(loaded?.clusters.map((c) => c.layout), ["shared", "shared"]);
    const c = await leaves();
    const check = await checkRepository(dir, { sources: given(c) });
    assert.deepEqual(check.diagnostics.map(formatDiagnostic), []);
  });

  test("one base per (cluster, certificate) in _shared/<certificate>/, each tenant's kustomization lists its certificate's base, and kubectl kustomize builds each tenant with its certificate", async () => {
    const dir = await repo();
    const c = await leaves();
    const r = await render(dir, c);
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(r.changes.map((x) => `${x.kind} ${x.cluster}/${x.tenant} ${x.certificate}`), [
      "add east/acme com",
      "add east/beta org",
      "add west/delta org",
      "add west/gamma com",
    ]);
    assert.deepEqual(paths(dir), [
      "rendered/east/_shared/com/kustomization.yaml",
      "rendered/east/_shared/com/sealed-secret.yaml",
      "rendered/east/_shared/org/kustomization.yaml",
      "rendered/east/_shared/org/sealed-secret.yaml",
      "rendered/east/acme/kustomization.yaml",
      "rendered/east/beta/kustomization.yaml",
      "rendered/east/kustomization.yaml",
      "rendered/west/_shared/com/kustomization.yaml",
      "rendered/west/_shared/com/sealed-secret.yaml",
      "rendered/west/_shared/org/kustomization.yaml",
      "rendered/west/_shared/org/sealed-secret.yaml",
      "rendered/west/delta/kustomization.yaml",
      "rendered/west/gamma/kustomization.yaml",
      "rendered/west/kustomization.yaml",
    ]);
    for (const cluster of ["east", "west"]) {
      for (const [name, leaf] of [["com", c.com], ["org", c.org]] as const) {
        const base = read(dir, `rendered/${cluster}/_shared/${name}/sealed-secret.yaml`);
        assert.match(base, new RegExp(`wildseal\\.dev/cert-sha256: ${leaf.tls.leaf.sha256}`));
        assert.match(base, /sealedsecrets\.bitnami\.com\/cluster-wide: "true"/);
        assert.match(read(dir, `rendered/${cluster}/_shared/${name}/kustomization.yaml`), new RegExp(`^# Generated by wildseal from wildseal\\.yaml and certificate ${name}'s source\\. Do not edit\\.\\n`));
      }
      assert.match(read(dir, `rendered/${cluster}/kustomization.yaml`), /resources:\n(?: {2}- [a-z]+\n){2}$/, "the index lists tenant folders only");
    }
    assert.match(read(dir, "rendered/east/acme/kustomization.yaml"), /resources:\n {2}- \.\.\/_shared\/com\n/);
    assert.match(read(dir, "rendered/east/beta/kustomization.yaml"), /resources:\n {2}- \.\.\/_shared\/org\n/);
    await assertEveryTenantBuilds(dir, c);
    // the cluster index builds too: every tenant once, in its namespace, each with its certificate's fingerprint
    const built = kustomize(join(dir, "rendered/east")).filter((b) => b.kind === "SealedSecret");
    assert.deepEqual(built.map((b) => `${b.namespace}/${b.name} ${certShas(b)[0]}`).sort(), [
      `acme-web/wildcard-tls ${c.com.tls.leaf.sha256}`,
      `beta/beta-tls ${c.org.tls.leaf.sha256}`,
    ]);
  });

  test("rendering twice writes nothing: the committed bases are reused", async () => {
    const dir = await repo();
    const c = await leaves();
    await render(dir, c);
    const before = hashTree(dir);
    const r = await render(dir, c);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.files, { written: [], removed: [] });
    assert.deepEqual(r.changes.map((x) => x.kind), ["keep", "keep", "keep", "keep"]);
    assert.deepEqual(changedPaths(before, hashTree(dir)), []);
    // each base is read by the line reader (no YAML parse), and it says what the parse says
    for (const p of paths(dir).filter((x) => x.endsWith("/sealed-secret.yaml"))) {
      const bytes = readFileSync(join(dir, p));
      const fast = readCanonicalSealedSecret(bytes);
      assert.notEqual(fast, "not-canonical", p);
      assert.deepEqual(fast, parseCommittedSealedSecret(bytes, p), p);
    }
  });

  test("renewing one certificate rewrites only its base on each cluster (O(clusters)) and renews only its tenants", async () => {
    const dir = await repo();
    const now = Date.now();
    const c = await leaves();
    await render(dir, c);
    const before = hashTree(dir);
    const org = await makeLeaf({ dnsNames: ["*.example.org"], notBefore: new Date(now - DAY), notAfter: new Date(now + 200 * DAY) });
    const renewed = { com: c.com, org };
    const r = await render(dir, renewed);
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(r.changes.map((x) => `${x.kind} ${x.tenant} ${x.certificate}`), ["keep acme com", "renew beta org", "renew delta org", "keep gamma com"]);
    assert.deepEqual(changedPaths(before, hashTree(dir)), ["rendered/east/_shared/org/sealed-secret.yaml", "rendered/west/_shared/org/sealed-secret.yaml"]);
    assert.deepEqual(r.files, { written: ["rendered/east/_shared/org/sealed-secret.yaml", "rendered/west/_shared/org/sealed-secret.yaml"], removed: [] });
    await assertEveryTenantBuilds(dir, renewed);
  });

  test("a certificate no shared tenant of a cluster uses any more loses its base there; the other cluster keeps its own", async () => {
    const dir = await repo();
    const c = await leaves();
    await render(dir, c);
    rmSync(join(dir, "tenants/beta.yaml"));
    const r = await render(dir, c);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.changes.map((x) => `${x.kind} ${x.tenant}`), ["keep acme", "remove beta", "keep delta", "keep gamma"]);
    assert.deepEqual(r.files.removed, ["rendered/east/beta", "rendered/east/_shared/org"]);
    assert.ok(existsSync(join(dir, "rendered/east/_shared/com/sealed-secret.yaml")));
    assert.ok(existsSync(join(dir, "rendered/west/_shared/org/sealed-secret.yaml")));
    await assertEveryTenantBuilds(dir, c, TENANTS.filter((t) => t.name !== "beta"));

    // the last shared tenant of east goes: _shared/ goes as a whole, as with one certificate
    rmSync(join(dir, "tenants/acme.yaml"));
    const none = await render(dir, c);
    assert.deepEqual(none.files.removed, ["rendered/east/acme", "rendered/east/_shared"]);
    assert.ok(!paths(dir).some((p) => p.startsWith("rendered/east/_shared")));
  });

  test("a tenant that moves to another certificate points at that base, and the base it left goes once unused", async () => {
    const dir = await repo();
    const c = await leaves();
    await render(dir, c);
    // acme now names org and has an org host: its kustomization changes, _shared/com/ on east is unused
    writeFiles(dir, { "tenants/acme.yaml": tenantYaml({ name: "acme", cluster: "east", namespace: "acme-web", hosts: ["acme.example.org"] }, "  certificate: org\n") });
    const r = await render(dir, c);
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(r.changes.map((x) => `${x.kind} ${x.tenant} ${x.certificate}`), ["update acme org", "keep beta org", "keep delta org", "keep gamma com"]);
    assert.deepEqual(r.files, { written: ["rendered/east/acme/kustomization.yaml"], removed: ["rendered/east/_shared/com"] });
    await assertTenantBuildsWith(dir, "east", "acme", c.org);
  });

  test("removing a certificate from wildseal.yaml (down to one) moves the bases back to _shared/ itself, byte for byte as spec.source would write them", async () => {
    const dir = await repo();
    const c = await leaves();
    await render(dir, c);
    rmSync(join(dir, "tenants/beta.yaml"));
    rmSync(join(dir, "tenants/delta.yaml"));
    writeFiles(dir, { "wildseal.yaml": config([COM]) });
    const r = await renderRepository({ repoDir: dir, tls: c.com.tls });
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(r.files.removed.sort(), ["rendered/east/_shared/com", "rendered/east/_shared/org", "rendered/east/beta", "rendered/west/_shared/com", "rendered/west/_shared/org", "rendered/west/delta"]);
    const tree = paths(dir);
    assert.deepEqual(tree, [
      "rendered/east/_shared/kustomization.yaml",
      "rendered/east/_shared/sealed-secret.yaml",
      "rendered/east/acme/kustomization.yaml",
      "rendered/east/kustomization.yaml",
      "rendered/west/_shared/kustomization.yaml",
      "rendered/west/_shared/sealed-secret.yaml",
      "rendered/west/gamma/kustomization.yaml",
      "rendered/west/kustomization.yaml",
    ]);
    await assertEveryTenantBuilds(dir, c, TENANTS.filter((t) => CERT_OF[t.name] === "com"));

    // the same tenants rendered from scratch with spec.source: the same files, the same bytes but the (randomized) ciphertext
    const fresh = await makeRepo({ clusters: ["east", "west"], tenants: TENANTS.filter((t) => CERT_OF[t.name] === "com") });
    writeFiles(fresh, { "wildseal.yaml": config("source") });
    await renderRepository({ repoDir: fresh, tls: c.com.tls });
    assert.deepEqual(paths(fresh), tree);
    const withoutCiphertext = (text: string): string => text.replace(/^( {4}tls\.(?:crt|key)): .*$/gm, "$1: …");
    for (const p of tree) assert.equal(withoutCiphertext(read(dir, p)), withoutCiphertext(read(fresh, p)), p);
  });

  test("going from one certificate to several replaces _shared/'s own files with _shared/<certificate>/ and re-points every tenant", async () => {
    const dir = await repo("source");
    rmSync(join(dir, "tenants/beta.yaml"));
    rmSync(join(dir, "tenants/delta.yaml"));
    const c = await leaves();
    await renderRepository({ repoDir: dir, tls: c.com.tls });
    assert.ok(existsSync(join(dir, "rendered/east/_shared/sealed-secret.yaml")));

    writeFiles(dir, { "wildseal.yaml": config([COM, ORG]), "tenants/beta.yaml": tenantYaml(TENANTS[1]!) });
    const r = await render(dir, c);
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(r.changes.map((x) => `${x.kind} ${x.cluster}/${x.tenant}`), ["update east/acme", "add east/beta", "update west/gamma"]);
    assert.deepEqual(r.files.removed, ["rendered/east/_shared", "rendered/west/_shared"].flatMap((d) => [`${d}/kustomization.yaml`, `${d}/sealed-secret.yaml`]));
    assert.deepEqual(paths(dir).filter((p) => p.includes("_shared")), [
      "rendered/east/_shared/com/kustomization.yaml",
      "rendered/east/_shared/com/sealed-secret.yaml",
      "rendered/east/_shared/org/kustomization.yaml",
      "rendered/east/_shared/org/sealed-secret.yaml",
      "rendered/west/_shared/com/kustomization.yaml",
      "rendered/west/_shared/com/sealed-secret.yaml",
    ]);
    await assertEveryTenantBuilds(dir, c, TENANTS.filter((t) => t.name !== "delta"));
  });

  test("a held tenant keeps the base it reuses, even one of the one-certificate form, beside the new ones", async () => {
    const dir = await repo("source");
    rmSync(join(dir, "tenants/beta.yaml"));
    rmSync(join(dir, "tenants/delta.yaml"));
    const c = await leaves();
    await renderRepository({ repoDir: dir, tls: c.com.tls });
    const acmeBefore = hashTree(dir, "rendered/east/acme");
    // acme's file turns invalid: held, its folder still lists ../_shared
    writeFiles(dir, {
      "wildseal.yaml": config([COM, ORG]),
      "tenants/acme.yaml": tenantYaml(TENANTS[0]!, "  colour: blue\n"),
      "tenants/beta.yaml": tenantYaml(TENANTS[1]!),
    });
    const r = await render(dir, c);
    assert.deepEqual(r.changes.map((x) => `${x.kind} ${x.cluster}/${x.tenant}`), ["hold east/acme", "add east/beta", "update west/gamma"]);
    assert.deepEqual(changedPaths(acmeBefore, hashTree(dir, "rendered/east/acme")), []);
    assert.ok(existsSync(join(dir, "rendered/east/_shared/sealed-secret.yaml")), "acme's folder still reuses _shared/");
    assert.ok(!existsSync(join(dir, "rendered/west/_shared/sealed-secret.yaml")), "nothing on west reuses _shared/ itself any more");
    await assertTenantBuildsWith(dir, "east", "acme", c.com);
    await assertTenantBuildsWith(dir, "east", "beta", c.org);

    // fixed: acme moves to _shared/com/, and _shared/'s own files go
    writeFiles(dir, { "tenants/acme.yaml": tenantYaml(TENANTS[0]!) });
    const fixed = await render(dir, c);
    assert.deepEqual(fixed.changes.map((x) => `${x.kind} ${x.cluster}/${x.tenant}`), ["update east/acme", "keep east/beta", "keep west/gamma"]);
    assert.deepEqual(fixed.files.removed, ["rendered/east/_shared/kustomization.yaml", "rendered/east/_shared/sealed-secret.yaml"]);
    await assertTenantBuildsWith(dir, "east", "acme", c.com);
  });

  test("an older certificate holds only its own tenants, at its base's cert-not-after, and writes nothing for them", async () => {
    const dir = await repo();
    const now = Date.now();
    const c = { com: await makeLeaf({ dnsNames: ["*.example.com"] }), org: await makeLeaf({ dnsNames: ["*.example.org"], notBefore: new Date(now - DAY), notAfter: new Date(now + 89 * DAY) }) };
    await render(dir, c);
    const before = hashTree(dir);
    const older = { com: c.com, org: await makeLeaf({ dnsNames: ["*.example.org"], notBefore: new Date(now - 10 * DAY), notAfter: new Date(now + 60 * DAY) }) };
    const r = await render(dir, older);
    assert.deepEqual(r.changes.map((x) => `${x.kind} ${x.tenant}`), ["keep acme", "hold beta", "hold delta", "keep gamma"]);
    assert.deepEqual(r.diagnostics.map((d) => `${d.reason} ${d.path}`), ["downgrade rendered/east/_shared/org/sealed-secret.yaml", "downgrade rendered/west/_shared/org/sealed-secret.yaml"]);
    assert.deepEqual(changedPaths(before, hashTree(dir)), []);
  });

  test("tenant list finds each shared tenant's certificate in its certificate's base", async () => {
    const dir = await repo();
    const now = Date.now();
    const c = { com: await makeLeaf({ dnsNames: ["*.example.com"], notBefore: new Date(now - DAY), notAfter: new Date(now + 50 * DAY) }), org: await makeLeaf({ dnsNames: ["*.example.org"] }) };
    await render(dir, c);
    const listing = await listTenants(dir, async () => null);
    assert.deepEqual(
      listing.rows.map((r) => [r.name, r.certificateNotAfter]),
      TENANTS.map((t) => [t.name, rfc3339((CERT_OF[t.name] === "org" ? c.org : c.com).tls.leaf.notAfter)]).sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
  });

  test("a certificate name can neither leave _shared/ nor collide with a base's files: names are DNS labels, checked in wildseal.yaml and again before a path is made", async () => {
    for (const bad of ["..", "a/b", "sealed-secret.yaml", "kustomization.yaml", "_shared", "Com", ""]) {
      assert.throws(() => sharedBaseFolder(bad), /is not a DNS-1123 label/, bad);
    }
    assert.equal(sharedBaseFolder(undefined), "_shared");
    assert.equal(sharedBaseFolder("com"), "_shared/com");
    const dir = await repo();
    writeFiles(dir, { "wildseal.yaml": config([COM, { name: "../org", source: "wildcard-example-org" }]) });
    const { config: loaded, diagnostics } = await loadConfig(dir);
    assert.equal(loaded, undefined);
    assert.match(diagnostics.map(formatDiagnostic).join("\n"), /^wildseal\.yaml:\d+:\d+: spec\.certificates\[\]\.name "\.\.\/org" is not a valid DNS-1123 label/m);
  });

  test("a file wildseal did not write inside _shared/<certificate>/ stops the render before anything is written", async () => {
    const dir = await repo();
    const c = await leaves();
    await render(dir, c);
    writeFiles(dir, { "rendered/east/_shared/org/notes.txt": "mine\n" });
    const before = hashTree(dir);
    await assert.rejects(render(dir, c), (e: Error & { diagnostics?: unknown[] }) => {
      assert.match(String((e.diagnostics ?? []).map((d) => formatDiagnostic(d as never)).join("\n")), /^rendered\/east\/_shared\/org\/notes\.txt:1:1: was not generated by wildseal/);
      return true;
    });
    assert.deepEqual(changedPaths(before, hashTree(dir)), []);
  });
});
