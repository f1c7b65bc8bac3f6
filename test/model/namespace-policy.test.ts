import { describe, it } from "node:test";
import { objectPolicyOf } from "../../src/model/tenant-rules.ts";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/model/load-config.ts";
import { loadRepositoryModel } from "../../src/model/load-repository.ts";
import { protectedNamespaces } from "../../src/model/tenant-rules.ts";
import { ONE_CLUSTER_CONFIG, formatted, makeRepo, tenantWithSpec } from "./repo-fixture.ts";

/**
 * Finding 5: a tenant may not deliver its Secret into kube-system & co., the source Secret's
 * namespace or a sealed-secrets controller's namespace unless spec.policy.allowNamespaces lists it,
 * and may never name the source Secret itself.
 */

/** ONE_CLUSTER_CONFIG (source cert-manager/wildcard-example-com) plus a controller-sealed cluster in `sealed-secrets`. */
const CONFIG = `${ONE_CLUSTER_CONFIG}    - name: prod-west
      controller: {namespace: sealed-secrets}
`;
const withPolicy = (policy: string, config = CONFIG): string => `${config}  policy:\n${policy}`;

async function model(tenants: Record<string, string>, config = CONFIG) {
  const files = Object.fromEntries(Object.entries(tenants).map(([k, v]) => [`tenants/${k}`, v]));
  return loadRepositoryModel(makeRepo({ "wildseal.yaml": config, ...files }));
}

/** One tenant file; the problems loading it gives. */
async function problems(text: string, config = CONFIG): Promise<string[]> {
  const m = await model({ "acme.yaml": text }, config);
  assert.ok(m.config, "the config itself must be valid");
  return formatted(m.diagnostics);
}

const acme = (spec: string): string => tenantWithSpec("acme", `  cluster: prod-east\n${spec}  hosts: [acme.example.com]\n`);

const ALLOW = "or have the platform team list";

describe("tenant namespace policy", () => {
  it("refuses a tenant in kube-system at spec.namespace", async () => {
    assert.deepEqual(await problems(acme("  namespace: kube-system\n")), [
      `tenants/acme.yaml:7:14: spec.namespace "kube-system" is protected as a Kubernetes system namespace: a tenant's Secret there could replace one the cluster depends on; choose a namespace of the tenant's own, ${ALLOW} kube-system in spec.policy.allowNamespaces (wildseal.yaml)`,
    ]);
  });

  it("refuses a tenant named after a system namespace at metadata.name, which its namespace defaults to", async () => {
    const text = tenantWithSpec("kube-public", "  cluster: prod-east\n  hosts: [acme.example.com]\n");
    const m = await model({ "kube-public.yaml": text });
    assert.deepEqual(formatted(m.diagnostics), [
      `tenants/kube-public.yaml:4:9: namespace "kube-public" (metadata.name; spec.namespace is not set) is protected as a Kubernetes system namespace: a tenant's Secret there could replace one the cluster depends on; set spec.namespace to a namespace of the tenant's own, ${ALLOW} kube-public in spec.policy.allowNamespaces (wildseal.yaml)`,
    ]);
    assert.deepEqual(m.invalid, [{ name: "kube-public", file: "tenants/kube-public.yaml" }], "held, not pruned");
  });

  it("refuses a tenant in the source Secret's namespace", async () => {
    assert.deepEqual(await problems(acme("  namespace: cert-manager\n")), [
      `tenants/acme.yaml:7:14: spec.namespace "cert-manager" is protected as the source Secret's namespace (spec.source in wildseal.yaml): a tenant's Secret there could replace one the cluster depends on; choose a namespace of the tenant's own, ${ALLOW} cert-manager in spec.policy.allowNamespaces (wildseal.yaml)`,
    ]);
  });

  it("refuses a tenant in a sealed-secrets controller's namespace, naming the cluster", async () => {
    assert.deepEqual(await problems(acme("  namespace: sealed-secrets\n")), [
      `tenants/acme.yaml:7:14: spec.namespace "sealed-secrets" is protected as the sealed-secrets controller's namespace on cluster prod-west: a tenant's Secret there could replace one the cluster depends on; choose a namespace of the tenant's own, ${ALLOW} sealed-secrets in spec.policy.allowNamespaces (wildseal.yaml)`,
    ]);
  });

  it("gives every reason a namespace is protected: kube-system is also the default controller namespace", () => {
    const config = { source: { namespace: "cert-manager", name: "w" }, clusters: [{ name: "a", sealing: { kind: "controller", namespace: "kube-system", name: "x" } }, { name: "b", sealing: { kind: "controller", namespace: "kube-system", name: "x" } }] } as const;
    assert.deepEqual(Object.fromEntries(protectedNamespaces({ ...config, name: "t", defaults: { secretName: "s", scope: "strict" }, output: "rendered", certificates: [{ name: "default", source: config.source }] })), {
      "kube-system": "a Kubernetes system namespace and the sealed-secrets controller's namespace on clusters a, b",
      "kube-public": "a Kubernetes system namespace",
      "kube-node-lease": "a Kubernetes system namespace",
      "cert-manager": "the source Secret's namespace (spec.source in wildseal.yaml)",
    });
  });

  it("refuses a tenant naming the source Secret even when its namespace is allowed", async () => {
    const config = withPolicy("    allowNamespaces: [cert-manager]\n");
    assert.deepEqual(await problems(acme("  namespace: cert-manager\n  secretName: wildcard-example-com\n"), config), [
      'tenants/acme.yaml:8:15: spec.secretName "wildcard-example-com" in namespace cert-manager is the source Secret (spec.source in wildseal.yaml): sealing into it would overwrite the certificate every tenant is served from; set another spec.secretName (no policy allows this)',
    ]);
  });

  it("refuses the source Secret reached through spec.defaults.secretName, at the namespace", async () => {
    const config = withPolicy("    allowNamespaces: [cert-manager]\n", `${CONFIG}  defaults: {secretName: wildcard-example-com}\n`);
    assert.deepEqual(await problems(acme("  namespace: cert-manager\n"), config), [
      'tenants/acme.yaml:7:14: secret name "wildcard-example-com" (spec.defaults.secretName in wildseal.yaml) in namespace cert-manager is the source Secret (spec.source in wildseal.yaml): sealing into it would overwrite the certificate every tenant is served from; set another spec.secretName (no policy allows this)',
    ]);
  });

  it("lets spec.policy.allowNamespaces admit each protected namespace, and hands the tenant its object policy", async () => {
    const config = withPolicy("    allowNamespaces: [kube-system, cert-manager, sealed-secrets]\n");
    const m = await model(
      {
        "acme.yaml": acme("  namespace: kube-system\n"),
        "beta.yaml": tenantWithSpec("beta", "  cluster: prod-east\n  namespace: cert-manager\n  hosts: [beta.example.com]\n"),
        "gamma.yaml": tenantWithSpec("gamma", "  cluster: prod-west\n  namespace: sealed-secrets\n  hosts: [gamma.example.com]\n"),
      },
      config,
    );
    assert.deepEqual(m.diagnostics, []);
    assert.deepEqual(m.tenants.map((t) => `${t.name}: ${t.namespace}`), ["acme: kube-system", "beta: cert-manager", "gamma: sealed-secrets"]);
    assert.deepEqual(m.config === undefined ? undefined : objectPolicyOf(m.config), {
      allowKinds: [],
      allowObjectNamespaces: [],
      source: { namespace: "cert-manager", name: "wildcard-example-com" },
      protectedNamespaces: ["kube-system", "kube-public", "kube-node-lease", "cert-manager", "sealed-secrets"],
    });
  });

  it("an allowed namespace admits only itself", async () => {
    const config = withPolicy("    allowNamespaces: [cert-manager]\n");
    assert.match((await problems(acme("  namespace: kube-system\n"), config))[0] ?? "", /^tenants\/acme\.yaml:7:14: spec\.namespace "kube-system" is protected/);
  });

  it("still checks the namespace of a tenant file the schema refused", async () => {
    assert.deepEqual(await problems(acme("  namespace: kube-node-lease\n  replicas: 2\n")), [
      `tenants/acme.yaml:7:14: spec.namespace "kube-node-lease" is protected as a Kubernetes system namespace: a tenant's Secret there could replace one the cluster depends on; choose a namespace of the tenant's own, ${ALLOW} kube-node-lease in spec.policy.allowNamespaces (wildseal.yaml)`,
      "tenants/acme.yaml:8:3: unknown field spec.replicas: remove it or fix its spelling",
    ]);
  });
});

describe("spec.policy in wildseal.yaml", () => {
  it("is optional; written, its lists default to empty", async () => {
    const none = await loadConfig(makeRepo({ "wildseal.yaml": CONFIG }));
    assert.equal(none.config?.policy, undefined);
    const some = await loadConfig(makeRepo({ "wildseal.yaml": withPolicy("    allowObjectNamespaces: [ingress-nginx]\n") }));
    assert.deepEqual(some.diagnostics, []);
    assert.deepEqual(some.config?.policy, { allowNamespaces: [], allowKinds: [], allowObjectNamespaces: ["ingress-nginx"] });
  });

  it("takes kinds as the template writes them: apiVersion and kind", async () => {
    const r = await loadConfig(
      makeRepo({ "wildseal.yaml": withPolicy("    allowKinds:\n      - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding}\n      - {apiVersion: v1, kind: Namespace}\n") }),
    );
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.config?.policy?.allowKinds, [
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding" },
      { apiVersion: "v1", kind: "Namespace" },
    ]);
  });

  it("reports every malformed entry at its position", async () => {
    const config = withPolicy(
      [
        "    allowNamespaces: [cert-manager, Kube_System]",
        "    allowKinds:",
        "      - {apiVersion: rbac.authorization.k8s.io/v1, kind: clusterrolebinding}",
        "      - {apiVersion: rbac.authorization.k8s.io, kind: ClusterRole}",
        "      - {kind: Namespace}",
        "    allowObjectNamespaces: [ingress-nginx, ingress-nginx]",
        "    allowEverything: true",
        "",
      ].join("\n"),
    );
    const r = await loadConfig(makeRepo({ "wildseal.yaml": config }));
    assert.equal(r.config, undefined);
    assert.deepEqual(formatted(r.diagnostics), [
      'wildseal.yaml:12:37: spec.policy.allowNamespaces: namespace "Kube_System" is not a valid DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, starting and ending with a letter or digit): rename it',
      'wildseal.yaml:14:58: kind "clusterrolebinding" is not a Kubernetes kind (UpperCamelCase letters and digits, e.g. ClusterRoleBinding): copy it from the template',
      'wildseal.yaml:15:22: apiVersion "rbac.authorization.k8s.io" is not group/version or a core version (e.g. rbac.authorization.k8s.io/v1, v1): copy it from the template',
      "wildseal.yaml:16:9: spec.policy.allowKinds[2].apiVersion is required: add it",
      "wildseal.yaml:18:5: unknown field spec.policy.allowEverything: remove it or fix its spelling",
    ]);
  });

  it("refuses an entry listed twice, at the second", async () => {
    const config = withPolicy(
      [
        "    allowNamespaces: [cert-manager, cert-manager]",
        "    allowKinds:",
        "      - {apiVersion: v1, kind: Namespace}",
        "      - {apiVersion: v1, kind: Namespace}",
        "    allowObjectNamespaces: [ingress-nginx, ingress-nginx]",
        "",
      ].join("\n"),
    );
    const r = await loadConfig(makeRepo({ "wildseal.yaml": config }));
    assert.deepEqual(formatted(r.diagnostics), [
      'wildseal.yaml:12:37: namespace "cert-manager" is listed twice (also spec.policy.allowNamespaces[0]): remove one',
      "wildseal.yaml:15:9: Namespace (v1) is listed twice (also spec.policy.allowKinds[0]): remove one",
      'wildseal.yaml:16:44: namespace "ingress-nginx" is listed twice (also spec.policy.allowObjectNamespaces[0]): remove one',
    ]);
  });
});
