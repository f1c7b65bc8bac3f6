import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelay } from "../backoff.ts";
import { DependencyError, UsageError } from "../errors.ts";
import { isReviewBranch, REVIEW_BRANCH_PREFIX, reviewBranchName, validateBranchName } from "./branch-name.ts";
import { authConfig, type GitConfigEntry, type GitCredentials, scrubSecrets } from "./credentials.ts";
import { classifyFailure, createGitRunner, dependencyError, GitFailure, type GitRunner, refRace, remoteRefusals } from "./git-process.ts";
import { type ClassifiedRemote, redactUrl } from "./remote-url.ts";
import { CLONE_PREFIX, makeOwnedTempDir, sweepDeadOwners } from "./temp-clones.ts";
import { type CommitSummary, commitMessage } from "./trailers.ts";
import { authorProblem, type CommitAuthor, resolveAuthor } from "./commit-identity.ts";
import { type PreparedSigning, prepareSigning, type SigningKey } from "./signing.ts";
import { remoteAccess } from "./remote-access.ts";

/** A private clone of one branch of a remote, in a fresh 0700 temporary folder. */
export interface Workspace {
  /** the clone's work tree: render into it */
  readonly dir: string;
  /** the branch that was cloned and that pushes go to by default */
  readonly branch: string;
  /** the remote without userinfo (what the clone's `remote.origin.url` holds) */
  readonly remote: ClassifiedRemote;
  /** the remote as logs and errors show it */
  readonly remoteDisplay: string;
  /** commit the clone started from; null when the branch does not exist yet (new or empty remote) */
  readonly baseCommit: string | null;
  /** current HEAD commit; null while the branch has no commit */
  head(): Promise<string | null>;
}

export type LogLine = (line: string) => void;

/** What to do when the remote has commits but not the requested branch. */
export type MissingBranchPolicy = "fail" | "from-default-branch";

export interface RetryPolicy {
  /** pushes tried in all, the first included */
  readonly maxAttempts: number;
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialMs: 250, maxMs: 8_000 };

export interface OpenWorkspaceOptions {
  /** local path or URL (checked with classifyRemote) */
  readonly repo: string;
  readonly branch: string;
  readonly credentials: GitCredentials;
  readonly log?: LogLine;
  /** default "fail": a mistyped `--branch` must not silently create a branch */
  readonly missingBranch?: MissingBranchPolicy;
  /** retries of clone-time network failures (transient ones only) */
  readonly retry?: Partial<RetryPolicy>;
  /** environment to take PATH, HOME, proxies, GIT_AUTHOR_* from; default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** aborting kills the git command running (and with it the sync) */
  readonly signal?: AbortSignal;
  /** where the clone's folder is made (and leftovers are swept); default os.tmpdir(), i.e. TMPDIR */
  readonly tempRoot?: string;
}

export { type CommitAuthor, DEFAULT_AUTHOR } from "./commit-identity.ts";
/** Commit signing with a checked key file (signing.ts): settings per command, never in .git/config. */
export type { SigningKey as CommitSigning } from "./signing.ts";

/** Where the commit goes: the workspace's branch, or a wildseal/* branch for a pull request. */
export type PushTarget =
  | { readonly kind: "branch" }
  | { readonly kind: "review"; readonly branch?: string | ((s: CommitSummary) => string) };

export interface CommitAndPushOptions {
  /**
   * Writes the new state into `dir` (called again on the new tip after a rejected push) and says
   * what changed; null means there is nothing to publish.
   */
  readonly render: (dir: string) => Promise<CommitSummary | null>;
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

export type CommitAndPushResult =
  | {
      readonly kind: "pushed";
      readonly commit: string;
      readonly branch: string;
      readonly attempts: number;
      readonly summary: CommitSummary;
      readonly message: string;
    }
  /** review target only: the branch already holds this exact change on this exact base */
  | { readonly kind: "up-to-date"; readonly commit: string; readonly branch: string; readonly summary: CommitSummary }
  | { readonly kind: "unchanged" };

const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/**
 * Settings for every git command in a clone, passed per command (like `-c`) so that they also
 * override the user's global config: no gc or maintenance in a throwaway clone, no hooks from
 * the user's core.hooksPath or init templates, no signing unless asked for.
 */
const CLONE_CONFIG: readonly GitConfigEntry[] = [
  { key: "gc.auto", value: "0" },
  { key: "maintenance.auto", value: "false" },
  { key: "fetch.writeCommitGraph", value: "false" },
  { key: "core.hooksPath", value: "/dev/null/wildseal-no-hooks" },
  { key: "tag.gpgSign", value: "false" },
  { key: "core.autocrlf", value: "false" },
  { key: "push.default", value: "nothing" },
  { key: "advice.detachedHead", value: "false" },
];

class GitWorkspace implements Workspace {
  baseCommit: string | null;
  constructor(
    readonly dir: string,
    readonly branch: string,
    readonly remote: ClassifiedRemote,
    readonly credentials: GitCredentials,
    readonly local: GitRunner,
    readonly net: GitRunner,
    readonly log: LogLine,
    readonly env: Readonly<Record<string, string | undefined>>,
    baseCommit: string | null,
    readonly signal?: AbortSignal,
  ) {
    this.baseCommit = baseCommit;
  }
  get remoteDisplay(): string {
    return redactUrl(this.remote.url);
  }
  async head(): Promise<string | null> {
    return revParse(this.local, "HEAD");
  }
}

function internals(ws: Workspace): GitWorkspace {
  if (!(ws instanceof GitWorkspace)) throw new TypeError("not a workspace from openWorkspace()");
  return ws;
}

/**
 * Clones `branch` of `repo` (depth 1) into a fresh private temporary folder whose name records this
 * process as its owner, after removing the clones that dead processes (`kill -9`) left in the same
 * temporary folder (temp-clones.ts). An empty remote, or
 * (with `missingBranch: "from-default-branch"`) a remote without the branch, gives a workspace
 * whose first push creates the branch. Hooks, gc, maintenance and the user's signing defaults
 * are off in the clone. Close it with closeWorkspace, or use withWorkspace.
 */
export async function openWorkspace(opts: OpenWorkspaceOptions): Promise<Workspace> {
  const branch = validateBranchName(opts.branch);
  const { remote, credentials } = remoteAccess(opts.repo, opts.credentials);
  const env = opts.env ?? process.env;
  const log: LogLine = (line) => opts.log?.(scrubSecrets(line, credentials));
  const auth = authConfig(credentials, remote);
  const root = opts.tempRoot ?? tmpdir();
  await sweepDeadOwners(root, CLONE_PREFIX, { log });
  const dir = await makeOwnedTempDir(root, CLONE_PREFIX);
  try {
    const signal = opts.signal === undefined ? {} : { signal: opts.signal };
    const local = createGitRunner({ baseDir: dir, credentials, env, config: CLONE_CONFIG, ...signal });
    const net = createGitRunner({ baseDir: dir, credentials, env, auth, config: CLONE_CONFIG, ...signal });
    await local.run(["init", "--quiet", `--initial-branch=${branch}`]);
    await local.run(["remote", "add", "origin", remote.url]);
    const retry = { ...DEFAULT_RETRY, ...opts.retry };
    log(`git: cloning ${redactUrl(remote.url)} (branch ${branch})`);
    const refs = await withTransientRetry(retry, log, () => lsRemote(net), "list branches of", remote, credentials);
    const ws = new GitWorkspace(dir, branch, remote, credentials, local, net, log, env, null, opts.signal);
    await checkoutStart(ws, refs, opts.missingBranch ?? "fail", retry);
    return ws;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Removes the clone. Safe to call twice. */
export async function closeWorkspace(ws: Workspace): Promise<void> {
  await rm(internals(ws).dir, { recursive: true, force: true });
}

/** Opens a workspace, runs `fn`, and removes the clone whatever happens. */
export async function withWorkspace<T>(opts: OpenWorkspaceOptions, fn: (ws: Workspace) => Promise<T>): Promise<T> {
  const ws = await openWorkspace(opts);
  try {
    return await fn(ws);
  } finally {
    await closeWorkspace(ws);
  }
}

/**
 * Renders, commits everything that changed (nothing: `unchanged`, no commit) and pushes. When the
 * remote branch moved meanwhile, fetches the new tip, resets the clone to it, renders again and
 * retries after a jittered exponential backoff; never force-pushes the workspace's branch. A
 * review target (`wildseal/*`) is pushed with --force-with-lease against the value just read.
 * Throws DependencyError (exit 3) when attempts run out or the remote refuses for good.
 */
export async function commitAndPush(ws: Workspace, opts: CommitAndPushOptions): Promise<CommitAndPushResult> {
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

async function publish(w: GitWorkspace, opts: CommitAndPushOptions, committer: () => Promise<GitRunner>): Promise<CommitAndPushResult> {
  const target = opts.target ?? { kind: "branch" };
  const policy = { ...DEFAULT_RETRY, ...opts.retry, maxAttempts: opts.maxAttempts ?? DEFAULT_RETRY.maxAttempts };
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await resetToRemote(w);
    const step = await commitOnce(w, opts, committer);
    if (step.kind === "unchanged") return step;
    const outcome = await pushOnce(w, target, step);
    if (outcome.kind === "pushed") return { ...outcome, attempts: attempt };
    if (outcome.kind === "up-to-date") return outcome;
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
    w.log(`git: ${outcome.reason}; re-rendering on the new tip in ${delay} ms (attempt ${attempt + 1} of ${policy.maxAttempts})`);
    await sleep(delay);
  }
}

// ---------------------------------------------------------------------------------------------

interface Committed {
  readonly kind: "committed";
  readonly commit: string;
  readonly parent: string | null;
  readonly summary: CommitSummary;
  readonly message: string;
}

async function commitOnce(w: GitWorkspace, opts: CommitAndPushOptions, committer: () => Promise<GitRunner>): Promise<Committed | { kind: "unchanged" }> {
  const summary = await opts.render(w.dir);
  if (summary === null) return { kind: "unchanged" };
  await git(w, w.local, ["add", "--all"], "stage the rendered tree");
  const tree = (await git(w, w.local, ["write-tree"], "write the tree")).trim();
  const parent = await revParse(w.local, "HEAD");
  const parentTree = parent === null ? EMPTY_TREE : await revParse(w.local, "HEAD^{tree}");
  if (tree === parentTree) {
    w.log(`git: nothing changed on ${w.branch}; no commit`);
    return { kind: "unchanged" };
  }
  const message =
    typeof opts.message === "function" ? opts.message(summary) : (opts.message ?? commitMessage(summary));
  await git(w, await committer(), ["commit", "--quiet", "--no-verify", "--cleanup=whitespace", "-m", message], "commit");
  const commit = (await revParse(w.local, "HEAD")) ?? "";
  w.log(`git: committed ${commit.slice(0, 12)} ${message.split("\n")[0] ?? ""}`);
  return { kind: "committed", commit, parent, summary, message };
}

type PushOutcome =
  | { kind: "pushed"; commit: string; branch: string; summary: CommitSummary; message: string }
  | { kind: "up-to-date"; commit: string; branch: string; summary: CommitSummary }
  | { kind: "retry"; reason: string };

async function pushOnce(w: GitWorkspace, target: PushTarget, c: Committed): Promise<PushOutcome> {
  const branch = target.kind === "branch" ? w.branch : reviewTarget(w, target, c.summary);
  const args = ["push", "--porcelain", "--no-verify", "origin"];
  if (target.kind === "review") {
    const existing = await fetchBranch(w, branch);
    if (existing !== null && (await sameChange(w, existing, c))) {
      w.log(`git: ${branch} already holds this change (${existing.slice(0, 12)}); not pushed`);
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
  w.log(`git: pushed ${c.commit.slice(0, 12)} to ${w.remoteDisplay} ${branch}`);
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
async function sameChange(w: GitWorkspace, tip: string, c: Committed): Promise<boolean> {
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

interface RemoteRefs {
  readonly heads: ReadonlySet<string>;
  /** the branch the remote's HEAD points to, when it says */
  readonly defaultBranch: string | undefined;
}

async function lsRemote(net: GitRunner): Promise<RemoteRefs> {
  const out = await net.run(["ls-remote", "--symref", "origin"]);
  const heads = new Set<string>();
  let defaultBranch: string | undefined;
  for (const line of out.split("\n")) {
    const sym = /^ref: refs\/heads\/(\S+)\tHEAD$/.exec(line);
    if (sym?.[1] !== undefined) defaultBranch = sym[1];
    const head = /^[0-9a-f]{40,64}\trefs\/heads\/(\S+)$/.exec(line);
    if (head?.[1] !== undefined) heads.add(head[1]);
  }
  return { heads, defaultBranch: defaultBranch !== undefined && heads.has(defaultBranch) ? defaultBranch : undefined };
}

async function checkoutStart(w: GitWorkspace, refs: RemoteRefs, policy: MissingBranchPolicy, retry: RetryPolicy): Promise<void> {
  let from = w.branch;
  if (refs.heads.size === 0) {
    w.log(`git: ${w.remoteDisplay} has no commits yet; the first push creates ${w.branch}`);
    return;
  }
  if (!refs.heads.has(w.branch)) {
    const known = [...refs.heads].sort().join(", ");
    if (policy === "fail" || refs.defaultBranch === undefined) {
      throw new UsageError(
        `branch ${w.branch} does not exist on ${w.remoteDisplay} (it has: ${known}); check --branch`,
      );
    }
    from = refs.defaultBranch;
    w.log(`git: ${w.branch} does not exist on ${w.remoteDisplay}; starting it from ${from}`);
  }
  const tip = await withTransientRetry(retry, w.log, () => fetchBranchRaw(w, from), "fetch", w.remote, w.credentials);
  await git(w, w.local, ["checkout", "--quiet", "-B", w.branch, tip, "--"], "check out the branch");
  w.baseCommit = tip;
}

async function fetchBranchRaw(w: GitWorkspace, branch: string): Promise<string> {
  await w.net.run(["fetch", "--quiet", "--no-tags", "--depth=1", "origin", `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
  return (await w.local.run(["rev-parse", "--verify", `refs/remotes/origin/${branch}^{commit}`])).trim();
}

async function revParse(local: GitRunner, rev: string): Promise<string | null> {
  try {
    return (await local.run(["rev-parse", "--verify", "--quiet", rev])).trim() || null;
  } catch (e) {
    if (e instanceof GitFailure) return null;
    throw e;
  }
}

async function git(w: GitWorkspace, runner: GitRunner, args: readonly string[], what: string): Promise<string> {
  try {
    return await runner.run(args);
  } catch (e) {
    throw dependencyError(`git: cannot ${what} in the clone of ${w.remoteDisplay}`, e, w.credentials);
  }
}

async function withTransientRetry<T>(
  policy: RetryPolicy,
  log: LogLine,
  fn: () => Promise<T>,
  what: string,
  remote: ClassifiedRemote,
  credentials: GitCredentials,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const transient = e instanceof GitFailure && classifyFailure(e.output) === "transient";
      if (!transient || attempt >= policy.maxAttempts) {
        throw dependencyError(`git: cannot ${what} ${redactUrl(remote.url)}`, e, credentials);
      }
      const delay = backoffDelay(policy, attempt);
      log(`git: cannot ${what} ${redactUrl(remote.url)} (${firstLine((e as GitFailure).output)}); retrying in ${delay} ms`);
      await sleep(delay);
    }
  }
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}
