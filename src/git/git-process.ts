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
  // and an abortable command must take its helpers with it (see spawnRunner)
  if (auth.length > 0 || opts.signal !== undefined) return spawnRunner(opts.baseDir, env, opts.credentials, opts.signal);
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

/**
 * Runs git directly: same environment, output and failure shape as the simple-git runner. git talks to
 * a remote through helper processes (git-remote-http, ssh, git-receive-pack) that outlive a killed git
 * and could still complete a push after the reconcile was abandoned; so git runs as the leader of its
 * own process group, and stopping it (abort, stall) kills the whole group.
 */
function spawnRunner(baseDir: string, env: Record<string, string>, credentials: GitCredentials, signal?: AbortSignal): GitRunner {
  return {
    run: (args) =>
      new Promise((resolve, reject) => {
        if (signal?.aborted === true) return reject(new GitFailure(args, "not started: the operation was aborted"));
        // Without a signal (a one-shot command) git stays in the caller's group, so Ctrl-C in a terminal
        // reaches it and its helpers as before.
        const child = spawn("git", [...args], { cwd: baseDir, env, stdio: ["ignore", "pipe", "pipe"], detached: signal !== undefined });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let stalled = false;
        let timer = setTimeout(stall, GIT_STALL_TIMEOUT_MS);
        const killGroup = (): void => {
          try {
            if (signal === undefined || child.pid === undefined) child.kill("SIGKILL");
            else process.kill(-child.pid, "SIGKILL");
          } catch {
            child.kill("SIGKILL"); // the group is gone already, or was never made
          }
        };
        signal?.addEventListener("abort", killGroup, { once: true });
        child.once("close", () => signal?.removeEventListener("abort", killGroup));
        function stall(): void {
          stalled = true;
          killGroup();
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
 * `rejected`: the remote refused a push because the branch moved or was being moved (non-fast-forward,
 * fetch first, stale lease, or a ref-update race inside the remote: see refRace) — re-render on the
 * new tip and retry. `transient`: the network or server hiccuped — retry as is. `fatal`:
 * authentication, permissions, a missing repository, a hook or branch protection said no — retrying
 * cannot help.
 */
export function classifyFailure(output: string): FailureKind {
  if (/\[rejected\].*\((non-fast-forward|fetch first|stale info)\)/.test(output)) return "rejected";
  if (/Updates were rejected because the (tip|remote)/.test(output)) return "rejected";
  const refusals = remoteRefusals(output);
  // one refusal that is not a race (a hook, protection, a broken ref) decides: retrying cannot help
  if (refusals.length > 0) return refusals.every((r) => refRace(r, output) !== undefined) ? "rejected" : "fatal";
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

/** One `[remote rejected]` ref of a push: the remote received it and refused to update the ref. */
export interface RemoteRefusal {
  /** the remote ref, e.g. refs/heads/main (porcelain) or main */
  readonly ref: string;
  /** the text in parentheses: receive-pack's reason, or a hosting service's own */
  readonly reason: string;
}

/** The `[remote rejected]` lines of `git push` output, porcelain or not. */
export function remoteRefusals(output: string): RemoteRefusal[] {
  const out: RemoteRefusal[] = [];
  for (const line of output.split("\n")) {
    // porcelain: "!\t<src>:<dst>\t[remote rejected] (<reason>)"
    const porcelain = /^!\t[^\t]*:([^\t:]+)\t\[remote rejected\] \((.*)\)\s*$/.exec(line);
    // human: " ! [remote rejected] <src> -> <dst> (<reason>)"
    const human = /^\s*!\s+\[remote rejected\]\s+\S+ -> (\S+) \((.*)\)\s*$/.exec(line);
    const m = porcelain ?? human;
    if (m?.[1] !== undefined && m[2] !== undefined) out.push({ ref: m[1], reason: m[2] });
  }
  return out;
}

/**
 * Reasons receive-pack (and hosts relaying its text) gives when the ref transaction itself failed,
 * after every hook and policy check had passed — the cause follows on its `remote: error:` line.
 * git ≤ 2.49 says "failed to update ref", ≥ 2.50 "failed to update refs" (the whole transaction) or a
 * per-ref reason from refs.c ref_transaction_error_msg(); git ≤ 1.9 said "failed to lock"; GitHub
 * quotes the cause itself: "cannot lock ref 'refs/heads/main': is at <new> but expected <old>".
 */
const REF_UPDATE_FAILED = /^(failed to update refs?|failed to lock|cannot lock ref .*|incorrect old value provided|reference already exists)$/i;

/**
 * Causes that mean another update of the same ref got there first (concurrent pushes to one
 * remote): the files backend's lock file is held (`Unable to create '…/main.lock': File exists`, it
 * waits core.filesRefLockTimeout, 100 ms, then gives up), the ref moved between the advertisement and
 * the lock (`is at X but expected Y`; git ≥ 2.50: `incorrect old value provided`), a branch we create
 * was created meanwhile (`reference already exists`), or the reftable stack is locked.
 */
const RACE_CAUSE = /Unable to create '[^']*\.lock': File exists|is at [0-9a-f]+ but expected [0-9a-f]+|incorrect old value provided|reference already exists|data is (locked|outdated)/i;

/**
 * Causes that are no race although the ref update failed: a file/directory name conflict
 * (`'refs/heads/a' exists; cannot create 'refs/heads/a/b'`), a broken ref, a branch deleted
 * meanwhile (retrying would resurrect it), a remote that cannot write. They stay fatal.
 */
const PERMANENT_CAUSE = /exists; cannot create|refname conflict|unable to resolve reference|reference broken|reference is missing|reference does not exist|invalid new value|expected symref|case-insensitive|Permission denied|No space left|Disk quota|Read-only file system|Input\/output error|unable to append|unable to write/i;

/**
 * The race behind a refusal, as git printed it (e.g. `cannot lock ref 'refs/heads/main': is at … but
 * expected …`); undefined when the refusal is no ref-update race (a hook declined, branch
 * protection, a name conflict, a broken or read-only remote). Only a reason that says the ref update
 * itself failed can be a race, so no hook's refusal ever becomes one, whatever the hook printed; the
 * cause is then looked for in the reason and in the `error:`/`fatal:` lines (receive-pack's, where a
 * hook's text could at most make a race look permanent: the safe direction).
 */
export function refRace(refusal: RemoteRefusal, output: string): string | undefined {
  if (!REF_UPDATE_FAILED.test(refusal.reason.trim())) return undefined;
  const details = [refusal.reason, ...errorLines(output)];
  if (details.some((d) => PERMANENT_CAUSE.test(d))) return undefined;
  const cause = details.find((d) => RACE_CAUSE.test(d));
  // a bare "failed to update ref(s)" whose cause did not reach us: git's transaction failed without a
  // policy refusal, which in practice is a concurrent update — retried, and bounded by maxAttempts
  return cause ?? refusal.reason;
}

/** `error:`/`fatal:` lines of receive-pack (`remote: error: …`) and of local git, prefix removed. */
function errorLines(output: string): string[] {
  const lines: string[] = [];
  for (const line of output.split("\n")) {
    const m = /^(?:remote:\s*)?(?:error|fatal): (.*?)\s*$/.exec(line);
    if (m?.[1] !== undefined && m[1] !== "") lines.push(m[1]);
  }
  return lines;
}

/** A failure as the error users see: exit code 3, secrets scrubbed, no `cause` that could hold them. */
export function dependencyError(what: string, failure: unknown, credentials: GitCredentials): DependencyError {
  const detail =
    failure instanceof GitFailure ? failure.output : failure instanceof Error ? failure.message : String(failure);
  return new DependencyError(scrubSecrets(`${what}: ${detail.trim()}${credentialsHint(detail, credentials.kind === "token")}`, credentials));
}

const AUTH_FAILURE = /Authentication failed|terminal prompts disabled|could not read (Username|Password)|returned error: 40[13]/i;

/**
 * A remote saying no to the credentials it got: HTTP 401/403 and how GitHub, GitLab and Gitea word
 * it. "Permission denied" counts only when the remote says it (`remote: …`): git says the same of a
 * local file it cannot write, which no token fixes.
 */
const TOKEN_REFUSED =
  /Authentication failed|Invalid username or password|Bad credentials|HTTP Basic: Access denied|returned error: 40[13]|Permission to \S+ denied|Write access to repository not granted|^remote:.*permission denied/im;

/**
 * What to do about an authentication failure. `tokenGiven`: a token was configured, so it was sent
 * (authConfig sends it to the remote's origin or refuses to run), and a 401 (git then asks for a
 * user name it cannot prompt for) means the token itself was refused.
 */
export function credentialsHint(output: string, tokenGiven: boolean): string {
  // ssh remotes never get the token: a refused key is about ssh, token or not
  if (/Permission denied \(publickey/.test(output)) return "\n(ssh refused the key: check ssh-agent or ~/.ssh/config for this host)";
  if (tokenGiven && (TOKEN_REFUSED.test(output) || AUTH_FAILURE.test(output))) {
    return (
      "\n(the remote refused the Git token wildseal sent (from WILDSEAL_GIT_TOKEN, WILDSEAL_GIT_TOKEN_FILE, GITHUB_TOKEN, the GitHub App or the --repo URL): check that it has not expired " +
      "or been revoked, that it may access this repository (a fine-grained token lists its repositories; an App must be installed on it) " +
      "and that it has write scope (contents: write, or repo for a classic token))"
    );
  }
  if (AUTH_FAILURE.test(output)) {
    return "\n(the remote wants credentials: set WILDSEAL_GIT_TOKEN or WILDSEAL_GIT_TOKEN_FILE to a token with write access to the repository)";
  }
  return "";
}
