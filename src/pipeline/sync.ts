import type { Diagnostic } from "../errors.ts";
import type { CommitAuthor, CommitSigning, Workspace } from "../git/workspace.ts";
import { commitAndPush, withWorkspace } from "../git/workspace.ts";
import type { GitCredentials } from "../git/credentials.ts";
import { commitMessage, type CommitSummary } from "../git/trailers.ts";
import { createGitHubClient, installationToken, type GitHubAuth, type GitHubClient } from "../github/client.ts";
import { pullRequestMarker, renderPullRequestBody, type PullRequestTenantRow, type TenantChange } from "../github/pr-body.ts";
import { publishPullRequest, type AutoMergeMethod, type PublishPullRequestResult } from "../github/pull-request.ts";
import { apiBaseUrl, repoFromRemoteUrl } from "../github/repo-ref.ts";
import { tokenCredentials } from "../git/credentials.ts";
import { loadConfig, loadRepositoryModel } from "../model/index.ts";
import { renderRepository, type RenderChange, type RenderResult } from "../render/render-repository.ts";
import type { RemovalLimit } from "../render/removal-policy.ts";
import type { SealingCertificate } from "../seal/sealing-cert.ts";
import type { CertFacts, TlsMaterial } from "../tls/types.ts";
import { describeSource, readCertificate, type CertificateSource } from "./certificate-source.ts";
import { controllerCertFetcher, resolveControllerCerts, type ClusterCertReport, type ControllerCertFetcher, type ControllerCertOptions } from "./cluster-certs.ts";
import { commitSummary } from "./commit-summary.ts";
import { readCommittedCertificate } from "./committed-certificate.ts";

/**
 * One sync (docs/cli.md `wildseal sync`): read the certificate, clone the repository privately,
 * render into the clone, and when the rendered tree differs from the branch, commit with the
 * contract's trailers and push — to the branch itself, or to a wildseal/* branch with a pull request.
 */

export interface PullRequestSettings {
  readonly auth: GitHubAuth;
  /** REST base URL; default derived from the remote's host (github.com or GitHub Enterprise) */
  readonly apiUrl?: string;
  /** `owner/repo`; default derived from the remote URL */
  readonly repository?: string;
  readonly labels: readonly string[];
  readonly autoMerge: false | AutoMergeMethod;
  /** an Octokit to use instead of building one (tests, or a caller that already has one) */
  readonly client?: GitHubClient;
}

export type Delivery = { readonly kind: "push" } | { readonly kind: "pull-request"; readonly github: PullRequestSettings };

export interface SyncOptions {
  readonly repo: string;
  readonly branch: string;
  readonly source: CertificateSource;
  readonly delivery: Delivery;
  readonly credentials: GitCredentials;
  readonly author?: CommitAuthor;
  readonly sign?: CommitSigning;
  readonly now?: Date;
  /** sealing certificates fetched from clusters configured with `controller:` */
  readonly sealingCerts?: ReadonlyMap<string, SealingCertificate>;
  /**
   * Fetch the certificate of every `controller:` cluster (like kubeseal) and keep its committed copy
   * `clusters/<cluster>/sealed-secrets.pem` in the same commit (see cluster-certs.ts). Without it such
   * clusters' tenants are held unless `sealingCerts` names them. `sealingCerts` wins where both do.
   */
  readonly controllerCerts?: ControllerCertOptions;
  /** what each controller cluster's certificate check decided (also logged through `log`) */
  readonly onClusterCert?: (report: ClusterCertReport) => void;
  readonly maxAttempts?: number;
  /** how many tenant folders one sync may remove (see removal-policy.ts); default: its limit */
  readonly removals?: RemovalLimit;
  readonly log?: (line: string) => void;
  /**
   * Aborts the sync before its next side effect (`watch` stopping): checked before the clone and
   * after each render, i.e. before anything is committed or pushed. A push already started completes
   * (it is atomic on the remote).
   */
  readonly signal?: AbortSignal;
}

/**
 * Every outcome says `tip`: the branch commit the sync leaves behind as far as it knows — the commit
 * it pushed, or (unchanged, pull request) the branch tip it rendered against; null for a branch that
 * does not exist yet. `watch` acknowledges it so that its Git poll is not woken by wildseal's own work.
 */
export type SyncOutcome =
  | {
      readonly kind: "unchanged";
      readonly tip: string | null;
      readonly diagnostics: readonly Diagnostic[];
      readonly changes: readonly RenderChange[];
    }
  | {
      readonly kind: "pushed";
      readonly tip: string;
      readonly commit: string;
      readonly branch: string;
      readonly summary: CommitSummary;
      readonly message: string;
      readonly diagnostics: readonly Diagnostic[];
      readonly changes: readonly RenderChange[];
    }
  | {
      readonly kind: "pull-request";
      readonly tip: string | null;
      readonly commit: string;
      readonly branch: string;
      readonly summary: CommitSummary;
      readonly pullRequest: PublishPullRequestResult;
      readonly diagnostics: readonly Diagnostic[];
      readonly changes: readonly RenderChange[];
    };

/** The last render of an attempt: a push rejected as non-fast-forward renders again on the new tip. */
interface RenderCapture {
  result?: RenderResult;
  rows?: PullRequestTenantRow[];
  certBefore?: CertFacts;
}

export async function sync(opts: SyncOptions): Promise<SyncOutcome> {
  const log = opts.log ?? (() => {});
  const now = opts.now ?? new Date();
  const tls = await readCertificate(opts.source, now);
  opts.signal?.throwIfAborted();
  log(`certificate ${tls.leaf.dnsNames.join(", ")} sha256 ${tls.leaf.sha256.slice(0, 12)}, not after ${tls.leaf.notAfter.toISOString()}`);

  const github = opts.delivery.kind === "pull-request" ? await gitHubFor(opts.repo, opts.delivery.github) : undefined;
  const credentials = github?.pushCredentials ?? opts.credentials;

  return withWorkspace({ repo: opts.repo, branch: opts.branch, credentials, log, missingBranch: "fail", ...(opts.signal === undefined ? {} : { signal: opts.signal }) }, async (ws) => {
    const capture: RenderCapture = {};
    const fetcher = opts.controllerCerts === undefined ? undefined : controllerCertFetcher(opts.controllerCerts, opts.signal);
    const render = (dir: string) => renderInto(dir, tls, opts, now, capture, github !== undefined, fetcher);
    const pushed = await commitAndPush(ws, {
      render,
      ...(opts.author === undefined ? {} : { author: opts.author }),
      ...(opts.sign === undefined ? {} : { sign: opts.sign }),
      ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
      target: github === undefined ? { kind: "branch" } : { kind: "review" },
    });
    const diagnostics = capture.result?.diagnostics ?? [];
    const changes = capture.result?.changes ?? [];
    if (pushed.kind === "unchanged") {
      // with problems, "nothing to publish" is not the same as "up to date": the problems held changes back
      log(
        diagnostics.length === 0
          ? "nothing to publish: the branch already holds this rendered tree"
          : `nothing published: ${diagnostics.length} problem${diagnostics.length === 1 ? "" : "s"} held changes back`,
      );
      return { kind: "unchanged", tip: ws.baseCommit, diagnostics, changes };
    }
    if (github === undefined) {
      if (pushed.kind !== "pushed") throw new Error("a push to the branch cannot be up-to-date without being unchanged");
      log(`pushed ${pushed.commit.slice(0, 12)} to ${ws.remoteDisplay} ${pushed.branch}: ${pushed.message.split("\n")[0]}`);
      return { kind: "pushed", tip: pushed.commit, commit: pushed.commit, branch: pushed.branch, summary: pushed.summary, message: pushed.message, diagnostics, changes };
    }
    const pullRequest = await openPullRequest(github, ws, pushed.branch, pushed.summary, capture, tls);
    log(`pull request #${pullRequest.number} ${pullRequest.kind}: ${pullRequest.url}`);
    return { kind: "pull-request", tip: ws.baseCommit, commit: pushed.commit, branch: pushed.branch, summary: pushed.summary, pullRequest, diagnostics, changes };
  });
}

async function renderInto(
  dir: string,
  tls: TlsMaterial,
  opts: SyncOptions,
  now: Date,
  capture: RenderCapture,
  forReview: boolean,
  fetcher: ControllerCertFetcher | undefined,
): Promise<CommitSummary | null> {
  const before = forReview ? await readCommittedCertificate(dir) : undefined;
  opts.signal?.throwIfAborted();
  const sealingCerts = await sealingCertsFor(dir, opts, now, fetcher);
  opts.signal?.throwIfAborted();
  const result = await renderRepository({
    repoDir: dir,
    tls,
    now,
    sourceLabel: describeSource(opts.source),
    ...(sealingCerts === undefined ? {} : { sealingCerts }),
    ...(opts.removals === undefined ? {} : { removals: opts.removals }),
  });
  capture.result = result;
  // the last point before commit and push
  opts.signal?.throwIfAborted();
  if (forReview) {
    capture.rows = await tenantRows(dir, result.changes);
    if (before !== undefined) capture.certBefore = before;
  }
  return commitSummary(result.changes, tls.leaf, result.files);
}

/**
 * The given certificates plus those of `controller:` clusters, checked against (and written to) this
 * attempt's tip: each push attempt renders on a fresh tip whose committed copy may have moved.
 */
async function sealingCertsFor(
  dir: string,
  opts: SyncOptions,
  now: Date,
  fetcher: ControllerCertFetcher | undefined,
): Promise<ReadonlyMap<string, SealingCertificate> | undefined> {
  if (fetcher === undefined || opts.controllerCerts === undefined) return opts.sealingCerts;
  const { config } = await loadConfig(dir);
  // an invalid config renders nothing: the renderer reports it
  if (config === undefined) return opts.sealingCerts;
  const given = opts.sealingCerts ?? new Map<string, SealingCertificate>();
  const resolved = await resolveControllerCerts(dir, { ...config, clusters: config.clusters.filter((c) => !given.has(c.name)) }, {
    fetch: fetcher,
    resealOnRotation: opts.controllerCerts.resealOnRotation,
    now,
  });
  for (const r of resolved.reports) {
    opts.log?.(r.message);
    opts.onClusterCert?.(r);
  }
  return new Map([...resolved.certs, ...given]);
}

async function tenantRows(dir: string, changes: readonly RenderChange[]): Promise<PullRequestTenantRow[]> {
  const model = await loadRepositoryModel(dir);
  const byName = new Map(model.tenants.map((t) => [t.name, t]));
  const rows: PullRequestTenantRow[] = [];
  for (const c of changes) {
    if (c.kind === "keep" || c.kind === "hold") continue;
    const t = byName.get(c.tenant);
    rows.push({
      name: c.tenant,
      cluster: c.cluster,
      namespace: t?.namespace ?? "(removed)",
      hosts: t?.hosts ?? [],
      scope: t?.scope ?? "",
      change: c.kind as TenantChange,
    });
  }
  return rows;
}

interface GitHubTarget {
  readonly client: GitHubClient;
  readonly owner: string;
  readonly repo: string;
  readonly settings: PullRequestSettings;
  readonly pushCredentials?: GitCredentials;
}

function gitHubRef(remote: string, settings: PullRequestSettings): { owner: string; repo: string; host: string } {
  return settings.repository !== undefined ? { ...splitRepository(settings.repository), host: "github.com" } : repoFromRemoteUrl(remote);
}

function gitHubClientFor(remote: string, settings: PullRequestSettings): GitHubClient {
  return settings.client ?? createGitHubClient({ auth: settings.auth, baseUrl: settings.apiUrl ?? apiBaseUrl(gitHubRef(remote, settings).host) });
}

/**
 * What git authenticates with for this delivery, asked anew before each use: a GitHub App's
 * installation token (auth-app caches it until shortly before its hour runs out), else `given`.
 */
export function gitCredentialSource(remote: string, delivery: Delivery, given: GitCredentials): () => Promise<GitCredentials> {
  if (delivery.kind !== "pull-request" || delivery.github.auth.kind !== "app") return () => Promise.resolve(given);
  const client = gitHubClientFor(remote, delivery.github);
  return async () => tokenCredentials((await installationToken(client)).reveal(), "GitHub App installation token");
}

async function gitHubFor(remote: string, settings: PullRequestSettings): Promise<GitHubTarget> {
  const ref = gitHubRef(remote, settings);
  const client = gitHubClientFor(remote, settings);
  // A GitHub App pushes with its installation token; a plain token is already the caller's git credential.
  const pushCredentials =
    settings.auth.kind === "app" ? tokenCredentials((await installationToken(client)).reveal(), "GitHub App installation token") : undefined;
  return { client, owner: ref.owner, repo: ref.repo, settings, ...(pushCredentials === undefined ? {} : { pushCredentials }) };
}

function splitRepository(s: string): { owner: string; repo: string } {
  const [owner, repo, ...rest] = s.split("/");
  if (owner === undefined || repo === undefined || rest.length > 0 || owner === "" || repo === "") {
    throw new TypeError(`--github-repository must be OWNER/REPO, got "${s}"`);
  }
  return { owner, repo };
}

async function openPullRequest(
  gh: GitHubTarget,
  ws: Workspace,
  head: string,
  summary: CommitSummary,
  capture: RenderCapture,
  tls: TlsMaterial,
): Promise<PublishPullRequestResult> {
  const title = commitMessage(summary).split("\n")[0] ?? "wildseal";
  const body = renderPullRequestBody({
    summary: title,
    tenants: capture.rows ?? [],
    ...(capture.certBefore === undefined ? {} : { certBefore: capture.certBefore }),
    certAfter: tls.leaf,
    marker: pullRequestMarker(ws.branch),
  });
  return publishPullRequest(gh.client, {
    owner: gh.owner,
    repo: gh.repo,
    base: ws.branch,
    head,
    title,
    body,
    labels: gh.settings.labels,
    autoMerge: gh.settings.autoMerge,
  });
}
