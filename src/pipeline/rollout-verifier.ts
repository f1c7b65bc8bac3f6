/**
 * `watch --verify-rollout`: does every tenant host serve the certificate the branch committed for it?
 *
 * What the branch holds comes from a private depth-1 clone, read again whenever a reconcile reports a
 * branch tip other than the one last read (a push of ours, a merged pull request, someone else's
 * commit). The hosts are probed over TLS (rollout/probe.ts) and classified (rollout/classify.ts) in
 * rounds; a host is never probed more often than once per probe interval, whatever triggers a round.
 * Where a host is dialled follows the `--probe-address` flags, then the probe rules of the
 * wildseal.yaml read with the tenants (rollout/probe-address.ts), so a config edit applies at the
 * next read without a restart.
 *
 * A publish that pushed a commit opens a rollout: rounds continue until every probed tenant is
 * `current` or the deadline passes, and at the deadline one warn line per tenant still not current.
 * Between rollouts the same rounds run every probe interval, so that the served-notAfter metric stays
 * true. In pull-request mode a publish is only a proposal: no rollout opens, the periodic rounds follow
 * whatever the branch holds once the pull request is merged.
 *
 * "stale" needs the certificates a tenant had before: the clone is shallow, so they are the
 * fingerprints this process saw committed earlier (kept in memory), plus what rollout/history.ts
 * reads when the clone has history (a test's work tree). A certificate replaced before this process
 * first read the branch shows as `foreign`.
 */
import { withWorkspace } from "../git/workspace.ts";
import { createGitRunner } from "../git/git-process.ts";
import { NO_CREDENTIALS, type GitCredentials } from "../git/credentials.ts";
import type { Log } from "../log.ts";
import { loadRepositoryModel } from "../model/load-repository.ts";
import { recordRolloutStates, recordServedNotAfter, rolloutMetrics, type RolloutMetrics, type WildsealMetrics } from "../ops/metrics.ts";
import { rfc3339 } from "../rfc3339.ts";
import {
  allProbedCurrent,
  classifyTenant,
  countByState,
  probeableHosts,
  type CommittedCertificate,
  type CommittedTenant,
  type StatusRow,
} from "../rollout/classify.ts";
import { readCertificateHistory, sinceAndEarlier, type CertificateHistory, type CommitRef } from "../rollout/history.ts";
import { probeAll, targetKey, type probe, type ProbeResult, type ServedCertificate } from "../rollout/probe.ts";
import { configProbeRules, dialTarget, formatAddress, type DialTarget, type ProbeAddressRule } from "../rollout/probe-address.ts";
import { committedCertificates, formatLag } from "../rollout/status.ts";
import { gitCredentialSource, type Delivery, type SyncOutcome } from "./sync.ts";

export const DEFAULT_PROBE_INTERVAL_MS = 60_000;
export const DEFAULT_ROLLOUT_DEADLINE_MS = 30 * 60_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

/** One tenant as the branch holds it. */
export interface BranchTenant {
  readonly name: string;
  readonly cluster: string;
  readonly hosts: readonly string[];
  /** null: no rendered SealedSecret */
  readonly committed: CommittedCertificate | null;
  /** `cluster/tenant` or `cluster/_shared`: the folder the certificate was read from (history.ts keys) */
  readonly folder: string;
}

/** What one read of the branch found. */
export interface BranchSnapshot {
  /** the commit read and its committer date; null for a branch without commits */
  readonly tip: CommitRef | null;
  readonly tenants: readonly BranchTenant[];
  /** `none` for the watch's shallow clone */
  readonly history: CertificateHistory;
  /**
   * wildseal.yaml's probe rules at this tip (spec.probe, clusters[].probe; configProbeRules), after
   * the `--probe-address` flags: read with the tenants so that an edit applies without a restart
   */
  readonly probeRules?: readonly ProbeAddressRule[];
}

/** Reads the tenants and their committed certificates from a work tree at `dir` (no network). */
export async function readBranchSnapshot(dir: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<BranchSnapshot> {
  const git = createGitRunner({ baseDir: dir, credentials: NO_CREDENTIALS, env });
  const [commit = "", date = ""] = (await git.run(["log", "-1", "--format=%H%x1f%cI"]).catch(() => "")).trim().split("\x1f");
  const tip = commit === "" ? null : { commit, date: rfc3339(new Date(date)) };
  const model = await loadRepositoryModel(dir);
  if (model.config === undefined) return { tip, tenants: [], history: { kind: "none", reason: "wildseal.yaml is invalid" } };
  const shallow = (await git.run(["rev-parse", "--is-shallow-repository"]).catch(() => "true")).trim() === "true";
  const [committed, history] = await Promise.all([
    committedCertificates(dir, model.config, []),
    shallow ? Promise.resolve<CertificateHistory>({ kind: "none", reason: "shallow clone" }) : readCertificateHistory(dir, model.config.output, { env }),
  ]);
  const tenants = model.tenants.map((t): BranchTenant => {
    const own = `${t.cluster}/${t.name}`;
    const c = committed.get(own);
    return { name: t.name, cluster: t.cluster, hosts: t.hosts, committed: c?.certificate ?? null, folder: c?.folder ?? own };
  });
  return { tip, tenants, history, probeRules: configProbeRules(model.config) };
}

/** A reader of the branch through a fresh depth-1 clone each time, with the sync's credentials. */
export function branchReader(settings: {
  readonly repo: string;
  readonly branch: string;
  readonly delivery: Delivery;
  readonly credentials: GitCredentials;
}): (signal: AbortSignal) => Promise<BranchSnapshot> {
  const credentials = gitCredentialSource(settings.repo, settings.delivery, settings.credentials);
  return async (signal) =>
    withWorkspace({ repo: settings.repo, branch: settings.branch, credentials: await credentials(), missingBranch: "fail", signal }, (ws) =>
      readBranchSnapshot(ws.dir),
    );
}

/** Timers, injectable: tests fire them by hand with their own clock. */
export interface VerifierScheduler {
  /** run `fn` after `ms`; returns a cancel function */
  after(ms: number, fn: () => void): () => void;
}

const realScheduler: VerifierScheduler = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

export interface RolloutVerifierOptions {
  /** `--probe-address`: before the rules of the branch's wildseal.yaml (BranchSnapshot.probeRules) */
  readonly probeAddresses: readonly ProbeAddressRule[];
  readonly probeTimeoutMs: number;
  /** no host is probed more often than this */
  readonly probeIntervalMs: number;
  /** how long after a push every probed tenant should be current */
  readonly deadlineMs: number;
  readonly readBranch: (signal: AbortSignal) => Promise<BranchSnapshot>;
  readonly log: Log;
  readonly metrics: WildsealMetrics;
  readonly now?: () => Date;
  readonly scheduler?: VerifierScheduler;
  /** tests replace the socket edge */
  readonly probeOne?: typeof probe;
  readonly concurrency?: number;
  /** false while another replica leads: nothing is read or probed */
  readonly active?: () => boolean;
}

export interface RolloutVerifier {
  /** every reconcile that reached Git: a new tip is read; a push opens a rollout */
  synced(outcome: SyncOutcome): void;
  /**
   * The earliest notAfter among the certificates the tenant hosts last served (undefined until a probe
   * succeeded): the number an expiry warning should use. Also `wildseal_served_certificate_not_after_seconds`.
   */
  earliestServedNotAfter(): Date | undefined;
  /** called after each probe round with the value above (e.g. escalation); returns the unsubscribe */
  onEarliestServedNotAfter(listener: (notAfter: Date | undefined) => void): () => void;
  /** the rows of the last probe round */
  rows(): readonly StatusRow[];
  /** resolves once no read or probe round is running or queued (tests) */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** What this process knows about one tenant's committed certificate. */
interface Tracked {
  sha256: string;
  /** when it landed: the tip that first showed it, or history.ts */
  since: CommitRef | null;
  /** fingerprints the tenant had before (stale when served) */
  earlier: Set<string>;
  /** the duration is observed once, when first seen current; false when it will never be (already current at first look, no since) */
  awaitingCurrent: boolean;
  /** this process saw the change land (not merely found it at its first read) */
  witnessed: boolean;
  /** classified at least once: a tenant current at its first look, never witnessed changing, is not measured */
  looked: boolean;
}

interface HostRecord {
  readonly probedAt: number;
  readonly address: string;
  readonly result: ProbeResult;
  /** the last certificate this host served, even when the latest probe failed */
  readonly lastServed: ServedCertificate | undefined;
}

type Rollout = { readonly commit: string; readonly deadlineAt: number };

/** The earliest notAfter among the certificates hosts last served; undefined when none did. Pure. */
export function earliestNotAfter(hosts: Iterable<{ readonly lastServed: ServedCertificate | undefined }>): Date | undefined {
  let min: number | undefined;
  for (const h of hosts) {
    const t = h.lastServed?.notAfter == null ? Number.NaN : Date.parse(h.lastServed.notAfter);
    if (!Number.isNaN(t) && (min === undefined || t < min)) min = t;
  }
  return min === undefined ? undefined : new Date(min);
}

export function startRolloutVerifier(opts: RolloutVerifierOptions): RolloutVerifier {
  const log = opts.log;
  const now = (): number => (opts.now ?? (() => new Date()))().getTime();
  const scheduler = opts.scheduler ?? realScheduler;
  const active = opts.active ?? (() => true);
  const m: RolloutMetrics = rolloutMetrics(opts.metrics);
  const abort = new AbortController();

  let snapshot: BranchSnapshot | undefined;
  const tracked = new Map<string, Tracked>();
  const hosts = new Map<string, HostRecord>();
  let rows: readonly StatusRow[] = [];
  let served: Date | undefined;
  const listeners = new Set<(d: Date | undefined) => void>();
  let wantRead = false;
  /** a push waiting for the read that shows it */
  let pendingRollout: { readonly commit: string; readonly publishedAt: number } | undefined;
  let rollout: Rollout | undefined;
  let stopped = false;
  let cancelTimer: () => void = () => undefined;
  let chain: Promise<void> = Promise.resolve();

  const kick = (): void => {
    if (stopped) return;
    cancelTimer();
    chain = chain.then(round).catch((e: unknown) => {
      if (!stopped) log.warn({ error: e instanceof Error ? e.message : String(e) }, "rollout verification round failed; retrying after the probe interval");
      scheduleNext(opts.probeIntervalMs);
    });
  };

  function scheduleNext(ms: number): void {
    if (stopped) return;
    cancelTimer();
    cancelTimer = scheduler.after(Math.max(0, ms), kick);
  }

  async function round(): Promise<void> {
    if (stopped) return;
    if (!active()) {
      scheduleNext(opts.probeIntervalMs);
      return;
    }
    if (wantRead || snapshot === undefined) {
      const read = await opts.readBranch(abort.signal);
      if (stopped) return;
      // cleared only now: a failed read is tried again by the next round
      wantRead = false;
      absorb(read);
    }
    await probeDue();
    if (stopped) return;
    classify();
    settleRollout();
    scheduleNext(nextWake() - now());
  }

  /** A new snapshot: track certificate changes, drop hosts no longer listed, open the rollout a push asked for. */
  function absorb(next: BranchSnapshot): void {
    const seen = new Set<string>();
    for (const t of next.tenants) {
      if (t.committed === null) continue;
      const key = `${t.cluster}/${t.name}`;
      seen.add(key);
      const sha = t.committed.sha256;
      const hist = next.history.kind === "git" ? sinceAndEarlier(next.history.tenants.get(t.folder) ?? [], sha) : undefined;
      const prev = tracked.get(key);
      if (prev === undefined) {
        const since = hist?.since ?? null;
        // first look: a rollout in progress is measured only when history says when it started
        tracked.set(key, { sha256: sha, since, earlier: new Set(hist?.earlier ?? []), awaitingCurrent: since !== null, witnessed: false, looked: false });
      } else if (prev.sha256 !== sha) {
        const earlier = new Set([...prev.earlier, prev.sha256, ...(hist?.earlier ?? [])]);
        earlier.delete(sha);
        tracked.set(key, { sha256: sha, since: hist?.since ?? next.tip, earlier, awaitingCurrent: true, witnessed: true, looked: true });
      } else {
        for (const s of hist?.earlier ?? []) if (s !== sha) prev.earlier.add(s);
      }
    }
    for (const key of [...tracked.keys()]) if (!seen.has(key)) tracked.delete(key);
    snapshot = next;
    const wanted = new Set(targets().map(targetKey));
    for (const key of [...hosts.keys()]) if (!wanted.has(key)) hosts.delete(key);
    if (pendingRollout !== undefined) {
      rollout = { commit: pendingRollout.commit, deadlineAt: pendingRollout.publishedAt + opts.deadlineMs };
      log.info({ commit: rollout.commit, deadline: new Date(rollout.deadlineAt).toISOString() }, "rollout verification started");
      pendingRollout = undefined;
    }
  }

  /** The flags' rules, then those the branch's wildseal.yaml holds now. */
  function rules(): readonly ProbeAddressRule[] {
    return [...opts.probeAddresses, ...(snapshot?.probeRules ?? [])];
  }

  /** Every host to dial: tenants with a committed certificate, wildcard hosts left out. */
  function targets(): DialTarget[] {
    const all = rules();
    return (snapshot?.tenants ?? [])
      .filter((t) => t.committed !== null)
      .flatMap((t) => probeableHosts(t.hosts).map((h) => dialTarget(h, all, t.cluster)));
  }

  async function probeDue(): Promise<void> {
    const at = now();
    const due = targets().filter((t) => {
      const r = hosts.get(targetKey(t));
      return r === undefined || at - r.probedAt >= opts.probeIntervalMs;
    });
    if (due.length === 0) return;
    const results = await probeAll(due, {
      timeoutMs: opts.probeTimeoutMs,
      ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
      ...(opts.probeOne === undefined ? {} : { probeOne: opts.probeOne }),
    });
    for (const t of due) {
      const key = targetKey(t);
      const result = results.get(key);
      if (result === undefined) continue;
      const lastServed = result.kind === "served" ? result.certificate : hosts.get(key)?.lastServed;
      hosts.set(key, { probedAt: at, address: formatAddress(t.address), result, lastServed });
    }
  }

  function classify(): void {
    const at = now();
    const date = new Date(at);
    const all = rules();
    rows = (snapshot?.tenants ?? []).map((t) => {
      const tr = t.committed === null ? undefined : tracked.get(`${t.cluster}/${t.name}`);
      const tenant: CommittedTenant = {
        name: t.name,
        cluster: t.cluster,
        hosts: t.hosts,
        committed: t.committed,
        since: tr?.since ?? null,
        earlier: tr === undefined ? [] : [...tr.earlier].sort(),
      };
      return classifyTenant(
        tenant,
        (host) => {
          const r = hosts.get(targetKey(dialTarget(host, all, t.cluster)));
          return r === undefined ? undefined : { address: r.address, result: r.result };
        },
        date,
      );
    });
    for (const row of rows) {
      const tr = tracked.get(`${row.cluster}/${row.tenant}`);
      if (tr === undefined) continue;
      const firstLook = !tr.looked;
      tr.looked = true;
      if (!tr.awaitingCurrent) continue;
      if (row.state === "no-probe-host" || row.state === "not-rendered") tr.awaitingCurrent = false;
      if (row.state !== "current") continue;
      tr.awaitingCurrent = false;
      // current at the first look: it became current at some unknown time before, not now
      if (tr.since !== null && (tr.witnessed || !firstLook)) m.rolloutDuration.observe(Math.max(0, (at - Date.parse(tr.since.date)) / 1000));
    }
    recordRolloutStates(m, countByState(rows));
    served = earliestNotAfter(hosts.values());
    recordServedNotAfter(m, served);
    for (const l of listeners) l(served);
  }

  /** The rollout ends when every probed tenant is current, or at its deadline with one line per tenant that is not. */
  function settleRollout(): void {
    if (rollout === undefined) return;
    if (allProbedCurrent(rows)) {
      log.info({ commit: rollout.commit }, "rollout verified: every probed tenant serves its committed certificate");
      rollout = undefined;
      return;
    }
    if (now() < rollout.deadlineAt) return;
    for (const r of rows) {
      if (r.state !== "stale" && r.state !== "foreign" && r.state !== "unreachable") continue;
      log.warn(
        {
          tenant: r.tenant,
          cluster: r.cluster,
          state: r.state,
          servedSha256: r.served?.sha256.slice(0, 12) ?? null,
          committedSha256: r.committed?.sha256.slice(0, 12) ?? null,
          lag: r.lagSeconds === null ? null : formatLag(r.lagSeconds),
          lagSeconds: r.lagSeconds,
          detail: r.detail,
        },
        "rollout deadline passed: the tenant does not serve its committed certificate",
      );
    }
    rollout = undefined;
  }

  /** The next host due, or the rollout's deadline, whichever is first. */
  function nextWake(): number {
    const at = now();
    let next = at + opts.probeIntervalMs;
    for (const t of targets()) {
      const r = hosts.get(targetKey(t));
      if (r !== undefined) next = Math.min(next, r.probedAt + opts.probeIntervalMs);
    }
    if (rollout !== undefined) next = Math.min(next, rollout.deadlineAt);
    return next;
  }

  kick();

  return {
    synced(outcome) {
      if (stopped) return;
      if (outcome.kind === "pushed") pendingRollout = { commit: outcome.commit, publishedAt: now() };
      if (outcome.tip !== (snapshot?.tip?.commit ?? null) || outcome.kind === "pushed") {
        wantRead = true;
        kick();
      }
    },
    earliestServedNotAfter: () => served,
    onEarliestServedNotAfter(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    rows: () => rows,
    async settled() {
      for (;;) {
        const c = chain;
        await c;
        if (c === chain) return;
      }
    },
    async stop() {
      stopped = true;
      cancelTimer();
      abort.abort();
      await chain.catch(() => undefined);
    },
  };
}

/** What `watch --verify-rollout` asks for (WatchOptions.verifyRollout); tests may replace the edges. */
export interface RolloutVerificationSettings {
  /** `--probe-address`: before the rules of the branch's wildseal.yaml */
  readonly probeAddresses: readonly ProbeAddressRule[];
  readonly probeTimeoutMs: number;
  readonly probeIntervalMs: number;
  readonly deadlineMs: number;
  readonly readBranch?: (signal: AbortSignal) => Promise<BranchSnapshot>;
  readonly probeOne?: typeof probe;
  readonly scheduler?: VerifierScheduler;
}

/** The verifier a watch runs: the branch read through its own clone, with the watch's Git settings. */
export function startWatchRolloutVerifier(
  settings: RolloutVerificationSettings,
  watch: {
    readonly repo: string;
    readonly branch: string;
    readonly delivery: Delivery;
    readonly credentials: GitCredentials;
    readonly log: Log;
    readonly metrics: WildsealMetrics;
    readonly now?: () => Date;
    readonly active: () => boolean;
  },
): RolloutVerifier {
  return startRolloutVerifier({
    probeAddresses: settings.probeAddresses,
    probeTimeoutMs: settings.probeTimeoutMs,
    probeIntervalMs: settings.probeIntervalMs,
    deadlineMs: settings.deadlineMs,
    readBranch: settings.readBranch ?? branchReader(watch),
    log: watch.log,
    metrics: watch.metrics,
    active: watch.active,
    ...(watch.now === undefined ? {} : { now: watch.now }),
    ...(settings.scheduler === undefined ? {} : { scheduler: settings.scheduler }),
    ...(settings.probeOne === undefined ? {} : { probeOne: settings.probeOne }),
  });
}
