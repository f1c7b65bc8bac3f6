/**
 * `wildseal watch`: the long-running pipeline. Event sources (the certificate's Secret through the
 * Kubernetes API, a mounted Secret volume or a manifest file; the Git branch; an optional GitHub
 * webhook) only say "something may have changed"; the reconcile loop debounces and serialises those
 * into reconciles, and each reconcile is one `sync()` with the certificate as the source holds it now.
 * Level-triggered: a reconcile compares what it would render with what Git holds, so a restart, a
 * duplicate event or an annotation-only update commits nothing. No state lives outside Git.
 *
 * The safety gates: a certificate that fails validation (key does not match, expired, not yet valid)
 * publishes nothing at all; the renderer holds each tenant whose hosts the certificate does not cover
 * or whose committed certificate is newer. Every refusal is logged and counted by reason.
 */
import type { RemovalLimit } from "../render/removal-policy.ts";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { InvalidInputError } from "../errors.ts";
import type { GitCredentials } from "../git/credentials.ts";
import { authConfig } from "../git/credentials.ts";
import { displayRemote, remoteAccess } from "../git/remote-access.ts";
import { createGitRunner, type GitRunner } from "../git/git-process.ts";
import type { CommitAuthor, CommitSigning } from "../git/workspace.ts";
import { startOpsServer, type ListenAddress, type OpsServer } from "../ops/http-server.ts";
import type { Logger } from "../ops/logger.ts";
import {
  createMetrics,
  recordCertificateNotAfter,
  recordGateFailure,
  recordTenantCounts,
  type WildsealMetrics,
} from "../ops/metrics.ts";
import { startGitPoll, type GitPollSource } from "../sources/git-poll.ts";
import { startKubernetesSecretSource, type KubernetesSecretTiming } from "../sources/kubernetes-secret.ts";
import { startLeaderElection, type LeaderElectionTiming, type LeaderElector } from "../sources/leader-election.ts";
import { startSecretVolumeSource } from "../sources/secret-volume.ts";
import { tlsFingerprint } from "../sources/tls-fingerprint.ts";
import { createWebhookHandler } from "../sources/webhook.ts";
import { readSecretSource } from "../tls/secret-input.ts";
import { TLS_SECRET_TYPE, validateTlsSecret } from "../tls/tls-material.ts";
import type { SecretManifest, TlsMaterial } from "../tls/types.ts";
import type { RenderChange } from "../render/render-repository.ts";
import type { ClusterCertReport, ControllerCertOptions } from "./cluster-certs.ts";
import { certificateGate, diagnosticGate } from "./gates.ts";
import { startReconcileLoop, type LoopStatus, type RetryPolicy } from "./loop.ts";
import { gitCredentialSource, sync, type Delivery, type SyncOutcome } from "./sync.ts";
import type { ReconcileOutcome, Trigger, TriggerSink } from "../trigger.ts";

/** Where the certificate comes from. */
export type WatchSource =
  | {
      readonly kind: "secret";
      readonly namespace: string;
      readonly name: string;
      readonly kubeConfig?: KubeConfig;
      readonly timing?: Partial<KubernetesSecretTiming>;
    }
  /** a folder laid out as a kubelet Secret volume (`..data` symlink swaps) */
  | { readonly kind: "volume"; readonly dir: string; readonly rereadIntervalMs?: number; readonly settleMs?: number }
  /** a Secret manifest file, re-read periodically */
  | { readonly kind: "manifest"; readonly path: string; readonly rereadIntervalMs?: number };

export interface LeaderElectionSettings {
  readonly namespace: string;
  /** Lease name; default "wildseal" */
  readonly name?: string;
  readonly identity: string;
  readonly kubeConfig?: KubeConfig;
  readonly timing?: Partial<LeaderElectionTiming>;
}

export interface WatchOptions {
  readonly repo: string;
  readonly branch: string;
  readonly source: WatchSource;
  readonly delivery: Delivery;
  readonly credentials: GitCredentials;
  readonly log: Logger;
  /** Git poll period (--interval) */
  readonly pollIntervalMs: number;
  /** quiet time before a burst of triggers becomes a reconcile (--debounce) */
  readonly debounceMs: number;
  /** periodic full reconcile (--resync); 0 disables */
  readonly resyncIntervalMs: number;
  /** --listen: ops server with /healthz, /readyz, /metrics (and /webhook) */
  readonly listen?: string | ListenAddress;
  /** enables POST /webhook on the ops server (needs `listen`) */
  readonly webhookSecret?: string;
  readonly metrics?: WildsealMetrics;
  readonly retry?: RetryPolicy;
  readonly maxAttempts?: number;
  /** how many tenant folders one reconcile may remove (see removal-policy.ts) */
  readonly removals?: RemovalLimit;
  /** author and committer of the commits (resolveAuthor); default as for sync */
  readonly author?: CommitAuthor;
  /** sign the commits with this key file (loadSigningKey), checked again before each commit */
  readonly sign?: CommitSigning;
  readonly leaderElection?: LeaderElectionSettings;
  /**
   * Fetch `controller:` clusters' sealing certificates each reconcile (see cluster-certs.ts). The
   * kubeconfig defaults to the Secret source's, else in-cluster / $KUBECONFIG.
   */
  readonly controllerCerts?: ControllerCertOptions;
  /** how long stop() lets a running reconcile finish before abandoning it; default 5 s */
  readonly stopGraceMs?: number;
  readonly now?: () => Date;
}

export interface Watcher {
  /** the ops server's base URL, when listening */
  readonly url: string | undefined;
  readonly metrics: WildsealMetrics;
  status(): LoopStatus;
  /** resolves when no reconcile runs or is scheduled */
  idle(): Promise<void>;
  /** the outcome of the last reconcile that reached Git (for logs and tests) */
  lastSync(): SyncOutcome | undefined;
  /** Stop sources, finish (within the grace) or abandon the running reconcile, release the Lease, close the server. */
  stop(): Promise<void>;
  /** the same, as named steps for handleTermination */
  readonly shutdownSteps: ReadonlyArray<{ readonly name: string; stop(): Promise<void> }>;
}

/** The certificate as a source holds it now, plus how to stop watching it. */
interface CertificateFeed {
  readonly label: string;
  current(): SecretManifest | undefined;
  /** resolves once the source has answered for the first time */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/** `--source-file PATH`: a folder is a mounted Secret volume, anything else a manifest file. */
export async function watchSourceForPath(path: string): Promise<WatchSource> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw new InvalidInputError(`--source-file ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? "error"}); give a Secret manifest or a mounted Secret folder`);
  }
  return isDir ? { kind: "volume", dir: path } : { kind: "manifest", path };
}

export async function startWatch(opts: WatchOptions): Promise<Watcher> {
  const { log } = opts;
  const metrics = opts.metrics ?? createMetrics();
  const now = opts.now ?? (() => new Date());
  if (opts.webhookSecret !== undefined && opts.listen === undefined) {
    throw new InvalidInputError("a webhook secret was given without --listen: the webhook is served on the ops endpoint");
  }

  let feed: CertificateFeed | undefined;
  let poll: GitPollSource | undefined;
  let elector: LeaderElector | undefined;
  let last: SyncOutcome | undefined;
  let sinkOpen = true;
  const sink: TriggerSink = (t) => {
    if (sinkOpen) loop.trigger(t);
  };

  const sourceKube = opts.source.kind === "secret" ? opts.source.kubeConfig : undefined;
  const controllerCerts: ControllerCertOptions | undefined =
    opts.controllerCerts === undefined || opts.controllerCerts.kubeConfig !== undefined || sourceKube === undefined
      ? opts.controllerCerts
      : { ...opts.controllerCerts, kubeConfig: sourceKube };
  const logClusterCert = (r: ClusterCertReport): void => {
    const fields = { cluster: r.cluster, controller: `${r.controller.namespace}/${r.controller.name}`, decision: r.decision, sealingCertSha256: r.sealingSha256 };
    if (r.decision === "rotation-pending") log.warn({ ...fields, servedCertSha256: r.servedSha256 }, r.message);
    else if (r.decision === "unchanged") log.debug(fields, r.message);
    else log.info(fields, r.message);
  };

  async function reconcile(signal: AbortSignal, triggers: readonly Trigger[]): Promise<ReconcileOutcome> {
    if (elector !== undefined && !elector.isLeader()) {
      log.info({ triggers: triggers.length }, "not the leader: reconcile skipped");
      return { kind: "unchanged" };
    }
    const manifest = feed?.current();
    if (feed === undefined || manifest === undefined) {
      const error = new InvalidInputError(`${feed?.label ?? "the source"}: the Secret is absent or not read yet; nothing was published`);
      log.error({ source: feed?.label }, error.message);
      return { kind: "failed", error };
    }
    let material: TlsMaterial;
    try {
      material = validateTlsSecret(manifest, { now: now(), source: feed.label });
    } catch (e) {
      if (!(e instanceof InvalidInputError)) throw e;
      const reason = certificateGate(e.message);
      recordGateFailure(metrics, reason);
      log.error({ gate: reason, source: feed.label, error: e.message }, "certificate refused by a safety gate: nothing was published");
      return { kind: "failed", error: e };
    }
    recordCertificateNotAfter(metrics, material.leaf.notAfter);
    const outcome = await sync({
      repo: opts.repo,
      branch: opts.branch,
      source: { kind: "material", material, label: feed.label },
      delivery: opts.delivery,
      credentials: opts.credentials,
      signal,
      now: now(),
      ...(opts.author === undefined ? {} : { author: opts.author }),
      ...(opts.sign === undefined ? {} : { sign: opts.sign }),
      ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
      ...(opts.removals === undefined ? {} : { removals: opts.removals }),
      ...(controllerCerts === undefined ? {} : { controllerCerts, onClusterCert: logClusterCert }),
      log: (line) => log.debug({ component: "sync" }, line),
    });
    last = outcome;
    if (outcome.tip !== null) poll?.acknowledge(outcome.tip);
    recordTenantCounts(metrics, tenantCounts(outcome.changes));
    for (const d of outcome.diagnostics) {
      const reason = diagnosticGate(d);
      recordGateFailure(metrics, reason);
      log.warn({ gate: reason, path: d.path, line: d.line, col: d.col, error: d.message }, "held back by a safety gate");
    }
    const changed = outcome.changes.filter((c) => c.kind !== "keep" && c.kind !== "hold").map((c) => `${c.cluster}/${c.tenant} ${c.kind}`);
    if (outcome.kind === "unchanged") return { kind: "unchanged" };
    log.info({ commit: outcome.commit, branch: outcome.branch, changed, certSha256: material.leaf.sha256 }, outcome.kind === "pushed" ? "pushed" : "pull request updated");
    return { kind: "published", commit: outcome.commit };
  }

  const loop = startReconcileLoop({
    reconcile,
    debounceMs: opts.debounceMs,
    resyncIntervalMs: opts.resyncIntervalMs,
    log,
    metrics,
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
  });

  let server: OpsServer | undefined;
  const stopSources = async (): Promise<void> => {
    sinkOpen = false;
    await Promise.all([feed?.stop(), poll?.stop()]);
  };
  try {
    if (opts.listen !== undefined) {
      const webhook =
        opts.webhookSecret === undefined
          ? undefined
          : createWebhookHandler({ secret: opts.webhookSecret, branch: opts.branch, onTrigger: sink, log });
      server = await startOpsServer({
        listen: opts.listen,
        metrics,
        ready: () => loop.status().succeededOnce,
        alive: () => loop.status().alive,
        log,
        ...(webhook === undefined ? {} : { webhook }),
      });
    }
    feed = await startFeed(opts.source, sink, log);
    poll = startGitPoll({ remote: displayRemote(opts.repo), branch: opts.branch, intervalMs: opts.pollIntervalMs, onTrigger: sink, log, git: pollRunner(opts.repo, opts.credentials, opts.delivery) });
    if (opts.leaderElection !== undefined) {
      const le = opts.leaderElection;
      elector = startLeaderElection({
        namespace: le.namespace,
        name: le.name ?? "wildseal",
        identity: le.identity,
        log,
        ...(le.kubeConfig === undefined ? {} : { kubeConfig: le.kubeConfig }),
        ...(le.timing === undefined ? {} : { timing: le.timing }),
        onStartedLeading: () => sink({ kind: "startup", detail: "became the leader" }),
      });
    }
  } catch (e) {
    await stopSources().catch(() => undefined);
    await loop.stop();
    await server?.close();
    throw e;
  }

  const currentFeed = feed;
  // the catch-up reconcile: whatever happened while wildseal was down
  void currentFeed.ready().then(() => sink({ kind: "startup" }));
  log.info({ repo: displayRemote(opts.repo), branch: opts.branch, source: currentFeed.label, mode: opts.delivery.kind }, "watching");

  const shutdownSteps = [
    { name: "sources", stop: stopSources },
    { name: "reconcile loop", stop: () => loop.stop({ graceMs: opts.stopGraceMs ?? 5_000 }) },
    { name: "leader election", stop: async () => elector?.stop() },
    { name: "ops server", stop: async () => server?.close() },
  ];
  let stopping: Promise<void> | undefined;
  return {
    url: server?.url,
    metrics,
    status: () => loop.status(),
    idle: () => loop.idle(),
    lastSync: () => last,
    shutdownSteps,
    stop(): Promise<void> {
      stopping ??= (async () => {
        for (const step of shutdownSteps) await step.stop();
      })();
      return stopping;
    },
  };
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

async function startFeed(source: WatchSource, sink: TriggerSink, log: Logger): Promise<CertificateFeed> {
  switch (source.kind) {
    case "secret": {
      const s = startKubernetesSecretSource({
        namespace: source.namespace,
        name: source.name,
        onTrigger: sink,
        log,
        ...(source.kubeConfig === undefined ? {} : { kubeConfig: source.kubeConfig }),
        ...(source.timing === undefined ? {} : { timing: source.timing }),
      });
      return { label: `secret ${source.namespace}/${source.name}`, current: s.current, ready: s.synced, stop: s.stop };
    }
    case "volume": {
      const s = await startSecretVolumeSource({
        dir: source.dir,
        onTrigger: sink,
        log,
        ...(source.rereadIntervalMs === undefined ? {} : { rereadIntervalMs: source.rereadIntervalMs }),
        ...(source.settleMs === undefined ? {} : { settleMs: source.settleMs }),
      });
      return { label: source.dir, current: s.current, ready: () => Promise.resolve(), stop: s.stop };
    }
    case "manifest":
      return startManifestFeed(source.path, source.rereadIntervalMs ?? 30_000, sink, log);
  }
}

/** The single kubernetes.io/tls Secret of a manifest file (validation happens in the reconcile). */
async function readManifest(path: string): Promise<SecretManifest> {
  const secrets = await readSecretSource(path);
  const tls = secrets.filter((s) => s.type === TLS_SECRET_TYPE);
  if (tls.length !== 1) {
    throw new InvalidInputError(`${path}: expected exactly one ${TLS_SECRET_TYPE} Secret, found ${tls.length}`);
  }
  return tls[0] as SecretManifest;
}

/**
 * A manifest file has no kubelet swap to watch for: it is re-read every interval, and a change of
 * its tls.crt/tls.key bytes triggers (an unreadable read keeps the last good content).
 */
async function startManifestFeed(path: string, intervalMs: number, sink: TriggerSink, log: Logger): Promise<CertificateFeed> {
  let secret = await readManifest(path);
  let fingerprint = tlsFingerprint(secret.data);
  let reading: Promise<void> | undefined;
  const reread = async (): Promise<void> => {
    try {
      const next = await readManifest(path);
      const f = tlsFingerprint(next.data);
      secret = next;
      if (f === fingerprint) return;
      fingerprint = f;
      log.info({ path }, "source manifest content changed");
      sink({ kind: "volume-changed", detail: path });
    } catch (e) {
      log.warn({ path, error: e instanceof Error ? e.message : String(e) }, "source manifest could not be read; keeping the last good content");
    }
  };
  const timer = setInterval(() => {
    reading ??= reread().finally(() => {
      reading = undefined;
    });
  }, intervalMs);
  return {
    label: path,
    current: () => secret,
    ready: () => Promise.resolve(),
    async stop() {
      clearInterval(timer);
      await reading;
    },
  };
}

/**
 * A runner for the poll's ls-remote with the credentials the sync uses (a GitHub App's installation
 * token included, fetched anew as it expires), passed to git through the environment.
 */
export function pollRunner(repo: string, given: GitCredentials, delivery: Delivery): GitRunner {
  const current = gitCredentialSource(repo, delivery, given);
  return {
    async run(args) {
      const { remote, credentials } = remoteAccess(repo, await current());
      return createGitRunner({ baseDir: tmpdir(), credentials, auth: authConfig(credentials, remote) }).run(args);
    },
  };
}

