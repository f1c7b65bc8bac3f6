/**
 * Which GitHub repository a Git remote points at, and where that GitHub's REST API lives.
 * Pure: no network. Remote URLs may carry credentials, so nothing here ever echoes userinfo.
 */
import { UsageError } from "../errors.ts";

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

/** Replaces the userinfo of a URL-ish string so a token can never reach a message. */
export function redactRemoteUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, "$1***@");
}

function parsePath(path: string, shown: string): { owner: string; repo: string } {
  const trimmed = path.replace(/^\/+/, "").replace(/\/+$/, "").replace(/\.git$/, "");
  const parts = trimmed.split("/");
  const [owner, repo] = parts;
  if (parts.length !== 2 || owner === undefined || repo === undefined) {
    throw new UsageError(
      `remote ${shown} does not name a GitHub repository as <owner>/<repo>; use e.g. https://github.com/acme/gitops.git`,
    );
  }
  if (!OWNER.test(owner) || !REPO.test(repo) || repo === "." || repo === "..") {
    throw new UsageError(`remote ${shown}: "${owner}/${repo}" is not a valid GitHub owner/repository name`);
  }
  return { owner, repo };
}

/**
 * Parses `https://[user[:token]@]host[:port]/owner/repo[.git]`, `ssh://[user@]host[:port]/owner/repo[.git]`
 * and scp-like `user@host:owner/repo[.git]`. Anything else (file paths, http://, git://) is a UsageError.
 */
export function repoFromRemoteUrl(url: string): RepoRef {
  const shown = redactRemoteUrl(url.trim());
  const text = url.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw new UsageError(`remote ${shown} is not a valid URL`);
    }
    const scheme = parsed.protocol;
    if (scheme !== "https:" && scheme !== "ssh:") {
      throw new UsageError(
        `remote ${shown}: pull-request mode needs an https:// or ssh:// GitHub remote (got ${scheme.replace(/:$/, "")}://)`,
      );
    }
    if (parsed.search !== "" || parsed.hash !== "") {
      throw new UsageError(`remote ${shown}: unexpected query or fragment in a Git remote URL`);
    }
    const hostname = parsed.hostname.toLowerCase();
    if (hostname === "") throw new UsageError(`remote ${shown} has no host`);
    // an ssh port is not where the API lives; an https port is (GitHub Enterprise on a custom port)
    const host = scheme === "https:" && parsed.port !== "" ? `${hostname}:${parsed.port}` : hostname;
    return { ...parsePath(decodeURIComponent(parsed.pathname), shown), host };
  }
  const scp = SCP_LIKE.exec(text);
  if (scp !== null && scp[1] !== undefined && scp[2] !== undefined) {
    return { ...parsePath(scp[2], shown), host: scp[1].toLowerCase() };
  }
  throw new UsageError(
    `remote ${shown} is not a GitHub remote; pull-request mode needs https://host/owner/repo, ` +
      "git@host:owner/repo.git or ssh://git@host/owner/repo",
  );
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
      throw new UsageError(`--github-api-url ${redactRemoteUrl(override)} is not a valid URL`);
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
