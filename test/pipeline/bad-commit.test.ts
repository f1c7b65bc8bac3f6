/**
 * A bad commit to the GitOps repository never deletes a live tenant and never publishes a host file.
 * Each attack is committed by a person to a real bare remote on top of a published baseline, then
 * `wildseal sync` runs as users run it; the rendered tree at the branch tip must stay byte-identical.
 */
import assert from "node:assert/strict";
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { git, pushAsPerson, remoteFile, remoteLog, tempDir } from "../helpers/git-fixtures.ts";
import { runCli } from "../cli/run-cli.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { CONFIG, makeSyncWorld, tenantYaml, type SyncWorld } from "./sync-world.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";

const TENANTS = ["acme", "globex", "initech"];

/** The certificate as `kubectl get secret -o yaml` prints it. */
function writeSourceFile(dir: string, material: TlsMaterial): string {
  const item = (name: string) => material.secret.data.get(name)?.reveal() ?? Buffer.alloc(0);
  return writeSourceSecret(dir, item("tls.crt"), item("tls.key"));
}

/** A person's commit made with any file-system operation (renames, symlinks), pushed without force. */
function commitAsPerson(remote: string, change: (dir: string) => void, message: string): void {
  const work = tempDir("wildseal-person-");
  try {
    git(work.path, ["clone", "--quiet", "--branch", "main", remote, "."]);
    change(work.path);
    git(work.path, ["add", "--all"]);
    git(work.path, ["commit", "--quiet", "--no-verify", "-m", message]);
    git(work.path, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
  } finally {
    work.cleanup();
  }
}

/** The tree object of a folder at the branch tip: equal ids mean byte-identical content. */
function treeId(remote: string, folder: string): string {
  return git(remote, ["rev-parse", `refs/heads/main:${folder}`]).trim();
}

function pathsAtTip(remote: string): string[] {
  return git(remote, ["ls-tree", "-r", "--name-only", "refs/heads/main"]).split("\n").filter((l) => l !== "");
}

describe("a bad commit never removes a live tenant", () => {
  let world: SyncWorld;
  let scratch: { path: string; cleanup(): void };
  let source: string;
  let baseline: string;
  let liveOutput: string;

  const sync = (...extra: string[]) => runCli(["sync", "--repo", world.remote.path, "--source-file", source, ...extra]);
  /** Every attack starts from the published baseline. */
  const resetToBaseline = () => git(world.remote.path, ["update-ref", "refs/heads/main", baseline]);

  before(async () => {
    world = await makeSyncWorld(TENANTS);
    scratch = tempDir("wildseal-bad-commit-");
    source = writeSourceFile(scratch.path, await world.issue(10));
    const first = await sync();
    assert.equal(first.code, 0, first.stderr);
    baseline = remoteLog(world.remote.path, "main")[0]?.sha ?? "";
    liveOutput = treeId(world.remote.path, "rendered");
  });
  after(() => {
    world.cleanup();
    scratch.cleanup();
  });

  /** The sync exits 1, says `expected` (path:line:col: message), and the live output is untouched. */
  async function assertHeld(expected: readonly RegExp[], folder = "rendered", live = liveOutput): Promise<string> {
    const r = await sync();
    assert.equal(r.code, 1, `exit code\n${r.stderr}`);
    for (const e of expected) assert.match(r.stderr, e);
    assert.equal(treeId(world.remote.path, folder), live, `${folder}/ at the tip is byte-identical to the live output`);
    assert.doesNotMatch(remoteLog(world.remote.path, "main")[0]?.message ?? "", /remove/);
    return r.stderr;
  }

  const held = (names: string) => new RegExp(`^tenants:1:1: removal of \\d tenant folders? held \\(${names}\\): tenants/ has problems`, "m");

  test("1: tenants/acme.yaml renamed to Acme.yaml is reported and acme keeps its Secret", async () => {
    resetToBaseline();
    commitAsPerson(world.remote.path, (d) => renameSync(join(d, "tenants/acme.yaml"), join(d, "tenants/Acme.yaml")), "rename");
    await assertHeld([/^tenants\/Acme\.yaml:1:1: file name "Acme\.yaml" is not a DNS-1123 label/m, held("acme \\(prod-east\\)")]);
  });

  test("1: tenants/acme.yaml renamed to acme-old.yaml is reported and acme keeps its Secret", async () => {
    resetToBaseline();
    commitAsPerson(world.remote.path, (d) => renameSync(join(d, "tenants/acme.yaml"), join(d, "tenants/acme-old.yaml")), "rename");
    await assertHeld([/^tenants\/acme-old\.yaml:\d+:\d+: .*acme/m, held("acme \\(prod-east\\)")]);
  });

  for (const name of ["acme.YAML", "acme.yaml.bak"]) {
    test(`1: tenants/acme.yaml renamed to ${name} is reported, not ignored, and acme keeps its Secret`, async () => {
      resetToBaseline();
      commitAsPerson(world.remote.path, (d) => renameSync(join(d, "tenants/acme.yaml"), join(d, `tenants/${name}`)), "rename");
      const escaped = name.replace(/\./g, "\\.");
      await assertHeld([new RegExp(`^tenants/${escaped}:1:1: is not read as a tenant .*rename it to acme\\.yaml`, "m"), held("acme \\(prod-east\\)")]);
    });
  }

  test("2: tenants/ committed as a dangling symlink removes nothing", async () => {
    resetToBaseline();
    commitAsPerson(
      world.remote.path,
      (d) => {
        rmSync(join(d, "tenants"), { recursive: true });
        symlinkSync("does-not-exist", join(d, "tenants"));
      },
      "dangling tenants",
    );
    await assertHeld([/^tenants:1:1: is a symbolic link; wildseal reads and writes tenants\/ only as a real folder/m, held("acme \\(prod-east\\), globex \\(prod-east\\), initech \\(prod-east\\)")]);
  });

  test("2: templates/ committed as a dangling symlink does not switch to the built-in template", async () => {
    resetToBaseline();
    pushAsPerson(
      world.remote.path,
      "main",
      { "templates/config-map.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${tenant.name}-info\n  namespace: ${tenant.namespace}\ndata:\n  hosts: ${tenant.hosts}\n" },
      "a custom template",
    );
    const withTemplate = await sync();
    assert.equal(withTemplate.code, 0, withTemplate.stderr);
    assert.ok(remoteFile(world.remote.path, "main", "rendered/prod-east/acme/config-map.yaml") !== undefined);
    const live = treeId(world.remote.path, "rendered");
    commitAsPerson(
      world.remote.path,
      (d) => {
        rmSync(join(d, "templates"), { recursive: true });
        symlinkSync("gone", join(d, "templates"));
      },
      "dangling templates",
    );
    await assertHeld([/^templates:1:1: is a symbolic link/m], "rendered", live);
  });

  for (const folder of ["templates", "tenants"]) {
    test(`3: ${folder}/ as a symlink to a folder outside the repository is refused; no host file is published`, async () => {
      resetToBaseline();
      const outside = join(scratch.path, `outside-${folder}`);
      mkdirSync(outside, { recursive: true });
      writeFileSync(join(outside, "outside.yaml"), folder === "templates" ? "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: host-secret, namespace: default}\ndata: {stolen: from-the-host}\n" : tenantYaml("outside"));
      for (const t of TENANTS) writeFileSync(join(outside, `${t}.yaml`), tenantYaml(t));
      commitAsPerson(
        world.remote.path,
        (d) => {
          rmSync(join(d, folder), { recursive: true, force: true });
          symlinkSync(outside, join(d, folder));
        },
        `${folder} points outside`,
      );
      await assertHeld([new RegExp(`^${folder}:1:1: is a symbolic link`, "m")]);
      assert.deepEqual(pathsAtTip(world.remote.path).filter((p) => /outside/.test(p) && p !== folder), []);
    });
  }

  test("4: output: docs holding a user's files is refused and the files are kept", async () => {
    resetToBaseline();
    const docs = { "docs/guide.md": "# How we run the platform\n", "docs/prod-east/notes.txt": "hand-written\n" };
    pushAsPerson(world.remote.path, "main", { ...docs, "wildseal.yaml": CONFIG.replace("  defaults:", "  output: docs\n  defaults:") }, "output: docs");
    await assertHeld([/^docs\/guide\.md:1:1: was not generated by wildseal, yet it is inside the output folder docs\/ \(spec\.output\)/m, /^docs\/prod-east\/notes\.txt:1:1: was not generated by wildseal/m]);
    for (const [p, text] of Object.entries(docs)) assert.equal(remoteFile(world.remote.path, "main", p), text);
  });

  test("5: a live tenant moved to kube-system, or naming the source Secret, keeps its output", async () => {
    resetToBaseline();
    pushAsPerson(
      world.remote.path,
      "main",
      {
        "tenants/acme.yaml": tenantYaml("acme", "  namespace: kube-system\n"),
        "tenants/globex.yaml": tenantYaml("globex", "  namespace: cert-manager\n  secretName: wildcard-example-com\n"),
      },
      "reach for the system",
    );
    await assertHeld([
      /^tenants\/acme\.yaml:7:14: spec\.namespace "kube-system" is protected as a Kubernetes system namespace/m,
      /^tenants\/globex\.yaml:8:15: spec\.secretName "wildcard-example-com" in namespace cert-manager is the source Secret/m,
    ]);
  });

  test("5: a template granting cluster-admin is refused for every tenant and never published", async () => {
    resetToBaseline();
    pushAsPerson(
      world.remote.path,
      "main",
      {
        "templates/admin.yaml":
          "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: ${tenant.name}-admin\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: mallory}]\n",
      },
      "grant cluster-admin",
    );
    await assertHeld([/^templates\/admin\.yaml:2:7: tenant acme \(tenants\/acme\.yaml\): ClusterRoleBinding \(rbac\.authorization\.k8s\.io\/v1\) is cluster-scoped/m]);
    assert.deepEqual(pathsAtTip(world.remote.path).filter((p) => p.startsWith("rendered/") && p.endsWith("admin.yaml")), []);
  });

  test("9: tenants committed as a regular file is invalid input (exit 1) with its path", async () => {
    resetToBaseline();
    commitAsPerson(
      world.remote.path,
      (d) => {
        rmSync(join(d, "tenants"), { recursive: true });
        writeFileSync(join(d, "tenants"), "not a folder\n");
      },
      "tenants is a file",
    );
    const stderr = await assertHeld([/^tenants:1:1: is not a folder, but tenants\/ must be one: remove or rename this file$/m]);
    assert.doesNotMatch(stderr, /internal error|ENOTDIR/);
  });

  test("removing more tenants than the limit holds them all until --allow-removals", async () => {
    resetToBaseline();
    const gone = Object.fromEntries(TENANTS.map((t) => [`tenants/${t}.yaml`, null]));
    pushAsPerson(world.remote.path, "main", { ...gone, "tenants/.gitkeep": "" }, "offboard everyone");
    // an empty (kept) folder is a clean tenant set: only the mass-removal guard stands in the way
    await assertHeld([/^tenants:1:1: 3 tenant folders would be removed \(acme \(prod-east\), globex \(prod-east\), initech \(prod-east\)\), more than the default limit of 2 .*--allow-removals/m]);
    const limited = await sync("--max-removals", "2");
    assert.equal(limited.code, 1);
    assert.match(limited.stderr, /more than --max-removals 2/);
    assert.equal(treeId(world.remote.path, "rendered"), liveOutput);

    const allowed = await sync("--allow-removals");
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(remoteLog(world.remote.path, "main")[0]?.message ?? "", /^remove tenants acme, globex, initech/);
    for (const t of TENANTS) assert.equal(remoteFile(world.remote.path, "main", `rendered/prod-east/${t}/sealed-secret.yaml`), undefined);
  });

  test("a removal within the limit from a clean tenant set goes ahead", async () => {
    resetToBaseline();
    pushAsPerson(world.remote.path, "main", { "tenants/globex.yaml": null }, "offboard globex");
    const r = await sync();
    assert.equal(r.code, 0, r.stderr);
    assert.match(remoteLog(world.remote.path, "main")[0]?.message ?? "", /^remove tenant globex/);
    assert.equal(remoteFile(world.remote.path, "main", "rendered/prod-east/globex/sealed-secret.yaml"), undefined);
    assert.ok(remoteFile(world.remote.path, "main", "rendered/prod-east/acme/sealed-secret.yaml") !== undefined);
  });

  test("--max-removals and --allow-removals together are a usage error", async () => {
    const r = await sync("--max-removals", "3", "--allow-removals");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give --max-removals or --allow-removals, not both/);
  });
});
