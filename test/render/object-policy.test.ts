import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import type { ObjectPolicy, Tenant } from "../../src/model/types.ts";
import { builtInSealedSecretTemplate } from "../../src/render/load-templates.ts";
import { checkRenderedObject } from "../../src/render/object-policy.ts";
import { renderRepository } from "../../src/render/render-repository.ts";
import { compileTemplate, instantiateTemplate } from "../../src/render/template.ts";
import type { Template } from "../../src/render/template.ts";
import { changedPaths, configYaml, hashTree, makeLeaf, makeRepo, writeFiles } from "./render-fixture.ts";

/**
 * Finding 5: whatever a template renders must stay in the tenant's namespace (or one the platform
 * team allowed); cluster-scoped kinds only when allow-listed; never the source Secret.
 */

const TENANT: Tenant = {
  name: "acme",
  cluster: "prod",
  namespace: "acme",
  hosts: ["acme.example.com"],
  secretName: "wildcard-tls",
  scope: "strict",
  values: {},
  file: "tenants/acme.yaml",
};

/** What objectPolicyOf makes of a wildseal.yaml with source cert-manager/wildcard-example-com and the given spec.policy. */
function policy(over: Partial<ObjectPolicy> = {}): ObjectPolicy {
  return {
    allowKinds: [],
    allowObjectNamespaces: [],
    source: { namespace: "cert-manager", name: "wildcard-example-com" },
    protectedNamespaces: ["kube-system", "kube-public", "kube-node-lease", "cert-manager"],
    ...over,
  };
}

function compiled(text: string, file = "templates/x.yaml"): Template {
  const c = compileTemplate(text, file, file.slice(file.lastIndexOf("/") + 1));
  assert.ok(c.ok, JSON.stringify(!c.ok && c.diagnostics));
  return c.template;
}

/** The policy problems of `text` instantiated for `tenant`, as `path:line:col: message`. */
/** A tenant of a test, and the policy of the wildseal.yaml around it (default: an empty spec.policy). */
type PolicyTenant = Tenant & { readonly policy?: ObjectPolicy };

function problems(text: string | Template, tenant: PolicyTenant = TENANT): string[] {
  const template = typeof text === "string" ? compiled(text) : text;
  const ctx = {
    tenant: { name: tenant.name, namespace: tenant.namespace, hosts: [...tenant.hosts], secretName: tenant.secretName, cluster: tenant.cluster },
    values: tenant.values,
    certNotAfter: "2030-01-01T00:00:00Z",
  };
  const r = instantiateTemplate(template, ctx, `tenant ${tenant.name}`);
  assert.ok(r.ok);
  return checkRenderedObject(template, r.value, tenant, tenant.policy ?? policy()).map(formatDiagnostic);
}

const WHO = "tenant acme (tenants/acme.yaml)";
const ALLOW_KIND = "have the platform team list it in spec.policy.allowKinds (wildseal.yaml)";

const CLUSTER_ADMIN = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: \${tenant.name}-admin
  namespace: \${tenant.namespace}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: mallory}]
`;

const configMap = (metadata: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: info\n${metadata}data: {a: b}\n`;

describe("rendered-object policy", () => {
  test("a ClusterRoleBinding is refused at its kind, naming the tenant, even with a namespace", () => {
    const expected = [
      `templates/x.yaml:2:7: ${WHO}: ClusterRoleBinding (rbac.authorization.k8s.io/v1) is cluster-scoped: a template may render only objects in the tenant's namespace; remove this template, or ${ALLOW_KIND}`,
    ];
    assert.deepEqual(problems(CLUSTER_ADMIN), expected, "without spec.policy");
    assert.deepEqual(problems(CLUSTER_ADMIN, { ...TENANT, policy: policy() }), expected, "with an empty spec.policy");
  });

  test("spec.policy.allowKinds admits exactly the listed apiVersion and kind", () => {
    const listed = (apiVersion: string, kind: string): PolicyTenant => ({ ...TENANT, policy: policy({ allowKinds: [{ apiVersion, kind }] }) });
    assert.deepEqual(problems(CLUSTER_ADMIN, listed("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")), []);
    assert.equal(problems(CLUSTER_ADMIN, listed("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding")).length, 1);
    assert.equal(problems(CLUSTER_ADMIN, listed("rbac.authorization.k8s.io/v1", "ClusterRole")).length, 1);
  });

  test("a Flux Kustomization or HelmRelease, or an Argo CD Application, in the tenant's namespace is refused unless allow-listed", () => {
    const delegating = [
      ["kustomize.toolkit.fluxcd.io/v1", "Kustomization"],
      ["helm.toolkit.fluxcd.io/v2", "HelmRelease"],
      ["argoproj.io/v1alpha1", "Application"],
    ] as const;
    for (const [apiVersion, kind] of delegating) {
      const text = `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: x\n  namespace: \${tenant.namespace}\nspec: {}\n`;
      assert.deepEqual(problems(text), [
        `templates/x.yaml:2:7: ${WHO}: ${kind} (${apiVersion}) makes the GitOps controller apply other manifests with its own cluster-wide rights, beyond the tenant's namespace: remove this template, or ${ALLOW_KIND}`,
      ]);
      assert.deepEqual(problems(text, { ...TENANT, policy: policy({ allowKinds: [{ apiVersion, kind }] }) }), []);
    }
  });

  test("an object in another namespace is refused at metadata.namespace (at kind when the namespace is literal)", () => {
    const message = (ns: string) =>
      `${WHO}: ConfigMap (v1) renders into namespace ${ns}, not the tenant's namespace acme: set metadata.namespace to \${tenant.namespace}, or have the platform team list ${ns} in spec.policy.allowObjectNamespaces (wildseal.yaml)`;
    assert.deepEqual(problems(configMap("  namespace: kube-system\n")), [`templates/x.yaml:2:7: ${message("kube-system")}`]);
    const viaValues = { ...TENANT, values: { ns: "ingress-nginx" } };
    assert.deepEqual(problems(configMap("  namespace: ${values.ns}\n"), viaValues), [`templates/x.yaml:5:14: ${message("ingress-nginx")}`]);
  });

  test("spec.policy.allowObjectNamespaces admits that namespace only", () => {
    const tenant = { ...TENANT, values: { ns: "ingress-nginx" }, policy: policy({ allowObjectNamespaces: ["ingress-nginx"] }) };
    assert.deepEqual(problems(configMap("  namespace: ${values.ns}\n"), tenant), []);
    assert.match(problems(configMap("  namespace: kube-system\n"), tenant)[0] ?? "", /renders into namespace kube-system, not the tenant's namespace acme/);
  });

  test("an object without metadata.namespace is refused, asking for namespace: ${tenant.namespace}", () => {
    const expected = [
      `templates/x.yaml:2:7: ${WHO}: ConfigMap (v1) has no metadata.namespace, so it would land wherever Flux or Argo CD apply it: add \`namespace: \${tenant.namespace}\` under metadata`,
    ];
    assert.deepEqual(problems(configMap("")), expected);
    assert.deepEqual(problems(configMap('  namespace: ""\n')), expected);
    assert.deepEqual(problems("apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"), expected);
    assert.deepEqual(problems(configMap("  namespace: ${tenant.namespace}\n")), []);
  });

  test("an allow-listed custom cluster-scoped kind may omit the namespace; others may not", () => {
    const thing = "apiVersion: example.com/v1\nkind: ClusterThing\nmetadata: {name: x}\n";
    const tenant = { ...TENANT, policy: policy({ allowKinds: [{ apiVersion: "example.com/v1", kind: "ClusterThing" }] }) };
    assert.deepEqual(problems(thing, tenant), []);
    assert.match(problems(thing)[0] ?? "", /^templates\/x\.yaml:2:7: tenant acme \(tenants\/acme\.yaml\): ClusterThing \(example\.com\/v1\) has no metadata\.namespace/);
  });

  test("the tenant's own Namespace is allowed; another, a labelled one, or a protected one is not", () => {
    const ns = (metadata: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n${metadata}`;
    assert.deepEqual(problems(ns("  name: ${tenant.namespace}\n")), []);
    assert.deepEqual(problems(ns("  name: ${tenant.namespace}\n  labels: {}\n")), []);
    assert.deepEqual(problems(ns("  name: kube-system\n")), [
      `templates/x.yaml:2:7: ${WHO}: Namespace (v1) kube-system is cluster-scoped: a template may render only the tenant's own Namespace (metadata.name: \${tenant.namespace}, here acme); fix the name, remove this template, or ${ALLOW_KIND}`,
    ]);
    assert.deepEqual(problems(ns("  name: ${tenant.namespace}\n  labels:\n    pod-security.kubernetes.io/enforce: privileged\n")), [
      `templates/x.yaml:2:7: ${WHO}: Namespace (v1) acme sets metadata.labels, which steer cluster-wide policy (Pod Security admission, NetworkPolicy namespace selectors): remove them, or ${ALLOW_KIND}`,
    ]);
    const allowedIn = { ...TENANT, namespace: "cert-manager", policy: policy() };
    assert.deepEqual(problems(ns("  name: ${tenant.namespace}\n"), allowedIn), [
      `templates/x.yaml:4:9: ${WHO}: Namespace (v1) cert-manager is a protected namespace the tenant is only allowed into (spec.policy.allowNamespaces), not its own: rendering it would let the tenant's removal delete it; remove this template, or ${ALLOW_KIND}`,
    ]);
    const listed = { ...TENANT, policy: policy({ allowKinds: [{ apiVersion: "v1", kind: "Namespace" }] }) };
    assert.deepEqual(problems(ns("  name: team-a\n  labels: {team: a}\n"), listed), []);
  });

  test("a Secret that is the source Secret is refused even in an allowed namespace", () => {
    const secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${values.name}\n  namespace: cert-manager\ntype: kubernetes.io/tls\n";
    const tenant = { ...TENANT, values: { name: "wildcard-example-com" }, policy: policy({ allowObjectNamespaces: ["cert-manager"] }) };
    assert.deepEqual(problems(secret, tenant), [
      `templates/x.yaml:4:9: ${WHO}: Secret (v1) cert-manager/wildcard-example-com is the source Secret (spec.source in wildseal.yaml): rendering it would overwrite the certificate every tenant is served from; rename the object (no policy allows this)`,
    ]);
    assert.deepEqual(problems(secret, { ...tenant, values: { name: "other" } }), []);
  });

  test("a List with items is refused: Kustomize would apply its items unchecked", () => {
    const list = "apiVersion: v1\nkind: List\nmetadata: {namespace: acme}\nitems:\n  - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: x}}\n";
    assert.deepEqual(problems(list), [
      `templates/x.yaml:2:7: ${WHO}: List (v1) holds items, which Kustomize applies as separate objects unchecked: write one object per template`,
    ]);
    assert.match(problems(list.replace("kind: List", "kind: ClusterRoleBindingList").replace("apiVersion: v1", "apiVersion: rbac.authorization.k8s.io/v1"))[0] ?? "", /ClusterRoleBindingList .* holds items/);
  });

  test("the SealedSecret template is always fine: wildseal forces its namespace", () => {
    assert.deepEqual(problems(builtInSealedSecretTemplate()), []);
    const literal = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: x, namespace: kube-system}\n";
    assert.deepEqual(problems(literal), []);
  });

  test("the shipped example Ingress passes", () => {
    const text = readFileSync(new URL("../../templates/examples/ingress.yaml", import.meta.url), "utf8");
    const tenant = { ...TENANT, values: { ingressClass: "nginx", service: { name: "web", port: 80 } }, policy: policy() };
    assert.deepEqual(problems(compiled(text, "templates/ingress.yaml"), tenant), []);
  });
});

describe("a policy violation holds the tenant", () => {
  test("a live tenant whose template now reaches another namespace keeps its output byte for byte; the others render", async () => {
    const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${tenant.name}-info\n  namespace: ${values.ns}\ndata: {team: '${values.team}'}\n";
    const dir = await makeRepo({
      clusters: ["prod"],
      tenants: [
        { name: "acme", values: { ns: "acme", team: "a" } },
        { name: "beta", values: { ns: "beta", team: "b" } },
      ],
      templates: { "config.yaml": cm },
    });
    const { tls } = await makeLeaf();
    const first = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(first.diagnostics, []);
    const before = hashTree(dir);

    // beta's values now point its ConfigMap at kube-system; acme's team changes (so acme is rewritten)
    writeFiles(dir, {
      "tenants/beta.yaml": readFileSync(`${dir}/tenants/beta.yaml`, "utf8").replace('"ns":"beta"', '"ns":"kube-system"'),
      "tenants/acme.yaml": readFileSync(`${dir}/tenants/acme.yaml`, "utf8").replace('"team":"a"', '"team":"a2"'),
    });
    const r = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      "templates/config.yaml:5:14: tenant beta (tenants/beta.yaml): ConfigMap (v1) renders into namespace kube-system, not the tenant's namespace beta: set metadata.namespace to ${tenant.namespace}, or have the platform team list kube-system in spec.policy.allowObjectNamespaces (wildseal.yaml)",
    ]);
    assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.cluster}/${c.tenant}`), ["update prod/acme", "hold prod/beta"]);
    assert.deepEqual(changedPaths(before, hashTree(dir)), ["rendered/prod/acme/config.yaml"]);
  });

  test("with the namespace allowed in spec.policy.allowObjectNamespaces the same change renders", async () => {
    const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${tenant.name}-info\n  namespace: ${values.ns}\n";
    const dir = await makeRepo({ clusters: ["prod"], tenants: [{ name: "beta", values: { ns: "ingress-nginx" } }], templates: { "config.yaml": cm } });
    writeFiles(dir, { "wildseal.yaml": `${configYaml(["prod"])}  policy:\n    allowObjectNamespaces: [ingress-nginx]\n` });
    const r = await renderRepository({ repoDir: dir, tls: (await makeLeaf()).tls });
    assert.deepEqual(r.diagnostics, []);
    assert.match(readFileSync(`${dir}/rendered/prod/beta/config.yaml`, "utf8"), /namespace: ingress-nginx/);
  });
});
