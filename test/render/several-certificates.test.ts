import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import { renderRepository } from "../../src/render/render-repository.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";
import { certificateSources, certificatesConfig } from "../helpers/several-certificates.ts";
import { DAY, changedPaths, hashTree, makeLeaf, makeRepo, tenantYaml, writeFiles } from "./render-fixture.ts";

const TWO_CERTS = certificatesConfig({ defaults: "{secretName: wildcard-tls, scope: strict}", output: "rendered" });

const TENANTS = [
  { name: "acme", cluster: "prod-east", hosts: ["acme.example.com"] },
  { name: "beta", cluster: "prod-east", hosts: ["beta.example.com"] },
  { name: "orga", cluster: "prod-east", hosts: ["orga.example.org"] },
  { name: "orgb", cluster: "prod-east", hosts: ["orgb.example.org", "www.orgb.example.org"] },
];

async function repo(): Promise<string> {
  const dir = await makeRepo({ clusters: ["prod-east"], tenants: TENANTS });
  writeFiles(dir, { "wildseal.yaml": TWO_CERTS, "tenants/orgb.yaml": tenantYaml({ name: "orgb", cluster: "prod-east", hosts: ["orgb.example.org", "orgb.example.net"] }) });
  return dir;
}

const certificates = (com: TlsMaterial, org: TlsMaterial) => certificateSources({ com: { tls: com }, org: { tls: org } });

const annotation = (dir: string, tenant: string, key: string): string | undefined =>
  new RegExp(`${key}: "?([^"\\n]+)`).exec(readFileSync(join(dir, "rendered/prod-east", tenant, "sealed-secret.yaml"), "utf8"))?.[1];

describe("render with several certificates", () => {
  test("seals each tenant with its certificate, and renewing one re-seals only its tenants", async () => {
    const dir = await repo();
    const now = Date.now();
    const com = await makeLeaf({ dnsNames: ["*.example.com"] });
    const org = await makeLeaf({ dnsNames: ["*.example.org", "*.example.net"] });
    const first = await renderRepository({ repoDir: dir, tls: com.tls, certificates: certificates(com.tls, org.tls) });
    assert.deepEqual(first.diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(first.changes.map((c) => `${c.kind} ${c.tenant} ${c.certificate}`), ["add acme com", "add beta com", "add orga org", "add orgb org"]);
    assert.equal(annotation(dir, "acme", "wildseal.dev/cert-sha256"), com.tls.leaf.sha256);
    assert.equal(annotation(dir, "orga", "wildseal.dev/cert-sha256"), org.tls.leaf.sha256);
    assert.equal(annotation(dir, "orgb", "wildseal.dev/cert-sha256"), org.tls.leaf.sha256);

    const before = hashTree(dir);
    const renewed = await makeLeaf({ dnsNames: ["*.example.org", "*.example.net"], notBefore: new Date(now - DAY), notAfter: new Date(now + 200 * DAY) });
    const second = await renderRepository({ repoDir: dir, tls: com.tls, certificates: certificates(com.tls, renewed.tls) });
    assert.deepEqual(second.diagnostics.map(formatDiagnostic), []);
    assert.deepEqual(second.changes.map((c) => `${c.kind} ${c.tenant}`), ["keep acme", "keep beta", "renew orga", "renew orgb"]);
    assert.deepEqual(changedPaths(before, hashTree(dir)), ["rendered/prod-east/orga/sealed-secret.yaml", "rendered/prod-east/orgb/sealed-secret.yaml"]);
    assert.equal(annotation(dir, "orga", "wildseal.dev/cert-sha256"), renewed.tls.leaf.sha256);
    assert.deepEqual([...(second.leaves ?? new Map())].map(([n, l]) => `${n} ${l.sha256}`), [`com ${com.tls.leaf.sha256}`, `org ${renewed.tls.leaf.sha256}`]);
  });

  test("holds ambiguous and uncovered tenants with their positions, and renders the others", async () => {
    const dir = await repo();
    writeFiles(dir, {
      "tenants/both.yaml": tenantYaml({ name: "both", cluster: "prod-east", hosts: ["both.example.net"] }),
      "tenants/none.yaml": tenantYaml({ name: "none", cluster: "prod-east", hosts: ["none.example.io"] }),
    });
    const com = await makeLeaf({ dnsNames: ["*.example.com", "*.example.net"] });
    const org = await makeLeaf({ dnsNames: ["*.example.org", "*.example.net"] });
    const r = await renderRepository({ repoDir: dir, tls: com.tls, certificates: certificates(com.tls, org.tls) });
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      "tenants/both.yaml:7:10: the hosts are covered by 2 certificates (com, org): add spec.certificate: com (or org) to say which one seals this tenant",
      "tenants/none.yaml:7:11: host none.example.io is covered by no certificate (com: *.example.com, *.example.net; org: *.example.org, *.example.net): remove the host or add a certificate that covers it to spec.certificates",
    ]);
    assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.tenant}`), ["add acme", "add beta", "hold both", "hold none", "add orga", "add orgb"]);
  });

  test("renders nothing when a certificate of the config is not given", async () => {
    const dir = await repo();
    const com = await makeLeaf({ dnsNames: ["*.example.com"] });
    const r = await renderRepository({ repoDir: dir, tls: com.tls, certificates: new Map([["com", { tls: com.tls, label: "com.yaml" }]]) });
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      "wildseal.yaml:1:1: wildseal.yaml lists 2 certificates and org was not given: give each one (--source-file NAME=PATH); nothing was rendered",
    ]);
    assert.deepEqual(hashTree(dir), new Map());
  });
});
