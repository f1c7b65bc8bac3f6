/**
 * The GitHub side of escalation (pipeline/escalation.ts decides, this talks to GitHub): read a pull
 * request's state, age and labels; read its comments to find wildseal's earlier escalation markers
 * (so a restart does not comment twice); post one comment; add one label. Each call that still fails
 * after the client's retries is a DependencyError naming what was attempted.
 */
import type { Octokit } from "@octokit/rest";
import { DependencyError } from "../errors.ts";

export interface PullRequestRef {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
}

export interface PullRequestFacts {
  readonly number: number;
  readonly createdAt: Date;
  readonly state: "open" | "closed" | "merged";
  readonly labels: readonly string[];
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const status = (e as { status?: unknown }).status;
    const detail = typeof status === "number" ? `HTTP ${status}: ${(e as Error).message}` : e instanceof Error ? e.message : String(e);
    const hint = status === 403 || status === 404 ? " (the token needs write access to the repository's pull requests and issues)" : "";
    throw new DependencyError(`GitHub ${what} failed: ${detail}${hint}`, { cause: e });
  }
}

export async function pullRequestFacts(octokit: Octokit, ref: PullRequestRef): Promise<PullRequestFacts> {
  const { data } = await call(`reading pull request #${ref.number} of ${ref.owner}/${ref.repo}`, () =>
    octokit.rest.pulls.get({ owner: ref.owner, repo: ref.repo, pull_number: ref.number }),
  );
  return {
    number: data.number,
    createdAt: new Date(data.created_at),
    state: data.merged_at !== null ? "merged" : data.state === "open" ? "open" : "closed",
    labels: data.labels.map((l) => l.name ?? "").filter((n) => n !== ""),
  };
}

/** The bodies of every comment on the PR's conversation (paginated; a long discussion is still read whole). */
export async function pullRequestCommentBodies(octokit: Octokit, ref: PullRequestRef): Promise<string[]> {
  const comments = await call(`listing comments of pull request #${ref.number}`, () =>
    octokit.paginate(octokit.rest.issues.listComments, { owner: ref.owner, repo: ref.repo, issue_number: ref.number, per_page: 100 }),
  );
  return comments.map((c) => c.body ?? "");
}

export async function commentOnPullRequest(octokit: Octokit, ref: PullRequestRef, body: string): Promise<string> {
  const { data } = await call(`commenting on pull request #${ref.number}`, () =>
    octokit.rest.issues.createComment({ owner: ref.owner, repo: ref.repo, issue_number: ref.number, body }),
  );
  return data.html_url;
}

/** Adds the label (GitHub creates a missing repository label on the fly; adding one twice is harmless). */
export async function labelPullRequest(octokit: Octokit, ref: PullRequestRef, label: string): Promise<void> {
  await call(`labelling pull request #${ref.number} ${JSON.stringify(label)}`, () =>
    octokit.rest.issues.addLabels({ owner: ref.owner, repo: ref.repo, issue_number: ref.number, labels: [label] }),
  );
}
