/**
 * Prometheus metrics on a private registry (never prom-client's global one: tests and embedders create
 * several instances in one process, and a global registry would make them collide).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ReconcileOutcome } from "../trigger.ts";

export const RECONCILE_RESULTS = ["published", "unchanged", "failed"] as const;
export type ReconcileResult = (typeof RECONCILE_RESULTS)[number];

export interface WildsealMetrics {
  readonly registry: Registry;
  /** notAfter of the source leaf certificate, Unix seconds */
  readonly certificateNotAfter: Gauge;
  readonly reconcileTotal: Counter<"result">;
  readonly lastSuccess: Gauge;
  readonly tenants: Gauge<"cluster">;
  readonly gateFailures: Counter<"reason">;
}

export interface MetricsOptions {
  /** process_* and nodejs_* metrics; default true */
  readonly defaultMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): WildsealMetrics {
  const registry = new Registry();
  const certificateNotAfter = new Gauge({
    name: "wildseal_certificate_not_after_seconds",
    help: "notAfter of the source wildcard certificate, in Unix seconds",
    registers: [registry],
  });
  const reconcileTotal = new Counter({
    name: "wildseal_reconcile_total",
    help: "Reconciles by result (published, unchanged, failed)",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  // Zero-initialised so dashboards and alerts see every series before the first event.
  for (const result of RECONCILE_RESULTS) reconcileTotal.inc({ result }, 0);
  const lastSuccess = new Gauge({
    name: "wildseal_last_success_timestamp_seconds",
    help: "Unix time of the last reconcile that ended published or unchanged",
    registers: [registry],
  });
  const tenants = new Gauge({
    name: "wildseal_tenants",
    help: "Tenants rendered per cluster in the last successful reconcile",
    labelNames: ["cluster"] as const,
    registers: [registry],
  });
  const gateFailures = new Counter({
    name: "wildseal_gate_failures_total",
    help: "Tenants held back by a safety gate, by reason",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return { registry, certificateNotAfter, reconcileTotal, lastSuccess, tenants, gateFailures };
}

/** Count one reconcile; a non-failure also moves the last-success timestamp. */
export function recordReconcile(metrics: WildsealMetrics, outcome: ReconcileOutcome, now: Date): void {
  metrics.reconcileTotal.inc({ result: outcome.kind });
  if (outcome.kind !== "failed") metrics.lastSuccess.set(now.getTime() / 1000);
}

export function recordCertificateNotAfter(metrics: WildsealMetrics, notAfter: Date): void {
  metrics.certificateNotAfter.set(notAfter.getTime() / 1000);
}

/** Replace the per-cluster tenant counts (clusters that vanished drop out). */
export function recordTenantCounts(metrics: WildsealMetrics, counts: ReadonlyMap<string, number>): void {
  metrics.tenants.reset();
  for (const [cluster, n] of counts) metrics.tenants.set({ cluster }, n);
}

export function recordGateFailure(metrics: WildsealMetrics, reason: string): void {
  metrics.gateFailures.inc({ reason });
}

// ---- rollout metrics (watch --verify-rollout; pipeline/rollout-verifier.ts) -------------------------------
// Registered on first use, on the watch's own registry: a watch without --verify-rollout shows none of them.

export interface RolloutMetrics {
  /** tenants per rollout state (counts; no per-tenant label: the cardinality stays that of the states) */
  readonly tenantsByState: Gauge<"state">;
  /** commit time → first probe that saw the tenant serve it, one observation per tenant and rollout */
  readonly rolloutDuration: Histogram;
  /** the earliest notAfter among the certificates the tenant hosts last served, Unix seconds; NaN until a probe succeeds */
  readonly servedNotAfter: Gauge;
}

/** Seconds: an ingress that reloads at once, Flux/Argo intervals (1–10 min), up to a day. */
export const ROLLOUT_DURATION_BUCKETS: readonly number[] = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 86_400];

const rolloutMetricsOf = new WeakMap<Registry, RolloutMetrics>();

/** The rollout metrics on `metrics.registry`, created the first time they are asked for. */
export function rolloutMetrics(metrics: WildsealMetrics): RolloutMetrics {
  const known = rolloutMetricsOf.get(metrics.registry);
  if (known !== undefined) return known;
  const registers = [metrics.registry];
  const created: RolloutMetrics = {
    tenantsByState: new Gauge({
      name: "wildseal_tenants_by_rollout_state",
      help: "Tenants by rollout state (current, stale, foreign, unreachable, no-probe-host, not-rendered) at the last probe round",
      labelNames: ["state"] as const,
      registers,
    }),
    rolloutDuration: new Histogram({
      name: "wildseal_rollout_duration_seconds",
      help: "Seconds from the commit that changed a tenant's certificate to the first probe that saw its hosts serve it",
      buckets: [...ROLLOUT_DURATION_BUCKETS],
      registers,
    }),
    servedNotAfter: new Gauge({
      name: "wildseal_served_certificate_not_after_seconds",
      help: "Earliest notAfter among the certificates the tenant hosts last served (TLS probes), in Unix seconds; NaN until a probe succeeds",
      registers,
    }),
  };
  created.servedNotAfter.set(Number.NaN);
  rolloutMetricsOf.set(metrics.registry, created);
  return created;
}

/** Replace the per-state counts; every state is written (zero included) so dashboards see each series. */
export function recordRolloutStates(m: RolloutMetrics, counts: Readonly<Record<string, number>>): void {
  for (const [state, n] of Object.entries(counts)) m.tenantsByState.set({ state }, n);
}

export function recordServedNotAfter(m: RolloutMetrics, notAfter: Date | undefined): void {
  m.servedNotAfter.set(notAfter === undefined ? Number.NaN : notAfter.getTime() / 1000);
}
// ---- end of rollout metrics ---------------------------------------------------------------------------------

// ---- escalation metrics (watch --warn-before / --escalate-after; pipeline/escalator.ts) -------------------
// Registered on first use, on the watch's own registry, like the rollout metrics above.

export const ESCALATION_METRIC_REASONS = ["expiry", "pull-request"] as const;

export interface EscalationMetrics {
  /** 1 while an escalation is active, by reason (expiry, pull-request); both series exist from the start */
  readonly active: Gauge<"reason">;
  /** the notAfter the expiry check used, Unix seconds, by where it came from (served, committed, source) */
  readonly checkedNotAfter: Gauge<"source">;
  /** age of the open wildseal pull request, seconds; 0 when none is pending */
  readonly pullRequestAge: Gauge;
  /** GitHub comments and labels escalation added (not counted again on a restart that finds them) */
  readonly actions: Counter<"action">;
  /** GitHub calls of escalation that failed (retried on the next reconcile) */
  readonly failures: Counter;
}

const escalationMetricsOf = new WeakMap<Registry, EscalationMetrics>();

/** The escalation metrics on `metrics.registry`, created the first time they are asked for. */
export function escalationMetrics(metrics: WildsealMetrics): EscalationMetrics {
  const known = escalationMetricsOf.get(metrics.registry);
  if (known !== undefined) return known;
  const registers = [metrics.registry];
  const created: EscalationMetrics = {
    active: new Gauge({
      name: "wildseal_escalation_active",
      help: "1 while wildseal escalates, by reason: expiry (notAfter within --warn-before), pull-request (open PR older than --escalate-after)",
      labelNames: ["reason"] as const,
      registers,
    }),
    checkedNotAfter: new Gauge({
      name: "wildseal_escalation_not_after_seconds",
      help: "The notAfter the expiry check used, in Unix seconds, by source: served (TLS probes), committed (base branch), source (the source Secret)",
      labelNames: ["source"] as const,
      registers,
    }),
    pullRequestAge: new Gauge({
      name: "wildseal_pull_request_age_seconds",
      help: "Age of the open wildseal pull request in seconds; 0 when none is pending",
      registers,
    }),
    actions: new Counter({
      name: "wildseal_escalation_github_actions_total",
      help: "Escalation comments and labels wildseal added on GitHub, by action (comment, label)",
      labelNames: ["action"] as const,
      registers,
    }),
    failures: new Counter({
      name: "wildseal_escalation_github_failures_total",
      help: "Escalation GitHub calls that failed; retried on the next reconcile",
      registers,
    }),
  };
  for (const reason of ESCALATION_METRIC_REASONS) created.active.set({ reason }, 0);
  for (const action of ["comment", "label"]) created.actions.inc({ action }, 0);
  created.failures.inc(0);
  escalationMetricsOf.set(metrics.registry, created);
  return created;
}
// ---- end of escalation metrics ------------------------------------------------------------------------------
