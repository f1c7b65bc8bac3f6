import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSealingKeyPair } from "../../src/tls/generate.ts";
import { runCli } from "./run-cli.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of the example repository (the project root's wildseal.yaml, tenants/, clusters/, templates/). */
function copyOfExample(): string {
  const dir = mkdtempSync(join(tmpdir(), "wildseal-validate-"));
  dirs.push(dir);
  for (const p of ["wildseal.yaml", "tenants", "clusters", "templates"]) cpSync(join(PROJECT_ROOT, p), join(dir, p), { recursive: true });
  return dir;
}

describe("wildseal validate", () => {
  it("accepts the example repository the project ships", async () => {
    const r = await runCli(["validate", "--repo", PROJECT_ROOT]);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^ok: 1 config, 3 tenants, \d+ templates?\n$/);
    assert.equal(r.code, 0);
  });

  it("lists every problem as path:line:col on stderr, a summary on stdout, and exits 1", async () => {
    const repo = copyOfExample();
    writeFileSync(
      join(repo, "tenants/acme.yaml"),
      "apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: acme\nspec:\n  cluster: prod-moon\n  hosts: [acme.example.com]\n",
    );
    writeFileSync(join(repo, "tenants/bad.yaml"), "apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nkind: Tenant\n");
    const r = await runCli(["validate", "--repo", repo]);
    assert.equal(
      r.stderr,
      [
        'tenants/acme.yaml:6:12: unknown cluster "prod-moon": use one of prod-east, prod-west (spec.clusters in wildseal.yaml)',
        'tenants/bad.yaml:3:1: duplicate key "kind": remove one of the two',
        "",
      ].join("\n"),
    );
    assert.match(r.stdout, /^2 problems: 1 config, 2 tenants, 2 invalid tenant files, \d+ templates?\n$/);
    assert.equal(r.code, 1);
  });

  it("refuses an expired sealing certificate", async () => {
    const repo = copyOfExample();
    const expired = await generateSealingKeyPair({ notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2021-01-01T00:00:00Z") });
    writeFileSync(join(repo, "clusters/prod-west/sealed-secrets.pem"), expired.certPem);
    const r = await runCli(["validate", "--repo", repo]);
    assert.match(r.stderr, /^clusters\/prod-west\/sealed-secrets\.pem:\d+:\d+: .*expired.*\n$/);
    assert.equal(r.code, 1);
  });

  it("reports a folder without wildseal.yaml and exits 1", async () => {
    const empty = mkdtempSync(join(tmpdir(), "wildseal-empty-"));
    dirs.push(empty);
    const r = await runCli(["validate", "--repo", empty]);
    assert.equal(
      r.stderr,
      "wildseal.yaml:1:1: missing: create it (apiVersion: wildseal.dev/v1alpha1, kind: Config) or pass --repo with the repository's folder\n" +
        "tenants:1:1: the tenants folder is missing: create it and add one <tenant>.yaml per tenant (Git keeps no empty folder: commit a tenants/.gitkeep to have none)\n",
    );
    assert.equal(r.code, 1);
  });

  it("treats an unknown flag as a usage error (exit 2)", async () => {
    assert.equal((await runCli(["validate", "--bogus"])).code, 2);
  });
});
