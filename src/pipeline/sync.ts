import type { Diagnostic } from "../errors.ts";
import { type Log, silentLog } from "../log.ts";
import type { CommitAuthor, CommitSigning, Rendered, Workspace } from "../git/workspace.ts";
import { commitAndPush, withWorkspace } from "../git/workspace.ts";
import type { GitCredentials } from "../git/credentials.ts";
import { commitMessage, type CommitSummary } from "../git/trailers.ts";
import type { GitHubAuth, GitHubClient } from "../github/client.ts";
import { certificatesInChange, pullRequestMarker, renderPullRequestBody, tenantRows } from "../github/pr-body.ts";
import { publishPullRequest, type AutoMergeMethod, type PublishPullRequestResult } from "../github/pull-request.ts";
import { apiBaseUrl, pullRequestRepository, type RepoRef } from "../github/repo-ref.ts";
import { tokenCredentials } from "../git/credentials.ts";
import type { RepositoryModel } from "../model/index.ts";
import { SEALING_CHANGES, type ChangeKind } from "../render/plan.ts";
import { renderInputs, throttled, type RenderChange, type RenderProgress, type RenderResult } from "../render/render-repository.ts";
import { loadRepositoryInputs, type RepositoryInputs } from "../render/repository-inputs.ts";
import type { RemovalLimit } from "../render/removal-policy.ts";
import type { SealingCertificate } from "../seal/sealing-cert.ts";
import type { CertFacts, TlsMaterial } from "../tls/types.ts";
import { describeSource, readCertificate, type CertificateSource } from "./certificate-source.ts";
import { controllerCertFetcher, resolveControllerCerts, type ClusterCertReport, type ControllerCertFetcher, type ControllerCertOptions } from "./cluster-certs.ts";
import { certificateDomain, commitSummary } from "./commit-summary.ts";
import { committedCertificates } from "./committed-certificate.ts";

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
  /** the certificate (one certificate); with `certificates`, only the first of them is read from here too */
  readonly source: CertificateSource;
  /**
   * Several certificates (spec.certificates): name → where each is read, every certificate of the
   * config. Each tenant is sealed with its own; commits name the renewed ones (Wildseal-Certificate).
   */
  readonly certificates?: ReadonlyMap<string, CertificateSource>;
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
  /**
   * Where the sync narrates (its own lines, and `{ component: "git" }` for the clone and push), at
   * debug: `watch` passes `log.child({ component: "sync" })`, the one-shot CLI prints every line.
   */
  readonly log?: Log;
  /**
   * Aborts the sync before its next side effect (`watch` stopping): checked before the clone and
   * after each render, i.e. before anything is committed or pushed. A push already started completes
   * (it is atomic on the remote).
   */
  readonly signal?: AbortSignal;
  /** how far each render step is (read, seal, write): see RenderOptions.onProgress and src/cli/progress.ts */
  readonly onProgress?: (p: RenderProgress) => void;
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
      /** notAfter of the certificate the base branch holds until the PR merges (escalation's fallback); absent when it holds none */
      readonly committedNotAfter?: Date;
    };

/** What one render step learnt, kept for after the push (a rejected push renders again on the new tip: the last one counts). */
interface SyncRender {
  readonly result: RenderResult;
  /** the repository as this render loaded it: the pull request's tenant rows come from its model */
  readonly inputs: RepositoryInputs;
  /** the certificate the branch held before this render (pull requests only) */
  readonly certBefore: CertFacts | undefined;
  /** the earliest notAfter the branch held before this change (escalation); pull-request mode only */
  readonly committedNotAfter: Date | undefined;
}

export async function sync(opts: SyncOptions): Promise<SyncOutcome> {
  const log = opts.log ?? silentLog;
  const say = (line: string): void => log.debug(line);
  const now = opts.now ?? new Date();
  const several = new Map<string, { tls: TlsMaterial; label: string }>();
  for (const [name, source] of opts.certificates ?? []) {
    // an expired one holds only its own tenants (render/plan.ts), not every certificate's
    const material = await readCertificate(source, now, "allow");
    several.set(name, { tls: material, label: describeSource(source) });
    say(`certificate ${name}: ${material.leaf.dnsNames.join(", ")} sha256 ${material.leaf.sha256.slice(0, 12)}, not after ${material.leaf.notAfter.toISOString()}`);
  }
  const tls = [...several.values()][0]?.tls ?? (await readCertificate(opts.source, now));
  opts.signal?.throwIfAborted();
  if (several.size === 0) say(`certificate ${tls.leaf.dnsNames.join(", ")} sha256 ${tls.leaf.sha256.slice(0, 12)}, not after ${tls.leaf.notAfter.toISOString()}`);

  const github = opts.delivery.kind === "pull-request" ? await gitHubFor(opts.repo, opts.delivery.github, log) : undefined;
  const credentials = github?.pushCredentials ?? opts.credentials;

  return withWorkspace({ repo: opts.repo, branch: opts.branch, credentials, log, missingBranch: "fail", ...(opts.signal === undefined ? {} : { signal: opts.signal }) }, async (ws) => {
    const fetcher = opts.controllerCerts === undefined ? undefined : controllerCertFetcher(opts.controllerCerts, opts.signal);
    const pushed = await commitAndPush(ws, {
      render: (dir) => renderInto(dir, tls, several, opts, now, github !== undefined, fetcher, say),
      ...(opts.author === undefined ? {} : { author: opts.author }),
      ...(opts.sign === undefined ? {} : { sign: opts.sign }),
      ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
      target: github === undefined ? { kind: "branch" } : { kind: "review" },
    });
    const { diagnostics, changes } = pushed.value.result;
    if (pushed.kind === "unchanged") {
      // with problems, "nothing to publish" is not the same as "up to date": the problems held changes back
      say(
        diagnostics.length === 0
          ? "nothing to publish: the branch already holds this rendered tree"
          : `nothing published: ${diagnostics.length} problem${diagnostics.length === 1 ? "" : "s"} held changes back`,
      );
      return { kind: "unchanged", tip: ws.baseCommit, diagnostics, changes };
    }
    if (github === undefined) {
      if (pushed.kind !== "pushed") throw new Error("a push to the branch cannot be up-to-date without being unchanged");
      say(`pushed ${pushed.commit.slice(0, 12)} to ${ws.remoteDisplay} ${pushed.branch}: ${pushed.message.split("\n")[0]}`);
      return { kind: "pushed", tip: pushed.commit, commit: pushed.commit, branch: pushed.branch, summary: pushed.summary, message: pushed.message, diagnostics, changes };
    }
    const pullRequest = await openPullRequest(github, ws, pushed.branch, pushed.summary, pushed.value, tls);
    say(`pull request #${pullRequest.number} ${pullRequest.kind}: ${pullRequest.url}`);
    const committedNotAfter = pushed.value.committedNotAfter; // escalation (pipeline/escalator.ts)
    return { kind: "pull-request", tip: ws.baseCommit, commit: pushed.commit, branch: pushed.branch, summary: pushed.summary, pullRequest, diagnostics, changes, ...(committedNotAfter === undefined ? {} : { committedNotAfter }) };
  });
}

/**
 * One render on this attempt's tip: the repository is loaded once, and the committed certificate,
 * the controllers' certificates and the pull request's rows all come from that one load.
 */
async function renderInto(
  dir: string,
  tls: TlsMaterial,
  several: ReadonlyMap<string, { readonly tls: TlsMaterial; readonly label: string }>,
  opts: SyncOptions,
  now: Date,
  forReview: boolean,
  fetcher: ControllerCertFetcher | undefined,
  say: (line: string) => void,
): Promise<Rendered<SyncRender>> {
  const inputs = await loadRepositoryInputs(dir, {
    now,
    committedTree: true,
    ...(opts.sealingCerts === undefined ? {} : { givenSealingCerts: new Set(opts.sealingCerts.keys()) }),
    ...(opts.onProgress === undefined ? {} : { onProgress: throttled(opts.onProgress) }),
  });
  const config = inputs.model.config;
  // one pass over the committed SealedSecrets for both (10,000 of them in a large repository)
  const committed = forReview && config !== undefined && inputs.existing !== undefined ? committedCertificates(inputs.existing, config.output) : undefined;
  const certBefore = committed?.newest;
  const committedNotAfter = committed?.earliestNotAfter;
  opts.signal?.throwIfAborted();
  const sealingCerts = await sealingCertsFor(dir, inputs.model, opts, now, fetcher, say);
  opts.signal?.throwIfAborted();
  const result = await renderInputs(inputs, {
    repoDir: dir,
    tls,
    now,
    sourceLabel: describeSource(opts.source),
    ...(several.size === 0 ? {} : { certificates: several }),
    ...(sealingCerts === undefined ? {} : { sealingCerts }),
    ...(opts.removals === undefined ? {} : { removals: opts.removals }),
    ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
  });
  // the last point before commit and push
  opts.signal?.throwIfAborted();
  return { summary: namingCertificates(commitSummary(result.changes, tls.leaf, result.files), result), value: { result, inputs, certBefore, committedNotAfter } };
}

/**
 * Several certificates: the commit names each certificate it seals tenants with (Wildseal-Certificate:
 * renewed, added, updated or resealed tenants), and its fingerprint trailers and subject are the first
 * renewed one's — else the first sealed one's — not whichever certificate is first in wildseal.yaml.
 */
export function namingCertificates(summary: CommitSummary | null, result: Pick<RenderResult, "changes" | "leaves">): CommitSummary | null {
  if (summary === null || result.leaves === undefined) return summary;
  const of = (kinds: ReadonlySet<ChangeKind>): string[] =>
    [...new Set(result.changes.flatMap((c) => (kinds.has(c.kind) && c.certificate !== undefined ? [c.certificate] : [])))].sort();
  const renewed = of(new Set<ChangeKind>(["renew"]));
  const sealed = of(SEALING_CHANGES);
  const name = renewed[0] ?? sealed[0];
  const first = name === undefined ? undefined : result.leaves.get(name);
  if (first === undefined) return summary;
  return { ...summary, certSha256: first.sha256, certNotAfter: first.notAfter, domain: certificateDomain(first), certificates: sealed };
}

/**
 * The given certificates plus those of `controller:` clusters, checked against (and written to) this
 * attempt's tip: each push attempt renders on a fresh tip whose committed copy may have moved.
 */
async function sealingCertsFor(
  dir: string,
  model: RepositoryModel,
  opts: SyncOptions,
  now: Date,
  fetcher: ControllerCertFetcher | undefined,
  say: (line: string) => void,
): Promise<ReadonlyMap<string, SealingCertificate> | undefined> {
  const config = model.config;
  // an invalid config renders nothing: the renderer reports it
  if (fetcher === undefined || opts.controllerCerts === undefined || config === undefined) return opts.sealingCerts;
  const given = opts.sealingCerts ?? new Map<string, SealingCertificate>();
  const resolved = await resolveControllerCerts(dir, { ...config, clusters: config.clusters.filter((c) => !given.has(c.name)) }, {
    fetch: fetcher,
    resealOnRotation: opts.controllerCerts.resealOnRotation,
    now,
  });
  for (const r of resolved.reports) {
    say(r.message);
    opts.onClusterCert?.(r);
  }
  return new Map([...resolved.certs, ...given]);
}

interface GitHubTarget {
  readonly client: GitHubClient;
  readonly owner: string;
  readonly repo: string;
  readonly settings: PullRequestSettings;
  readonly pushCredentials?: GitCredentials;
}

function gitHubRef(remote: string, settings: PullRequestSettings): RepoRef {
  return pullRequestRepository(remote, {
    ...(settings.repository === undefined ? {} : { repository: settings.repository }),
    ...(settings.apiUrl === undefined ? {} : { apiUrl: settings.apiUrl }),
  });
}

// github/client.ts (Octokit) is imported at these points of use, not at the top: it is loaded only in
// pull-request mode.
function gitHubClientFor(remote: string, settings: PullRequestSettings, log: Log = silentLog): Promise<GitHubClient> {
  if (settings.client !== undefined) return Promise.resolve(settings.client);
  // resolved now, not in the import's callback: a remote naming no GitHub repository is refused at once, as before
  const baseUrl = apiBaseUrl(gitHubRef(remote, settings).host, settings.apiUrl);
  return import("../github/client.ts").then(({ createGitHubClient }) => createGitHubClient({ auth: settings.auth, baseUrl, log }));
}

async function installationToken(client: GitHubClient): ReturnType<typeof import("../github/client.ts").installationToken> {
  return (await import("../github/client.ts")).installationToken(client);
}

/**
 * What git authenticates with for this delivery, asked anew before each use: a GitHub App's
 * installation token (auth-app caches it until shortly before its hour runs out), else `given`.
 */
export function gitCredentialSource(remote: string, delivery: Delivery, given: GitCredentials): () => Promise<GitCredentials> {
  if (delivery.kind !== "pull-request" || delivery.github.auth.kind !== "app") return () => Promise.resolve(given);
  const client = gitHubClientFor(remote, delivery.github);
  client.catch(() => undefined); // awaited by each call below; not an unhandled rejection meanwhile
  return async () => tokenCredentials((await installationToken(await client)).reveal(), "GitHub App installation token");
}

async function gitHubFor(remote: string, settings: PullRequestSettings, log: Log): Promise<GitHubTarget> {
  const ref = gitHubRef(remote, settings);
  const client = await gitHubClientFor(remote, settings, log);
  // A GitHub App pushes with its installation token; a plain token is already the caller's git credential.
  const pushCredentials =
    settings.auth.kind === "app" ? tokenCredentials((await installationToken(client)).reveal(), "GitHub App installation token") : undefined;
  return { client, owner: ref.owner, repo: ref.repo, settings, ...(pushCredentials === undefined ? {} : { pushCredentials }) };
}

async function openPullRequest(
  gh: GitHubTarget,
  ws: Workspace,
  head: string,
  summary: CommitSummary,
  rendered: SyncRender,
  tls: TlsMaterial,
): Promise<PublishPullRequestResult> {
  const title = commitMessage(summary).split("\n")[0] ?? "wildseal";
  const body = renderPullRequestBody({
    summary: title,
    tenants: tenantRows(rendered.inputs.model.tenants, rendered.result.changes),
    ...(rendered.certBefore === undefined ? {} : { certBefore: rendered.certBefore }),
    certAfter: tls.leaf,
    marker: pullRequestMarker(ws.branch),
    // several certificates: each one in the change, renewed ones old → new (first publication and renewal alike)
    ...(rendered.result.leaves === undefined
      ? {}
      : { certificates: certificatesInChange(rendered.result.changes, rendered.result.leaves, rendered.inputs.existing, rendered.inputs.model.config?.output ?? "") }),
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
