import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadRepositoryModel } from "../../src/model/load-repository.ts";
import { checkHostsCovered, uncoveredHosts } from "../../src/model/rules.ts";
import { ONE_CLUSTER_CONFIG, formatted, makeRepo, tenantWithSpec } from "./repo-fixture.ts";

describe("host coverage by the certificate", () => {
  it("reports each uncovered host at its position in the tenant file", async () => {
    const repo = makeRepo({
      "wildseal.yaml": ONE_CLUSTER_CONFIG,
      "tenants/acme.yaml": tenantWithSpec("acme", "  hosts:\n    - acme.example.com\n    - api.acme.example.com\n    - example.org\n"),
      "tenants/beta.yaml": tenantWithSpec("beta", "  hosts: [beta.example.com]\n"),
    });
    const model = await loadRepositoryModel(repo);
    assert.deepEqual(model.diagnostics, []);
    const leaf = { dnsNames: ["*.example.com", "example.com"] };
    assert.deepEqual(formatted(checkHostsCovered(model.tenants, leaf, model.locate)), [
      "tenants/acme.yaml:8:7: host api.acme.example.com is not covered by the certificate (DNS names: *.example.com, example.com): remove the host or issue a certificate that covers it",
      "tenants/acme.yaml:9:7: host example.org is not covered by the certificate (DNS names: *.example.com, example.com): remove the host or issue a certificate that covers it",
    ]);
    assert.deepEqual(checkHostsCovered(model.tenants, leaf, model.locate).map((d) => d.reason), ["uncovered-host", "uncovered-host"]);
    const [acme, beta] = model.tenants;
    assert.ok(acme && beta);
    assert.deepEqual(uncoveredHosts(acme, leaf), ["api.acme.example.com", "example.org"]);
    assert.deepEqual(uncoveredHosts(beta, leaf), []);
  });

  it("falls back to the start of the file without positions", () => {
    const tenant = {
      name: "a",
      cluster: "c",
      namespace: "a",
      hosts: ["a.example.org"],
      secretName: "s",
      scope: "strict" as const,
      values: {},
      file: "tenants/a.yaml",
    };
    assert.deepEqual(formatted(checkHostsCovered([tenant], { dnsNames: ["*.example.com"] })), [
      "tenants/a.yaml:1:1: host a.example.org is not covered by the certificate (DNS names: *.example.com): remove the host or issue a certificate that covers it",
    ]);
  });
});
