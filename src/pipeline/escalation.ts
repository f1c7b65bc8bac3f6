/**
 * Escalation (issue 15), the pure decisions: is the certificate people are served about to expire, and
 * has the pull request carrying wildseal's pending change been left unmerged too long? Given the facts
 * (now, a notAfter, the open PR), say which escalations are active and why, and which GitHub effects
 * are still owed on the PR. No I/O: pipeline/escalator.ts gathers the facts and carries out the
 * effects (log, metrics, comment, label); github/escalation.ts holds the Octokit calls.
 */

import type { PullRequestFacts } from "../github/escalation.ts";

export const ESCALATION_REASONS = ["expiry", "pull-request"] as const;
export type EscalationReason = (typeof ESCALATION_REASONS)[number];

export const DEFAULT_WARN_BEFORE_MS = 21 * 86_400_000;
export const DEFAULT_ESCALATE_AFTER_MS = 72 * 3_600_000;
export const DEFAULT_ESCALATION_LABEL = "wildseal-escalated";

/**
 * Where the notAfter the expiry check uses came from, best first: the earliest certificate actually
 * served (rollout verification), the earliest the base branch holds (what is deployed, as far as Git
 * tells), the source certificate (what wildseal would publish).
 */
export type NotAfterSource = "served" | "committed" | "source";

export interface ObservedNotAfter {
  readonly at: Date;
  readonly source: NotAfterSource;
}

/** The PR carrying wildseal's pending change for the base branch, as GitHub reports it (github/escalation.ts reads it). */
export type PendingPullRequest = PullRequestFacts;

export interface EscalationPolicy {
  /** expiry warning when the notAfter is at most this far away; 0 disables */
  readonly warnBeforeMs: number;
  /** PR escalation when the open PR is older than this; 0 disables */
  readonly escalateAfterMs: number;
}

export interface EscalationFacts {
  readonly now: Date;
  /** undefined: nothing known yet (no verifier result, no certificate read) */
  readonly notAfter: ObservedNotAfter | undefined;
  /** undefined: no PR is pending (push mode, or the base branch holds everything) */
  readonly pullRequest: PendingPullRequest | undefined;
}

/** One check's verdict: active with a reason for people, or quiet (with why, for debug logs). */
export type Verdict =
  | { readonly kind: "active"; readonly reason: EscalationReason; readonly message: string }
  | { readonly kind: "quiet"; readonly reason: EscalationReason; readonly message: string };

export interface EscalationDecision {
  readonly expiry: Verdict;
  readonly pullRequest: Verdict;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** "3d 4h", "5h", "12m": precise enough for a log line or a comment, never "0d". */
export function humanDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs >= DAY) {
    const d = Math.floor(abs / DAY);
    const h = Math.floor((abs % DAY) / HOUR);
    return h === 0 ? `${d}d` : `${d}d ${h}h`;
  }
  if (abs >= HOUR) return `${Math.floor(abs / HOUR)}h`;
  return `${Math.max(1, Math.floor(abs / 60_000))}m`;
}

const SOURCE_WORDS: Readonly<Record<NotAfterSource, string>> = {
  served: "the earliest certificate served to tenants",
  committed: "the earliest certificate the branch holds",
  source: "the source certificate",
};

export function expiryVerdict(now: Date, notAfter: ObservedNotAfter | undefined, warnBeforeMs: number): Verdict {
  const quiet = (message: string): Verdict => ({ kind: "quiet", reason: "expiry", message });
  if (warnBeforeMs <= 0) return quiet("expiry warning disabled (--warn-before 0)");
  if (notAfter === undefined) return quiet("no notAfter known yet");
  const left = notAfter.at.getTime() - now.getTime();
  const what = `${SOURCE_WORDS[notAfter.source]} (notAfter ${notAfter.at.toISOString()})`;
  if (left > warnBeforeMs) return quiet(`${what} expires in ${humanDuration(left)}`);
  const message =
    left <= 0
      ? `${what} expired ${humanDuration(left)} ago`
      : `${what} expires in ${humanDuration(left)}, within the warning window of ${humanDuration(warnBeforeMs)}`;
  return { kind: "active", reason: "expiry", message };
}

export function pullRequestVerdict(now: Date, pr: PendingPullRequest | undefined, escalateAfterMs: number): Verdict {
  const quiet = (message: string): Verdict => ({ kind: "quiet", reason: "pull-request", message });
  if (escalateAfterMs <= 0) return quiet("pull request escalation disabled (--escalate-after 0)");
  if (pr === undefined) return quiet("no pull request is pending");
  // a merged or closed PR needs no one's attention: the next sync opens a new one if still needed
  if (pr.state !== "open") return quiet(`pull request #${pr.number} is ${pr.state}`);
  const age = now.getTime() - pr.createdAt.getTime();
  if (age <= escalateAfterMs) return quiet(`pull request #${pr.number} is open for ${humanDuration(age)}`);
  return {
    kind: "active",
    reason: "pull-request",
    message: `pull request #${pr.number} is unmerged after ${humanDuration(age)} (escalating after ${humanDuration(escalateAfterMs)}): the change it carries is not live`,
  };
}

export function decideEscalation(facts: EscalationFacts, policy: EscalationPolicy): EscalationDecision {
  return {
    expiry: expiryVerdict(facts.now, facts.notAfter, policy.warnBeforeMs),
    pullRequest: pullRequestVerdict(facts.now, facts.pullRequest, policy.escalateAfterMs),
  };
}

export function activeReasons(d: EscalationDecision): EscalationReason[] {
  return [d.expiry, d.pullRequest].filter((v) => v.kind === "active").map((v) => v.reason);
}

/**
 * The hidden marker of a comment about `reason`. One marker per reason: a PR escalated for its age
 * gets a second (and last) comment should the certificate later enter the warning window.
 */
export function escalationMarker(reason: EscalationReason): string {
  return `<!-- wildseal:escalation reason=${reason} -->`;
}

/** The reasons whose marker appears in any of these comment bodies. */
export function commentedReasons(bodies: readonly string[]): Set<EscalationReason> {
  return new Set(ESCALATION_REASONS.filter((r) => bodies.some((b) => b.includes(escalationMarker(r)))));
}

/** What is still owed on the PR: a comment for the active reasons not commented yet, the label if missing. */
export interface PullRequestEffects {
  readonly comment: readonly EscalationReason[];
  readonly addLabel: boolean;
}

export function pullRequestEffects(
  decision: EscalationDecision,
  pr: PendingPullRequest | undefined,
  commented: ReadonlySet<EscalationReason>,
  label: string,
): PullRequestEffects {
  // nothing is said on a PR that is not open, whatever the certificate does
  if (pr === undefined || pr.state !== "open") return { comment: [], addLabel: false };
  const active = activeReasons(decision);
  return {
    comment: active.filter((r) => !commented.has(r)),
    addLabel: active.length > 0 && !pr.labels.some((l) => l.toLowerCase() === label.toLowerCase()),
  };
}

/** The comment for `reasons` (each with its marker), and an optional mention of who should act. */
export function escalationComment(decision: EscalationDecision, reasons: readonly EscalationReason[], mentions: readonly string[]): string {
  const lines = ["**wildseal escalation**", ""];
  for (const r of reasons) {
    const v = r === "expiry" ? decision.expiry : decision.pullRequest;
    lines.push(`- ${v.message}.`);
  }
  lines.push("");
  lines.push(
    reasons.includes("expiry")
      ? "When this pull request carries the renewed certificate, tenants keep serving the expiring one until it is merged and applied: please review and merge it."
      : "Please review and merge this pull request, or close it if the change must not go out.",
  );
  if (mentions.length > 0) lines.push("", `cc ${mentions.join(" ")}`);
  lines.push("", ...reasons.map(escalationMarker));
  return `${lines.join("\n")}\n`;
}

/** A GitHub handle to mention: `@user` or `@org/team`. */
export function isMention(text: string): boolean {
  return /^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\/[A-Za-z0-9_.-]{1,100})?$/.test(text);
}
