import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkRepository, NotARepositoryError } from "../../src/render/check-repository.ts";
import { valuesFromFlags } from "../../src/render/tenant-file.ts";
import { schemaComment } from "../../src/model/schema-url.ts";
import { formatDiagnostic } from "../../src/errors.ts";
import { generateCa, generateLeaf, tlsSecretOf } from "../../src/tls/generate.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";
import { makeRepo, ONE_CLUSTER_CONFIG as ONE_CERT_CLUSTER_CONFIG, tenantWithSpec } from "../model/repo-fixture.ts";

/** One cluster that fetches its sealing certificate from the controller: no certificate file to check. */
const ONE_CLUSTER_CONFIG = ONE_CERT_CLUSTER_CONFIG.replace("sealingCert: clusters/prod-east/sealed-secrets.pem", "controller: {}");

const formatted = (ds: readonly Parameters<typeof formatDiagnostic>[0][]): string[] => ds.map(formatDiagnostic);

const BANNER_TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: banner
  namespace: \${tenant.namespace}
data:
  text: "Welcome to \${values.banner}"
`;

async function material(dnsNames: readonly string[], validity: { notBefore?: Date; notAfter?: Date } = {}): Promise<TlsMaterial> {
  const leaf = await generateLeaf(await generateCa(), { dnsNames, ...validity });
  return validateTlsSecret(tlsSecretOf(leaf), { source: "test", ...(validity.notBefore ? { now: new Date(validity.notBefore.getTime() + 1000) } : {}) });
}

describe("checkRepository", () => {
  it("checks in-memory tenant files as if they were in tenants/, replacing a file of the same name", async () => {
    const repo = makeRepo({
      "wildseal.yaml": ONE_CLUSTER_CONFIG,
      "tenants/acme.yaml": tenantWithSpec("acme", "  hosts: [acme.example.com]\n"),
    });
    const check = await checkRepository(repo, {
      inMemoryTenants: [
        { file: "tenants/acme.yaml", text: tenantWithSpec("acme", "  hosts: [acme.example.com]\n  colour: blue\n") },
        { file: "tenants/beta.yaml", text: `${schemaComment("tenant")}${tenantWithSpec("beta", "  hosts: [beta.example.com]\n")}` },
      ],
    });
    assert.deepEqual(formatted(check.diagnostics), ["tenants/acme.yaml:7:3: unknown field spec.colour: remove it or fix its spelling"]);
    assert.deepEqual(check.model.tenants.map((t) => t.name), ["beta"], "the schema comment line is accepted");
  });

  it("an in-memory newcomer never takes a Secret from a tenant on disk, whatever the file order", async () => {
    const repo = makeRepo({ "wildseal.yaml": ONE_CLUSTER_CONFIG, "tenants/zeta.yaml": tenantWithSpec("zeta", "  hosts: [zeta.example.com]\n") });
    const check = await checkRepository(repo, { inMemoryTenants: [{ file: "tenants/alpha.yaml", text: tenantWithSpec("alpha", "  namespace: zeta\n  hosts: [a.example.com]\n") }] });
    assert.deepEqual(check.model.tenants.map((t) => t.name), ["zeta"]);
    assert.equal(check.model.clashes[0]?.clash.refused.file, "tenants/alpha.yaml");
  });

  it("reports a value a template writes inside a longer string that is a mapping, at the value", async () => {
    const repo = makeRepo({
      "wildseal.yaml": ONE_CLUSTER_CONFIG,
      "templates/banner.yaml": BANNER_TEMPLATE,
      "tenants/acme.yaml": tenantWithSpec("acme", "  hosts: [acme.example.com]\n  values:\n    banner: {a: 1}\n"),
      "tenants/beta.yaml": tenantWithSpec("beta", "  hosts: [beta.example.com]\n"),
    });
    const check = await checkRepository(repo);
    assert.deepEqual(formatted(check.diagnostics), [
      "tenants/acme.yaml:8:13: templates/banner.yaml:7:21: ${values.banner} is a mapping, which cannot be written inside a longer string: make the placeholder the whole value",
      "tenants/beta.yaml:6:3: spec.values.banner is missing, but templates/banner.yaml:7:21 uses ${values.banner}: add it under spec.values, or remove the placeholder",
    ]);
    assert.deepEqual(check.missingValues.map((m) => [m.file, m.key, m.usedAt]), [["tenants/beta.yaml", "banner", ["templates/banner.yaml:7:21"]]]);
  });

  it("given the certificate, reports a key that does not match and a certificate expired at `now`", async () => {
    const repo = makeRepo({ "wildseal.yaml": ONE_CLUSTER_CONFIG, "tenants/acme.yaml": tenantWithSpec("acme", "  hosts: [acme.example.com]\n") });
    const good = await material(["*.example.com"]);
    const other = await material(["*.example.com"]);
    const data = new Map(good.secret.data);
    const otherKey = other.secret.data.get("tls.key");
    assert.ok(otherKey);
    data.set("tls.key", otherKey);
    const mismatched: TlsMaterial = { ...good, secret: { ...good.secret, data } };
    const wrongKey = await checkRepository(repo, { tls: mismatched, tlsLabel: "wildcard.yaml" });
    assert.match(formatted(wrongKey.diagnostics).join("\n"), /^wildcard\.yaml:1:1: Secret cert-manager\/wildcard-example-com: tls\.key does not match the leaf certificate/);
    const expired = await checkRepository(repo, { tls: good, tlsLabel: "wildcard.yaml", now: new Date(good.leaf.notAfter.getTime() + 1000) });
    assert.match(formatted(expired.diagnostics).join("\n"), /^wildcard\.yaml:1:1: .*expired at/);
    assert.deepEqual((await checkRepository(repo, { tls: good })).diagnostics, []);
  });

  it("refuses a folder without wildseal.yaml as not a repository", async () => {
    const repo = makeRepo({});
    await assert.rejects(checkRepository(repo), (e: unknown) => e instanceof NotARepositoryError && /has no wildseal\.yaml\): run `wildseal init /.test(e.message));
  });
});

describe("valuesFromFlags", () => {
  it("nests dotted keys and keeps values as strings, = included", () => {
    const r = valuesFromFlags(["ingress.class=nginx", "ingress.annotations.x=a=b", "replicas=3"]);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.values, { ingress: { class: "nginx", annotations: { x: "a=b" } }, replicas: "3" });
  });

  it("keeps __proto__ a plain key", () => {
    const r = valuesFromFlags(["__proto__.polluted=yes"]);
    assert.deepEqual(Object.keys(r.values), ["__proto__"]);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });
});
