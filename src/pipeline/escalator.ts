/**
 * Escalation at the edge (issue 15): after each reconcile of `watch`, gather the facts, let the pure
 * decision (escalation.ts) speak, and act on it — a warn line when an escalation starts (info when it
 * clears; never on every reconcile), the `wildseal_escalation_*` metrics, and on the pending pull
 * request one comment per reason and the label.
 *
 * Idempotent across reconciles and restarts: what this process already did on a PR is remembered, so
 * later reconciles make no GitHub request at all; a new process reads the PR's comments once and finds
 * the hidden markers of earlier escalation comments before posting anything.
 *
 * The notAfter: the earliest served one when a provider gives it (the rollout verifier), else what the
 * base branch holds while a PR is pending, else the source certificate (pushed to the branch).
 */
import type { Octokit } from "@octokit/rest";
import type { Log } from "../log.ts";
import type { ReconcileFn } from "../trigger.ts";
import { escalationMetrics, ESCALATION_METRIC_REASONS, type WildsealMetrics } from "../ops/metrics.ts";
import { apiBaseUrl, pullRequestRepository } from "../github/repo-ref.ts";
import {
  activeReasons,
  commentedReasons,
  decideEscalation,
  escalationComment,
  pullRequestEffects,
  type EscalationDecision,
  type EscalationPolicy,
  type EscalationReason,
  type ObservedNotAfter,
  type PendingPullRequest,
} from "./escalation.ts";
import type { PullRequestSettings, SyncOutcome } from "./sync.ts";

export interface EscalationSettings extends EscalationPolicy {
  /** added to an escalated PR */
  readonly label: string;
  /** `@user` / `@org/team` handles named in the comment */
  readonly mentions: readonly string[];
}

/** Where the PR lives and a client to reach it; created on first use (Octokit loads only then). */
export interface EscalationGitHub {
  readonly owner: string;
  readonly repo: string;
  client(): Promise<Octokit>;
}

export interface EscalatorOptions {
  readonly settings: EscalationSettings;
  readonly log: Log;
  readonly metrics: WildsealMetrics;
  readonly now: () => Date;
  /**
   * The earliest notAfter tenants are actually served (the rollout verifier, `watch --verify-rollout`);
   * undefined while unknown, in which case the committed or source certificate stands in.
   */
  readonly servedNotAfter?: () => Date | undefined;
  /** pull-request mode: the repository's GitHub side */
  readonly github?: EscalationGitHub;
}

export interface Escalator {
  /** the source certificate a reconcile validated */
  observeSource(notAfter: Date): void;
  /** what a reconcile that reached Git left behind */
  observeSync(outcome: SyncOutcome): void;
  /** decide and act; never throws (GitHub failures are logged, counted and retried on the next call) */
  evaluate(): Promise<EscalationDecision>;
  /** not the leader: the gauges go to 0 (the leader reports), and a later lead starts from a clean slate */
  standby(): void;
}

/** What this process knows about the pending PR: its facts, the reasons commented, whether the label is on. */
interface KnownPull {
  facts: PendingPullRequest;
  /** undefined until the comments were read (once per PR per process) */
  commented: Set<EscalationReason> | undefined;
}

export function createEscalator(opts: EscalatorOptions): Escalator {
  const { settings, log, metrics } = opts;
  const m = escalationMetrics(metrics);
  let sourceNotAfter: Date | undefined;
  /** the PR the last sync published, and what the base branch held then */
  let pending: { number: number; committedNotAfter: Date | undefined } | undefined;
  let known: KnownPull | undefined;
  const wasActive = new Map<EscalationReason, boolean>();

  function notAfter(): ObservedNotAfter | undefined {
    const served = opts.servedNotAfter?.();
    if (served !== undefined && !Number.isNaN(served.getTime())) return { at: served, source: "served" };
    if (pending?.committedNotAfter !== undefined) return { at: pending.committedNotAfter, source: "committed" };
    return sourceNotAfter === undefined ? undefined : { at: sourceNotAfter, source: "source" };
  }

  async function pullRequest(gh: EscalationGitHub, number: number): Promise<KnownPull> {
    if (known?.facts.number === number) return known;
    const { pullRequestFacts } = await import("../github/escalation.ts");
    const facts = await pullRequestFacts(await gh.client(), { owner: gh.owner, repo: gh.repo, number });
    known = { facts, commented: undefined };
    return known;
  }

  function failed(what: string, e: unknown, fields: Record<string, unknown>): void {
    m.failures.inc();
    log.warn({ ...fields, error: e instanceof Error ? e.message : String(e) }, `escalation: ${what} failed; retried on the next reconcile`);
  }

  /** A warn line when an escalation starts, info when it clears: state changes only. */
  function logTransitions(decision: EscalationDecision, pr: PendingPullRequest | undefined): void {
    for (const v of [decision.expiry, decision.pullRequest]) {
      const active = v.kind === "active";
      if (active === (wasActive.get(v.reason) ?? false)) continue;
      wasActive.set(v.reason, active);
      const fields = { reason: v.reason, ...(pr === undefined ? {} : { pullRequest: pr.number }) };
      if (active) log.warn({ ...fields, detail: v.message }, `escalation: ${v.message}`);
      else log.info({ ...fields, detail: v.message }, `escalation cleared: ${v.message}`);
    }
  }

  function record(decision: EscalationDecision, observed: ObservedNotAfter | undefined, pr: PendingPullRequest | undefined, now: Date): void {
    for (const reason of ESCALATION_METRIC_REASONS) m.active.set({ reason }, activeReasons(decision).includes(reason) ? 1 : 0);
    m.checkedNotAfter.reset();
    if (observed !== undefined) m.checkedNotAfter.set({ source: observed.source }, observed.at.getTime() / 1000);
    m.pullRequestAge.set(pr === undefined || pr.state !== "open" ? 0 : Math.max(0, (now.getTime() - pr.createdAt.getTime()) / 1000));
  }

  async function act(gh: EscalationGitHub, k: KnownPull, decision: EscalationDecision): Promise<void> {
    const ref = { owner: gh.owner, repo: gh.repo, number: k.facts.number };
    const fields = { pullRequest: k.facts.number };
    // nothing owed when no reason is active: the comments are not even read
    if (activeReasons(decision).length === 0) return;
    const api = await import("../github/escalation.ts");
    try {
      k.commented ??= commentedReasons(await api.pullRequestCommentBodies(await gh.client(), ref));
    } catch (e) {
      failed("reading the pull request's comments", e, fields);
      return;
    }
    const owed = pullRequestEffects(decision, k.facts, k.commented, settings.label);
    if (owed.comment.length > 0) {
      try {
        const url = await api.commentOnPullRequest(await gh.client(), ref, escalationComment(decision, owed.comment, settings.mentions));
        for (const r of owed.comment) k.commented.add(r);
        m.actions.inc({ action: "comment" });
        log.info({ ...fields, reasons: owed.comment, url }, "escalation: commented on the pull request");
      } catch (e) {
        failed("commenting on the pull request", e, fields);
      }
    }
    if (owed.addLabel) {
      try {
        await api.labelPullRequest(await gh.client(), ref, settings.label);
        k.facts = { ...k.facts, labels: [...k.facts.labels, settings.label] };
        m.actions.inc({ action: "label" });
        log.info({ ...fields, label: settings.label }, "escalation: labelled the pull request");
      } catch (e) {
        failed("labelling the pull request", e, fields);
      }
    }
  }

  return {
    observeSource(at) {
      sourceNotAfter = at;
    },
    observeSync(outcome) {
      if (outcome.kind !== "pull-request") {
        // pushed, or the base branch already holds everything: no PR is pending
        pending = undefined;
        known = undefined;
        return;
      }
      pending = { number: outcome.pullRequest.number, committedNotAfter: outcome.committedNotAfter };
      if (known !== undefined && known.facts.number !== outcome.pullRequest.number) known = undefined;
    },
    standby() {
      for (const reason of ESCALATION_METRIC_REASONS) m.active.set({ reason }, 0);
      m.pullRequestAge.set(0);
      wasActive.clear();
      known = undefined;
    },
    async evaluate() {
      const now = opts.now();
      const observed = notAfter();
      let k: KnownPull | undefined;
      if (pending !== undefined && opts.github !== undefined && settings.escalateAfterMs + settings.warnBeforeMs > 0) {
        try {
          k = await pullRequest(opts.github, pending.number);
        } catch (e) {
          failed("reading the pull request", e, { pullRequest: pending.number });
        }
      }
      const decision = decideEscalation({ now, notAfter: observed, pullRequest: k?.facts }, settings);
      logTransitions(decision, k?.facts);
      record(decision, observed, k?.facts, now);
      if (k !== undefined && opts.github !== undefined) await act(opts.github, k, decision);
      return decision;
    },
  };
}

/** The GitHub side for `delivery`'s repository, with its own client (or the one the settings carry). */
export function escalationGitHub(remote: string, settings: PullRequestSettings, log: Log): EscalationGitHub {
  const ref = pullRequestRepository(remote, {
    ...(settings.repository === undefined ? {} : { repository: settings.repository }),
    ...(settings.apiUrl === undefined ? {} : { apiUrl: settings.apiUrl }),
  });
  let client: Promise<Octokit> | undefined;
  return {
    owner: ref.owner,
    repo: ref.repo,
    client() {
      if (settings.client !== undefined) return Promise.resolve(settings.client);
      // the import happens here, on first use: Octokit is loaded only in pull-request mode
      client ??= import("../github/client.ts").then(({ createGitHubClient }) =>
        createGitHubClient({ auth: settings.auth, baseUrl: apiBaseUrl(ref.host, settings.apiUrl), log }),
      );
      return client;
    },
  };
}

/**
 * `reconcile`, then escalation's evaluation — after every attempt, failed ones too (a certificate the
 * gate refuses because it expired is exactly when the warning matters). Only the leader evaluates:
 * a standby replica neither comments nor reports an escalation (its gauges read 0).
 */
export function reconcileThenEscalate(reconcile: ReconcileFn, escalator: Escalator | undefined, isLeader: () => boolean): ReconcileFn {
  if (escalator === undefined) return reconcile;
  return async (signal, triggers) => {
    try {
      return await reconcile(signal, triggers);
    } finally {
      // stopping (aborted): no GitHub call that the shutdown would have to wait for
      if (!signal.aborted) {
        if (isLeader()) await escalator.evaluate();
        else escalator.standby();
      }
    }
  };
}
