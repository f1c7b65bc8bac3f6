import type { Command } from "commander";
import { ExitCode, formatDiagnostic, UsageError } from "../errors.ts";
import { credentialsFromEnv } from "../git/credentials.ts";
import { validateBranchName } from "../git/branch-name.ts";
import { authFromEnv } from "../github/client.ts";
import type { AutoMergeMethod } from "../github/pull-request.ts";
import { parseSecretRef, type CertificateSource } from "../pipeline/certificate-source.ts";
import { sync, type Delivery, type SyncOutcome } from "../pipeline/sync.ts";
import { cliContext, type CliIo } from "./io.ts";
import { redactUrl } from "../git/remote-url.ts";
import { lineLog } from "../line-log.ts";
import { AUTHOR_HELP, type CommitAuthor, resolveAuthor } from "../git/commit-identity.ts";
import { loadSigningKey, SIGNING_KEY_ENV, SIGNING_KEY_HELP, type SigningKey } from "../git/signing.ts";
import { addRemovalOptions, removalsFromFlags, type RemovalFlags } from "./removal-flags.ts";

/**
 * `wildseal sync --repo URL|PATH (--source-file PATH | --source-secret NS/NAME) [--mode push|pull-request] [--branch main]`
 * Credentials come from the environment only (WILDSEAL_GIT_TOKEN[_FILE], GITHUB_TOKEN, GitHub App
 * variables), never from flags: flags end up in shell history and process listings.
 */

export interface SourceFlags {
  readonly sourceFile?: string;
  readonly sourceSecret?: string;
}

/** Exactly one of --source-file / --source-secret. Shared with `watch`. */
export function sourceFromFlags(f: SourceFlags): CertificateSource {
  if ((f.sourceFile === undefined) === (f.sourceSecret === undefined)) {
    throw new UsageError("give exactly one of --source-file PATH or --source-secret NS/NAME");
  }
  if (f.sourceFile !== undefined) return { kind: "file", path: f.sourceFile };
  const ref = parseSecretRef(f.sourceSecret ?? "");
  if (ref === undefined) throw new UsageError(`--source-secret must be NAMESPACE/NAME, got "${f.sourceSecret}"`);
  return { kind: "kubernetes", ...ref };
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

/** The commit identity and the checked signing key; usage errors name the flag or variable. */
export async function commitFromFlags(
  f: CommitFlags,
  env: CliIo["env"],
): Promise<{ author: CommitAuthor; sign?: SigningKey }> {
  const author = resolveAuthor(f.author, env);
  const fromEnv = env[SIGNING_KEY_ENV];
  const keyFile = f.signingKey ?? (fromEnv === "" ? undefined : fromEnv);
  if (keyFile === undefined) return { author };
  const sign = await loadSigningKey(keyFile, f.signingKey !== undefined ? "--signing-key" : SIGNING_KEY_ENV);
  return { author, sign };
}

/** `--reseal-on-rotation`: shared by `sync` and `watch`. */
export interface ControllerCertFlags {
  readonly resealOnRotation?: boolean;
}

interface SyncFlags extends SourceFlags, DeliveryFlags, ControllerCertFlags, RemovalFlags, CommitFlags {}

export const RESEAL_ON_ROTATION_HELP =
  "for clusters configured with controller: when the controller serves a renewed certificate, commit it and reseal the cluster's tenants with it (default: keep sealing with the committed one and log that a rotation is pending)";

/**
 * Always on: the controller is only contacted when wildseal.yaml has a `controller:` cluster, and the
 * kubeconfig (in-cluster, else $KUBECONFIG) is loaded only then.
 */
export function controllerCertsFromFlags(f: ControllerCertFlags): { resealOnRotation: boolean } {
  return { resealOnRotation: f.resealOnRotation === true };
}

/** --repo, --source-file/--source-secret, --mode, --branch, the pull-request flags and --max-attempts. */
export function addDeliveryOptions(command: Command): Command {
  return command
    .requiredOption("--repo <url|path>", "the GitOps repository: a local path or a Git URL (worked on in a private clone)")
    .option("--source-file <path>", "the TLS Secret: a manifest (YAML/JSON) or a folder with tls.crt and tls.key")
    .option("--source-secret <ns/name>", "the TLS Secret in Kubernetes (in-cluster config or $KUBECONFIG)")
    .option("--mode <mode>", "push | pull-request", "push")
    .option("--branch <name>", "the branch Flux/Argo CD follow", "main")
    .option("--label <name>", "pull-request label (repeatable; default wildseal)", (v: string, acc: string[]) => [...acc, v], [] as string[])
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

export function deliveryFromFlags(f: DeliveryFlags, env: CliIo["env"]): Delivery {
  if (f.mode === "push") return { kind: "push" };
  if (f.mode !== "pull-request") throw new UsageError(`--mode must be push or pull-request, got "${f.mode}"`);
  const autoMerge = f.autoMerge === undefined ? false : f.autoMerge.toUpperCase();
  if (autoMerge !== false && !["MERGE", "SQUASH", "REBASE"].includes(autoMerge)) {
    throw new UsageError(`--auto-merge must be merge, squash or rebase, got "${f.autoMerge}"`);
  }
  return {
    kind: "pull-request",
    github: {
      auth: authFromEnv(env),
      labels: f.label.length > 0 ? f.label : ["wildseal"],
      autoMerge: autoMerge as false | AutoMergeMethod,
      ...(f.githubApiUrl === undefined ? {} : { apiUrl: f.githubApiUrl }),
      ...(f.githubRepository === undefined ? {} : { repository: f.githubRepository }),
    },
  };
}

/** `1 tenant`, `2 tenants`: counts as people write them. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * Human summary of a sync, one line each, for stdout. A sync that reported problems (exit 1) never
 * says "unchanged": its branch may lack what was asked for, and the problems on stderr say why.
 */
export function outcomeLines(o: SyncOutcome): string[] {
  // changes are per tenant folder (one per cluster); people count tenants
  const changed = new Set(o.changes.filter((c) => c.kind !== "keep" && c.kind !== "hold").map((c) => c.tenant)).size;
  const held = new Set(o.changes.filter((c) => c.kind === "hold").map((c) => c.tenant)).size;
  const tenants = new Set(o.changes.map((c) => c.tenant)).size;
  const problems = o.diagnostics.length;
  const heldNote = held > 0 ? `, ${held} held` : "";
  switch (o.kind) {
    case "unchanged":
      if (problems > 0) {
        const heldOf = held > 0 ? `; ${held} of ${count(tenants, "tenant")} held` : "";
        return [`not published: ${count(problems, "problem")} (on stderr) held changes back${heldOf}`];
      }
      return [`unchanged: the branch already holds this rendered tree (${count(tenants, "tenant")})`];
    case "pushed":
      return [`pushed ${o.commit} to ${o.branch}: ${o.message.split("\n")[0]} (${count(changed, "tenant")} changed${heldNote})`];
    case "pull-request":
      return [
        `pushed ${o.commit} to ${o.branch} (${count(changed, "tenant")} changed${heldNote})`,
        `pull request #${o.pullRequest.number} ${o.pullRequest.kind}: ${o.pullRequest.url}`,
        ...o.pullRequest.superseded.map((n) => `superseded pull request #${n}`),
      ];
  }
}

export function register(program: Command): void {
  const syncCommand = addRemovalOptions(program.command("sync")).description(
    "clone the GitOps repository, render with the certificate, commit and push (or open a pull request)",
  );
  addCommitOptions(addDeliveryOptions(syncCommand))
    .option("--reseal-on-rotation", RESEAL_ON_ROTATION_HELP)
    .action(async (flags: SyncFlags, command: Command) => {
      const ctx = cliContext(command);
      const maxAttempts = parseMaxAttempts(flags.maxAttempts);
      warnAboutUrlPassword(flags.repo, ctx.io.stderr);
      const commit = await commitFromFlags(flags, ctx.io.env);
      const outcome = await sync({
        ...commit,
        repo: flags.repo,
        branch: validateBranchName(flags.branch),
        source: sourceFromFlags(flags),
        delivery: deliveryFromFlags(flags, ctx.io.env),
        credentials: credentialsFromEnv(ctx.io.env),
        maxAttempts,
        removals: removalsFromFlags(flags),
        controllerCerts: controllerCertsFromFlags(flags),
        // every line, whatever its level, as before: the one-shot sync narrates on stderr
        log: lineLog((line) => ctx.io.stderr(`${line}\n`), { quiet: ["github"] }),
      });
      for (const line of outcomeLines(outcome)) ctx.io.stdout(`${line}\n`);
      for (const d of outcome.diagnostics) ctx.io.stderr(`${formatDiagnostic(d)}\n`);
      ctx.exitCode = outcome.diagnostics.length > 0 ? ExitCode.invalidInput : ExitCode.ok;
    });
}
