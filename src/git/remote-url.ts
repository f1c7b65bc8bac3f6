import { isAbsolute, resolve } from "node:path";
import { UsageError } from "../errors.ts";

/**
 * What `--repo` may name. Git itself accepts far more (`ext::sh -c …`, `fd::`, `git://`, helper
 * transports); each of those either runs commands or talks without authentication, so only these
 * five kinds get through.
 */
export type RemoteKind = "path" | "file" | "https" | "http" | "ssh";

export interface ClassifiedRemote {
  readonly kind: RemoteKind;
  /** what git is given: an absolute path for `path`, the URL otherwise (userinfo still in it) */
  readonly url: string;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const TRANSPORT_HELPER = /^[A-Za-z][A-Za-z0-9+.-]*::/;
// `user@host:path` (scp-like): a colon before any slash, and something before the colon.
const SCP_LIKE = /^(?:[^@/:\s]+@)?([^@/:\s]+):(?!\/\/)(.*)$/;
const SECRET_QUERY_KEY = /^(?:access_?token|token|key|secret|password|passwd|sig|signature|auth)$/i;

/** Classifies a `--repo` value; throws UsageError for anything wildseal will not hand to git. */
export function classifyRemote(repo: string): ClassifiedRemote {
  if (repo.trim() === "") throw new UsageError("--repo is empty: give a local path or a Git URL");
  if (/[\u0000-\u001f\u007f]/.test(repo)) {
    throw new UsageError(`--repo ${JSON.stringify(redactUrl(repo))} contains control characters`);
  }
  if (repo.startsWith("-")) {
    throw new UsageError(`--repo ${JSON.stringify(redactUrl(repo))} looks like an option; give a path or a URL`);
  }
  if (TRANSPORT_HELPER.test(repo)) {
    throw new UsageError(
      `--repo ${JSON.stringify(redactUrl(repo))}: transport "${repo.split("::")[0]}::" is not allowed; use https://, ssh://, file:// or a local path`,
    );
  }
  const scheme = SCHEME.exec(repo)?.[1]?.toLowerCase();
  if (scheme !== undefined) return classifyUrl(repo, scheme);
  const scp = SCP_LIKE.exec(repo);
  if (scp !== null && !repo.startsWith(".") && !repo.startsWith("/")) {
    if (scp[1]?.startsWith("-")) throw new UsageError(`--repo ${JSON.stringify(repo)}: host looks like an option`);
    return { kind: "ssh", url: repo };
  }
  return { kind: "path", url: isAbsolute(repo) ? repo : resolve(repo) };
}

function classifyUrl(repo: string, scheme: string): ClassifiedRemote {
  const shown = JSON.stringify(redactUrl(repo));
  let parsed: URL;
  try {
    parsed = new URL(repo);
  } catch {
    throw new UsageError(`--repo ${shown} is not a valid URL`);
  }
  if (scheme === "file") {
    if (parsed.host !== "") throw new UsageError(`--repo ${shown}: file:// URLs must not name a host`);
    return { kind: "file", url: repo };
  }
  const authority = repo.slice(scheme.length + 3).split(/[/?#]/)[0] ?? "";
  if (parsed.hostname === "" || authority.replace(/^.*@/, "") === "") throw new UsageError(`--repo ${shown} has no host`);
  if (parsed.hostname.startsWith("-")) throw new UsageError(`--repo ${shown}: host looks like an option`);
  if (scheme === "https" || scheme === "http") return { kind: scheme, url: repo };
  if (scheme === "ssh" || scheme === "git+ssh" || scheme === "ssh+git") return { kind: "ssh", url: repo };
  throw new UsageError(
    `--repo ${shown}: scheme "${scheme}://" is not allowed; use https://, ssh://, file:// or a local path`,
  );
}

/**
 * A URL fit for logs and error messages: userinfo of http(s) URLs (which may be a token, even
 * without a password: GitHub accepts `https://TOKEN@github.com/...`) and passwords anywhere are
 * replaced with `***`, and secret-looking query parameters are masked. Non-URLs pass unchanged.
 */
export function redactUrl(url: string): string {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return url;
  const rest = url.slice(scheme.length + 3);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd === -1 ? "" : rest.slice(authorityEnd);
  const at = authority.lastIndexOf("@");
  let shownAuthority = authority;
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    const host = authority.slice(at + 1);
    const keepUser = !userinfo.includes(":") && (scheme === "ssh" || scheme === "git+ssh" || scheme === "ssh+git");
    shownAuthority = `${keepUser ? userinfo : "***"}@${host}`;
  }
  return `${url.slice(0, scheme.length + 3)}${shownAuthority}${redactQuery(tail)}`;
}

function redactQuery(tail: string): string {
  const q = tail.indexOf("?");
  if (q === -1) return tail;
  const hash = tail.indexOf("#", q);
  const query = hash === -1 ? tail.slice(q + 1) : tail.slice(q + 1, hash);
  const masked = query
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      if (eq === -1) return pair;
      return SECRET_QUERY_KEY.test(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=***` : pair;
    })
    .join("&");
  return `${tail.slice(0, q + 1)}${masked}${hash === -1 ? "" : tail.slice(hash)}`;
}

/** Every URL inside free text (a git error, a log line) replaced by its redacted form. */
export function redactUrlsIn(text: string): string {
  return text.replace(/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s'"<>`]+/g, (u) => redactUrl(u));
}

/**
 * Splits userinfo off an http(s) URL so that it can travel as a header instead of being stored
 * as the clone's `remote.origin.url`. Other kinds come back unchanged.
 */
export function splitUserinfo(remote: ClassifiedRemote): {
  remote: ClassifiedRemote;
  username: string | undefined;
  password: string | undefined;
} {
  if (remote.kind !== "https" && remote.kind !== "http") return { remote, username: undefined, password: undefined };
  const u = new URL(remote.url);
  if (u.username === "" && u.password === "") return { remote, username: undefined, password: undefined };
  const username = u.username === "" ? undefined : decodeURIComponent(u.username);
  const password = u.password === "" ? undefined : decodeURIComponent(u.password);
  u.username = "";
  u.password = "";
  return { remote: { kind: remote.kind, url: u.toString() }, username, password };
}

/** `scheme://host[:port]/` of an http(s) remote: the prefix `http.<url>.*` config is scoped to. */
export function httpOrigin(remote: ClassifiedRemote): string | undefined {
  if (remote.kind !== "https" && remote.kind !== "http") return undefined;
  const u = new URL(remote.url);
  return `${u.protocol}//${u.host}/`;
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
