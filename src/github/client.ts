/**
 * An Octokit that survives GitHub: retries 5xx and network failures (plugin-retry), waits out primary and
 * secondary rate limits a bounded number of times (plugin-throttling), authenticates with a token or as a
 * GitHub App installation (@octokit/auth-app). Tokens live only inside Octokit and SecretBytes; no log
 * line built here carries one.
 */
import { readFileSync } from "node:fs";
import { createPrivateKey } from "node:crypto";
import { Octokit } from "@octokit/rest";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { createAppAuth } from "@octokit/auth-app";
import Bottleneck from "bottleneck";
import { UsageError } from "../errors.ts";
import { type Log, type LogFn, silentLog } from "../log.ts";
import { wildsealVersion } from "../package-info.ts";
import { SecretBytes } from "../tls/types.ts";

export type GitHubAuth =
  | { readonly kind: "token"; readonly token: SecretBytes }
  | { readonly kind: "app"; readonly appId: string; readonly privateKey: SecretBytes; readonly installationId: number };

export interface GitHubClientTiming {
  /** milliseconds per second of back-off (retry-after, retry schedule); default 1000. Tests use ~1. */
  readonly unitMs?: number;
  /**
   * minimum spacing between mutating requests (and between those that notify people, e.g. PR creation and
   * comments); default plugin-throttling's 1000 ms and 3000 ms, as GitHub advises. Tests use 0.
   */
  readonly writeSpacingMs?: number;
}

export interface GitHubClientOptions {
  readonly auth: GitHubAuth;
  /** REST base URL, see apiBaseUrl(); default https://api.github.com */
  readonly baseUrl?: string;
  /** retries for 5xx/network errors, and for each kind of rate limit; default 3 */
  readonly retries?: number;
  /** false disables plugin-throttling (rate limits then fail fast); default true */
  readonly throttle?: boolean;
  /** a rate limit that asks to wait longer than this (seconds) fails instead; default 300 */
  readonly maxRateLimitWaitSeconds?: number;
  /** narrowed to `{ component: "github" }` */
  readonly log?: Log;
  readonly timing?: GitHubClientTiming;
  /** per-request deadline, retries included separately; default 30 s */
  readonly requestTimeoutMs?: number;
}

const WildsealOctokit = Octokit.plugin(retry, throttling);
export type GitHubClient = InstanceType<typeof WildsealOctokit>;

/** Octokit passes arbitrary objects to its logger; keep only messages (RequestError already redacts auth headers). */
function describe(args: readonly unknown[]): Record<string, unknown> | undefined {
  const errors = args.filter((a): a is Error => a instanceof Error).map((e) => `${e.name}: ${e.message}`);
  return errors.length > 0 ? { error: errors.join("; ") } : undefined;
}

function octokitLog(log: Log): Record<"debug" | "info" | "warn" | "error", (msg: unknown, ...rest: unknown[]) => void> {
  const wrap =
    (fn: LogFn) =>
    (msg: unknown, ...rest: unknown[]): void => {
      const text = msg instanceof Error ? `${msg.name}: ${msg.message}` : String(msg);
      const meta = describe(rest);
      if (meta === undefined) fn(text);
      else fn(meta, text);
    };
  // Octokit's info lines are its request log ("GET /repos/… - 200 in 312ms"): traces, logged at debug
  return { debug: wrap(log.debug.bind(log)), info: wrap(log.debug.bind(log)), warn: wrap(log.warn.bind(log)), error: wrap(log.error.bind(log)) };
}

interface RateLimitedRequest {
  readonly method: string;
  readonly url: string;
}

function authOptions(auth: GitHubAuth): Record<string, unknown> {
  if (auth.kind === "token") return { auth: auth.token.reveal().toString("utf8") };
  return {
    authStrategy: createAppAuth,
    auth: { appId: auth.appId, privateKey: auth.privateKey.reveal().toString("utf8"), installationId: auth.installationId },
  };
}

export function createGitHubClient(opts: GitHubClientOptions): GitHubClient {
  const log = (opts.log ?? silentLog).child({ component: "github" });
  const retries = opts.retries ?? 3;
  const unitMs = opts.timing?.unitMs ?? 1000;
  const maxWait = opts.maxRateLimitWaitSeconds ?? 300;
  const onLimit =
    (kind: "rate limit" | "secondary rate limit") =>
    (retryAfter: number, options: RateLimitedRequest, _octokit: unknown, retryCount: number): boolean => {
      const meta = { method: options.method, url: options.url, retryAfter, retryCount };
      if (retryCount >= retries || retryAfter > maxWait) {
        log.warn(meta, `GitHub ${kind}: giving up`);
        return false;
      }
      log.warn(meta, `GitHub ${kind}: waiting before retrying`);
      return true;
    };
  const writeSpacing = opts.timing?.writeSpacingMs;
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  // Octokit sets no deadline: a connection that hangs would hang sync (never exit 3) and outlive
  // watch's shutdown. Every request gets its own timeout, combined with any caller's signal.
  const fetchWithTimeout: typeof fetch = (input, init) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  };
  return new WildsealOctokit({
    request: { fetch: fetchWithTimeout },
    ...authOptions(opts.auth),
    baseUrl: opts.baseUrl ?? "https://api.github.com",
    userAgent: `wildseal/${wildsealVersion()}`,
    log: octokitLog(log),
    retry: { retries, retryAfterBaseValue: unitMs },
    throttle: {
      enabled: opts.throttle ?? true,
      id: "wildseal",
      retryAfterBaseValue: unitMs,
      onRateLimit: onLimit("rate limit"),
      onSecondaryRateLimit: onLimit("secondary rate limit"),
      ...(writeSpacing === undefined
        ? {}
        : {
            write: new Bottleneck.Group({ id: "wildseal-write", maxConcurrent: 1, minTime: writeSpacing }),
            notifications: new Bottleneck.Group({ id: "wildseal-notifications", maxConcurrent: 1, minTime: writeSpacing }),
          }),
    },
  });
}

/**
 * A token git can push with: the configured token, or a fresh installation token for an App (valid 1 h;
 * fetch one per git operation, Octokit caches and refreshes it).
 */
export async function installationToken(octokit: Octokit): Promise<SecretBytes> {
  const result = (await octokit.auth({ type: "installation" })) as { token?: unknown };
  if (typeof result.token !== "string" || result.token === "") {
    throw new UsageError("the GitHub client has no token to push with; configure a token or a GitHub App installation");
  }
  return new SecretBytes(Buffer.from(result.token, "utf8"));
}

type Env = Readonly<Record<string, string | undefined>>;

function nonEmpty(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v;
}

function readSecretFile(path: string, variable: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new UsageError(`${variable}=${path}: cannot read the file (${code}); point it at a readable file`);
  }
  // tokens files written by `echo` or Kubernetes secrets often end with a newline
  const trimmed = Buffer.from(bytes.toString("utf8").trim(), "utf8");
  bytes.fill(0);
  if (trimmed.length === 0) throw new UsageError(`${variable}=${path}: the file is empty`);
  return trimmed;
}

function appAuthFromEnv(env: Env): GitHubAuth | undefined {
  const names = ["WILDSEAL_GITHUB_APP_ID", "WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE", "WILDSEAL_GITHUB_APP_INSTALLATION_ID"];
  const present = names.filter((n) => nonEmpty(env, n) !== undefined);
  if (present.length === 0) return undefined;
  if (present.length !== names.length) {
    const missing = names.filter((n) => !present.includes(n));
    throw new UsageError(`GitHub App authentication needs ${names.join(", ")}; missing ${missing.join(", ")}`);
  }
  const appId = (env.WILDSEAL_GITHUB_APP_ID ?? "").trim();
  const installation = (env.WILDSEAL_GITHUB_APP_INSTALLATION_ID ?? "").trim();
  if (!/^[1-9][0-9]{0,15}$/.test(installation)) {
    throw new UsageError(`WILDSEAL_GITHUB_APP_INSTALLATION_ID must be a positive integer, got "${installation}"`);
  }
  const keyPath = (env.WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE ?? "").trim();
  const key = readSecretFile(keyPath, "WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE");
  try {
    createPrivateKey(key);
  } catch {
    throw new UsageError(
      `WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE=${keyPath} is not a PEM private key; download the App's key from its settings page`,
    );
  }
  return { kind: "app", appId, privateKey: new SecretBytes(key), installationId: Number(installation) };
}

/**
 * Credentials from the environment, first match wins: a GitHub App (WILDSEAL_GITHUB_APP_ID +
 * WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE + WILDSEAL_GITHUB_APP_INSTALLATION_ID), WILDSEAL_GITHUB_TOKEN_FILE,
 * WILDSEAL_GITHUB_TOKEN, GITHUB_TOKEN. None: UsageError saying what to set.
 */
export function authFromEnv(env: Env): GitHubAuth {
  const app = appAuthFromEnv(env);
  if (app !== undefined) return app;
  const file = nonEmpty(env, "WILDSEAL_GITHUB_TOKEN_FILE");
  if (file !== undefined && nonEmpty(env, "WILDSEAL_GITHUB_TOKEN") !== undefined) {
    throw new UsageError("set either WILDSEAL_GITHUB_TOKEN or WILDSEAL_GITHUB_TOKEN_FILE, not both");
  }
  if (file !== undefined) {
    return { kind: "token", token: new SecretBytes(readSecretFile(file.trim(), "WILDSEAL_GITHUB_TOKEN_FILE")) };
  }
  const token = nonEmpty(env, "WILDSEAL_GITHUB_TOKEN") ?? nonEmpty(env, "GITHUB_TOKEN");
  if (token !== undefined) return { kind: "token", token: new SecretBytes(Buffer.from(token.trim(), "utf8")) };
  throw new UsageError(
    "pull-request mode needs GitHub credentials: set GITHUB_TOKEN, WILDSEAL_GITHUB_TOKEN or WILDSEAL_GITHUB_TOKEN_FILE, " +
      "or WILDSEAL_GITHUB_APP_ID with WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE and WILDSEAL_GITHUB_APP_INSTALLATION_ID",
  );
}
