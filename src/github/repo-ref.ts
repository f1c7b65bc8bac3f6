/**
 * Which GitHub repository a Git remote points at, and where that GitHub's REST API lives.
 * Pure: no network. Remote URLs may carry credentials, so nothing here ever echoes userinfo.
 */
import { UsageError } from "../errors.ts";
import { redactUrl } from "../git/remote-url.ts";

export interface RepoRef {
  readonly owner: string;
  readonly repo: string;
  /** lower-cased host name; for https remotes with an explicit port, `host:port` */
  readonly host: string;
}

// GitHub's own limits: owner 1-39 chars of [A-Za-z0-9-] not starting with '-'; repo 1-100 of [A-Za-z0-9._-].
const OWNER = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;
// scp-like ssh syntax as git understands it: [user@]host:path, where host has no '/' and path doesn't start with '/'
const SCP_LIKE = /^(?:[^@/:\s]+@)?([A-Za-z0-9.-]+):(?!\/)(.+)$/;

/** How a refused owner/repo is worded: it came from a remote URL or from `--github-repository`. */
interface PathWording {
  /** not two parts */
  readonly shape: string;
  /** the prefix of "…: "o/r" is not a valid GitHub owner/repository name" */
  readonly subject: string;
}

/**
 * The one owner/repo parser (a remote's path, `--github-repository`): leading and trailing slashes
 * and a `.git` suffix are dropped; both names must be within GitHub's limits. UsageError otherwise.
 */
function parsePath(path: string, wording: PathWording): { owner: string; repo: string } {
  const trimmed = path.replace(/^\/+/, "").replace(/\/+$/, "").replace(/\.git$/, "");
  const parts = trimmed.split("/");
  const [owner, repo] = parts;
  if (parts.length !== 2 || owner === undefined || repo === undefined) throw new UsageError(wording.shape);
  if (!OWNER.test(owner) || !REPO.test(repo) || repo === "." || repo === "..") {
    throw new UsageError(`${wording.subject}: "${owner}/${repo}" is not a valid GitHub owner/repository name`);
  }
  return { owner, repo };
}

function remoteWording(shown: string): PathWording {
  return {
    shape: `remote ${shown} does not name a GitHub repository as <owner>/<repo>; use e.g. https://github.com/acme/gitops.git`,
    subject: `remote ${shown}`,
  };
}

/** `--github-repository OWNER/REPO`; a malformed value is a UsageError (exit 2). */
export function parseRepositoryFlag(text: string): { owner: string; repo: string } {
  return parsePath(text, { shape: `--github-repository must be OWNER/REPO, got "${text}"`, subject: "--github-repository" });
}

/**
 * Parses `https://[user[:token]@]host[:port]/owner/repo[.git]`, `ssh://[user@]host[:port]/owner/repo[.git]`
 * and scp-like `user@host:owner/repo[.git]`. Anything else (file paths, http://, git://) is a UsageError.
 */
export function repoFromRemoteUrl(url: string): RepoRef {
  const shown = redactUrl(url.trim());
  const parts = remoteParts(url, shown);
  if ("problem" in parts) throw new UsageError(parts.problem);
  return { ...parsePath(parts.path, remoteWording(shown)), host: parts.host };
}

/** A GitHub remote's host (as RepoRef.host) and repository path, or why it is none. */
function remoteParts(url: string, shown: string): { readonly host: string; readonly path: string } | { readonly problem: string } {
  const text = url.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      return { problem: `remote ${shown} is not a valid URL` };
    }
    const scheme = parsed.protocol;
    if (scheme !== "https:" && scheme !== "ssh:") {
      return { problem: `remote ${shown}: pull-request mode needs an https:// or ssh:// GitHub remote (got ${scheme.replace(/:$/, "")}://)` };
    }
    if (parsed.search !== "" || parsed.hash !== "") {
      return { problem: `remote ${shown}: unexpected query or fragment in a Git remote URL` };
    }
    const hostname = parsed.hostname.toLowerCase();
    if (hostname === "") return { problem: `remote ${shown} has no host` };
    // an ssh port is not where the API lives; an https port is (GitHub Enterprise on a custom port)
    const host = scheme === "https:" && parsed.port !== "" ? `${hostname}:${parsed.port}` : hostname;
    return { host, path: decodeURIComponent(parsed.pathname) };
  }
  const scp = SCP_LIKE.exec(text);
  if (scp !== null && scp[1] !== undefined && scp[2] !== undefined) return { host: scp[1].toLowerCase(), path: scp[2] };
  return {
    problem:
      `remote ${shown} is not a GitHub remote; pull-request mode needs https://host/owner/repo, ` +
      "git@host:owner/repo.git or ssh://git@host/owner/repo",
  };
}

/**
 * REST base URL for a GitHub host: api.github.com for github.com, api.<sub>.ghe.com for GitHub Enterprise
 * Cloud with data residency, `https://<host>/api/v3` for GitHub Enterprise Server; `override`
 * (`--github-api-url`) wins. Octokit derives the GraphQL endpoint from it (…/api/v3 → …/api/graphql).
 */
export function apiBaseUrl(host: string, override?: string): string {
  if (override !== undefined && override !== "") {
    let parsed: URL;
    try {
      parsed = new URL(override);
    } catch {
      throw new UsageError(`--github-api-url ${redactUrl(override)} is not a valid URL`);
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      throw new UsageError(`--github-api-url must be an http(s) URL, got ${parsed.protocol}`);
    }
    if (parsed.username !== "" || parsed.password !== "") {
      throw new UsageError("--github-api-url must not carry credentials; pass the token through the environment");
    }
    return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, "");
  }
  const h = host.toLowerCase();
  if (h === "github.com" || h === "www.github.com" || h === "ssh.github.com") return "https://api.github.com";
  const ghe = /^([a-z0-9-]+)\.ghe\.com$/.exec(h);
  if (ghe !== null) return `https://api.${ghe[1]}.ghe.com`;
  return `https://${h}/api/v3`;
}

/** The host a REST base URL serves: the inverse of apiBaseUrl (api.github.com → github.com). */
export function hostOfApiUrl(apiUrl: string): string {
  const url = new URL(apiBaseUrl("github.com", apiUrl));
  const host = url.host.toLowerCase();
  if (host === "api.github.com") return "github.com";
  const ghe = /^api\.([a-z0-9-]+\.ghe\.com)$/.exec(host);
  return ghe?.[1] ?? host;
}

/**
 * The repository a pull request goes to: the remote URL's, or `--github-repository` on the host the
 * API is on — `--github-api-url`'s, else the remote's (a GitHub Enterprise remote whose path is not
 * owner/repo), else github.com.
 */
export function pullRequestRepository(remote: string, opts: { readonly repository?: string; readonly apiUrl?: string }): RepoRef {
  if (opts.repository === undefined) return repoFromRemoteUrl(remote);
  const name = parseRepositoryFlag(opts.repository);
  if (opts.apiUrl !== undefined && opts.apiUrl !== "") return { ...name, host: hostOfApiUrl(opts.apiUrl) };
  const parts = remoteParts(remote, "");
  return { ...name, host: "host" in parts ? parts.host : "github.com" };
}
