import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { InvalidInputError, REASONS, type Diagnostic } from "../../src/errors.ts";
import { certificateGate, diagnosticGate, reasonOfPath } from "../../src/pipeline/gates.ts";
import { decideRemovals } from "../../src/render/removal-policy.ts";
import { renderRepository } from "../../src/render/render-repository.ts";
import { parseSealingCertificate } from "../../src/seal/sealing-cert.ts";
import { tlsSecretOf } from "../../src/tls/generate.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import { DAY, makeLeaf, makeRepo, sealingPair, tenantYaml, writeFiles } from "../render/render-fixture.ts";

/**
 * wildseal_gate_failures_total{reason}: each refusal is raised with its reason code and gates.ts
 * only reads it. These tests raise the real refusals and assert codes, never message text, so a
 * reworded message can not move a metric without a test noticing a changed code.
 */

/** The gate of what `f` refuses with an InvalidInputError. */
function certificateGateOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof InvalidInputError) return certificateGate(e);
    throw e;
  }
  return "accepted";
}

/** path → gates of a render's diagnostics, sorted, for compact assertions. */
function gatesByPath(ds: readonly Diagnostic[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of ds) (out[d.path] ??= []).push(diagnosticGate(d));
  for (const v of Object.values(out)) v.sort();
  return out;
}

describe("safety gates: reason codes from where the refusal is raised", () => {
  it("the source certificate: expired, not yet valid, key mismatch, anything else invalid", async () => {
    const { generated } = await makeLeaf();
    const other = await makeLeaf();
    const secret = tlsSecretOf(generated);
    const validate = (s = secret, now = new Date()) => () => validateTlsSecret(s, { source: "s", now });
    assert.equal(certificateGateOf(validate()), "accepted");
    assert.equal(certificateGateOf(validate(secret, new Date(Date.now() + 400 * DAY))), "expired");
    assert.equal(certificateGateOf(validate(secret, new Date(Date.now() - 30 * DAY))), "not-yet-valid");
    const mismatched = { ...secret, data: new Map([...secret.data, ["tls.key", other.tls.secret.data.get("tls.key") ?? assert.fail()]]) };
    assert.equal(certificateGateOf(validate(mismatched)), "key-mismatch");
    assert.equal(certificateGateOf(validate({ ...secret, type: "Opaque" })), "invalid-certificate");
    assert.equal(certificateGateOf(validate({ ...secret, data: new Map() })), "invalid-certificate");
  });

  it("an error raised without a reason is invalid-certificate, whatever its words say", () => {
    assert.equal(certificateGate(new InvalidInputError("s: the leaf certificate expired at 2020-01-01T00:00:00.000Z")), "invalid-certificate");
    assert.equal(certificateGate(new InvalidInputError("s: tls.key does not match the leaf certificate")), "invalid-certificate");
    assert.equal(certificateGate(new InvalidInputError("anything", [], { reason: "not-yet-valid" })), "not-yet-valid");
  });

  it("a render: uncovered host, invalid tenant, downgrade and expiry each hold with their own code", async () => {
    const repo = await makeRepo({
      clusters: ["prod-east"],
      tenants: [{ name: "acme" }, { name: "beta", hosts: ["beta.example.org"] }],
    });
    writeFiles(repo, { "tenants/gamma.yaml": `${tenantYaml({ name: "gamma" })}  colour: blue\n` });
    const newer = await makeLeaf({ notAfter: new Date(Date.now() + 90 * DAY) });
    const first = await renderRepository({ repoDir: repo, tls: newer.tls, parallel: false });
    assert.deepEqual(gatesByPath(first.diagnostics), { "tenants/beta.yaml": ["uncovered-host"], "tenants/gamma.yaml": ["invalid-tenant"] });

    // An older certificate: the downgrade points into rendered/, a path no fallback knows.
    const older = await makeLeaf({ notAfter: new Date(Date.now() + 30 * DAY) });
    const second = await renderRepository({ repoDir: repo, tls: older.tls, parallel: false });
    assert.deepEqual(gatesByPath(second.diagnostics), {
      "rendered/prod-east/acme/sealed-secret.yaml": ["downgrade"],
      "tenants/beta.yaml": ["uncovered-host"],
      "tenants/gamma.yaml": ["invalid-tenant"],
    });
    assert.equal(reasonOfPath("rendered/prod-east/acme/sealed-secret.yaml"), "invalid-input", "the code comes from the plan, not the path");

    // The certificate expired between validation and the render: everything is held.
    const late = await renderRepository({ repoDir: repo, tls: newer.tls, now: new Date(Date.now() + 400 * DAY), parallel: false, sourceLabel: "my source" });
    assert.deepEqual(gatesByPath(late.diagnostics)["my source"], ["expired"]);
  });

  it("a render: template, object policy and config problems", async () => {
    const repo = await makeRepo({ clusters: ["prod-east"], tenants: [{ name: "acme" }] });
    const leaf = await makeLeaf();
    writeFiles(repo, {
      "templates/role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: x}\n",
      "templates/team.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: team}\ndata: {team: '${values.team}'}\n",
    });
    const held = await renderRepository({ repoDir: repo, tls: leaf.tls, parallel: false });
    assert.deepEqual(gatesByPath(held.diagnostics), { "templates/role.yaml": ["invalid-template"], "templates/team.yaml": ["invalid-template"] });
    assert.ok(held.diagnostics.every((d) => d.reason === "invalid-template"), "raised with the code, not left to the path");

    writeFiles(repo, { "templates/broken.yaml": "apiVersion: v1\nkind: [\n" });
    const broken = await renderRepository({ repoDir: repo, tls: leaf.tls, parallel: false });
    assert.deepEqual(gatesByPath(broken.diagnostics), { "templates/broken.yaml": ["invalid-template"] });

    rmSync(join(repo, "templates"), { recursive: true });
    writeFiles(repo, { "wildseal.yaml": "apiVersion: wildseal.dev/v1alpha1\nkind: Config\nspec: {}\n" });
    const config = await renderRepository({ repoDir: repo, tls: leaf.tls, parallel: false });
    assert.ok(config.diagnostics.length > 0);
    assert.ok(config.diagnostics.every((d) => d.reason === "invalid-config"));
  });

  it("removals held by an incomplete tenant set or over the limit: removal-held", () => {
    const removals = [{ cluster: "prod", tenant: "a" }, { cluster: "prod", tenant: "b" }, { cluster: "prod", tenant: "c" }];
    for (const d of [decideRemovals(removals, { kind: "held" }, 10), decideRemovals(removals, { kind: "limited", max: 2 }, 10)]) {
      assert.ok(d.kind === "hold");
      assert.equal(diagnosticGate(d.diagnostic), "removal-held");
    }
  });

  it("a sealing certificate that can not be used: sealing-certificate, wherever the file is", async () => {
    const pair = await sealingPair("gates");
    const reasonOf = (pem: string, now?: Date): unknown => {
      try {
        parseSealingCertificate(pem, { source: "certs/prod.pem", ...(now === undefined ? {} : { now }) });
        return "accepted";
      } catch (e) {
        return e instanceof InvalidInputError ? e.reason : e;
      }
    };
    assert.equal(reasonOf(pair.certPem), "accepted");
    assert.equal(reasonOf(pair.certPem, new Date(Date.now() + 20 * 365 * DAY)), "sealing-certificate");
    assert.equal(reasonOf("not a certificate"), "sealing-certificate");
  });

  it("without a code, only the path decides: a message's words never do", () => {
    const at = { line: 1, col: 1 };
    const gate = (path: string, message: string) => diagnosticGate({ path, ...at, message });
    assert.equal(gate("tenants/a.yaml", "unknown field colour"), "invalid-tenant");
    assert.equal(gate("tenants", "is a symbolic link"), "invalid-tenant");
    assert.equal(gate("templates", "is not a folder"), "invalid-template");
    assert.equal(gate("templates/x.yaml", "unknown placeholder"), "invalid-template");
    assert.equal(gate("clusters/p/sealed-secrets.pem", "missing"), "sealing-certificate");
    assert.equal(gate("wildseal.yaml", "bad"), "invalid-config");
    // wording that once picked a label by regular expression now means nothing
    assert.equal(gate("rendered/p/a/sealed-secret.yaml", "refusing to replace the committed certificate with an older one"), "invalid-input");
    assert.equal(gate("tenants", "3 tenant folders would be removed"), "invalid-tenant");
    assert.equal(gate("x", "the certificate expired at 2020-01-01"), "invalid-input");
    assert.equal(gate("wildseal.yaml", "cluster a takes its sealing certificate from controller b"), "invalid-config");
    // and a code always wins over the path
    for (const reason of REASONS) assert.equal(diagnosticGate({ path: "tenants/a.yaml", ...at, message: "", reason }), reason);
  });
});
