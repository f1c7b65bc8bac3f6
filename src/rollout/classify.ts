import type { CommitRef } from "./history.ts";
import { isWildcardHost } from "./probe-address.ts";
import type { ProbeError, ProbeResult, ServedCertificate } from "./probe.ts";

/**
 * Rollout states, pure: what the repository committed for each tenant, what its hosts served, and
 * when the committed certificate landed → one row per tenant. No I/O here; status.ts gathers the
 * inputs.
 */

/** What one host served, compared with what its tenant should serve. */
export const HOST_STATES = ["current", "unreachable", "stale", "foreign"] as const;
export type HostState = (typeof HOST_STATES)[number];

/**
 * A tenant's state. Probed: the worst of its hosts' states in HOST_STATES order (current <
 * unreachable < stale < foreign: a certificate known to be wrong outranks not knowing). Not
 * probed: `no-probe-host` (every host is a wildcard: no name to send), `not-rendered` (no committed
 * SealedSecret to compare with).
 */
export const ROLLOUT_STATES = [...HOST_STATES, "no-probe-host", "not-rendered"] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export interface CommittedCertificate {
  /** hex SHA-256 of the leaf DER (the `wildseal.dev/cert-sha256` annotation) */
  readonly sha256: string;
  /** RFC 3339 UTC; null when the annotation is missing or malformed */
  readonly notAfter: string | null;
}

/** What the repository says about one tenant. */
export interface CommittedTenant {
  readonly name: string;
  readonly cluster: string;
  readonly hosts: readonly string[];
  /** from the tenant's rendered SealedSecret; null when it has none */
  readonly committed: CommittedCertificate | null;
  /** the commit that brought `committed` to the branch; null when unknown (not committed, no Git) */
  readonly since: CommitRef | null;
  /** fingerprints the tenant's SealedSecret carried in earlier commits */
  readonly earlier: readonly string[];
}

/** What a host was dialled at and what came back. */
export interface HostProbe {
  /** `10.0.0.7:443` */
  readonly address: string;
  readonly result: ProbeResult;
}

export interface HostStatus {
  readonly host: string;
  readonly address: string;
  readonly state: HostState;
  readonly served: ServedCertificate | null;
  readonly error: ProbeError | null;
}

export interface StatusRow {
  readonly tenant: string;
  readonly cluster: string;
  readonly state: RolloutState;
  readonly committed: CommittedCertificate | null;
  /** what the worst host served (null: nothing, or not probed) */
  readonly served: ServedCertificate | null;
  readonly since: CommitRef | null;
  /** seconds from `since` to now while the tenant is not current; null when current, not probed or `since` unknown */
  readonly lagSeconds: number | null;
  /** why the state is what it is, for a person: the error, the foreign certificate's issuer, … */
  readonly detail: string;
  /** every host probed, in the tenant's order; wildcard hosts are not probed and not listed */
  readonly hosts: readonly HostStatus[];
}

const RANK: Readonly<Record<HostState, number>> = { current: 0, unreachable: 1, stale: 2, foreign: 3 };

/** The hosts there is a name to dial for. */
export function probeableHosts(hosts: readonly string[]): string[] {
  return hosts.filter((h) => !isWildcardHost(h));
}

export function hostState(committed: CommittedCertificate, earlier: readonly string[], result: ProbeResult): HostState {
  if (result.kind === "unreachable") return "unreachable";
  const served = result.certificate.sha256;
  if (served === committed.sha256) return "current";
  return earlier.includes(served) ? "stale" : "foreign";
}

function hostDetail(h: HostStatus): string {
  const at = `${h.host} (${h.address})`;
  switch (h.state) {
    case "current":
      return `${at} serves the committed certificate`;
    case "unreachable":
      return `${at}: ${h.error?.kind ?? "error"}: ${h.error?.message ?? ""}`;
    case "stale":
      return `${at} still serves an earlier certificate of this tenant`;
    case "foreign":
      return `${at} serves a certificate this tenant never had${h.served?.issuer ? ` (issuer ${h.served.issuer})` : ""}`;
  }
}

/**
 * One tenant's row. `probeOf(host)` is the probe of that host (undefined: not probed, which a caller
 * that probed every probeable host never returns). `now` for the lag.
 */
export function classifyTenant(t: CommittedTenant, probeOf: (host: string) => HostProbe | undefined, now: Date): StatusRow {
  const base = (state: RolloutState) => ({ tenant: t.name, cluster: t.cluster, state, committed: t.committed, since: t.since });
  if (t.committed === null) {
    return { ...base("not-rendered"), served: null, lagSeconds: null, hosts: [], detail: "no rendered SealedSecret to compare with: render, commit and push first" };
  }
  const names = probeableHosts(t.hosts);
  if (names.length === 0) {
    return {
      ...base("no-probe-host"),
      served: null,
      lagSeconds: null,
      hosts: [],
      detail: `every host is a wildcard (${t.hosts.join(", ")}): there is no name to send, so nothing was probed`,
    };
  }
  const committed = t.committed;
  const hosts: HostStatus[] = names.map((host) => {
    const p = probeOf(host);
    const result: ProbeResult = p?.result ?? { kind: "unreachable", error: { kind: "other", message: "not probed" } };
    return {
      host,
      address: p?.address ?? "-",
      state: hostState(committed, t.earlier, result),
      served: result.kind === "served" ? result.certificate : null,
      error: result.kind === "unreachable" ? result.error : null,
    };
  });
  // the first of the worst hosts speaks for the tenant
  const worst = hosts.reduce((w, h) => (RANK[h.state] > RANK[w.state] ? h : w));
  const others = hosts.filter((h) => h.state !== "current").length - 1;
  const lagSeconds = worst.state === "current" || t.since === null ? null : Math.max(0, Math.floor((now.getTime() - Date.parse(t.since.date)) / 1000));
  return {
    ...base(worst.state),
    served: worst.served,
    lagSeconds,
    hosts,
    detail: hostDetail(worst) + (others > 0 ? `; ${others} more host${others === 1 ? "" : "s"} not current` : ""),
  };
}

/** Whether every tenant that was probed serves its committed certificate. */
export function allProbedCurrent(rows: readonly StatusRow[]): boolean {
  return rows.every((r) => r.state === "current" || r.state === "no-probe-host" || r.state === "not-rendered");
}

/** Tenants per state, every state present (zero included): what a metric or a summary line needs. */
export function countByState(rows: readonly StatusRow[]): Record<RolloutState, number> {
  const counts = Object.fromEntries(ROLLOUT_STATES.map((s) => [s, 0])) as Record<RolloutState, number>;
  for (const r of rows) counts[r.state] += 1;
  return counts;
}
