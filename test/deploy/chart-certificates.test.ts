import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chartObjects, SKIP_WITHOUT_HELM } from "./helm.ts";

// issue 15: the chart with several certificates. Rendered with the helm test/e2e/setup builds into
// ~/.cache/wildseal-e2e (skipped without it); the cluster-side chart test is test/e2e/chart.test.ts.

interface K8sObject {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly rules?: readonly { readonly resources: readonly string[]; readonly resourceNames?: readonly string[]; readonly verbs: readonly string[] }[];
  readonly spec?: { readonly template: { readonly spec: { readonly containers: readonly { readonly args: readonly string[] }[] } } };
}

function template(set: readonly string[]): K8sObject[] {
  return chartObjects<K8sObject>(set.flatMap((s) => ["--set", s]));
}

const TWO = [
  "source.namespace=",
  "source.name=",
  "certificates[0].name=com",
  "certificates[0].source.namespace=cert-manager",
  "certificates[0].source.name=wildcard-example-com",
  "certificates[1].name=org",
  "certificates[1].source.namespace=cert-manager",
  "certificates[1].source.name=wildcard-example-org",
];

describe("Helm chart with several certificates", { skip: SKIP_WITHOUT_HELM }, () => {
  test("the source Role lists every source Secret in resourceNames, and watch gets one --source-secret NAME=NS/NAME each", () => {
    const objs = template([...TWO, "leaderElection.enabled=true"]);
    const roles = objs.filter((o) => o.kind === "Role" && o.metadata.name === "wildseal-source");
    assert.deepEqual(roles.map((r) => r.metadata.namespace), ["cert-manager"]);
    const secrets = roles[0]?.rules?.filter((r) => r.resources.includes("secrets"));
    assert.deepEqual(secrets, [{ apiGroups: [""], resources: ["secrets"], resourceNames: ["wildcard-example-com", "wildcard-example-org"], verbs: ["get", "list", "watch"] }]);
    const args = objs.find((o) => o.kind === "Deployment")?.spec?.template.spec.containers[0]?.args ?? [];
    assert.deepEqual(args.filter((a) => a.startsWith("--source-secret")), ["--source-secret=com=cert-manager/wildcard-example-com", "--source-secret=org=cert-manager/wildcard-example-org"]);
  });

  test("Secrets in two namespaces get a Role each; the Lease rule is only in the first certificate's namespace", () => {
    const objs = template([...TWO, "certificates[1].source.namespace=certs-org", "leaderElection.enabled=true"]);
    const roles = objs.filter((o) => o.kind === "Role" && o.metadata.name === "wildseal-source");
    const byNs = Object.fromEntries(roles.map((r) => [r.metadata.namespace, r.rules?.map((x) => `${x.resources.join(",")}:${(x.resourceNames ?? []).join(",")}`)]));
    assert.deepEqual(byNs, {
      "cert-manager": ["secrets:wildcard-example-com", "leases:wildseal", "leases:"],
      "certs-org": ["secrets:wildcard-example-org"],
    });
    const bindings = objs.filter((o) => o.kind === "RoleBinding" && o.metadata.name === "wildseal-source").map((b) => b.metadata.namespace);
    assert.deepEqual(bindings.sort(), ["cert-manager", "certs-org"]);
  });

  test("source and certificates together are refused", () => {
    assert.throws(() => template(TWO.slice(2)), /source and certificates are both set: keep one/);
  });
});
