import { readFileSync } from "node:fs";
import { UsageError } from "../errors.ts";
import type { Log, LogFn } from "../log.ts";
import { SecretBytes } from "../tls/types.ts";
import { type ClassifiedRemote, httpOrigin, isLoopbackHost, redactUrlsIn } from "./remote-url.ts";

/**
 * How wildseal authenticates to an http(s) Git remote. ssh remotes use the user's ssh setup; a
 * token is never handed to them.
 */
export type GitCredentials =
  | { readonly kind: "none" }
  | { readonly kind: "token"; readonly token: SecretBytes; readonly username?: string };

export const NO_CREDENTIALS: GitCredentials = { kind: "none" };

/** Basic-auth user name sent with a token when none is given; GitHub, Gitea and GitLab accept any. */
export const DEFAULT_TOKEN_USERNAME = "x-access-token";

const MAX_TOKEN_FILE_BYTES = 64 * 1024;

export type ReadTokenFile = (path: string) => Buffer;

/**
 * Credentials from the environment: `WILDSEAL_GIT_TOKEN`, or `WILDSEAL_GIT_TOKEN_FILE` (a file
 * holding the token, e.g. a mounted Secret), else `GITHUB_TOKEN`; `WILDSEAL_GIT_USERNAME` sets the
 * Basic-auth user name. Setting both token variables is a usage error (which one was meant?).
 */
export function credentialsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadTokenFile = (p) => readFileSync(p),
): GitCredentials {
  const direct = nonEmpty(env.WILDSEAL_GIT_TOKEN);
  const file = nonEmpty(env.WILDSEAL_GIT_TOKEN_FILE);
  const username = nonEmpty(env.WILDSEAL_GIT_USERNAME);
  if (direct !== undefined && file !== undefined) {
    throw new UsageError("both WILDSEAL_GIT_TOKEN and WILDSEAL_GIT_TOKEN_FILE are set; unset one of them");
  }
  let raw: Buffer | undefined;
  let origin = "WILDSEAL_GIT_TOKEN";
  if (direct !== undefined) raw = Buffer.from(direct, "utf8");
  else if (file !== undefined) {
    origin = `WILDSEAL_GIT_TOKEN_FILE (${file})`;
    raw = readTokenFile(file, readFile);
  } else if (nonEmpty(env.GITHUB_TOKEN) !== undefined) {
    origin = "GITHUB_TOKEN";
    raw = Buffer.from(env.GITHUB_TOKEN ?? "", "utf8");
  }
  if (raw === undefined) return NO_CREDENTIALS;
  return tokenCredentials(trimEnd(raw), origin, username);
}

/** Token credentials from bytes, validated to be usable inside an HTTP header. */
export function tokenCredentials(token: Buffer, origin: string, username?: string): GitCredentials {
  if (token.length === 0) throw new UsageError(`${origin} is empty; give the Git token or unset it`);
  if (!isHeaderSafe(token.toString("latin1"))) {
    throw new UsageError(`${origin} contains control characters or spaces; it must be a single-line token`);
  }
  if (username !== undefined && (!isHeaderSafe(username) || username.includes(":"))) {
    throw new UsageError("WILDSEAL_GIT_USERNAME must be a single word without ':'");
  }
  return username === undefined
    ? { kind: "token", token: new SecretBytes(token) }
    : { kind: "token", token: new SecretBytes(token), username };
}

function readTokenFile(path: string, readFile: ReadTokenFile): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new UsageError(`WILDSEAL_GIT_TOKEN_FILE ${path}: cannot read (${code}); point it at a readable file`);
  }
  if (bytes.length > MAX_TOKEN_FILE_BYTES) {
    throw new UsageError(`WILDSEAL_GIT_TOKEN_FILE ${path}: ${bytes.length} bytes is too large for a token`);
  }
  return bytes;
}

/** One `git -c key=value` setting. The value may hold a secret: never log or persist it. */
export interface GitConfigEntry {
  readonly key: string;
  readonly value: string;
}

/**
 * The per-command git config that authenticates to `remote`: an `Authorization: Basic` header,
 * scoped with `http.<scheme://host/>.extraHeader` so that it is sent to this remote's host only
 * (not to a redirect target or another URL). Credential helpers are reset so that a rejected
 * token fails plainly instead of falling back to whatever the machine has stored. Nothing for
 * ssh, file and path remotes. Plain http carries the token only to a loopback host.
 */
export function authConfig(credentials: GitCredentials, remote: ClassifiedRemote): readonly GitConfigEntry[] {
  if (credentials.kind === "none") return [];
  const origin = httpOrigin(remote);
  if (origin === undefined) return [];
  if (remote.kind === "http" && !isLoopbackHost(new URL(remote.url).hostname)) {
    throw new UsageError(
      `refusing to send the Git token over plain http to ${origin}; use https:// (plain http is allowed for localhost only)`,
    );
  }
  return [
    { key: `http.${origin}.extraHeader`, value: `Authorization: Basic ${basicValue(credentials)}` },
    { key: "credential.helper", value: "" },
  ];
}

function basicValue(credentials: Extract<GitCredentials, { kind: "token" }>): string {
  const user = Buffer.from(`${credentials.username ?? DEFAULT_TOKEN_USERNAME}:`, "utf8");
  return Buffer.concat([user, credentials.token.reveal()]).toString("base64");
}

/**
 * Text fit for a log line or an error message: the token (raw, and in the Basic header form git
 * may echo) replaced by `***`, and the userinfo of every URL redacted.
 */
export function scrubSecrets(text: string, credentials: GitCredentials): string {
  let out = text;
  if (credentials.kind === "token") {
    const raw = credentials.token.reveal().toString("utf8");
    for (const needle of [basicValue(credentials), raw, encodeURIComponent(raw)]) {
      if (needle.length > 0) out = out.split(needle).join("***");
    }
  }
  return redactUrlsIn(out);
}

/**
 * `log` with scrubSecrets applied to every message (children included): git's own output, quoted in
 * a message, may echo a URL or a header with the token.
 */
export function scrubbedLog(log: Log, credentials: GitCredentials): Log {
  const scrub =
    (fn: LogFn): LogFn =>
    (a: string | Record<string, unknown>, msg?: string): void => {
      if (typeof a === "string") fn(scrubSecrets(a, credentials));
      else if (msg === undefined) fn(a);
      else fn(a, scrubSecrets(msg, credentials));
    };
  return {
    debug: scrub(log.debug.bind(log)),
    info: scrub(log.info.bind(log)),
    warn: scrub(log.warn.bind(log)),
    error: scrub(log.error.bind(log)),
    child: (bindings) => scrubbedLog(log.child(bindings), credentials),
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}

function trimEnd(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d || b[end - 1] === 0x20 || b[end - 1] === 0x09)) end--;
  let start = 0;
  while (start < end && (b[start] === 0x20 || b[start] === 0x09)) start++;
  return b.subarray(start, end);
}

function isHeaderSafe(s: string): boolean {
  return s.length > 0 && /^[\x21-\x7e\u0080-\u00ff]+$/.test(s);
}
