import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelay } from "../backoff.ts";
import { DependencyError, UsageError } from "../errors.ts";
import { isReviewBranch, REVIEW_BRANCH_PREFIX, reviewBranchName, validateBranchName } from "./branch-name.ts";
import { CLONE_CONFIG, DEFAULT_RETRY, firstLine, git, type GitWorkspace, internals, lsRemote, type RetryPolicy, revParse, type Workspace } from "./clone.ts";
import type { GitConfigEntry } from "./credentials.ts";
import { classifyFailure, createGitRunner, dependencyError, GitFailure, type GitRunner, refRace, remoteRefusals } from "./git-process.ts";
import { type CommitSummary, commitMessage } from "./trailers.ts";
import { authorProblem, type CommitAuthor, resolveAuthor } from "./commit-identity.ts";
import { type PreparedSigning, prepareSigning, type SigningKey } from "./signing.ts";

/**
 * Publishing from a workspace (clone.ts): render, commit, push — to the workspace's branch with
 * retries on a fresh tip when someone else pushed meanwhile, or to a wildseal/* review branch.
 */

/** Where the commit goes: the workspace's branch, or a wildseal/* branch for a pull request. */
export type PushTarget =
  | { readonly kind: "branch" }
  | { readonly kind: "review"; readonly branch?: string | ((s: CommitSummary) => string) };

/**
 * What one render step gives back: the commit it calls for (null: nothing to publish) and whatever
 * else its caller needs from that render (e.g. the sync's diagnostics and loaded model), so that
 * nothing has to be read again after the push.
 */
export interface Rendered<T> {
  readonly summary: CommitSummary | null;
  readonly value: T;
}

export interface CommitAndPushOptions<T> {
  /**
   * Writes the new state into `dir` (called again on the new tip after a rejected push) and says
   * what changed; the result of its last call is returned as `value`.
   */
  readonly render: (dir: string) => Promise<Rendered<T>>;
  /** replaces the generated commit message */
  readonly message?: string | ((s: CommitSummary) => string);
  /** author and committer; default: resolveAuthor from the workspace's env (WILDSEAL_AUTHOR, GIT_AUTHOR_*, DEFAULT_AUTHOR) */
  readonly author?: CommitAuthor;
  /** sign the commits with this key (loadSigningKey); default: unsigned */
  readonly sign?: SigningKey;
  /** default DEFAULT_RETRY.maxAttempts (5) */
  readonly maxAttempts?: number;
  readonly retry?: Partial<Omit<RetryPolicy, "maxAttempts">>;
  /** default: the workspace's branch */
  readonly target?: PushTarget;
}

/** Every outcome carries `value`: what the last render (the one on the final tip) returned. */
export type CommitAndPushResult<T> =
  | {
      readonly kind: "pushed";
      readonly commit: string;
      readonly branch: string;
      readonly attempts: number;
      readonly summary: CommitSummary;
      readonly message: string;
      readonly value: T;
    }
  /** review target only: the branch already holds this exact change on this exact base */
  | { readonly kind: "up-to-date"; readonly commit: string; readonly branch: string; readonly summary: CommitSummary; readonly value: T }
  | { readonly kind: "unchanged"; readonly value: T };

const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/**
 * Renders, commits everything that changed (nothing: `unchanged`, no commit) and pushes. When the
 * remote branch moved meanwhile, fetches the new tip, resets the clone to it, renders again and
 * retries after a jittered exponential backoff; never force-pushes the workspace's branch. A
 * review target (`wildseal/*`) is pushed with --force-with-lease against the value just read.
 * Throws DependencyError (exit 3) when attempts run out or the remote refuses for good.
 */
export async function commitAndPush<T>(ws: Workspace, opts: CommitAndPushOptions<T>): Promise<CommitAndPushResult<T>> {
  const w = internals(ws);
  const maxAttempts = opts.maxAttempts ?? DEFAULT_RETRY.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new UsageError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  const author = opts.author ?? resolveAuthor(undefined, w.env);
  const problem = authorProblem(author);
  if (problem !== undefined) {
    throw new UsageError(`commit author ${JSON.stringify(`${author.name} <${author.email}>`)} is not "Name <email>" (${problem})`);
  }
  // prepared at the first commit, not before: a watch's unchanged reconciles never touch the key
  let signing: Promise<PreparedSigning> | undefined;
  let committer: Promise<GitRunner> | undefined;
  const commitWith = (): Promise<GitRunner> => {
    if (opts.sign !== undefined) signing ??= prepareSigning(opts.sign, w.env);
    committer ??= (async () => commitRunner(w, author, signing === undefined ? undefined : await signing))();
    return committer;
  };
  try {
    return await publish(w, opts, commitWith);
  } finally {
    if (signing !== undefined) {
      // a preparation that failed has cleaned up after itself (and its error is already thrown)
      const prepared = await signing.catch(() => undefined);
      await prepared?.dispose();
    }
  }
}

/**
 * The runner that makes the commit: identity (author and committer alike) and signing passed per
 * command, like the clone's other settings, so neither the key's path nor a GNUPGHOME is ever
 * written into the clone's .git/config.
 */
function commitRunner(w: GitWorkspace, author: CommitAuthor, signing: PreparedSigning | undefined): GitRunner {
  const identity: GitConfigEntry[] = [
    { key: "user.name", value: author.name },
    { key: "user.email", value: author.email },
    { key: "user.useConfigOnly", value: "true" },
  ];
  const sign = signing?.config ?? [{ key: "commit.gpgSign", value: "false" }];
  return createGitRunner({
    baseDir: w.dir,
    credentials: w.credentials,
    env: { ...w.env, ...signing?.env },
    config: [...CLONE_CONFIG, ...identity, ...sign],
    ...(w.signal === undefined ? {} : { signal: w.signal }),
  });
}

async function publish<T>(w: GitWorkspace, opts: CommitAndPushOptions<T>, committer: () => Promise<GitRunner>): Promise<CommitAndPushResult<T>> {
  const target = opts.target ?? { kind: "branch" };
  const policy = { ...DEFAULT_RETRY, ...opts.retry, maxAttempts: opts.maxAttempts ?? DEFAULT_RETRY.maxAttempts };
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await resetToRemote(w);
    const step = await commitOnce(w, opts, committer);
    if (step.kind === "unchanged") return step;
    const outcome = await pushOnce(w, target, step);
    if (outcome.kind === "pushed") return { ...outcome, attempts: attempt, value: step.value };
    if (outcome.kind === "up-to-date") return { ...outcome, value: step.value };
    if (attempt >= policy.maxAttempts) {
      // a lock that never goes away is no race but a git that crashed on the remote
      const stale = /\.lock': File exists/.test(outcome.reason)
        ? "; if no other push to this remote is running, a crashed git left that lock file behind: remove it on the remote"
        : "";
      throw new DependencyError(
        `git: push to ${w.remoteDisplay} failed ${attempt} times (${outcome.reason}); giving up, nothing was lost: run the sync again later${stale}`,
      );
    }
    const delay = backoffDelay(policy, attempt);
    w.say(`git: ${outcome.reason}; re-rendering on the new tip in ${delay} ms (attempt ${attempt + 1} of ${policy.maxAttempts})`);
    await sleep(delay);
  }
}

// ---------------------------------------------------------------------------------------------

interface Committed<T> {
  readonly kind: "committed";
  readonly commit: string;
  readonly parent: string | null;
  readonly summary: CommitSummary;
  readonly message: string;
  readonly value: T;
}

async function commitOnce<T>(
  w: GitWorkspace,
  opts: CommitAndPushOptions<T>,
  committer: () => Promise<GitRunner>,
): Promise<Committed<T> | { kind: "unchanged"; value: T }> {
  const { summary, value } = await opts.render(w.dir);
  if (summary === null) return { kind: "unchanged", value };
  await git(w, w.local, ["add", "--all"], "stage the rendered tree");
  const tree = (await git(w, w.local, ["write-tree"], "write the tree")).trim();
  const parent = await revParse(w.local, "HEAD");
  const parentTree = parent === null ? EMPTY_TREE : await revParse(w.local, "HEAD^{tree}");
  if (tree === parentTree) {
    w.say(`git: nothing changed on ${w.branch}; no commit`);
    return { kind: "unchanged", value };
  }
  const message =
    typeof opts.message === "function" ? opts.message(summary) : (opts.message ?? commitMessage(summary));
  await git(w, await committer(), ["commit", "--quiet", "--no-verify", "--cleanup=whitespace", "-m", message], "commit");
  const commit = (await revParse(w.local, "HEAD")) ?? "";
  w.say(`git: committed ${commit.slice(0, 12)} ${message.split("\n")[0] ?? ""}`);
  return { kind: "committed", commit, parent, summary, message, value };
}

type PushOutcome =
  | { kind: "pushed"; commit: string; branch: string; summary: CommitSummary; message: string }
  | { kind: "up-to-date"; commit: string; branch: string; summary: CommitSummary }
  | { kind: "retry"; reason: string };

async function pushOnce<T>(w: GitWorkspace, target: PushTarget, c: Committed<T>): Promise<PushOutcome> {
  const branch = target.kind === "branch" ? w.branch : reviewTarget(w, target, c.summary);
  const args = ["push", "--porcelain", "--no-verify", "origin"];
  if (target.kind === "review") {
    const existing = await fetchBranch(w, branch);
    if (existing !== null && (await sameChange(w, existing, c))) {
      w.say(`git: ${branch} already holds this change (${existing.slice(0, 12)}); not pushed`);
      return { kind: "up-to-date", commit: existing, branch, summary: c.summary };
    }
    // the lease: overwrite only what was just read (empty: the branch must not exist)
    args.push(`--force-with-lease=refs/heads/${branch}:${existing ?? ""}`);
  }
  args.push(`HEAD:refs/heads/${branch}`);
  try {
    await w.net.run(args);
  } catch (e) {
    if (!(e instanceof GitFailure)) throw e;
    const kind = classifyFailure(e.output);
    if (kind === "fatal") throw dependencyError(`git: push to ${w.remoteDisplay} (${branch}) refused`, e, w.credentials);
    return { kind: "retry", reason: kind === "rejected" ? rejectionReason(w, branch, e.output) : `push failed: ${firstLine(e.output)}` };
  }
  w.say(`git: pushed ${c.commit.slice(0, 12)} to ${w.remoteDisplay} ${branch}`);
  return { kind: "pushed", commit: c.commit, branch, summary: c.summary, message: c.message };
}

/** Why a retryable rejection happened, in git's words when the remote raced us (for logs and the final error). */
function rejectionReason(w: GitWorkspace, branch: string, output: string): string {
  const race = remoteRefusals(output)
    .map((r) => refRace(r, output))
    .find((c) => c !== undefined);
  if (race === undefined) return `push rejected: ${branch} moved on ${w.remoteDisplay}`;
  return `push rejected: another update of ${branch} on ${w.remoteDisplay} got there first (${race})`;
}

function reviewTarget(w: GitWorkspace, target: Extract<PushTarget, { kind: "review" }>, s: CommitSummary): string {
  const name =
    typeof target.branch === "function" ? target.branch(s) : (target.branch ?? reviewBranchName(s));
  validateBranchName(name, "review branch");
  if (!isReviewBranch(name)) {
    throw new UsageError(`review branch ${JSON.stringify(name)} must start with ${REVIEW_BRANCH_PREFIX}: wildseal force-pushes only its own branches`);
  }
  if (name === w.branch) throw new UsageError(`review branch ${name} is the base branch itself`);
  return name;
}

/** True when `tip` (already fetched) has our tree on our parent: pushing again would change nothing. */
async function sameChange<T>(w: GitWorkspace, tip: string, c: Committed<T>): Promise<boolean> {
  const raw = await git(w, w.local, ["cat-file", "commit", tip], "read the review branch");
  const tree = /^tree ([0-9a-f]+)$/m.exec(raw)?.[1];
  const parents = [...raw.matchAll(/^parent ([0-9a-f]+)$/gm)].map((m) => m[1]);
  const ourTree = await revParse(w.local, `${c.commit}^{tree}`);
  const sameParent = c.parent === null ? parents.length === 0 : parents.length === 1 && parents[0] === c.parent;
  return tree === ourTree && sameParent;
}

/** After a rejected push: the clone becomes exactly the remote's new tip (or the empty start). */
async function resetToRemote(w: GitWorkspace): Promise<void> {
  const tip = await fetchBranch(w, w.branch);
  if (tip !== null) {
    await git(w, w.local, ["reset", "--quiet", "--hard", tip], "reset to the remote tip");
    w.baseCommit = tip;
  } else if (w.baseCommit !== null) {
    await git(w, w.local, ["reset", "--quiet", "--hard", w.baseCommit], "reset to the base commit");
  } else {
    // the branch still does not exist: back to an unborn branch with an empty index
    await git(w, w.local, ["update-ref", "-d", `refs/heads/${w.branch}`], "reset the new branch");
    await git(w, w.local, ["read-tree", "--empty"], "empty the index");
  }
  await git(w, w.local, ["clean", "-ffdxq"], "clean the work tree");
}

/** Fetches `branch` (depth 1) into refs/remotes/origin/<branch>; null when the remote lacks it. */
async function fetchBranch(w: GitWorkspace, branch: string): Promise<string | null> {
  const refs = await lsRemote(w.net).catch((e: unknown) => {
    throw dependencyError(`git: cannot list branches of ${w.remoteDisplay}`, e, w.credentials);
  });
  if (!refs.heads.has(branch)) return null;
  await git(
    w,
    w.net,
    ["fetch", "--quiet", "--no-tags", "--depth=1", "origin", `+refs/heads/${branch}:refs/remotes/origin/${branch}`],
    `fetch ${branch}`,
  );
  return revParse(w.local, `refs/remotes/origin/${branch}`);
}
