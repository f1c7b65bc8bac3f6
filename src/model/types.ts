import type { Scope } from "../seal/scope.ts";

/**
 * The GitOps repository model (CONTRACT.md, "The GitOps repository wildseal manages"), after
 * validation: defaults applied, names checked, so that later stages never re-check.
 */

export type ClusterSealing =
  | { readonly kind: "file"; readonly path: string } // sealingCert: clusters/<c>/sealed-secrets.pem
  | { readonly kind: "controller"; readonly namespace: string; readonly name: string };

export interface ClusterConfig {
  readonly name: string;
  readonly sealing: ClusterSealing;
}

export interface WildsealConfig {
  readonly name: string;
  readonly source: { readonly namespace: string; readonly name: string };
  readonly clusters: readonly ClusterConfig[];
  readonly defaults: { readonly secretName: string; readonly scope: Scope };
  /** output folder, relative to the repository root; default "rendered" */
  readonly output: string;
}

export interface Tenant {
  readonly name: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly hosts: readonly string[];
  readonly secretName: string;
  readonly scope: Scope;
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
