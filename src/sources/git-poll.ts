/**
 * Polls the GitOps remote's branch tip (`git ls-remote`) and says `git-poll` when it moved to a commit
 * wildseal has not already reconciled: a person added a tenant, changed a template or a sealing
 * certificate. wildseal's own pushes must not wake it again, so the reconcile `acknowledge`s every tip
 * it pushed or checked; an acknowledged tip never triggers. Nothing else is remembered: a restart
 * re-reads the branch in its startup reconcile.
 */
import { UsageError } from "../errors.ts";
import { validateBranchName } from "../git/branch-name.ts";
import type { Log } from "../log.ts";
import type { TriggerSink } from "../trigger.ts";

/** Structural match for src/git's GitRunner, so the integrator can pass the shared one. */
export interface GitCommandRunner {
  run(args: readonly string[]): Promise<string>;
}

export interface GitPollOptions {
  /** remote URL or path (credentials belong in `git`, never in the URL) */
  readonly remote: string;
  readonly branch: string;
  readonly intervalMs: number;
  readonly onTrigger: TriggerSink;
  readonly log: Log;
  /** runs `git ls-remote`: src/git's createGitRunner, which hands credentials to git through the environment */
  readonly git: GitCommandRunner;
}

export interface GitPollSource {
  /** Mark a tip as reconciled (wildseal pushed it or rendered against it): seeing it never triggers. */
  acknowledge(sha: string): void;
  /** the tip seen by the last successful poll; undefined before it, or when the branch does not exist */
  lastTip(): string | undefined;
  /** Poll now (the timer does this every interval); resolves when done. */
  pollNow(): Promise<void>;
  stop(): Promise<void>;
}

const ACKNOWLEDGED_KEPT = 32;
const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** The sha of `refs/heads/<branch>` in `git ls-remote` output, or undefined. */
export function parseLsRemote(output: string, branch: string): string | undefined {
  const ref = `refs/heads/${branch}`;
  for (const line of output.split("\n")) {
    const [sha, name] = line.trim().split(/\s+/);
    if (name === ref && sha !== undefined && SHA.test(sha)) return sha;
  }
  return undefined;
}

export function startGitPoll(options: GitPollOptions): GitPollSource {
  // the one branch rule (git/branch-name.ts) the CLI checked --branch with: what it accepts, the poll polls
  validateBranchName(options.branch);
  if (options.remote.startsWith("-")) throw new UsageError("the remote must not start with '-'");
  const { git, log, branch } = options;

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  /** the last tip seen or acknowledged: a poll triggers only when the remote differs from it */
  let known: string | undefined;
  let seen: string | undefined;
  let acknowledged: string[] = [];

  async function pollOnce(): Promise<void> {
    let tip: string | undefined;
    try {
      tip = parseLsRemote(await git.run(["ls-remote", options.remote, `refs/heads/${branch}`]), branch);
    } catch (err) {
      log.warn({ branch, error: err instanceof Error ? err.message : String(err) }, "git poll failed");
      return;
    }
    seen = tip;
    if (tip === undefined || tip === known) return;
    known = tip;
    if (acknowledged.includes(tip)) return;
    log.info({ branch, tip }, "branch moved");
    options.onTrigger({ kind: "git-poll", detail: `${branch} at ${tip}` });
  }

  function pollNow(): Promise<void> {
    if (stopped) return Promise.resolve();
    polling ??= pollOnce().finally(() => {
      polling = undefined;
    });
    return polling;
  }

  function scheduleNext(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      void pollNow().finally(scheduleNext);
    }, options.intervalMs);
  }

  scheduleNext();

  return {
    acknowledge(sha: string): void {
      const s = sha.toLowerCase();
      if (!SHA.test(s)) throw new Error(`acknowledge: not a commit id: ${JSON.stringify(sha)}`);
      acknowledged = [...acknowledged.filter((a) => a !== s), s].slice(-ACKNOWLEDGED_KEPT);
      known = s;
    },
    lastTip: () => seen,
    pollNow,
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await polling;
    },
  };
}
