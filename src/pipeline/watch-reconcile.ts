/**
 * One reconcile of `wildseal watch`, as the loop calls it: skip unless leading, take the certificate as
 * the feed holds it now, refuse it whole when validation fails (the certificate gate), else one
 * `sync()`; then count what happened. The loop owns timing, retries and the abandon-on-stop; this owns
 * what a single attempt does and what it records.
 */
import { InvalidInputError } from "../errors.ts";
import type { GitCredentials } from "../git/credentials.ts";
import type { CommitAuthor, CommitSigning } from "../git/workspace.ts";
import type { Log } from "../log.ts";
import { recordCertificateNotAfter, recordGateFailure, recordTenantCounts, type WildsealMetrics } from "../ops/metrics.ts";
import type { RenderChange } from "../render/render-repository.ts";
import type { RemovalLimit } from "../render/removal-policy.ts";
import { validateTlsSecret } from "../tls/tls-material.ts";
import type { CertFacts, TlsMaterial } from "../tls/types.ts";
import type { ReconcileFn, ReconcileOutcome, Trigger } from "../trigger.ts";
import type { CertificateFeed } from "./certificate-feed.ts";
import type { CertificateSource } from "./certificate-source.ts";
import type { ClusterCertReport, ControllerCertOptions } from "./cluster-certs.ts";
import { certificateGate, diagnosticGate } from "./gates.ts";
import { sync, type Delivery, type SyncOutcome } from "./sync.ts";

/** What every reconcile hands to sync unchanged (WatchOptions' Git and rendering settings). */
export interface WatchSyncSettings {
  readonly repo: string;
  readonly branch: string;
  readonly delivery: Delivery;
  readonly credentials: GitCredentials;
  readonly maxAttempts?: number;
  /** how many tenant folders one reconcile may remove (see removal-policy.ts) */
  readonly removals?: RemovalLimit;
  /** author and committer of the commits (resolveAuthor); default as for sync */
  readonly author?: CommitAuthor;
  /** sign the commits with this key file (loadSigningKey), checked again before each commit */
  readonly sign?: CommitSigning;
  /**
   * Fetch `controller:` clusters' sealing certificates each reconcile (see cluster-certs.ts). The
   * kubeconfig defaults to the Secret source's, else in-cluster / $KUBECONFIG.
   */
  readonly controllerCerts?: ControllerCertOptions;
}

export interface WatchReconcileOptions {
  readonly settings: WatchSyncSettings;
  readonly log: Log;
  readonly metrics: WildsealMetrics;
  readonly now: () => Date;
  /** the certificate feed; undefined until it started */
  readonly feed: () => CertificateFeed | undefined;
  /**
   * Several certificates: every feed by certificate name (undefined until they started). Each is
   * validated; one refused by a gate publishes nothing, as with one certificate, since the render
   * needs every certificate to choose each tenant's.
   */
  readonly feeds?: () => ReadonlyMap<string, CertificateFeed> | undefined;
  /** false while another replica holds the Lease */
  readonly isLeader: () => boolean;
  /** after each reconcile that reached Git (the poll acknowledges the tip it pushed) */
  readonly onSynced: (outcome: SyncOutcome) => void;
  /** the source certificate each reconcile validated (escalation's fallback notAfter) */
  readonly onCertificate?: (leaf: CertFacts) => void;
}

/** The reconcile function the loop runs. */
export function watchReconcile(options: WatchReconcileOptions): ReconcileFn {
  const { settings: opts, log, metrics, now } = options;
  const controllerCerts = opts.controllerCerts;
  const logClusterCert = clusterCertLogger(log);

  /** The certificate as `feed` holds it now, or why nothing may be published (logged and counted here). */
  const validated = (
    feed: CertificateFeed | undefined,
    expiry: "refuse" | "allow" = "refuse",
  ): { readonly kind: "ok"; readonly material: TlsMaterial; readonly label: string } | { readonly kind: "failed"; readonly error: Error } => {
    const manifest = feed?.current();
    if (feed === undefined || manifest === undefined) {
      const error = new InvalidInputError(`${feed?.label ?? "the source"}: the Secret is absent or not read yet; nothing was published`);
      log.error({ source: feed?.label }, error.message);
      return { kind: "failed", error };
    }
    try {
      return { kind: "ok", material: validateTlsSecret(manifest, { now: now(), source: feed.label, expiry }), label: feed.label };
    } catch (e) {
      if (!(e instanceof InvalidInputError)) throw e;
      const reason = certificateGate(e);
      recordGateFailure(metrics, reason);
      log.error({ gate: reason, source: feed.label, error: e.message }, "certificate refused by a safety gate: nothing was published");
      return { kind: "failed", error: e };
    }
  };

  return async function reconcile(signal: AbortSignal, triggers: readonly Trigger[]): Promise<ReconcileOutcome> {
    if (!options.isLeader()) {
      log.info({ triggers: triggers.length }, "not the leader: reconcile skipped");
      return { kind: "unchanged" };
    }
    let material: TlsMaterial;
    let certificates: Map<string, CertificateSource> | undefined;
    let label: string;
    if (options.feeds === undefined) {
      const one = validated(options.feed());
      if (one.kind === "failed") return one;
      ({ material, label } = one);
    } else {
      const feeds = [...(options.feeds() ?? new Map<string, CertificateFeed>())];
      if (feeds.length === 0) return validated(undefined) as ReconcileOutcome;
      certificates = new Map();
      let earliest: TlsMaterial | undefined;
      for (const [name, feed] of feeds) {
        const v = validated(feed, "allow"); // an expired one holds only its own tenants (render/plan.ts)
        if (v.kind === "failed") return v;
        certificates.set(name, { kind: "material", material: v.material, label: v.label });
        // the earliest notAfter is what an expiry alert must see
        if (earliest === undefined || v.material.leaf.notAfter < earliest.leaf.notAfter) earliest = v.material;
      }
      if (earliest === undefined) return validated(undefined) as ReconcileOutcome;
      material = earliest;
      label = feeds.map(([, f]) => f.label).join(", ");
    }
    recordCertificateNotAfter(metrics, material.leaf.notAfter);
    options.onCertificate?.(material.leaf);
    const outcome = await sync({
      repo: opts.repo,
      branch: opts.branch,
      source: { kind: "material", material, label },
      ...(certificates === undefined ? {} : { certificates }),
      delivery: opts.delivery,
      credentials: opts.credentials,
      signal,
      now: now(),
      ...(opts.author === undefined ? {} : { author: opts.author }),
      ...(opts.sign === undefined ? {} : { sign: opts.sign }),
      ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
      ...(opts.removals === undefined ? {} : { removals: opts.removals }),
      ...(controllerCerts === undefined ? {} : { controllerCerts, onClusterCert: logClusterCert }),
      log: log.child({ component: "sync" }),
    });
    options.onSynced(outcome);
    recordSyncOutcome(metrics, log, outcome);
    const changed = outcome.changes.filter((c) => c.kind !== "keep" && c.kind !== "hold").map((c) => `${c.cluster}/${c.tenant} ${c.kind}`);
    if (outcome.kind === "unchanged") return { kind: "unchanged" };
    log.info({ commit: outcome.commit, branch: outcome.branch, changed, certSha256: material.leaf.sha256 }, outcome.kind === "pushed" ? "pushed" : "pull request updated");
    return { kind: "published", commit: outcome.commit };
  };
}

/** Tenant counts per cluster, and each tenant a gate held back: counted by reason and logged. */
function recordSyncOutcome(metrics: WildsealMetrics, log: Log, outcome: SyncOutcome): void {
  recordTenantCounts(metrics, tenantCounts(outcome.changes));
  for (const d of outcome.diagnostics) {
    const reason = diagnosticGate(d);
    recordGateFailure(metrics, reason);
    log.warn({ gate: reason, path: d.path, line: d.line, col: d.col, error: d.message }, "held back by a safety gate");
  }
}

/** Tenants per cluster that have output after this reconcile (held ones included: their Secret is live). */
export function tenantCounts(changes: readonly RenderChange[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of changes) {
    if (c.cluster === "" || c.kind === "remove") continue;
    counts.set(c.cluster, (counts.get(c.cluster) ?? 0) + 1);
  }
  return counts;
}

/** A pending rotation is what an operator must act on (warn); a certificate that did not move is noise (debug). */
function clusterCertLogger(log: Log): (r: ClusterCertReport) => void {
  return (r) => {
    const fields = { cluster: r.cluster, controller: `${r.controller.namespace}/${r.controller.name}`, decision: r.decision, sealingCertSha256: r.sealingSha256 };
    if (r.decision === "rotation-pending") log.warn({ ...fields, servedCertSha256: r.servedSha256 }, r.message);
    else if (r.decision === "unchanged") log.debug(fields, r.message);
    else log.info(fields, r.message);
  };
}
