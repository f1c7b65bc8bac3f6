import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { hashTree, makeLeaf, makeRepo, tempDir, tenantYaml, writeFiles } from "../render/render-fixture.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { runCli } from "./run-cli.ts";

const root = new URL("../../", import.meta.url).pathname;

function wildseal(args: readonly string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });
}

/** A Secret manifest as `kubectl get secret -o yaml` prints it, in a temp folder removed after the tests. */
async function sourceFile(): Promise<{ path: string; keyPem: string }> {
  const { generated } = await makeLeaf();
  const path = writeSourceSecret(tempDir(), generated.certPem, generated.keyPem.reveal());
  return { path, keyPem: generated.keyPem.reveal().toString("utf8") };
}

describe("wildseal render", () => {
  test("renders, prints one line per change, exits 0; a second run changes nothing", async () => {
    const dir = await makeRepo({ clusters: ["prod"], tenants: [{ name: "acme" }, { name: "beta" }] });
    const src = await sourceFile();
    const r = wildseal(["render", "--repo", dir, "--source-file", src.path]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^add {4}prod\/acme\nadd {4}prod\/beta\n2 changed, 0 unchanged; certificate [0-9a-f]{64} \(notAfter /);
    const before = hashTree(dir);
    const again = wildseal(["render", "--repo", dir, "--source-file", src.path]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^0 changed, 2 unchanged;/);
    assert.deepEqual(hashTree(dir), before);
    // the key never leaves in the clear
    for (const [p] of before) assert.ok(!readFileSync(join(dir, p), "utf8").includes("PRIVATE KEY"), p);
    assert.ok(!r.stdout.includes("PRIVATE KEY") && !r.stderr.includes("PRIVATE KEY"));
  });

  test("an invalid tenant: the valid ones are written, the problem is listed as path:line:col, exit 1", async () => {
    const dir = await makeRepo({ clusters: ["prod"], tenants: [{ name: "acme" }] });
    writeFiles(dir, { "tenants/beta.yaml": tenantYaml({ name: "beta" }).replace("kind: Tenant", "kind: Tenant\nbogus: 1") });
    const src = await sourceFile();
    const r = wildseal(["render", "--repo", dir, "--source-file", src.path]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^tenants\/beta\.yaml:\d+:\d+: /m);
    assert.ok(hashTree(dir).has("rendered/prod/acme/sealed-secret.yaml"));
  });

  test("an unknown placeholder is reported at its exact position and nothing is rendered", async () => {
    const dir = await makeRepo({
      clusters: ["prod"],
      tenants: [{ name: "acme" }],
      templates: { "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x-${tenant.nam}\n" },
    });
    const src = await sourceFile();
    const r = wildseal(["render", "--repo", dir, "--source-file", src.path]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^templates\/cm\.yaml:4:11: unknown placeholder \$\{tenant\.nam\}; known: /m);
    assert.deepEqual([...hashTree(dir).keys()], []);
  });

  test("a tenant held by an invalid file is listed and counted as held, not as changed; its output stays", async () => {
    const dir = await makeRepo({ clusters: ["prod"], tenants: [{ name: "acme" }, { name: "beta" }] });
    const src = await sourceFile();
    const first = await runCli(["render", "--repo", dir, "--source-file", src.path]);
    assert.equal(first.code, 0, first.stderr);
    const before = hashTree(dir);
    writeFiles(dir, { "tenants/beta.yaml": tenantYaml({ name: "beta" }).replace("kind: Tenant", "kind: Tenant\nbogus: 1") });
    const r = await runCli(["render", "--repo", dir, "--source-file", src.path]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^hold {3}prod\/beta\n0 changed, 1 held, 1 unchanged; certificate [0-9a-f]{64} /);
    assert.deepEqual(hashTree(dir), before);
  });

  test("--source-file is required (usage error, exit 2)", () => {
    const r = wildseal(["render", "--repo", tempDir()]);
    assert.equal(r.status, 2);
  });
});
