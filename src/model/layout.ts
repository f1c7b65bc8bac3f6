import type { Scope } from "../seal/scope.ts";
import type { ClusterConfig, SharedLayout, WildsealConfig } from "./types.ts";

/**
 * The layout rules (docs/configuration.md#layouts), pure.
 *
 * In a `shared` cluster a tenant's Secret comes from the cluster's one cluster-wide SealedSecret
 * (with several certificates, the cluster's one for the tenant's certificate), unless the tenant
 * file itself asks for a narrower scope (`scope: strict` or `namespace-wide`): such a tenant keeps
 * a SealedSecret of its own, sealed with the scope it asked for. wildseal never widens a scope a
 * tenant wrote down, and never holds the tenant for it either (a held tenant keeps its old
 * certificate until it expires); it only costs that tenant a seal per renewal.
 * `spec.defaults.scope` applies to tenants of per-tenant clusters only.
 */

export function clusterLayout(config: WildsealConfig, cluster: string): SharedLayout | undefined {
  return config.clusters.find((c: ClusterConfig) => c.name === cluster)?.layout;
}

/** A tenant's layout and effective scope from its cluster's layout and the scope its file writes (if any). */
export function tenantLayout(
  config: WildsealConfig,
  cluster: string,
  written: Scope | undefined,
): { readonly layout?: SharedLayout; readonly scope: Scope } {
  if (clusterLayout(config, cluster) === "shared" && (written === undefined || written === "cluster-wide")) {
    return { layout: "shared", scope: "cluster-wide" };
  }
  return { scope: written ?? config.defaults.scope };
}
