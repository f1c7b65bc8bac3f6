import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { symlinkSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidInputError } from "../../src/errors.ts";
import { loadConfig } from "../../src/model/load-config.ts";
import { readSealingCertPath } from "../../src/model/repo-paths.ts";
import { ONE_CLUSTER_CONFIG, TWO_CLUSTER_CONFIG, formatted, makeRepo } from "./repo-fixture.ts";

async function configProblems(config: string, extra: Record<string, string> = {}): Promise<string[]> {
  const repo = makeRepo({ "wildseal.yaml": config, ...extra });
  const r = await loadConfig(repo);
  assert.equal(r.config, undefined, "an invalid config must not be returned");
  assert.deepEqual(new Set(r.diagnostics.map((d) => d.reason)), new Set(["invalid-config"]), "every config problem counts as invalid-config");
  return formatted(r.diagnostics);
}

const withCluster = (cluster: string): string => ONE_CLUSTER_CONFIG.replace(/ {4}- name: prod-east\n.*\n$/, cluster);

describe("wildseal.yaml loading", () => {
  it("applies the defaults of a minimal config", async () => {
    const r = await loadConfig(makeRepo({ "wildseal.yaml": TWO_CLUSTER_CONFIG }));
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.config, {
      name: "example",
      source: { namespace: "cert-manager", name: "wildcard-example-com" },
      certificates: [{ name: "default", source: { namespace: "cert-manager", name: "wildcard-example-com" } }],
      clusters: [
        { name: "prod-east", sealing: { kind: "file", path: "clusters/prod-east/sealed-secrets.pem" } },
        { name: "prod-west", sealing: { kind: "controller", namespace: "kube-system", name: "sealed-secrets-controller" } },
      ],
      defaults: { secretName: "wildcard-tls", scope: "strict" },
      output: "rendered",
    });
  });

  it("reports a missing wildseal.yaml", async () => {
    const repo = makeRepo({});
    assert.deepEqual(formatted((await loadConfig(repo)).diagnostics), [
      "wildseal.yaml:1:1: missing: create it (apiVersion: wildseal.dev/v1alpha1, kind: Config) or pass --repo with the repository's folder",
    ]);
  });

  it("refuses unknown fields at the key and a wrong apiVersion at the value", async () => {
    const text = ONE_CLUSTER_CONFIG.replace("apiVersion: wildseal.dev/v1alpha1", "apiVersion: wildseal.dev/v1").replace(
      "spec:\n",
      "spec:\n  colour: blue\n",
    );
    assert.deepEqual(await configProblems(text), [
      'wildseal.yaml:1:13: apiVersion must be "wildseal.dev/v1alpha1", not the string "wildseal.dev/v1"',
      "wildseal.yaml:5:3: unknown field spec.colour: remove it or fix its spelling",
    ]);
  });

  it("reports a missing required field at its parent", async () => {
    assert.deepEqual(await configProblems(ONE_CLUSTER_CONFIG.replace(/ {2}source:.*\n/, "")), [
      "wildseal.yaml:5:3: spec.source (one certificate's Secret, {namespace, name}) or spec.certificates (several, each {name, source}) is required: add one",
    ]);
  });

  it("refuses a scope outside the three Sealed Secrets scopes", async () => {
    assert.deepEqual(await configProblems(`${ONE_CLUSTER_CONFIG}  defaults: {scope: global}\n`), [
      'wildseal.yaml:9:21: spec.defaults.scope must be one of "strict", "namespace-wide", "cluster-wide", not the string "global"',
    ]);
  });

  it("refuses a cluster name that is not a DNS-1123 label", async () => {
    assert.deepEqual(await configProblems(withCluster("    - name: Prod_East\n      controller: {}\n")), [
      'wildseal.yaml:7:13: cluster name "Prod_East" is not a valid DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, starting and ending with a letter or digit): rename it',
    ]);
  });

  it("refuses a cluster name used twice", async () => {
    assert.deepEqual(await configProblems(`${ONE_CLUSTER_CONFIG}    - name: prod-east\n      controller: {}\n`), [
      'wildseal.yaml:9:13: cluster name "prod-east" is used twice: rename one of them',
    ]);
  });

  it("requires exactly one of sealingCert and controller", async () => {
    assert.deepEqual(await configProblems(withCluster("    - name: bare\n")), [
      "wildseal.yaml:7:7: spec.clusters[0] (bare) needs sealingCert (a path in this repository) or controller ({namespace, name}): add one",
    ]);
    assert.deepEqual(
      await configProblems(withCluster("    - name: both\n      sealingCert: clusters/prod-east/sealed-secrets.pem\n      controller: {name: x}\n")),
      ["wildseal.yaml:9:19: spec.clusters[0] sets both sealingCert and controller: keep one"],
    );
  });

  it("refuses a sealingCert path that leaves the repository", async () => {
    assert.deepEqual(await configProblems(withCluster("    - name: a\n      sealingCert: ../../etc/passwd\n")), [
      'wildseal.yaml:8:20: spec.clusters[0].sealingCert "../../etc/passwd" contains "..": it must stay inside the repository',
    ]);
    assert.deepEqual(await configProblems(withCluster("    - name: a\n      sealingCert: /etc/passwd\n")), [
      'wildseal.yaml:8:20: spec.clusters[0].sealingCert "/etc/passwd" is absolute: write a path relative to the repository root',
    ]);
  });

  it("refuses a sealingCert symlink that points outside the repository", async () => {
    const outside = mkdtempSync(join(tmpdir(), "wildseal-outside-"));
    writeFileSync(join(outside, "cert.pem"), "x");
    try {
      const repo = makeRepo({ "wildseal.yaml": withCluster("    - name: a\n      sealingCert: clusters/a.pem\n") });
      symlinkSync(join(outside, "cert.pem"), join(repo, "clusters/a.pem"));
      assert.deepEqual(formatted((await loadConfig(repo)).diagnostics), [
        'wildseal.yaml:8:20: spec.clusters[0].sealingCert "clusters/a.pem" resolves outside the repository (symlink): commit the certificate itself',
      ]);
      await assert.rejects(
        readSealingCertPath(repo, { name: "a", sealing: { kind: "file", path: "clusters/a.pem" } }),
        (e: unknown) => e instanceof InvalidInputError && e.reason === "sealing-certificate",
      );
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("reports a sealingCert file that does not exist", async () => {
    assert.deepEqual(await configProblems(withCluster("    - name: a\n      sealingCert: clusters/a/sealed-secrets.pem\n")), [
      'wildseal.yaml:8:20: spec.clusters[0].sealingCert "clusters/a/sealed-secrets.pem" does not exist: fetch it (kubeseal --fetch-cert > clusters/a/sealed-secrets.pem) or fix the path',
    ]);
  });

  it("refuses an output folder outside the repository or over its inputs", async () => {
    assert.deepEqual(await configProblems(`${ONE_CLUSTER_CONFIG}  output: ../elsewhere\n`), [
      'wildseal.yaml:9:11: spec.output "../elsewhere" contains "..": it must stay inside the repository',
    ]);
    assert.deepEqual(await configProblems(`${ONE_CLUSTER_CONFIG}  output: tenants/out\n`), [
      'wildseal.yaml:9:11: spec.output "tenants/out" is inside tenants, which wildseal reads: choose a folder of its own such as rendered',
    ]);
  });

  it("reports YAML-level problems of the config with their positions", async () => {
    assert.deepEqual(await configProblems(`${ONE_CLUSTER_CONFIG}kind: Config\n`), [
      'wildseal.yaml:9:1: duplicate key "kind": remove one of the two',
    ]);
  });

  it("resolves a cluster's sealing certificate inside the repository", async () => {
    const repo = makeRepo({ "wildseal.yaml": ONE_CLUSTER_CONFIG });
    const cfg = (await loadConfig(repo)).config;
    const cluster = cfg?.clusters[0];
    assert.ok(cluster);
    assert.match(await readSealingCertPath(repo, cluster), /clusters\/prod-east\/sealed-secrets\.pem$/);
    await assert.rejects(
      readSealingCertPath(repo, { name: "x", sealing: { kind: "file", path: "../../etc/passwd" } }),
      /path "..\/..\/etc\/passwd" contains ".."/,
    );
  });
});
