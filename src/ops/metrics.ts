/**
 * Prometheus metrics on a private registry (never prom-client's global one: tests and embedders create
 * several instances in one process, and a global registry would make them collide).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
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
