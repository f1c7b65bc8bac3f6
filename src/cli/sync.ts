import type { Command } from "commander";
import { UsageError } from "../errors.ts";
import { redactUrl } from "../git/remote-url.ts";
import { AUTHOR_HELP } from "../git/commit-identity.ts";
import { SIGNING_KEY_HELP } from "../git/signing.ts";
import { addRemovalOptions, type RemovalFlags } from "./removal-flags.ts";
import { QUIET_HELP } from "./render.ts";
import { collect } from "./repeatable.ts";

/**
 * `wildseal sync --repo URL|PATH (--source-file PATH | --source-secret NS/NAME) [--mode push|pull-request] [--branch main]`
 * Credentials come from the environment only (WILDSEAL_GIT_TOKEN[_FILE], GITHUB_TOKEN, GitHub App
 * variables), never from flags: flags end up in shell history and process listings. The flags shared
 * with `watch` are defined here; the work (and turning flags into values) is in sync-action.ts,
 * imported when the command runs: Git, the renderer, Octokit and the Kubernetes client stay unloaded
 * for every other command.
 */

export interface SourceFlags {
  /** `[NAME=]PATH`, repeatable (source-files.ts): NAME=PATH for sync with several certificates */
  readonly sourceFile?: readonly string[];
  /** `[NAME=]NS/NAME`, repeatable like --source-file */
  readonly sourceSecret?: readonly string[];
}

/** Where a commit goes and how: shared by `sync` and `watch` (see addDeliveryOptions). */
export interface DeliveryFlags {
  readonly repo: string;
  readonly branch: string;
  readonly mode: string;
  readonly label: string[];
  readonly autoMerge?: string;
  readonly githubApiUrl?: string;
  readonly githubRepository?: string;
  readonly maxAttempts: string;
}

/** Who commits and whether the commits are signed: shared by `sync` and `watch`. */
export interface CommitFlags {
  readonly author?: string;
  readonly signingKey?: string;
}

/** --author and --signing-key (and their environment variables). */
export function addCommitOptions(command: Command): Command {
  return command
    .option("--author <name-email>", AUTHOR_HELP)
    .option("--signing-key <file>", SIGNING_KEY_HELP);
}

/** `--reseal-on-rotation`: shared by `sync` and `watch`. */
export interface ControllerCertFlags {
  readonly resealOnRotation?: boolean;
}

export interface SyncFlags extends SourceFlags, DeliveryFlags, ControllerCertFlags, RemovalFlags, CommitFlags {}

export const RESEAL_ON_ROTATION_HELP =
  "for clusters configured with controller: when the controller serves a renewed certificate, commit it and reseal the cluster's tenants with it (default: keep sealing with the committed one and log that a rotation is pending)";

/** --repo, --source-file/--source-secret, --mode, --branch, the pull-request flags and --max-attempts. */
export function addDeliveryOptions(command: Command): Command {
  return command
    .requiredOption("--repo <url|path>", "the GitOps repository: a local path or a Git URL (worked on in a private clone)")
    .option(
      "--source-file <[name=]path>",
      "the TLS Secret: a manifest (YAML/JSON) or a folder with tls.crt and tls.key; sync with several certificates (spec.certificates): NAME=PATH, once per certificate",
      collect,
    )
    .option(
      "--source-secret <[name=]ns/name>",
      "the TLS Secret in Kubernetes (in-cluster config or $KUBECONFIG); with several certificates (spec.certificates) NAME=NS/NAME, once per certificate",
      collect,
    )
    .option("--mode <mode>", "push | pull-request", "push")
    .option("--branch <name>", "the branch Flux/Argo CD follow", "main")
    .option("--label <name>", "pull-request label (repeatable; default wildseal)", collect, [] as string[])
    .option("--auto-merge <method>", "enable auto-merge on the pull request: merge | squash | rebase")
    .option("--github-api-url <url>", "GitHub REST API base URL (GitHub Enterprise); default from the remote's host")
    .option("--github-repository <owner/repo>", "the GitHub repository, when the remote URL does not say it")
    .option("--max-attempts <n>", "push attempts when someone else pushed meanwhile", "5");
}

/**
 * A password or token inside --repo works (it is moved into a header, never stored), but it was
 * already visible to every local user in the process list: say so, without repeating it.
 */
export function warnAboutUrlPassword(repo: string, stderr: (s: string) => void): void {
  let hasPassword = false;
  try {
    hasPassword = /^https?:/i.test(repo) && new URL(repo).password !== "";
  } catch {
    return; // not a URL: classifyRemote reports it
  }
  if (hasPassword) {
    stderr(`wildseal: warning: --repo ${redactUrl(repo)} carries a password, which the process list shows; use WILDSEAL_GIT_TOKEN_FILE or WILDSEAL_GIT_TOKEN instead\n`);
  }
}

export function parseMaxAttempts(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new UsageError(`--max-attempts must be an integer from 1 to 50, got "${text}"`);
  return n;
}

/** `1 tenant`, `2 tenants`: counts as people write them. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

export function register(program: Command): void {
  const syncCommand = addRemovalOptions(program.command("sync")).description(
    "clone the GitOps repository, render with the certificate, commit and push (or open a pull request)",
  );
  addCommitOptions(addDeliveryOptions(syncCommand))
    .option("--reseal-on-rotation", RESEAL_ON_ROTATION_HELP)
    .option("-q, --quiet", QUIET_HELP)
    .action(async (flags: SyncFlags & { readonly quiet?: boolean }, command: Command) => (await import("./sync-action.ts")).syncAction(flags, command));
}
