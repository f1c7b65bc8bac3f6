import { spawn } from "node:child_process";
import { type SimpleGit, simpleGit } from "simple-git";
import { DependencyError } from "../errors.ts";
import { type GitConfigEntry, type GitCredentials, scrubSecrets } from "./credentials.ts";

/**
 * The one place wildseal starts git. Every call gets a minimal environment (simple-git 4 strips
 * inherited `GIT_*` anyway; the rest of the caller's environment is none of git's business), no
 * terminal prompts, English messages (failures are classified by their text), a stall timeout,
 * and the credentials as `GIT_CONFIG_*` environment entries: like `-c`, never written to
 * `.git/config`, and unlike `-c` not visible to other users in the process list.
 */
export interface GitRunner {
  /** Runs `git <args>` in the runner's directory; output as text. Throws GitFailure. */
  run(args: readonly string[]): Promise<string>;
}

/** A git command that failed; `output` is stderr + stdout with secrets scrubbed. */
export class GitFailure extends Error {
  constructor(
    readonly args: readonly string[],
    readonly output: string,
  ) {
    super(`git ${args[0] ?? ""} failed: ${output.trim()}`);
    this.name = "GitFailure";
  }
}

/** Caller variables git and its helpers (ssh, gpg, proxies, CA bundles) legitimately need. */
const PASSTHROUGH_ENV = [
  "PATH",
  "HOME",
  "TMPDIR",
  "USER",
  "SSH_AUTH_SOCK",
  "GNUPGHOME",
  "HTTPS_PROXY",
  "https_proxy",
  "HTTP_PROXY",
  "http_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
] as const;
const PASSTHROUGH_GIT_ENV = ["GIT_SSL_CAINFO", "GIT_SSL_CAPATH"] as const;

/** No output for this long means a hung connection: kill git. */
export const GIT_STALL_TIMEOUT_MS = 120_000;

export interface GitRunnerOptions {
  readonly baseDir: string;
  readonly credentials: GitCredentials;
  /** settings from `authConfig`, applied to this runner's commands only */
  readonly auth?: readonly GitConfigEntry[];
  /** further per-command settings (not secret), e.g. gc off */
  readonly config?: readonly GitConfigEntry[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** aborting kills a running git (watch's shutdown must not wait out a stalled push) */
  readonly signal?: AbortSignal;
}

export function createGitRunner(opts: GitRunnerOptions): GitRunner {
  const auth = opts.auth ?? [];
  const config = [...(opts.config ?? []), ...auth];
  const env = gitEnv(opts.env ?? process.env, config);
  // simple-git's debug output (DEBUG=simple-git) prints each child's environment, which here
  // would hold the Authorization header: credentialed commands bypass it
  if (auth.length > 0) return spawnRunner(opts.baseDir, env, opts.credentials, opts.signal);
  const git: SimpleGit = simpleGit({
    baseDir: opts.baseDir,
    ...(opts.signal === undefined ? {} : { abort: opts.signal }),
    trimmed: false,
    timeout: { block: GIT_STALL_TIMEOUT_MS },
    allowEnvironment: Object.keys(env).filter((k) => k.startsWith("GIT_")),
    // every argument is built here from validated values; the flags permit wildseal's own
    // settings (credentials via GIT_CONFIG_*, hooks switched off), not caller-supplied ones
    unsafe: {
      allowUnsafeHooksPath: true,
      allowUnsafeConfigEnvCount: config.length > 0,
      allowUnsafeCredentialHelper: auth.length > 0,
    },
    // keep stdout too: `push --porcelain` reports rejections there
    errors: (error, result) => {
      if (result.exitCode === 0) return error;
      return Buffer.concat([...result.stdErr, Buffer.from("\n"), ...result.stdOut]);
    },
  }).env(env);
  return {
    async run(args) {
      try {
        return await git.raw([...args]);
      } catch (e) {
        const text = e instanceof Error ? e.message : String(e);
        throw new GitFailure(args, scrubSecrets(text, opts.credentials));
      }
    },
  };
}

/** Runs git directly: same environment, output and failure shape as the simple-git runner. */
function spawnRunner(baseDir: string, env: Record<string, string>, credentials: GitCredentials, signal?: AbortSignal): GitRunner {
  return {
    run: (args) =>
      new Promise((resolve, reject) => {
        const child = spawn("git", [...args], { cwd: baseDir, env, stdio: ["ignore", "pipe", "pipe"], ...(signal === undefined ? {} : { signal, killSignal: "SIGKILL" as const }) });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let stalled = false;
        let timer = setTimeout(stall, GIT_STALL_TIMEOUT_MS);
        function stall(): void {
          stalled = true;
          child.kill("SIGKILL");
        }
        function activity(): void {
          clearTimeout(timer);
          timer = setTimeout(stall, GIT_STALL_TIMEOUT_MS);
        }
        child.stdout.on("data", (c: Buffer) => {
          out.push(c);
          activity();
        });
        child.stderr.on("data", (c: Buffer) => {
          err.push(c);
          activity();
        });
        child.on("error", (e) => {
          clearTimeout(timer);
          reject(new GitFailure(args, scrubSecrets(`cannot start git: ${e.message}`, credentials)));
        });
        child.on("close", (code) => {
          clearTimeout(timer);
          const stdout = Buffer.concat(out).toString("utf8");
          if (code === 0 && !stalled) return resolve(stdout);
          const why = stalled ? `no output for ${GIT_STALL_TIMEOUT_MS / 1000} s: timed out\n` : "";
          const text = `${why}${Buffer.concat(err).toString("utf8")}\n${stdout}`;
          reject(new GitFailure(args, scrubSecrets(text, credentials)));
        });
      }),
  };
}

function gitEnv(
  from: Readonly<Record<string, string | undefined>>,
  config: readonly GitConfigEntry[],
): Record<string, string> {
  const env: Record<string, string> = { LANG: "C.UTF-8", LC_ALL: "C.UTF-8", GIT_TERMINAL_PROMPT: "0" };
  for (const k of [...PASSTHROUGH_ENV, ...PASSTHROUGH_GIT_ENV]) {
    const v = from[k];
    if (v !== undefined && v !== "") env[k] = v;
  }
  if (config.length > 0) {
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach((entry, i) => {
      env[`GIT_CONFIG_KEY_${i}`] = entry.key;
      env[`GIT_CONFIG_VALUE_${i}`] = entry.value;
    });
  }
  return env;
}

/** How a failed network command should be treated. */
export type FailureKind = "rejected" | "transient" | "fatal";

/**
 * `rejected`: the remote refused a push because the branch moved (non-fast-forward, fetch first,
 * stale lease) — re-render on the new tip and retry. `transient`: the network or server hiccuped
 * — retry as is. `fatal`: authentication, permissions, a missing repository, a hook or branch
 * protection said no — retrying cannot help.
 */
export function classifyFailure(output: string): FailureKind {
  if (/\[rejected\].*\((non-fast-forward|fetch first|stale info)\)/.test(output)) return "rejected";
  if (/Updates were rejected because the (tip|remote)/.test(output)) return "rejected";
  if (
    /Authentication failed|terminal prompts disabled|could not read (Username|Password)|returned error: 40[134]|Permission denied|\[remote rejected\]|does not appear to be a git repository|not found/i.test(
      output,
    )
  ) {
    return "fatal";
  }
  if (
    /Could not resolve host|Couldn't connect to server|Failed to connect|Connection refused|Connection reset|Connection timed out|Operation timed out|timed out|returned error: 5\d\d|returned error: 429|RPC failed|early EOF|remote end hung up|unexpected disconnect|Empty reply from server|SSL_ERROR|gnutls_handshake/i.test(
      output,
    )
  ) {
    return "transient";
  }
  return "fatal";
}

/** A failure as the error users see: exit code 3, secrets scrubbed, no `cause` that could hold them. */
export function dependencyError(what: string, failure: unknown, credentials: GitCredentials): DependencyError {
  const detail =
    failure instanceof GitFailure ? failure.output : failure instanceof Error ? failure.message : String(failure);
  return new DependencyError(scrubSecrets(`${what}: ${detail.trim()}${hintFor(detail)}`, credentials));
}

const AUTH_FAILURE = /Authentication failed|terminal prompts disabled|could not read (Username|Password)|returned error: 40[13]/i;

function hintFor(output: string): string {
  if (AUTH_FAILURE.test(output)) {
    return "\n(the remote wants credentials: set WILDSEAL_GIT_TOKEN or WILDSEAL_GIT_TOKEN_FILE to a token with write access to the repository)";
  }
  if (/Permission denied \(publickey/.test(output)) return "\n(ssh refused the key: check ssh-agent or ~/.ssh/config for this host)";
  return "";
}
