import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { type Backoff, backoffDelay } from "../backoff.ts";
import { UsageError } from "../errors.ts";
import { type Log, silentLog } from "../log.ts";
import { validateBranchName } from "./branch-name.ts";
import { authConfig, type GitConfigEntry, type GitCredentials, scrubbedLog } from "./credentials.ts";
import { classifyFailure, createGitRunner, dependencyError, GitFailure, type GitRunner } from "./git-process.ts";
import { type ClassifiedRemote, redactUrl } from "./remote-url.ts";
import { CLONE_PREFIX, makeOwnedTempDir, sweepDeadOwners } from "./temp-clones.ts";
import { remoteAccess } from "./remote-access.ts";

/**
 * The private clone a sync works in: opening it (a depth-1 fetch of one branch into a fresh 0700
 * folder, with clone-time retries) and the few git reads both the clone and publish.ts need.
 * Committing and pushing live in publish.ts.
 */

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

/** What to do when the remote has commits but not the requested branch. */
export type MissingBranchPolicy = "fail" | "from-default-branch";

export interface RetryPolicy extends Backoff {
  /** pushes tried in all, the first included */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialMs: 250, maxMs: 8_000 };

export interface OpenWorkspaceOptions {
  /** local path or URL (checked with classifyRemote) */
  readonly repo: string;
  readonly branch: string;
  readonly credentials: GitCredentials;
  /** narrowed to `{ component: "git" }`; messages start with "git: " (the one-shot sync prints them as they are) */
  readonly log?: Log;
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

/**
 * Settings for every git command in a clone, passed per command (like `-c`) so that they also
 * override the user's global config: no gc or maintenance in a throwaway clone, no hooks from
 * the user's core.hooksPath or init templates, no signing unless asked for.
 */
export const CLONE_CONFIG: readonly GitConfigEntry[] = [
  { key: "gc.auto", value: "0" },
  { key: "maintenance.auto", value: "false" },
  { key: "fetch.writeCommitGraph", value: "false" },
  { key: "core.hooksPath", value: "/dev/null/wildseal-no-hooks" },
  { key: "tag.gpgSign", value: "false" },
  { key: "core.autocrlf", value: "false" },
  { key: "push.default", value: "nothing" },
  { key: "advice.detachedHead", value: "false" },
  // No delta search when the push packs: what a sync changes is sealed ciphertext, which deltas
  // against nothing. Measured on a renewal of 10,000 tenants (bench/sync.ts --trace): pack-objects'
  // delta search took 11.4 s of a 17 s push and saved nothing (31.31 MB with it, 31.27 MB without);
  // a first render's pack is ~6% larger without it. The remote's own repack (gc) deltifies what it
  // stores, so the repository's size is the same either way.
  { key: "pack.window", value: "0" },
];

/** The workspace as publish.ts sees it: its runners, credentials and the narrated log. */
export class GitWorkspace implements Workspace {
  baseCommit: string | null;
  constructor(
    readonly dir: string,
    readonly branch: string,
    readonly remote: ClassifiedRemote,
    readonly credentials: GitCredentials,
    readonly local: GitRunner,
    readonly net: GitRunner,
    readonly log: Log,
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
  /** One line of narration. Debug: a watch logs its own summary at info; the one-shot sync prints every line. */
  say(line: string): void {
    this.log.debug(line);
  }
}

export function internals(ws: Workspace): GitWorkspace {
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
  const log = scrubbedLog((opts.log ?? silentLog).child({ component: "git" }), credentials);
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
    const ws = new GitWorkspace(dir, branch, remote, credentials, local, net, log, env, null, opts.signal);
    ws.say(`git: cloning ${redactUrl(remote.url)} (branch ${branch})`);
    const refs = await withTransientRetry(ws, retry, () => lsRemote(net), "list branches of");
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

export interface RemoteRefs {
  readonly heads: ReadonlySet<string>;
  /** the branch the remote's HEAD points to, when it says */
  readonly defaultBranch: string | undefined;
}

export async function lsRemote(net: GitRunner): Promise<RemoteRefs> {
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
    w.say(`git: ${w.remoteDisplay} has no commits yet; the first push creates ${w.branch}`);
    return;
  }
  if (!refs.heads.has(w.branch)) {
    const known = [...refs.heads].sort().join(", ");
    if (policy === "fail" || refs.defaultBranch === undefined) {
      throw new UsageError(`branch ${w.branch} does not exist on ${w.remoteDisplay} (it has: ${known}); check --branch`);
    }
    from = refs.defaultBranch;
    w.say(`git: ${w.branch} does not exist on ${w.remoteDisplay}; starting it from ${from}`);
  }
  const tip = await withTransientRetry(w, retry, () => fetchBranchRaw(w, from), "fetch");
  await git(w, w.local, ["checkout", "--quiet", "-B", w.branch, tip, "--"], "check out the branch");
  w.baseCommit = tip;
}

async function fetchBranchRaw(w: GitWorkspace, branch: string): Promise<string> {
  await w.net.run(["fetch", "--quiet", "--no-tags", "--depth=1", "origin", `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
  return (await w.local.run(["rev-parse", "--verify", `refs/remotes/origin/${branch}^{commit}`])).trim();
}

export async function revParse(local: GitRunner, rev: string): Promise<string | null> {
  try {
    return (await local.run(["rev-parse", "--verify", "--quiet", rev])).trim() || null;
  } catch (e) {
    if (e instanceof GitFailure) return null;
    throw e;
  }
}

/** Runs a git command in the clone; a failure becomes a DependencyError saying what could not be done. */
export async function git(w: GitWorkspace, runner: GitRunner, args: readonly string[], what: string): Promise<string> {
  try {
    return await runner.run(args);
  } catch (e) {
    throw dependencyError(`git: cannot ${what} in the clone of ${w.remoteDisplay}`, e, w.credentials);
  }
}

/** Clone-time network reads, retried with backoff while git calls the failure transient. */
async function withTransientRetry<T>(w: GitWorkspace, policy: RetryPolicy, fn: () => Promise<T>, what: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const transient = e instanceof GitFailure && classifyFailure(e.output) === "transient";
      if (!transient || attempt >= policy.maxAttempts) {
        throw dependencyError(`git: cannot ${what} ${w.remoteDisplay}`, e, w.credentials);
      }
      const delay = backoffDelay(policy, attempt);
      w.say(`git: cannot ${what} ${w.remoteDisplay} (${firstLine((e as GitFailure).output)}); retrying in ${delay} ms`);
      await sleep(delay);
    }
  }
}

export function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}
