import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/model/load-config.ts";
import { loadRepositoryModel } from "../../src/model/load-repository.ts";
import { loadTenants } from "../../src/model/load-tenants.ts";
import type { LoadedTenants } from "../../src/model/load-tenants.ts";
import { ONE_CLUSTER_CONFIG, TWO_CLUSTER_CONFIG, formatted, makeRepo, tenantWithSpec } from "./repo-fixture.ts";

async function load(tenants: Record<string, string>, config = TWO_CLUSTER_CONFIG): Promise<LoadedTenants & { repo: string }> {
  const files = Object.fromEntries(Object.entries(tenants).map(([k, v]) => [`tenants/${k}`, v]));
  const repo = makeRepo({ "wildseal.yaml": config, ...files });
  const { config: cfg, diagnostics } = await loadConfig(repo);
  assert.deepEqual(diagnostics, []);
  assert.ok(cfg);
  return { ...(await loadTenants(repo, cfg)), repo };
}

/** Loads one tenant file that must be refused; returns its diagnostics. */
async function refused(file: string, text: string, config = TWO_CLUSTER_CONFIG): Promise<string[]> {
  const r = await load({ [file]: text }, config);
  assert.deepEqual(r.tenants, []);
  assert.deepEqual(new Set(r.diagnostics.map((d) => d.reason)), new Set(["invalid-tenant"]), "every tenant problem counts as invalid-tenant");
  return formatted(r.diagnostics);
}

const ACME = tenantWithSpec("acme", "  cluster: prod-east\n  hosts: [acme.example.com]\n");

describe("tenant files", () => {
  it("loads a valid tenant with the config's defaults", async () => {
    const r = await load({ "acme.yaml": ACME });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.invalid, []);
    assert.deepEqual(r.tenants, [
      {
        name: "acme",
        cluster: "prod-east",
        namespace: "acme",
        hosts: ["acme.example.com"],
        secretName: "wildcard-tls",
        scope: "strict",
        values: {},
        file: "tenants/acme.yaml",
      },
    ]);
    assert.deepEqual(r.locate("tenants/acme.yaml", ["spec", "hosts", 0]), { line: 7, col: 11 });
  });

  it("refuses unknown fields, naming them at their key", async () => {
    assert.deepEqual(await refused("acme.yaml", `${ACME}  replicas: 2\n`), [
      "tenants/acme.yaml:8:3: unknown field spec.replicas: remove it or fix its spelling",
    ]);
  });

  it("requires a non-empty hosts list", async () => {
    assert.deepEqual(await refused("acme.yaml", tenantWithSpec("acme", "  cluster: prod-east\n")), [
      "tenants/acme.yaml:6:3: spec.hosts is required: add it",
    ]);
    assert.deepEqual(await refused("acme.yaml", tenantWithSpec("acme", "  cluster: prod-east\n  hosts: []\n")), [
      "tenants/acme.yaml:7:10: spec.hosts must not be empty",
    ]);
  });

  it("refuses hosts that are not DNS names: wildcard, non-ASCII, bad label", async () => {
    const text = tenantWithSpec("acme", '  cluster: prod-east\n  hosts:\n    - "*.example.com"\n    - b\u00fccher.example.com\n    - a_b.example.com\n');
    assert.deepEqual(await refused("acme.yaml", text), [
      'tenants/acme.yaml:8:7: host "*.example.com" is a wildcard, which tenant hosts can not be: list each host name',
      'tenants/acme.yaml:9:7: host "b\u00fccher.example.com" is not ASCII: write internationalised names in punycode (xn--...)',
      'tenants/acme.yaml:10:7: host "a_b.example.com" is not a valid host name (RFC 1123: letters, digits and "-" in dot-separated labels of at most 63 characters, 253 in total)',
    ]);
  });

  it("refuses a host listed twice", async () => {
    assert.deepEqual(await refused("acme.yaml", tenantWithSpec("acme", "  cluster: prod-east\n  hosts: [a.example.com, A.example.com.]\n")), [
      'tenants/acme.yaml:7:26: host "a.example.com" is listed twice (also spec.hosts[0]): remove one',
    ]);
  });

  it("requires metadata.name to equal the file name", async () => {
    const r = await load({ "acme.yaml": ACME.replace("name: acme", "name: acme2") });
    assert.deepEqual(formatted(r.diagnostics), [
      'tenants/acme.yaml:4:9: metadata.name "acme2" does not match the file name tenants/acme.yaml: rename the file to acme2.yaml or set metadata.name: acme',
    ]);
    assert.deepEqual(r.invalid, [{ name: "acme", file: "tenants/acme.yaml" }]);
  });

  it("suggests setting metadata.name to the file's name only when that name is valid", async () => {
    const r = await load({ "Acme.yaml": ACME });
    assert.deepEqual(formatted(r.diagnostics), [
      'tenants/Acme.yaml:1:1: file name "Acme.yaml" is not a DNS-1123 label followed by .yaml: rename it to <tenant name>.yaml',
      'tenants/Acme.yaml:4:9: metadata.name "acme" does not match the file name tenants/Acme.yaml: rename the file to acme.yaml',
    ]);
  });

  it("refuses a tenant name that is not a DNS-1123 label, and then knows no name for it", async () => {
    const r = await load({ "Acme.yaml": ACME.replace("name: acme", "name: Acme") });
    assert.deepEqual(formatted(r.diagnostics), [
      'tenants/Acme.yaml:1:1: file name "Acme.yaml" is not a DNS-1123 label followed by .yaml: rename it to <tenant name>.yaml',
      'tenants/Acme.yaml:4:9: metadata.name "Acme" is not a valid DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, starting and ending with a letter or digit): rename it',
    ]);
    assert.deepEqual(r.invalid, []);
  });

  it("refuses a namespace that is not a DNS-1123 label", async () => {
    assert.deepEqual(await refused("acme.yaml", `${ACME}  namespace: acme.prod\n`), [
      'tenants/acme.yaml:8:14: spec.namespace "acme.prod" is not a valid DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, starting and ending with a letter or digit): rename it',
    ]);
  });

  it("refuses a secretName that is not a DNS-1123 subdomain", async () => {
    assert.deepEqual(await refused("acme.yaml", `${ACME}  secretName: wildcard_tls\n`), [
      'tenants/acme.yaml:8:15: spec.secretName "wildcard_tls" is not a valid DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most 253 characters, each dot-separated part starting and ending with a letter or digit): rename it',
    ]);
  });

  it("refuses an unknown cluster", async () => {
    assert.deepEqual(await refused("acme.yaml", ACME.replace("cluster: prod-east", "cluster: prod-north")), [
      'tenants/acme.yaml:6:12: unknown cluster "prod-north": use one of prod-east, prod-west (spec.clusters in wildseal.yaml)',
    ]);
  });

  it("refuses a cluster name that is not a DNS-1123 label, and still checks it exists", async () => {
    assert.deepEqual(await refused("acme.yaml", ACME.replace("cluster: prod-east", "cluster: Prod")), [
      'tenants/acme.yaml:6:12: spec.cluster "Prod" is not a valid DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, starting and ending with a letter or digit): rename it',
      'tenants/acme.yaml:6:12: unknown cluster "Prod": use one of prod-east, prod-west (spec.clusters in wildseal.yaml)',
    ]);
  });

  it("lets the cluster be omitted only when the config has exactly one", async () => {
    const noCluster = tenantWithSpec("acme", "  hosts: [acme.example.com]\n");
    assert.deepEqual(await refused("acme.yaml", noCluster), [
      "tenants/acme.yaml:6:3: spec.cluster is required: the config has 2 clusters (prod-east, prod-west); add spec.cluster",
    ]);
    const r = await load({ "acme.yaml": noCluster }, ONE_CLUSTER_CONFIG);
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.tenants[0]?.cluster, "prod-east");
  });

  it("refuses a second tenant delivering the same Secret, reporting both files", async () => {
    const r = await load({
      "acme.yaml": ACME,
      "zeta.yaml": tenantWithSpec("zeta", "  cluster: prod-east\n  namespace: acme\n  hosts: [zeta.example.com]\n"),
      "beta.yaml": tenantWithSpec("beta", "  cluster: prod-west\n  namespace: acme\n  hosts: [beta.example.com]\n"),
    });
    assert.deepEqual(formatted(r.diagnostics), [
      "tenants/acme.yaml:4:9: Secret wildcard-tls in namespace acme on cluster prod-east is also claimed by tenant zeta (tenants/zeta.yaml:7:14), which is skipped: give one of them another spec.namespace or spec.secretName",
      "tenants/zeta.yaml:7:14: Secret wildcard-tls in namespace acme on cluster prod-east is already delivered by tenant acme (tenants/acme.yaml:4:9): set another spec.namespace or spec.secretName; this tenant is skipped",
    ]);
    assert.deepEqual(r.tenants.map((t) => t.name), ["acme", "beta"]);
    assert.deepEqual(r.invalid, [{ name: "zeta", file: "tenants/zeta.yaml" }]);
    // tenant add rewords a clash by looking its diagnostic up: the very objects must be in both lists
    const fromClash = r.clashes.flatMap((c) => c.diagnostics);
    assert.equal(fromClash.length, 2);
    for (const d of fromClash) assert.ok(r.diagnostics.includes(d) && d.reason === "invalid-tenant");
  });

  it("refuses the same tenant defined as .yaml and .yml", async () => {
    const r = await load({ "acme.yaml": ACME, "acme.yml": ACME });
    assert.deepEqual(formatted(r.diagnostics), [
      "tenants/acme.yml:1:1: tenant acme is already defined in tenants/acme.yaml: remove one of the two files; this one is skipped",
    ]);
    assert.deepEqual(r.tenants.map((t) => t.file), ["tenants/acme.yaml"]);
    assert.deepEqual(r.invalid, [], "the valid acme keeps rendering; nothing to protect");
  });

  it("reports duplicate YAML keys in a tenant file", async () => {
    assert.deepEqual(await refused("acme.yaml", `${ACME}  hosts: [b.example.com]\n`), [
      'tenants/acme.yaml:8:3: duplicate key "hosts": remove one of the two',
    ]);
  });

  it("refuses aliases and anchors in a tenant file", async () => {
    const text = tenantWithSpec("acme", "  cluster: prod-east\n  hosts: &h [acme.example.com]\n  values: {more: *h}\n");
    assert.deepEqual(await refused("acme.yaml", text), [
      "tenants/acme.yaml:7:10: anchors (&name) are not allowed: write the value out in full",
      "tenants/acme.yaml:8:18: aliases (*name) are not allowed: write the value out in full",
    ]);
  });

  it("refuses a tenant file over 1 MiB without parsing it", async () => {
    const big = `${ACME}  values:\n    blob: ${"x".repeat(1024 * 1024)}\n`;
    assert.deepEqual(await refused("acme.yaml", big), [
      `tenants/acme.yaml:1:1: file is ${Buffer.byteLength(big)} bytes, over the 1 MiB limit: split it or remove unused content`,
    ]);
  });

  it("refuses a tenant symlink that points outside the repository", async () => {
    const outside = mkdtempSync(join(tmpdir(), "wildseal-outside-"));
    try {
      writeFileSync(join(outside, "evil.yaml"), ACME.replace(/acme/g, "evil"));
      const repo = makeRepo({ "wildseal.yaml": TWO_CLUSTER_CONFIG });
      symlinkSync(join(outside, "evil.yaml"), join(repo, "tenants/evil.yaml"));
      const model = await loadRepositoryModel(repo);
      assert.deepEqual(formatted(model.diagnostics), [
        "tenants/evil.yaml:1:1: symlink points outside the repository: replace it with a regular file",
      ]);
      assert.deepEqual(model.tenants, []);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("reads tenants in sorted order, .yml included, other files ignored", async () => {
    const r = await load({
      "b.yaml": tenantWithSpec("b", "  cluster: prod-east\n  hosts: [b.example.com]\n"),
      "a.yml": tenantWithSpec("a", "  cluster: prod-east\n  hosts: [a.example.com]\n"),
      "README.md": "# not a tenant\n",
    });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.tenants.map((t) => t.file), ["tenants/a.yml", "tenants/b.yaml"]);
  });
});

describe("the repository model", () => {
  it("renders nothing without a valid config but still reports the tenant files' problems", async () => {
    const repo = makeRepo({
      "wildseal.yaml": ONE_CLUSTER_CONFIG.replace("kind: Config", "kind: Konfig"),
      "tenants/acme.yaml": `${ACME}  extra: 1\n`,
    });
    const model = await loadRepositoryModel(repo);
    assert.equal(model.config, undefined);
    assert.deepEqual(model.tenants, []);
    assert.deepEqual(formatted(model.diagnostics), [
      'wildseal.yaml:2:7: kind must be "Config", not the string "Konfig"',
      "tenants/acme.yaml:8:3: unknown field spec.extra: remove it or fix its spelling",
    ]);
  });
});
