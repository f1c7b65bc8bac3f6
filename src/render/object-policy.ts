import type { Diagnostic } from "../errors.ts";
import type { ApiKind, ObjectPolicy, Tenant } from "../model/types.ts";
import type { Position, YamlPath } from "../yaml/load.ts";
import { apiGroup, isDelegatingKind, isKnownClusterScoped } from "./cluster-scoped-kinds.ts";
import type { Template } from "./template.ts";

/**
 * What a template may render for a tenant (pure). Flux or Argo CD apply rendered/ with rights far
 * beyond any tenant's, so whoever can change a template must not be able to use wildseal's output to
 * reach past the tenant's namespace: every object is namespaced into the tenant's namespace (or one
 * the platform team allowed in spec.policy.allowObjectNamespaces), cluster-scoped kinds are refused
 * unless spec.policy.allowKinds lists them, and no object may be the source Secret.
 *
 * The SealedSecret template is exempt: wildseal forces its name and namespace (sealed-secret-document.ts).
 * A violation holds the tenant (plan.ts): its committed output stays exactly as it is.
 *
 * Known gap: a cluster-scoped kind missing from cluster-scoped-kinds.ts, written with the tenant's
 * namespace, passes (the API server ignores the namespace); only the cluster's discovery could tell.
 */

/** A refusal, at the field of the template that decides it. */
export type Verdict = { readonly kind: "allowed" } | { readonly kind: "refused"; readonly at: YamlPath; readonly message: string };

const ALLOWED: Verdict = { kind: "allowed" };
const refused = (at: YamlPath, message: string): Verdict => ({ kind: "refused", at, message });

/** The problems of one instantiated template for one tenant, at positions in the template file. */
export function checkRenderedObject(template: Template, object: Readonly<Record<string, unknown>>, tenant: Tenant, policy: ObjectPolicy): Diagnostic[] {
  if (template.sealedSecret) return [];
  const verdict = judgeObject({ apiVersion: template.apiVersion, kind: template.kind }, object, tenant.namespace, policy);
  if (verdict.kind === "allowed") return [];
  // counted as a template problem: the template asks for the object, whatever tenant it is rendered for
  return [{ path: template.file, ...positionIn(template, verdict.at), message: `tenant ${tenant.name} (${tenant.file}): ${verdict.message}`, reason: "invalid-template" }];
}

/** The decision, from the object alone: `namespace` is the tenant's. */
export function judgeObject(
  type: ApiKind,
  object: Readonly<Record<string, unknown>>,
  namespace: string,
  policy: ObjectPolicy,
): Verdict {
  const { apiVersion, kind } = type;
  const what = `${kind} (${apiVersion})`;
  const allowList = "have the platform team list it in spec.policy.allowKinds (wildseal.yaml)";
  // Kustomize expands any *List with items into its items: they would escape every check below.
  if (kind.endsWith("List") && Object.hasOwn(object, "items")) {
    return refused(["kind"], `${what} holds items, which Kustomize applies as separate objects unchecked: write one object per template`);
  }
  const listed = policy.allowKinds.some((k) => k.apiVersion === apiVersion && k.kind === kind);
  const metadata = mappingAt(object, "metadata");

  if (isKnownClusterScoped(apiVersion, kind)) {
    if (listed) return ALLOWED;
    if (apiGroup(apiVersion) === "" && kind === "Namespace") return judgeNamespaceObject(metadata, namespace, policy, allowList);
    return refused(["kind"], `${what} is cluster-scoped: a template may render only objects in the tenant's namespace; remove this template, or ${allowList}`);
  }

  if (isDelegatingKind(apiVersion, kind) && !listed) {
    return refused(
      ["kind"],
      `${what} makes the GitOps controller apply other manifests with its own cluster-wide rights, beyond the tenant's namespace: remove this template, or ${allowList}`,
    );
  }

  const ns = metadata?.["namespace"];
  if (ns === undefined || ns === null || ns === "") {
    if (listed) return ALLOWED; // the platform team allowed this kind without a namespace (a cluster-scoped custom resource)
    return refused(
      ["kind"],
      `${what} has no metadata.namespace, so it would land wherever Flux or Argo CD apply it: add \`namespace: \${tenant.namespace}\` under metadata`,
    );
  }
  if (typeof ns !== "string") return refused(["metadata", "namespace"], `${what}: metadata.namespace must be a namespace name, not ${typeof ns}`);
  if (ns !== namespace && !policy.allowObjectNamespaces.includes(ns)) {
    return refused(
      ["metadata", "namespace"],
      `${what} renders into namespace ${ns}, not the tenant's namespace ${namespace}: set metadata.namespace to \${tenant.namespace}, or have the platform team list ${ns} in spec.policy.allowObjectNamespaces (wildseal.yaml)`,
    );
  }
  // every certificate's source Secret (issue 15: several certificates), not only the first
  const source = (policy.sources ?? [policy.source]).find((s) => ns === s.namespace && metadata?.["name"] === s.name);
  if (source !== undefined && apiGroup(apiVersion) === "" && kind === "Secret") {
    return refused(
      ["metadata", "name"],
      `${what} ${source.namespace}/${source.name} is the source Secret (spec.source in wildseal.yaml): rendering it would overwrite the certificate every tenant is served from; rename the object (no policy allows this)`,
    );
  }
  return ALLOWED;
}

/**
 * `kind: Namespace` for the tenant's own namespace is a common pattern, and allowed: its name is the
 * tenant's namespace, which the tenant rules already vetted (never kube-system, the source's or a
 * controller's namespace by default), and whoever renders it can already render any object inside
 * that namespace, which is all owning it adds (Flux or Argo CD delete it with the tenant: the same
 * namespace, nothing beyond). Two things would reach beyond it, and are refused unless the platform
 * team lists Namespace in spec.policy.allowKinds:
 * - labels and annotations: they steer cluster-wide policy (Pod Security admission levels,
 *   NetworkPolicy namespaceSelectors elsewhere, policy-engine exemptions);
 * - a protected namespace the tenant was allowed into (spec.policy.allowNamespaces): it is shared
 *   with the platform, and removing the tenant would delete it with everything in it.
 */
function judgeNamespaceObject(
  metadata: Readonly<Record<string, unknown>> | undefined,
  namespace: string,
  policy: ObjectPolicy,
  allowList: string,
): Verdict {
  const what = "Namespace (v1)";
  const name = metadata?.["name"];
  if (name !== namespace) {
    const shown = typeof name === "string" ? ` ${name}` : "";
    return refused(
      ["metadata", "name"],
      `${what}${shown} is cluster-scoped: a template may render only the tenant's own Namespace (metadata.name: \${tenant.namespace}, here ${namespace}); fix the name, remove this template, or ${allowList}`,
    );
  }
  if (policy.protectedNamespaces.includes(namespace)) {
    return refused(
      ["metadata", "name"],
      `${what} ${namespace} is a protected namespace the tenant is only allowed into (spec.policy.allowNamespaces), not its own: rendering it would let the tenant's removal delete it; remove this template, or ${allowList}`,
    );
  }
  const steering = (["labels", "annotations"] as const).filter((k) => {
    const v = metadata?.[k];
    return v !== undefined && v !== null && !(typeof v === "object" && Object.keys(v).length === 0);
  });
  if (steering.length > 0) {
    return refused(
      ["metadata", steering[0] ?? "labels"],
      `${what} ${namespace} sets metadata.${steering.join(" and metadata.")}, which steer cluster-wide policy (Pod Security admission, NetworkPolicy namespace selectors): remove them, or ${allowList}`,
    );
  }
  return ALLOWED;
}

function mappingAt(object: Readonly<Record<string, unknown>>, key: string): Readonly<Record<string, unknown>> | undefined {
  const v = Object.hasOwn(object, key) ? object[key] : undefined;
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Where `path` stands in the template file. A compiled template keeps positions of its placeholder
 * values and of its kind only, so a literal value (`namespace: kube-system`) is reported at kind.
 */
function positionIn(template: Template, path: YamlPath): Position {
  const site = template.sites.find((s) => s.path.length === path.length && s.path.every((k, i) => k === path[i]));
  return site?.at ?? template.kindAt;
}
