import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadRepositoryModel } from "../../src/model/load-repository.ts";
import { chooseCertificates } from "../../src/model/certificates.ts";
import { certificatesBlock } from "../helpers/several-certificates.ts";
import { formatted, makeRepo, tenantWithSpec } from "./repo-fixture.ts";

const HEAD = `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: example}
spec:
`;
const CLUSTERS = `  clusters:
    - name: prod-east
      sealingCert: clusters/prod-east/sealed-secrets.pem
`;
const TWO_CERTS = `${HEAD}${certificatesBlock()}${CLUSTERS}`;

const SANS = [
  { name: "com", dnsNames: ["*.example.com", "example.com"] },
  { name: "org", dnsNames: ["*.example.org", "*.example.com"] },
];

describe("several wildcard certificates: the model", () => {
  it("reads spec.certificates in order, and spec.source as the one certificate named default", async () => {
    const two = await loadRepositoryModel(makeRepo({ "wildseal.yaml": TWO_CERTS }));
    assert.deepEqual(two.diagnostics, []);
    assert.deepEqual(two.config?.certificates, [
      { name: "com", source: { namespace: "cert-manager", name: "wildcard-example-com" } },
      { name: "org", source: { namespace: "cert-manager", name: "wildcard-example-org" } },
    ]);
    assert.deepEqual(two.config?.source, { namespace: "cert-manager", name: "wildcard-example-com" });
    const one = await loadRepositoryModel(makeRepo({ "wildseal.yaml": `${HEAD}  source: {namespace: cert-manager, name: w}\n${CLUSTERS}` }));
    assert.deepEqual(one.config?.certificates, [{ name: "default", source: { namespace: "cert-manager", name: "w" } }]);
  });

  it("refuses both forms, neither, a name twice and a Secret twice, at their positions", async () => {
    const both = await loadRepositoryModel(makeRepo({ "wildseal.yaml": TWO_CERTS.replace("  certificates:", "  source: {namespace: a, name: b}\n  certificates:") }));
    assert.deepEqual(formatted(both.diagnostics), [
      "wildseal.yaml:7:5: spec.source and spec.certificates are both set: keep one (spec.source is the one-certificate form; move it into spec.certificates as {name: default, source: …})",
    ]);
    const neither = await loadRepositoryModel(makeRepo({ "wildseal.yaml": `${HEAD}${CLUSTERS}` }));
    assert.deepEqual(formatted(neither.diagnostics), [
      "wildseal.yaml:5:3: spec.source (one certificate's Secret, {namespace, name}) or spec.certificates (several, each {name, source}) is required: add one",
    ]);
    const twice = await loadRepositoryModel(makeRepo({ "wildseal.yaml": TWO_CERTS.replace("name: org\n      source: {namespace: cert-manager, name: wildcard-example-org}", "name: com\n      source: {namespace: cert-manager, name: wildcard-example-com}") }));
    assert.deepEqual(formatted(twice.diagnostics), [
      'wildseal.yaml:8:13: certificate name "com" is used twice (also spec.certificates[0]): rename one of them',
      "wildseal.yaml:9:15: source Secret cert-manager/wildcard-example-com is listed twice (also spec.certificates[0]): each certificate needs its own Secret; remove one",
    ]);
    assert.equal(twice.config, undefined);
  });

  it("refuses a tenant naming an unknown certificate at spec.certificate", async () => {
    const model = await loadRepositoryModel(
      makeRepo({ "wildseal.yaml": TWO_CERTS, "tenants/acme.yaml": tenantWithSpec("acme", "  certificate: net\n  hosts: [acme.example.net]\n") }),
    );
    assert.deepEqual(formatted(model.diagnostics), [
      'tenants/acme.yaml:6:16: unknown certificate "net": use one of com, org (spec.certificates in wildseal.yaml), or remove spec.certificate to use the one that covers the hosts',
    ]);
  });

  it("protects every certificate's source: namespace and Secret", async () => {
    const model = await loadRepositoryModel(
      makeRepo({
        "wildseal.yaml": TWO_CERTS.replace("namespace: cert-manager, name: wildcard-example-org", "namespace: certs-org, name: wildcard-example-org"),
        "tenants/acme.yaml": tenantWithSpec("acme", "  namespace: certs-org\n  hosts: [acme.example.com]\n"),
      }),
    );
    assert.deepEqual(formatted(model.diagnostics).map((m) => m.replace(/: a tenant's.*/, "")), [
      "tenants/acme.yaml:6:14: spec.namespace \"certs-org\" is protected as certificate org's source Secret's namespace (spec.certificates in wildseal.yaml)",
    ]);
  });

  it("chooses the one certificate covering all hosts, the named one, and refuses ambiguous and uncovered tenants at spec.hosts", async () => {
    const model = await loadRepositoryModel(
      makeRepo({
        "wildseal.yaml": TWO_CERTS,
        "tenants/acme.yaml": tenantWithSpec("acme", "  hosts: [acme.example.org]\n"),
        "tenants/both.yaml": tenantWithSpec("both", "  hosts: [both.example.com]\n"),
        "tenants/named.yaml": tenantWithSpec("named", "  certificate: com\n  hosts: [named.example.com]\n"),
        "tenants/wrong.yaml": tenantWithSpec("wrong", "  certificate: com\n  hosts: [wrong.example.org]\n"),
        "tenants/net.yaml": tenantWithSpec("net", "  hosts:\n    - net.example.com\n    - net.example.net\n"),
        "tenants/split.yaml": tenantWithSpec("split", "  hosts: [example.com, split.example.org]\n"),
      }),
    );
    assert.deepEqual(model.diagnostics, []);
    const choices = chooseCertificates(model.tenants, SANS, model.locate);
    const assigned = [...choices].flatMap(([t, c]) => (c.kind === "assigned" ? [`${t}=${c.certificate}`] : []));
    assert.deepEqual(assigned, ["acme=org", "named=com"]);
    const refused = [...choices].flatMap(([, c]) => (c.kind === "refused" ? formatted(c.diagnostics) : []));
    assert.deepEqual(refused, [
      "tenants/both.yaml:6:10: the hosts are covered by 2 certificates (com, org): add spec.certificate: com (or org) to say which one seals this tenant",
      "tenants/net.yaml:8:7: host net.example.net is covered by no certificate (com: *.example.com, example.com; org: *.example.org, *.example.com): remove the host or add a certificate that covers it to spec.certificates",
      "tenants/split.yaml:6:10: no one certificate covers all the hosts (com covers example.com; org covers split.example.org): a tenant's Secret holds one certificate; split the tenant, or issue a certificate that covers them all",
      "tenants/wrong.yaml:7:11: host wrong.example.org is not covered by certificate com (DNS names: *.example.com, example.com): remove the host or issue a certificate that covers it",
    ]);
    const reasons = [...choices].flatMap(([, c]) => (c.kind === "refused" ? c.diagnostics.map((d) => d.reason) : []));
    assert.deepEqual(reasons, ["invalid-tenant", "uncovered-host", "uncovered-host", "uncovered-host"]);
  });

  it("with one certificate, every tenant uses it and keeps the per-host wording", async () => {
    const model = await loadRepositoryModel(
      makeRepo({ "wildseal.yaml": `${HEAD}  source: {namespace: cert-manager, name: w}\n${CLUSTERS}`, "tenants/acme.yaml": tenantWithSpec("acme", "  hosts: [acme.example.com, b.example.org]\n") }),
    );
    const [only] = SANS;
    assert.ok(only);
    const choices = chooseCertificates(model.tenants, [{ ...only, name: "default" }], model.locate);
    assert.deepEqual([...choices.values()].flatMap((c) => (c.kind === "refused" ? formatted(c.diagnostics) : [c.certificate])), [
      "tenants/acme.yaml:6:29: host b.example.org is not covered by the certificate (DNS names: *.example.com, example.com): remove the host or issue a certificate that covers it",
    ]);
  });
});

describe("several wildcard certificates with the shared layout", () => {
  it("loads several certificates with a shared cluster (one sealed base per certificate, test/render/shared-several-certificates.test.ts)", async () => {
    const model = await loadRepositoryModel(makeRepo({ "wildseal.yaml": `${TWO_CERTS}  layout: shared\n` }));
    assert.deepEqual(formatted(model.diagnostics), []);
  });
});
