/**
 * Kinds known to be cluster-scoped: the API server ignores metadata.namespace on them, so a template
 * that renders one acts on the whole cluster whatever namespace it claims. Keyed by API group (not
 * version: v1beta1 and v1 of a kind are the same objects). The one list wildseal keeps; a kind not in
 * it is treated as namespaced and must carry the tenant's namespace (object-policy.ts).
 *
 * Kubernetes' own cluster-scoped resources (kubectl api-resources --namespaced=false), then widely
 * installed add-ons whose cluster-scoped kinds grant or route cluster-wide power.
 */

/** "*": every kind of the group is cluster-scoped (Gatekeeper constraints are one kind per template). */
const CLUSTER_SCOPED: ReadonlyMap<string, ReadonlySet<string> | "*"> = new Map<string, ReadonlySet<string> | "*">([
  ["", new Set(["Namespace", "Node", "PersistentVolume", "ComponentStatus"])],
  ["rbac.authorization.k8s.io", new Set(["ClusterRole", "ClusterRoleBinding"])],
  ["apiextensions.k8s.io", new Set(["CustomResourceDefinition"])],
  ["apiregistration.k8s.io", new Set(["APIService"])],
  [
    "admissionregistration.k8s.io",
    new Set([
      "ValidatingWebhookConfiguration",
      "MutatingWebhookConfiguration",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
      "MutatingAdmissionPolicy",
      "MutatingAdmissionPolicyBinding",
    ]),
  ],
  ["storage.k8s.io", new Set(["StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"])],
  ["scheduling.k8s.io", new Set(["PriorityClass"])],
  ["networking.k8s.io", new Set(["IngressClass", "IPAddress", "ServiceCIDR"])],
  ["node.k8s.io", new Set(["RuntimeClass"])],
  ["certificates.k8s.io", new Set(["CertificateSigningRequest", "ClusterTrustBundle"])],
  ["flowcontrol.apiserver.k8s.io", new Set(["FlowSchema", "PriorityLevelConfiguration"])],
  ["resource.k8s.io", new Set(["DeviceClass", "ResourceSlice"])],
  ["policy", new Set(["PodSecurityPolicy"])],
  ["snapshot.storage.k8s.io", new Set(["VolumeSnapshotClass", "VolumeSnapshotContent"])],
  ["gateway.networking.k8s.io", new Set(["GatewayClass"])],
  // add-ons
  ["cert-manager.io", new Set(["ClusterIssuer"])],
  ["trust.cert-manager.io", new Set(["Bundle"])],
  ["external-secrets.io", new Set(["ClusterSecretStore", "ClusterExternalSecret"])],
  ["kyverno.io", new Set(["ClusterPolicy", "ClusterCleanupPolicy"])],
  ["wgpolicyk8s.io", new Set(["ClusterPolicyReport"])],
  ["templates.gatekeeper.sh", new Set(["ConstraintTemplate"])],
  ["constraints.gatekeeper.sh", "*"],
  ["cilium.io", new Set(["CiliumClusterwideNetworkPolicy", "CiliumClusterwideEnvoyConfig", "CiliumNode", "CiliumIdentity", "CiliumExternalWorkload"])],
  ["crd.projectcalico.org", new Set(["GlobalNetworkPolicy", "GlobalNetworkSet", "HostEndpoint", "IPPool", "FelixConfiguration", "BGPConfiguration", "BGPPeer", "ClusterInformation"])],
  ["projectcalico.org", new Set(["GlobalNetworkPolicy", "GlobalNetworkSet", "HostEndpoint", "IPPool", "FelixConfiguration", "BGPConfiguration", "BGPPeer", "ClusterInformation"])],
  ["karpenter.sh", new Set(["NodePool", "NodeClaim"])],
]);

/** The API group of an apiVersion: `rbac.authorization.k8s.io/v1` → `rbac.authorization.k8s.io`, `v1` → "" (core). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

export function isKnownClusterScoped(apiVersion: string, kind: string): boolean {
  const kinds = CLUSTER_SCOPED.get(apiGroup(apiVersion));
  return kinds !== undefined && (kinds === "*" || kinds.has(kind));
}

/**
 * Namespaced kinds that make a GitOps controller apply something else with its own rights: a Flux
 * Kustomization or HelmRelease without a restricted service account, an Argo CD Application (its
 * AppProject decides where it may deploy). Rendered into a tenant's namespace they would apply any
 * path or chart anywhere in the cluster, so they count as reaching beyond the namespace.
 */
const DELEGATING: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["kustomize.toolkit.fluxcd.io", new Set(["Kustomization"])],
  ["helm.toolkit.fluxcd.io", new Set(["HelmRelease"])],
  ["argoproj.io", new Set(["Application", "ApplicationSet", "AppProject"])],
]);

export function isDelegatingKind(apiVersion: string, kind: string): boolean {
  return DELEGATING.get(apiGroup(apiVersion))?.has(kind) === true;
}
