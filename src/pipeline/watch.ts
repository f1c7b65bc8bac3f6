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
 *
 * This module is the wiring: which source feeds which sink, and in which order things stop. What one
 * reconcile does is watch-reconcile.ts; the certificate sources behind one shape, certificate-feed.ts;
 * the Git poll's credentials, poll-runner.ts.
 */
import { closeSharedSealPool } from "../render/seal-batch.ts";
import type { KubeConfig } from "@kubernetes/client-node";
import { InvalidInputError } from "../errors.ts";
import { displayRemote } from "../git/remote-access.ts";
import type { LeaderElectionTiming, LeaderElector } from "../kube/leader-election.ts";
import type { Log } from "../log.ts";
import { startOpsServer, type ListenAddress, type OpsServer } from "../ops/http-server.ts";
import { createMetrics, type WildsealMetrics } from "../ops/metrics.ts";
import { startGitPoll, type GitPollSource } from "../sources/git-poll.ts";
import { createWebhookHandler } from "../sources/webhook.ts";
import type { TriggerSink } from "../trigger.ts";
import { startFeed, type CertificateFeed, type WatchSource } from "./certificate-feed.ts";
import type { ControllerCertOptions } from "./cluster-certs.ts";
import { startReconcileLoop, type LoopStatus, type ReconcileLoop, type RetryPolicy } from "./loop.ts";
import { pollRunner } from "./poll-runner.ts";
import type { SyncOutcome } from "./sync.ts";
import { watchReconcile, type WatchSyncSettings } from "./watch-reconcile.ts";
// rollout verification (--verify-rollout)
import { startWatchRolloutVerifier, type RolloutVerificationSettings, type RolloutVerifier } from "./rollout-verifier.ts";
// escalation (--warn-before, --escalate-after)
import { createEscalator, escalationGitHub, reconcileThenEscalate, type EscalationSettings, type Escalator } from "./escalator.ts";

export interface LeaderElectionSettings {
  readonly namespace: string;
  /** Lease name; default "wildseal" */
  readonly name?: string;
  readonly identity: string;
  readonly kubeConfig?: KubeConfig;
  readonly timing?: Partial<LeaderElectionTiming>;
}

export interface WatchOptions extends WatchSyncSettings {
  /** the certificate's source; with `certificateSources`, ignored (the first of those is used where one is shown) */
  readonly source: WatchSource;
  /**
   * Several certificates (spec.certificates): name → its source, one feed (one Secret watch) each;
   * any of them changing triggers a reconcile, which renders with all of them, so only the changed
   * certificate's tenants are re-sealed (their fingerprints are the ones that moved).
   */
  readonly certificateSources?: ReadonlyMap<string, WatchSource>;
  readonly log: Log;
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
  readonly leaderElection?: LeaderElectionSettings;
  /** how long stop() lets a running reconcile finish before abandoning it; default 5 s */
  readonly stopGraceMs?: number;
  readonly now?: () => Date;
  /** --verify-rollout: probe the tenant hosts after each push and periodically (rollout-verifier.ts) */
  readonly verifyRollout?: RolloutVerificationSettings;
  // ---- escalation (pipeline/escalator.ts) ----
  /** warn, count and (pull-request mode) comment and label before expiry and on a stuck PR; absent: no escalation */
  readonly escalation?: EscalationSettings;
  /** the earliest served notAfter; default the rollout verifier's, else the committed or source certificate's */
  readonly servedNotAfter?: () => Date | undefined;
  // ---- end of escalation ----
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
  /** the rollout verifier (--verify-rollout): rows, and the earliest served notAfter for escalation */
  readonly rollout: RolloutVerifier | undefined;
  /** Stop sources, finish (within the grace) or abandon the running reconcile, release the Lease, close the server. */
  stop(): Promise<void>;
  /** the same, as named steps for handleTermination */
  readonly shutdownSteps: ReadonlyArray<{ readonly name: string; stop(): Promise<void> }>;
}

/** What startWatch starts besides the loop; each is undefined until it started (or when not asked for). */
interface Running {
  feed?: CertificateFeed;
  /** several certificates: every feed by certificate name (`feed` is the first of them) */
  feeds?: Map<string, CertificateFeed>;
  poll?: GitPollSource;
  elector?: LeaderElector;
  server?: OpsServer;
}

export async function startWatch(opts: WatchOptions): Promise<Watcher> {
  const { log } = opts;
  const metrics = opts.metrics ?? createMetrics();
  if (opts.webhookSecret !== undefined && opts.listen === undefined) {
    throw new InvalidInputError("a webhook secret was given without --listen: the webhook is served on the ops endpoint");
  }

  const running: Running = {};
  let last: SyncOutcome | undefined;
  // started once the sources run (leadership is known by then); fed by onSynced
  let rollout: RolloutVerifier | undefined;
  const isLeader = (): boolean => running.elector === undefined || running.elector.isLeader();
  const escalator = escalatorFor(opts, metrics, () => rollout);
  // closed first on shutdown, so that a late event cannot schedule a reconcile into a stopping loop
  let sinkOpen = true;
  const sink: TriggerSink = (t) => {
    if (sinkOpen) loop.trigger(t);
  };

  const loop = startReconcileLoop({
    reconcile: reconcileThenEscalate(watchReconcile({
      settings: { ...opts, ...controllerCertsOption(opts) },
      log,
      metrics,
      now: opts.now ?? (() => new Date()),
      feed: () => running.feed,
      ...(opts.certificateSources === undefined ? {} : { feeds: () => running.feeds }),
      isLeader: () => running.elector === undefined || running.elector.isLeader(),
      onSynced: (outcome) => {
        last = outcome;
        rollout?.synced(outcome);
        escalator?.observeSync(outcome);
        if (outcome.tip !== null) running.poll?.acknowledge(outcome.tip);
      },
      ...(escalator === undefined ? {} : { onCertificate: (leaf) => escalator.observeSource(leaf.notAfter) }),
    }), escalator, isLeader),
    debounceMs: opts.debounceMs,
    resyncIntervalMs: opts.resyncIntervalMs,
    log: log.child({ component: "loop" }),
    metrics,
    ...(opts.retry === undefined ? {} : { retry: opts.retry }),
  });

  const stopSources = async (): Promise<void> => {
    sinkOpen = false;
    const feeds = running.feeds === undefined ? [running.feed] : [...running.feeds.values()];
    await Promise.all([...feeds.map((f) => f?.stop()), running.poll?.stop()]);
  };
  try {
    await startSources(opts, running, { loop, metrics, sink, log });
  } catch (e) {
    await stopSources().catch(() => undefined);
    await loop.stop();
    await running.server?.close();
    throw e;
  }

  // rollout verification: started after the sources, stopped right after the loop (no more syncs to follow)
  if (opts.verifyRollout !== undefined) {
    rollout = startWatchRolloutVerifier(opts.verifyRollout, {
      ...opts,
      log: log.child({ component: "rollout" }),
      metrics,
      active: () => running.elector === undefined || running.elector.isLeader(),
    });
  }

  const feed = running.feed as CertificateFeed;
  // the catch-up reconcile: whatever happened while wildseal was down
  const all = running.feeds === undefined ? [feed] : [...running.feeds.values()];
  void Promise.all(all.map((f) => f.ready())).then(() => sink({ kind: "startup" }));
  log.info({ repo: displayRemote(opts.repo), branch: opts.branch, source: all.map((f) => f.label).join(", "), mode: opts.delivery.kind }, "watching");

  // the order matters: no new triggers, then no reconcile, then let another replica lead, then go unready
  const shutdownSteps = [
    { name: "sources", stop: stopSources },
    { name: "reconcile loop", stop: () => loop.stop({ graceMs: opts.stopGraceMs ?? 5_000 }) },
    { name: "rollout verifier", stop: async () => rollout?.stop() },
    { name: "leader election", stop: async () => running.elector?.stop() },
    { name: "ops server", stop: async () => running.server?.close() },
    { name: "sealing pool", stop: closeSharedSealPool },
  ];
  let stopping: Promise<void> | undefined;
  return {
    url: running.server?.url,
    metrics,
    status: () => loop.status(),
    idle: () => loop.idle(),
    lastSync: () => last,
    rollout,
    shutdownSteps,
    stop(): Promise<void> {
      stopping ??= (async () => {
        for (const step of shutdownSteps) await step.stop();
      })();
      return stopping;
    },
  };
}

/**
 * The ops server (first, so that /healthz answers while the sources connect), the certificate feed,
 * the Git poll and the optional Lease, each recorded in `running` as soon as it started so that a
 * failure further on can stop what already runs.
 */
async function startSources(
  opts: WatchOptions,
  running: Running,
  wiring: { readonly loop: ReconcileLoop; readonly metrics: WildsealMetrics; readonly sink: TriggerSink; readonly log: Log },
): Promise<void> {
  const { loop, metrics, sink, log } = wiring;
  if (opts.listen !== undefined) {
    const webhook =
      opts.webhookSecret === undefined
        ? undefined
        : createWebhookHandler({ secret: opts.webhookSecret, branch: opts.branch, onTrigger: sink, log: log.child({ component: "webhook" }) });
    running.server = await startOpsServer({
      listen: opts.listen,
      metrics,
      ready: () => loop.status().succeededOnce,
      alive: () => loop.status().alive,
      log: log.child({ component: "ops" }),
      ...(webhook === undefined ? {} : { webhook }),
    });
  }
  if (opts.certificateSources === undefined) {
    running.feed = await startFeed(opts.source, sink, log.child({ component: "certificate-source" }));
  } else {
    // one feed per certificate, recorded as each starts (a later failure stops those already running)
    running.feeds = new Map();
    for (const [name, source] of opts.certificateSources) {
      const feed = await startFeed(source, sink, log.child({ component: "certificate-source", certificate: name }));
      running.feeds.set(name, feed);
      running.feed ??= feed;
    }
  }
  running.poll = startGitPoll({
    remote: displayRemote(opts.repo),
    branch: opts.branch,
    intervalMs: opts.pollIntervalMs,
    onTrigger: sink,
    log: log.child({ component: "git-poll" }),
    git: pollRunner(opts.repo, opts.credentials, opts.delivery),
  });
  if (opts.leaderElection !== undefined) {
    const le = opts.leaderElection;
    // the Kubernetes client is loaded only when the watch talks to Kubernetes
    const { startLeaderElection } = await import("../kube/leader-election.ts");
    running.elector = startLeaderElection({
      namespace: le.namespace,
      name: le.name ?? "wildseal",
      identity: le.identity,
      log: log.child({ component: "leader-election" }),
      ...(le.kubeConfig === undefined ? {} : { kubeConfig: le.kubeConfig }),
      ...(le.timing === undefined ? {} : { timing: le.timing }),
      onStartedLeading: () => sink({ kind: "startup", detail: "became the leader" }),
    });
  }
}

/** `controllerCerts` with the Secret source's kubeconfig when it names none (the same cluster access). */
function controllerCertsOption(opts: WatchOptions): { controllerCerts?: ControllerCertOptions } {
  const sourceKube = opts.source.kind === "secret" ? opts.source.kubeConfig : undefined;
  const given = opts.controllerCerts;
  if (given === undefined) return {};
  return { controllerCerts: given.kubeConfig !== undefined || sourceKube === undefined ? given : { ...given, kubeConfig: sourceKube } };
}

/** The escalator, when asked for: served notAfter from the given provider, else the rollout verifier. */
function escalatorFor(opts: WatchOptions, metrics: WildsealMetrics, rollout: () => RolloutVerifier | undefined): Escalator | undefined {
  if (opts.escalation === undefined) return undefined;
  const log = opts.log.child({ component: "escalation" });
  return createEscalator({
    settings: opts.escalation,
    log,
    metrics,
    now: opts.now ?? (() => new Date()),
    servedNotAfter: opts.servedNotAfter ?? (() => rollout()?.earliestServedNotAfter()),
    ...(opts.delivery.kind === "pull-request" ? { github: escalationGitHub(opts.repo, opts.delivery.github, log) } : {}),
  });
}
