import type { Scope } from "../seal/scope.ts";

/**
 * The GitOps repository model (docs/configuration.md), after
 * validation: defaults applied, names checked, so that later stages never re-check.
 */

export type ClusterSealing =
  | { readonly kind: "file"; readonly path: string } // sealingCert: clusters/<c>/sealed-secrets.pem
  | { readonly kind: "controller"; readonly namespace: string; readonly name: string };

/**
 * How a cluster's output is laid out: absent (`per-tenant`, the default) — each tenant folder holds
 * its own SealedSecret; `shared` — one cluster-wide SealedSecret in `<output>/<cluster>/_shared/`,
 * reused by every tenant folder through kustomize (src/render/shared-layout.ts). Absent rather
 * than "per-tenant" so that configurations without the field load exactly as before.
 */
export type SharedLayout = "shared";

export interface ClusterConfig {
  readonly name: string;
  readonly sealing: ClusterSealing;
  /** `clusters[].layout`, else `spec.layout`, when that is `shared`; absent: per-tenant */
  readonly layout?: SharedLayout;
  /**
   * `clusters[].probe.address`: where rollout probes dial every host of this cluster's tenants (its
   * ingress controller's Service, for split-horizon DNS); absent: the host's own DNS name
   */
  readonly probe?: { readonly address: DialAddress };
}

/** Where a rollout probe connects: an IP address or a DNS name, and a port. */
export interface DialAddress {
  readonly host: string;
  readonly port: number;
}

/** `HOST=ADDR[:PORT]`, as `--probe-address` and `spec.probe.addresses` write it. */
export interface ProbeHostRule {
  /** `acme.example.com` (that host) or `*.example.com` (every host under example.com, at any depth); lower case, no trailing dot */
  readonly pattern: string;
  readonly address: DialAddress;
}

/** An apiVersion and kind as a template writes them: `rbac.authorization.k8s.io/v1`, `ClusterRoleBinding`. */
export interface ApiKind {
  readonly apiVersion: string;
  readonly kind: string;
}

/** `spec.policy`: exceptions the platform team allows explicitly; by default none. */
export interface PolicyConfig {
  /** protected namespaces tenants may target anyway (never to name the source Secret itself) */
  readonly allowNamespaces: readonly string[];
  /** kinds templates may render without metadata.namespace (cluster-scoped objects) */
  readonly allowKinds: readonly ApiKind[];
  /** namespaces other than the tenant's own that rendered objects may be in */
  readonly allowObjectNamespaces: readonly string[];
}

/** What rendered objects are checked against (src/render/object-policy.ts), resolved from wildseal.yaml once per render. */
export interface ObjectPolicy {
  readonly allowKinds: readonly ApiKind[];
  readonly allowObjectNamespaces: readonly string[];
  /** no rendered object may be this Secret (the first certificate's source) … */
  readonly source: { readonly namespace: string; readonly name: string };
  /** … nor any of these (every certificate's source, the first included); absent: only `source` */
  readonly sources?: readonly SecretRef[];
  /** namespaces protected by default (see protectedNamespaces in tenant-rules.ts) */
  readonly protectedNamespaces: readonly string[];
}

/** Where a certificate is read from: a `kubernetes.io/tls` Secret (cert-manager's output). */
export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
}

/** One wildcard certificate of `spec.certificates` (or `spec.source`, named `default`). */
export interface CertificateConfig {
  readonly name: string;
  readonly source: SecretRef;
}

export interface WildsealConfig {
  readonly name: string;
  /**
   * The first certificate's source (with `spec.source`, the only one): what single-certificate
   * callers use. Code that serves several certificates reads `certificates`.
   */
  readonly source: SecretRef;
  /** in the order written, names unique; `spec.source` is one certificate named `default` */
  readonly certificates: readonly CertificateConfig[];
  readonly clusters: readonly ClusterConfig[];
  readonly defaults: { readonly secretName: string; readonly scope: Scope };
  /** output folder, relative to the repository root; default "rendered" */
  readonly output: string;
  /** absent when wildseal.yaml has no spec.policy: nothing beyond the defaults is allowed */
  readonly policy?: PolicyConfig;
  /**
   * `spec.probe`: where `wildseal status` and `watch --verify-rollout` dial tenant hosts. Absent when
   * not written; `--probe-address` rules come first, a cluster's `probe.address` after these.
   */
  readonly probe?: { readonly addresses: readonly ProbeHostRule[] };
}

export interface Tenant {
  readonly name: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly hosts: readonly string[];
  readonly secretName: string;
  readonly scope: Scope;
  /**
   * `shared`: the tenant's Secret comes from its cluster's shared, cluster-wide SealedSecret (its
   * cluster has the shared layout and its file sets no scope, or `cluster-wide`); then `scope` is
   * `cluster-wide`. Absent: the tenant has a SealedSecret of its own (see tenantLayout in layout.ts).
   */
  readonly layout?: SharedLayout;
  /**
   * `spec.certificate`: the certificate (a name of WildsealConfig.certificates) the tenant is sealed
   * with, checked to exist. Absent: the one whose DNS names cover all its hosts, decided once the
   * certificates are known (model/certificates.ts).
   */
  readonly certificate?: string;
  readonly values: Readonly<Record<string, unknown>>;
  /** repository-relative path of the tenant file, for diagnostics */
  readonly file: string;
}

/**
 * A tenant file that failed validation. `name` comes from the file name (only when that is a valid
 * DNS-1123 label and no valid tenant has the name), so the renderer can leave that tenant's
 * existing output untouched instead of pruning it.
 */
export interface InvalidTenant {
  readonly name: string;
  readonly file: string;
}
