import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import { DEFAULT_SEALED_SECRET_TEMPLATE } from "../../src/render/default-template.ts";
import { renderRepository, type RenderResult } from "../../src/render/render-repository.ts";
import { parseCommittedSealedSecret, readCanonicalSealedSecret } from "../../src/render/sealed-secret-document.ts";
import { certificateSources, certificatesConfig, ORG, type CertificateEntry } from "../helpers/several-certificates.ts";
import { DAY, changedPaths, hashTree, makeLeaf, makeRepo, tenantYaml, writeFiles, type Leaf } from "./render-fixture.ts";

/**
 * The downgrade check with several certificates compares each certificate only with what that
 * certificate sealed (the `wildseal.dev/certificate` annotation): a SealedSecret left by another
 * certificate — a tenant that moved, a certificate removed from wildseal.yaml — must not hold a
 * certificate that simply expires earlier. Review repros: switch.test.ts, down-to-one.test.ts.
 */

const LAYOUTS = ["per-tenant", "shared"] as const;
type Layout = (typeof LAYOUTS)[number];

const CERTIFICATE = "wildseal.dev/certificate";

const config = (layout: Layout, certificates?: readonly CertificateEntry[]): string =>
  certificatesConfig({ layout, defaults: "{secretName: wildcard-tls}", output: "rendered", ...(certificates === undefined ? {} : { certificates }) });

const summary = (r: RenderResult): string[] => [...r.diagnostics.map(formatDiagnostic), ...r.changes.map((c) => `${c.kind} ${c.tenant}${c.certificate === undefined ? "" : ` ${c.certificate}`}`)];

/** com lasts 300 days, org 60: every org output is older than any com output. */
async function leaves(): Promise<{ com: Leaf; org: Leaf; now: number }> {
  const now = Date.now();
  const com = await makeLeaf({ dnsNames: ["*.example.com", "*.example.net"], notBefore: new Date(now - DAY), notAfter: new Date(now + 300 * DAY) });
  const org = await makeLeaf({ dnsNames: ["*.example.org", "*.example.net"], notBefore: new Date(now - DAY), notAfter: new Date(now + 60 * DAY) });
  return { com, org, now };
}

async function repo(layout: Layout): Promise<string> {
  const dir = await makeRepo({
    clusters: ["prod-east"],
    tenants: [
      { name: "acme", cluster: "prod-east", hosts: ["acme.example.com"] },
      { name: "orga", cluster: "prod-east", hosts: ["orga.example.org"] },
    ],
  });
  writeFiles(dir, {
    "wildseal.yaml": config(layout),
    "tenants/both.yaml": tenantYaml({ name: "both", cluster: "prod-east", hosts: ["both.example.net"] }, "  certificate: com\n"),
  });
  return dir;
}

/** The committed SealedSecret that carries a tenant's certificate: its own file, or its base. */
const sealedSecretPath = (layout: Layout, tenant: string, certificate: string | undefined): string =>
  layout === "per-tenant" ? `rendered/prod-east/${tenant}/sealed-secret.yaml` : `rendered/prod-east/_shared/${certificate === undefined ? "" : `${certificate}/`}sealed-secret.yaml`;

const read = (dir: string, path: string): Buffer => readFileSync(join(dir, path));

for (const layout of LAYOUTS) {
  describe(`${layout}: downgrades are judged per certificate`, () => {
    test("every SealedSecret names the certificate that sealed it, and the fast reader agrees with the full parse on it", async () => {
      const dir = await repo(layout);
      const { com, org } = await leaves();
      const r = await renderRepository({ repoDir: dir, tls: com.tls, certificates: certificateSources({ com, org }) });
      assert.deepEqual(summary(r), ["add acme com", "add both com", "add orga org"]);
      for (const [tenant, certificate] of [["acme", "com"], ["both", "com"], ["orga", "org"]] as const) {
        const path = sealedSecretPath(layout, tenant, certificate);
        const bytes = read(dir, path);
        const fast = readCanonicalSealedSecret(bytes);
        assert.notEqual(fast, "not-canonical", path);
        assert.deepEqual(fast, parseCommittedSealedSecret(bytes, path), path);
        assert.equal(fast?.annotations[CERTIFICATE], certificate, path);
      }
      if (layout === "shared") {
        // the base says which certificate; the tenant folder's patch does not repeat it
        assert.doesNotMatch(read(dir, "rendered/prod-east/acme/kustomization.yaml").toString("utf8"), /wildseal\.dev\/certificate/);
      }
    });

    test("a tenant moving to a certificate that expires earlier is sealed with it, and that certificate's other tenants are not held", async () => {
      const dir = await repo(layout);
      const { com, org, now } = await leaves();
      await renderRepository({ repoDir: dir, tls: com.tls, certificates: certificateSources({ com, org }) });
      writeFiles(dir, {
        "tenants/both.yaml": tenantYaml({ name: "both", cluster: "prod-east", hosts: ["both.example.net"] }, "  certificate: org\n"),
        "tenants/newo.yaml": tenantYaml({ name: "newo", cluster: "prod-east", hosts: ["newo.example.org"] }),
      });
      // org renewed: later than before, still earlier than com
      const org2 = await makeLeaf({ dnsNames: ["*.example.org", "*.example.net"], notBefore: new Date(now), notAfter: new Date(now + 90 * DAY) });
      const certificates = certificateSources({ com, org: org2 });
      const moved = await renderRepository({ repoDir: dir, tls: com.tls, certificates });
      assert.deepEqual(summary(moved), ["keep acme com", "renew both org", "add newo org", "renew orga org"]);
      const path = sealedSecretPath(layout, "both", "org");
      assert.match(read(dir, path).toString("utf8"), new RegExp(`wildseal\\.dev/cert-sha256: "?${org2.tls.leaf.sha256}`));
      assert.match(read(dir, path).toString("utf8"), /wildseal\.dev\/certificate: org\n/);

      // nothing changed: nothing is written, for either certificate
      const before = hashTree(dir);
      const again = await renderRepository({ repoDir: dir, tls: com.tls, certificates });
      assert.deepEqual(summary(again), ["keep acme com", "keep both org", "keep newo org", "keep orga org"]);
      assert.deepEqual(again.files, { written: [], removed: [] });
      assert.deepEqual(changedPaths(before, hashTree(dir)), []);
    });

    test("a stale source is still held for a tenant that moved to it: its new certificate's committed output is the reference", async () => {
      const dir = await repo(layout);
      const { com, org, now } = await leaves();
      await renderRepository({ repoDir: dir, tls: com.tls, certificates: certificateSources({ com, org }) });
      writeFiles(dir, { "tenants/both.yaml": tenantYaml({ name: "both", cluster: "prod-east", hosts: ["both.example.net"] }, "  certificate: org\n") });
      const before = hashTree(dir);
      const stale = await makeLeaf({ dnsNames: ["*.example.org", "*.example.net"], notBefore: new Date(now - 10 * DAY), notAfter: new Date(now + 30 * DAY) });
      const r = await renderRepository({ repoDir: dir, tls: com.tls, certificates: certificateSources({ com, org: stale }) });
      assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.tenant}`), ["keep acme", "hold both", "hold orga"]);
      assert.deepEqual(
        r.diagnostics.map((d) => `${d.reason} ${d.path}`),
        [`downgrade ${sealedSecretPath(layout, "orga", "org")}`, `downgrade ${sealedSecretPath(layout, "orga", "org")}`],
      );
      assert.deepEqual(changedPaths(before, hashTree(dir)), []);
    });

    test("going down to one certificate renders its tenants although the removed certificate expires later, then writes nothing", async () => {
      const dir = await repo(layout);
      rmSync(join(dir, "tenants/both.yaml"));
      const { com, org, now } = await leaves();
      await renderRepository({ repoDir: dir, tls: com.tls, certificates: certificateSources({ com, org }) });
      writeFiles(dir, { "wildseal.yaml": config(layout, [ORG]) });
      rmSync(join(dir, "tenants/acme.yaml"));
      const org2 = await makeLeaf({ dnsNames: ["*.example.org"], notBefore: new Date(now), notAfter: new Date(now + 90 * DAY) });
      const r = await renderRepository({ repoDir: dir, tls: org2.tls, removals: { kind: "any" } });
      assert.deepEqual(summary(r), ["remove acme", layout === "per-tenant" ? "renew orga" : "update orga"]);
      // one certificate again: no annotation, as spec.source writes it
      const path = sealedSecretPath(layout, "orga", undefined);
      assert.doesNotMatch(read(dir, path).toString("utf8"), /wildseal\.dev\/certificate/);
      assert.match(read(dir, path).toString("utf8"), new RegExp(`wildseal\\.dev/cert-sha256: "?${org2.tls.leaf.sha256}`));

      const before = hashTree(dir);
      const again = await renderRepository({ repoDir: dir, tls: org2.tls });
      assert.deepEqual(summary(again), ["keep orga"]);
      assert.deepEqual(again.files, { written: [], removed: [] });
      assert.deepEqual(changedPaths(before, hashTree(dir)), []);
    });

    test("going down to one certificate still refuses a source older than what that certificate committed", async () => {
      const dir = await repo(layout);
      rmSync(join(dir, "tenants/both.yaml"));
      const { com, org, now } = await leaves();
      await renderRepository({ repoDir: dir, tls: com.tls, certificates: certificateSources({ com, org }) });
      writeFiles(dir, { "wildseal.yaml": config(layout, [ORG]) });
      const before = hashTree(dir);
      const stale = await makeLeaf({ dnsNames: ["*.example.org"], notBefore: new Date(now - 10 * DAY), notAfter: new Date(now + 30 * DAY) });
      const r = await renderRepository({ repoDir: dir, tls: stale.tls });
      assert.deepEqual(
        r.diagnostics.filter((d) => d.reason === "downgrade").map((d) => `${d.path} ${/tenant \w+/.exec(d.message)?.[0]}`),
        [`${sealedSecretPath(layout, "orga", "org")} tenant orga`],
      );
      assert.ok(r.changes.some((c) => c.tenant === "orga" && c.kind === "hold"));
      assert.deepEqual(changedPaths(before, hashTree(dir)).filter((p) => p.includes("orga")), []);
    });
  });
}

describe("one certificate", () => {
  test("writes no wildseal.dev/certificate annotation, and a second render writes nothing", async () => {
    for (const layout of LAYOUTS) {
      const dir = await makeRepo({ clusters: ["prod-east"], tenants: [{ name: "acme", cluster: "prod-east", hosts: ["acme.example.com"] }] });
      writeFiles(dir, { "wildseal.yaml": certificatesConfig({ certificates: "source", layout, defaults: "{secretName: wildcard-tls}", output: "rendered" }) });
      const { com } = await leaves();
      const first = await renderRepository({ repoDir: dir, tls: com.tls });
      assert.deepEqual(summary(first), ["add acme"]);
      for (const path of hashTree(dir).keys()) assert.doesNotMatch(read(dir, path).toString("utf8"), /wildseal\.dev\/certificate/, path);
      const before = hashTree(dir);
      const again = await renderRepository({ repoDir: dir, tls: com.tls });
      assert.deepEqual(summary(again), ["keep acme"]);
      assert.deepEqual(again.files, { written: [], removed: [] });
      assert.deepEqual(changedPaths(before, hashTree(dir)), []);
    }
  });
});

describe("a template's own wildseal.dev/certificate", () => {
  test("is dropped with one certificate and replaced with several, so no template can attribute a SealedSecret to another certificate", async () => {
    const template = DEFAULT_SEALED_SECRET_TEMPLATE.replace("metadata:\n  name:", "metadata:\n  annotations:\n    wildseal.dev/certificate: org\n  name:");
    assert.notEqual(template, DEFAULT_SEALED_SECRET_TEMPLATE);
    const { com, org } = await leaves();
    for (const several of [false, true]) {
      const dir = await makeRepo({ clusters: ["prod-east"], tenants: [{ name: "acme", cluster: "prod-east", hosts: ["acme.example.com"] }], templates: { "sealed-secret.yaml": template } });
      writeFiles(dir, { "wildseal.yaml": certificatesConfig({ ...(several ? {} : { certificates: "source" as const }), defaults: "{secretName: wildcard-tls}", output: "rendered" }) });
      const r = await renderRepository({ repoDir: dir, tls: com.tls, ...(several ? { certificates: certificateSources({ com, org }) } : {}) });
      assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
      const text = read(dir, "rendered/prod-east/acme/sealed-secret.yaml").toString("utf8");
      assert.deepEqual(text.match(/wildseal\.dev\/certificate: .*/g) ?? [], several ? ["wildseal.dev/certificate: com"] : [], String(several));
    }
  });
});
