/**
 * The pull-request lifecycle: at most one open wildseal PR per base branch. A change publishes on a
 * branch named after what changed (reviewBranchName in src/git/branch-name.ts), so the same change always lands on the same
 * branch: the PR on it is updated in place (or left alone), and PRs on other wildseal branches for the
 * same base are closed with a pointer to their successor and their branches deleted.
 */
import type { Octokit } from "@octokit/rest";
import { DependencyError } from "../errors.ts";
import { isReviewBranch } from "../git/branch-name.ts";
import { type Log, silentLog } from "../log.ts";
import { pullRequestMarker } from "./pr-body.ts";


export type AutoMergeMethod = "MERGE" | "SQUASH" | "REBASE";

export interface PublishPullRequestOptions {
  readonly owner: string;
  readonly repo: string;
  readonly base: string;
  /** branch in owner/repo, already pushed */
  readonly head: string;
  readonly title: string;
  /** rendered body; the base's marker is appended when missing */
  readonly body: string;
  readonly labels?: readonly string[];
  readonly autoMerge?: false | AutoMergeMethod;
  readonly draft?: boolean;
  /** narrowed to `{ component: "github" }` */
  readonly log?: Log;
}

export type AutoMergeOutcome =
  | { readonly kind: "not-requested" }
  | { readonly kind: "enabled" }
  | { readonly kind: "already-enabled" }
  /** GitHub declined (clean/unstable status, not allowed on the repo, draft, permissions): logged, not fatal */
  | { readonly kind: "declined"; readonly reason: string };

export interface PublishPullRequestResult {
  readonly kind: "created" | "updated" | "unchanged";
  readonly number: number;
  readonly url: string;
  /** numbers of the wildseal PRs closed in favour of this one */
  readonly superseded: number[];
  readonly autoMerge: AutoMergeOutcome;
}

/** The fields of a listed or fetched PR this module reads. */
interface PullSummary {
  readonly number: number;
  readonly node_id: string;
  readonly html_url: string;
  readonly title: string;
  readonly body: string | null;
  readonly labels: readonly { readonly name?: string }[];
  readonly auto_merge: { readonly merge_method: string } | null;
  readonly head: { readonly ref: string; readonly repo: { readonly full_name: string } | null };
}


interface HttpError {
  readonly status: number;
  readonly message: string;
  readonly response?: { readonly data?: unknown };
}

function httpError(e: unknown): HttpError | undefined {
  if (typeof e === "object" && e !== null && typeof (e as { status?: unknown }).status === "number") return e as HttpError;
  return undefined;
}

/** Runs one GitHub call; what is still failing after the client's retries becomes a DependencyError (exit 3). */
async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const h = httpError(e);
    const detail = h !== undefined ? `HTTP ${h.status}: ${h.message}` : e instanceof Error ? e.message : String(e);
    const hint = h?.status === 401 ? " (check the GitHub token)" : h?.status === 403 || h?.status === 404 ? " (check the token's access to the repository)" : "";
    throw new DependencyError(`GitHub ${what} failed: ${detail}${hint}`, { cause: e });
  }
}

function normalise(body: string | null): string {
  return (body ?? "").replace(/\r\n/g, "\n");
}

function isWildsealPull(pr: PullSummary, fullName: string, marker: string): boolean {
  // both the branch prefix and the marker: a person's branch named wildseal/x, or a PR that quotes the
  // marker, is never closed by us; a fork's PR never either
  return (
    pr.head.repo?.full_name.toLowerCase() === fullName.toLowerCase() &&
    isReviewBranch(pr.head.ref) &&
    normalise(pr.body).includes(marker)
  );
}

function errorsOf(e: unknown): readonly { message?: string }[] {
  const data = httpError(e)?.response?.data as { errors?: unknown } | undefined;
  return Array.isArray(data?.errors) ? (data.errors as { message?: string }[]) : [];
}

function isAlreadyExists(e: unknown): boolean {
  return httpError(e)?.status === 422 && errorsOf(e).some((x) => /pull request already exists/i.test(x.message ?? ""));
}

/** Open PRs for the base (all of them, or those from `filter.head`; `anyBase` drops the base filter). */
async function listOpen(
  octokit: Octokit,
  o: PublishPullRequestOptions,
  filter: { head?: string; anyBase?: boolean } = {},
): Promise<PullSummary[]> {
  return call(`listing open pull requests of ${o.owner}/${o.repo}`, () =>
    octokit.paginate(octokit.rest.pulls.list, {
      owner: o.owner,
      repo: o.repo,
      state: "open",
      per_page: 100,
      ...(filter.anyBase === true ? {} : { base: o.base }),
      ...(filter.head === undefined ? {} : { head: `${o.owner}:${filter.head}` }),
    }),
  ) as Promise<PullSummary[]>;
}

async function createOrAdopt(
  octokit: Octokit,
  o: PublishPullRequestOptions,
  body: string,
): Promise<{ pr: PullSummary; created: boolean }> {
  try {
    const { data } = await octokit.rest.pulls.create({
      owner: o.owner,
      repo: o.repo,
      base: o.base,
      head: o.head,
      title: o.title,
      body,
      draft: o.draft ?? false,
      maintainer_can_modify: false,
    });
    return { pr: data, created: true };
  } catch (e) {
    if (!isAlreadyExists(e)) return call(`creating a pull request ${o.head} → ${o.base}`, () => Promise.reject(e));
    // someone (another wildseal replica) opened it between our listing and our create: adopt it
    const [existing] = await listOpen(octokit, o, { head: o.head });
    if (existing === undefined) {
      throw new DependencyError(`GitHub says a pull request for ${o.head} exists, but none is open for base ${o.base}`, { cause: e });
    }
    return { pr: existing, created: false };
  }
}

async function syncTitleAndBody(
  octokit: Octokit,
  o: PublishPullRequestOptions,
  pr: PullSummary,
  body: string,
): Promise<{ pr: PullSummary; changed: boolean }> {
  if (pr.title === o.title && normalise(pr.body) === body) return { pr, changed: false };
  const { data } = await call(`updating pull request #${pr.number}`, () =>
    octokit.rest.pulls.update({ owner: o.owner, repo: o.repo, pull_number: pr.number, title: o.title, body }),
  );
  return { pr: data, changed: true };
}

async function ensureLabels(octokit: Octokit, o: PublishPullRequestOptions, pr: PullSummary): Promise<void> {
  const have = new Set(pr.labels.map((l) => l.name));
  const missing = (o.labels ?? []).filter((l) => !have.has(l));
  if (missing.length === 0) return;
  await call(`labelling pull request #${pr.number}`, () =>
    octokit.rest.issues.addLabels({ owner: o.owner, repo: o.repo, issue_number: pr.number, labels: missing }),
  );
}

async function supersede(octokit: Octokit, o: PublishPullRequestOptions, old: PullSummary, successor: number, log: Log): Promise<void> {
  const { owner, repo } = o;
  await call(`commenting on pull request #${old.number}`, () =>
    octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: old.number,
      body: `Superseded by #${successor}: wildseal keeps one open pull request per base branch (\`${o.base}\`).`,
    }),
  );
  await call(`closing pull request #${old.number}`, () =>
    octokit.rest.pulls.update({ owner, repo, pull_number: old.number, state: "closed" }),
  );
  log.info({ number: old.number, successor }, "closed superseded pull request");
  // the same change for another base publishes on the same branch: keep it while any PR still uses it
  const users = await listOpen(octokit, o, { head: old.head.ref, anyBase: true });
  if (users.length > 0) {
    log.info({ branch: old.head.ref, by: users.map((u) => u.number) }, "kept superseded branch: another open pull request uses it");
    return;
  }
  try {
    await octokit.rest.git.deleteRef({ owner, repo, ref: `heads/${old.head.ref}` });
  } catch (e) {
    const status = httpError(e)?.status;
    if (status !== 404 && status !== 422) return call(`deleting branch ${old.head.ref}`, () => Promise.reject(e));
    log.debug({ branch: old.head.ref, status }, "superseded branch already gone");
  }
}

const ENABLE_AUTO_MERGE = `mutation wildsealEnableAutoMerge($pullRequestId: ID!, $mergeMethod: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: { pullRequestId: $pullRequestId, mergeMethod: $mergeMethod }) {
    pullRequest { number autoMergeRequest { mergeMethod } }
  }
}`;

async function enableAutoMerge(
  octokit: Octokit,
  pr: PullSummary,
  method: AutoMergeMethod | false | undefined,
  log: Log,
): Promise<AutoMergeOutcome> {
  if (method === undefined || method === false) return { kind: "not-requested" };
  if (pr.auto_merge !== null && pr.auto_merge.merge_method.toUpperCase() === method) return { kind: "already-enabled" };
  try {
    await octokit.graphql(ENABLE_AUTO_MERGE, { pullRequestId: pr.node_id, mergeMethod: method });
    return { kind: "enabled" };
  } catch (e) {
    // GraphQL-level refusals ("Pull request is in clean status", "unstable status", auto-merge not allowed,
    // draft, missing permission) leave a perfectly good PR: log and carry on. HTTP failures are real failures.
    const gqlErrors = (e as { errors?: unknown }).errors;
    if (httpError(e) === undefined && Array.isArray(gqlErrors)) {
      const reason = gqlErrors.map((x: { message?: string }) => x.message ?? "unknown").join("; ");
      log.warn({ number: pr.number, reason }, "auto-merge not enabled");
      return { kind: "declined", reason };
    }
    return call(`enabling auto-merge on pull request #${pr.number}`, () => Promise.reject(e));
  }
}

/** Opens, updates or leaves alone the PR for `head`, then closes every other wildseal PR for the same base. */
export async function publishPullRequest(octokit: Octokit, opts: PublishPullRequestOptions): Promise<PublishPullRequestResult> {
  const log = (opts.log ?? silentLog).child({ component: "github" });
  const marker = pullRequestMarker(opts.base);
  const body = normalise(opts.body.includes(marker) ? opts.body : `${opts.body.replace(/\n*$/, "")}\n\n${marker}\n`);
  const fullName = `${opts.owner}/${opts.repo}`;

  const open = await listOpen(octokit, opts);
  const sameHead = open.find((pr) => pr.head.ref === opts.head && pr.head.repo?.full_name.toLowerCase() === fullName.toLowerCase());

  let pr: PullSummary;
  let kind: PublishPullRequestResult["kind"];
  if (sameHead !== undefined) {
    const synced = await syncTitleAndBody(octokit, opts, sameHead, body);
    pr = synced.pr;
    kind = synced.changed ? "updated" : "unchanged";
  } else {
    const got = await createOrAdopt(octokit, opts, body);
    if (got.created) {
      pr = got.pr;
      kind = "created";
    } else {
      const synced = await syncTitleAndBody(octokit, opts, got.pr, body);
      pr = synced.pr;
      kind = synced.changed ? "updated" : "unchanged";
    }
  }
  await ensureLabels(octokit, opts, pr);
  log.info({ number: pr.number, url: pr.html_url, head: opts.head, base: opts.base }, `pull request ${kind}`);

  const superseded: number[] = [];
  for (const old of open) {
    if (old.number === pr.number || !isWildsealPull(old, fullName, marker)) continue;
    await supersede(octokit, opts, old, pr.number, log);
    superseded.push(old.number);
  }
  const autoMerge = await enableAutoMerge(octokit, pr, opts.autoMerge, log);
  return { kind, number: pr.number, url: pr.html_url, superseded, autoMerge };
}
