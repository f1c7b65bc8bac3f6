import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { configYaml, hashTree, makeLeaf, makeRepo, tempDir, tenantYaml, writeFiles } from "../render/render-fixture.ts";
import { runCli } from "./run-cli.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";

/**
 * Finding 5 end to end: whoever can commit to the GitOps repository must not be able to use
 * wildseal's output (applied by Flux or Argo CD with broad rights) to plant a Secret in kube-system,
 * overwrite the source certificate or grant cluster-wide rights. A refused tenant keeps what it had.
 */

/** The source Secret as `kubectl get secret -o yaml` prints it (cert-manager/wildcard-example-com). */
async function sourceFile(): Promise<string> {
  const { generated } = await makeLeaf();
  return writeSourceSecret(tempDir(), generated.certPem, generated.keyPem.reveal());
}

const KUBE_SYSTEM =
  "tenants/acme.yaml:6:14: spec.namespace \"kube-system\" is protected as a Kubernetes system namespace: a tenant's Secret there could replace one the cluster depends on; choose a namespace of the tenant's own, or have the platform team list kube-system in spec.policy.allowNamespaces (wildseal.yaml)";

describe("namespace and object policy through the CLI", () => {
  test("a live tenant changed to target kube-system keeps its rendered output byte for byte; render exits 1 with the reason", async () => {
    const dir = await makeRepo({ clusters: ["prod"], tenants: [{ name: "acme" }, { name: "beta" }] });
    const src = await sourceFile();
    const first = await runCli(["render", "--repo", dir, "--source-file", src]);
    assert.equal(first.code, 0, first.stderr);
    const before = hashTree(dir);
    assert.ok(before.has("rendered/prod/acme/sealed-secret.yaml"));

    writeFiles(dir, { "tenants/acme.yaml": tenantYaml({ name: "acme", namespace: "kube-system" }) });
    const r = await runCli(["render", "--repo", dir, "--source-file", src]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `${KUBE_SYSTEM}\n`);
    assert.match(r.stdout, /^hold {3}prod\/acme\n0 changed, 1 held, 1 unchanged;/);
    assert.deepEqual(hashTree(dir), before, "nothing under rendered/ changed");
    assert.doesNotMatch(readFileSync(join(dir, "rendered/prod/acme/sealed-secret.yaml"), "utf8"), /kube-system/);

    const v = await runCli(["validate", "--repo", dir]);
    assert.equal(v.code, 1);
    assert.equal(v.stderr, `${KUBE_SYSTEM}\n`);
  });

  test("with kube-system in spec.policy.allowNamespaces the same tenant renders there", async () => {
    const dir = await makeRepo({ clusters: ["prod"], tenants: [{ name: "acme", namespace: "kube-system" }] });
    writeFiles(dir, { "wildseal.yaml": `${configYaml(["prod"])}  policy:\n    allowNamespaces: [kube-system]\n` });
    const r = await runCli(["render", "--repo", dir, "--source-file", await sourceFile()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(dir, "rendered/prod/acme/sealed-secret.yaml"), "utf8"), /namespace: kube-system/);
  });

  test("tenant add refuses the source Secret's namespace before writing anything", async () => {
    const dir = await makeRepo({ clusters: ["prod"], tenants: [] });
    const r = await runCli(["tenant", "add", "mallory", "--host", "mallory.example.com", "--namespace", "cert-manager", "--repo", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to add tenant mallory:\n {2}--namespace "cert-manager": spec\.namespace "cert-manager" is protected as the source Secret's namespace \(spec\.source in wildseal\.yaml\)/);
    assert.deepEqual(
      (await runCli(["validate", "--repo", dir])).stdout,
      "ok: 1 config, 0 tenants, 1 template\n",
      "no tenant file was written",
    );
  });

  test("a template granting cluster-admin holds every tenant it would render for", async () => {
    const dir = await makeRepo({ clusters: ["prod"], tenants: [{ name: "acme" }] });
    const src = await sourceFile();
    assert.equal((await runCli(["render", "--repo", dir, "--source-file", src])).code, 0);
    const before = hashTree(dir);
    writeFiles(dir, {
      "templates/admin.yaml":
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: ${tenant.name}-admin\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: mallory}]\n",
    });
    const r = await runCli(["render", "--repo", dir, "--source-file", src]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "templates/admin.yaml:2:7: tenant acme (tenants/acme.yaml): ClusterRoleBinding (rbac.authorization.k8s.io/v1) is cluster-scoped: a template may render only objects in the tenant's namespace; remove this template, or have the platform team list it in spec.policy.allowKinds (wildseal.yaml)\n",
    );
    assert.deepEqual(hashTree(dir), before);

    writeFiles(dir, {
      "wildseal.yaml": `${configYaml(["prod"])}  policy:\n    allowKinds:\n      - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding}\n`,
    });
    const allowed = await runCli(["render", "--repo", dir, "--source-file", src]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.ok(hashTree(dir).has("rendered/prod/acme/admin.yaml"));
  });
});
