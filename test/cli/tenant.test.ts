import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "./run-cli.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The example repository's config, certificates and tenants (acme, globex on prod-east; initech on prod-west). */
function exampleRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), "wildseal-tenant-"));
  dirs.push(dir);
  for (const p of ["wildseal.yaml", "tenants", "clusters"]) cpSync(join(PROJECT_ROOT, p), join(dir, p), { recursive: true });
  return dir;
}

const tenantFiles = (repo: string): string[] => readdirSync(join(repo, "tenants")).sort();

describe("wildseal tenant add", () => {
  it("writes a minimal, deterministic tenant file that then validates", async () => {
    const repo = exampleRepo();
    const r = await runCli(["tenant", "add", "hooli", "--host", "hooli.example.com", "--host", "API.Hooli.example.com.", "--cluster", "prod-west", "--scope", "strict", "--repo", repo]);
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, "added tenant hooli: tenants/hooli.yaml (cluster prod-west, namespace hooli, 2 hosts)\n");
    assert.equal(r.code, 0);
    assert.equal(
      readFileSync(join(repo, "tenants/hooli.yaml"), "utf8"),
      [
        "apiVersion: wildseal.dev/v1alpha1",
        "kind: Tenant",
        "metadata:",
        "  name: hooli",
        "spec:",
        "  cluster: prod-west",
        "  hosts:",
        "    - hooli.example.com",
        "    - api.hooli.example.com",
        "",
      ].join("\n"),
    );
    assert.deepEqual(tenantFiles(repo), ["acme.yaml", "globex.yaml", "hooli.yaml", "initech.yaml"], "no temporary file left behind");
    const v = await runCli(["validate", "--repo", repo]);
    assert.equal(v.stderr, "");
    assert.match(v.stdout, /^ok: 1 config, 4 tenants, /);
  });

  it("keeps a non-default namespace and scope", async () => {
    const repo = exampleRepo();
    const r = await runCli(["tenant", "add", "umbrella", "--host", "umbrella.example.com", "--cluster", "prod-east", "--namespace", "umbrella-prod", "--scope", "cluster-wide", "--repo", repo]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(repo, "tenants/umbrella.yaml"), "utf8"), /\n {2}namespace: umbrella-prod\n {2}scope: cluster-wide\n$/);
  });

  it("refuses an existing tenant name (exit 1) and leaves its file alone", async () => {
    const repo = exampleRepo();
    const before = readFileSync(join(repo, "tenants/acme.yaml"), "utf8");
    const r = await runCli(["tenant", "add", "acme", "--host", "x.example.com", "--cluster", "prod-east", "--repo", repo]);
    assert.equal(r.stderr, "wildseal: tenant acme already exists (tenants/acme.yaml): edit that file instead\n");
    assert.equal(r.code, 1);
    assert.equal(readFileSync(join(repo, "tenants/acme.yaml"), "utf8"), before);
  });

  it("refuses a Secret another tenant already delivers (exit 1)", async () => {
    const repo = exampleRepo();
    const r = await runCli(["tenant", "add", "acme2", "--host", "acme2.example.com", "--cluster", "prod-east", "--namespace", "acme", "--repo", repo]);
    assert.equal(
      r.stderr,
      "wildseal: Secret wildcard-tls in namespace acme on cluster prod-east is already delivered by tenant acme (tenants/acme.yaml): pass another --namespace\n",
    );
    assert.equal(r.code, 1);
    assert.equal(existsSync(join(repo, "tenants/acme2.yaml")), false);
  });

  it("refuses a bad name, a bad host and an unknown cluster (exit 1), writing nothing", async () => {
    const repo = exampleRepo();
    const bad = await runCli(["tenant", "add", "Bad_Name", "--host", "b.example.com", "--cluster", "prod-east", "--repo", repo]);
    assert.equal(
      bad.stderr,
      'wildseal: tenant name "Bad_Name" is not a valid DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, starting and ending with a letter or digit): choose another name\n',
    );
    assert.equal(bad.code, 1);
    const host = await runCli(["tenant", "add", "wild", "--host", "*.example.com", "--cluster", "prod-east", "--repo", repo]);
    assert.equal(host.stderr, 'wildseal: refusing to add tenant wild:\n  host "*.example.com" is a wildcard, which tenant hosts can not be: list each host name\n');
    assert.equal(host.code, 1);
    const cluster = await runCli(["tenant", "add", "lost", "--host", "lost.example.com", "--cluster", "prod-moon", "--repo", repo]);
    assert.equal(cluster.stderr, 'wildseal: refusing to add tenant lost:\n  unknown cluster "prod-moon": use one of prod-east, prod-west (spec.clusters in wildseal.yaml)\n');
    assert.equal(cluster.code, 1);
    const noCluster = await runCli(["tenant", "add", "lost", "--host", "lost.example.com", "--repo", repo]);
    assert.equal(noCluster.stderr, "wildseal: refusing to add tenant lost:\n  spec.cluster is required: the config has 2 clusters (prod-east, prod-west); add spec.cluster\n");
    assert.equal(noCluster.code, 1);
    assert.deepEqual(tenantFiles(repo), ["acme.yaml", "globex.yaml", "initech.yaml"]);
  });

  it("refuses to add to a repository whose config is invalid (exit 1)", async () => {
    const repo = mkdtempSync(join(tmpdir(), "wildseal-tenant-empty-"));
    dirs.push(repo);
    mkdirSync(join(repo, "tenants"));
    const r = await runCli(["tenant", "add", "a", "--host", "a.example.com", "--repo", repo]);
    assert.equal(
      r.stderr,
      "wildseal.yaml:1:1: missing: create it (apiVersion: wildseal.dev/v1alpha1, kind: Config) or pass --repo with the repository's folder\nwildseal: wildseal.yaml is invalid: fix it first (wildseal validate)\n",
    );
    assert.equal(r.code, 1);
  });

  it("treats bad flags as usage errors (exit 2)", async () => {
    const repo = exampleRepo();
    for (const argv of [
      ["tenant", "add", "x", "--repo", repo], // --host missing
      ["tenant", "add", "--host", "x.example.com", "--repo", repo], // NAME missing
      ["tenant", "add", "x", "--host", "x.example.com", "--scope", "global", "--repo", repo],
      ["tenant", "add", "x", "--host", "x.example.com", "--colour", "blue", "--repo", repo],
    ]) {
      const r = await runCli(argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.notEqual(r.stderr, "");
    }
    assert.deepEqual(tenantFiles(repo), ["acme.yaml", "globex.yaml", "initech.yaml"]);
  });
});
