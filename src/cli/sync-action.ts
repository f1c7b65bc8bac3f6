import type { Command } from "commander";
import { ExitCode, formatDiagnostic, UsageError } from "../errors.ts";
import { credentialsFromEnv } from "../git/credentials.ts";
import { validateBranchName } from "../git/branch-name.ts";
import type { AutoMergeMethod } from "../github/pull-request.ts";
import { parseSecretRef, type CertificateSource } from "../pipeline/certificate-source.ts";
import { sync, type Delivery, type SyncOutcome } from "../pipeline/sync.ts";
import { cliContext, type CliIo } from "./io.ts";
import { lineLog } from "../line-log.ts";
import { type CommitAuthor, resolveAuthor } from "../git/commit-identity.ts";
import { loadSigningKey, SIGNING_KEY_ENV, type SigningKey } from "../git/signing.ts";
import { removalsFromFlags } from "./removal-flags.ts";
import { progressReporter } from "./progress.ts";
import { count, parseMaxAttempts, warnAboutUrlPassword, type CommitFlags, type ControllerCertFlags, type DeliveryFlags, type SourceFlags, type SyncFlags } from "./sync.ts";
import { parseSourceFileArgs } from "./source-files.ts";

/** `wildseal sync`'s work, and the flag → value conversions it shares with `watch` (flags: sync.ts). */

/** Exactly one of --source-file / --source-secret (the first certificate's, when named). Shared with `watch`. */
export function sourceFromFlags(f: SourceFlags): CertificateSource {
  const [first] = sourcesFromFlags(f);
  if (first === undefined) throw new UsageError("give exactly one of --source-file PATH or --source-secret NS/NAME");
  return first.source;
}

/**
 * Every --source-file and --source-secret, in order, each with the certificate it names (absent:
 * the bare one-certificate form). Bare forms: exactly one, of either flag; named: any number, each
 * certificate once, either flag.
 */
function sourcesFromFlags(f: SourceFlags): { readonly certificate?: string; readonly source: CertificateSource }[] {
  const files = parseSourceFileArgs(f.sourceFile ?? []);
  const secrets = parseSourceFileArgs(f.sourceSecret ?? [], "--source-secret", "NS/NAME");
  const all = [
    ...files.map((a) => ({ ...(a.certificate === undefined ? {} : { certificate: a.certificate }), source: { kind: "file", path: a.path } as CertificateSource })),
    ...secrets.map((a) => {
      const ref = parseSecretRef(a.path);
      if (ref === undefined) throw new UsageError(`--source-secret must be [NAME=]NAMESPACE/NAME, got "${a.certificate === undefined ? "" : `${a.certificate}=`}${a.path}"`);
      return { ...(a.certificate === undefined ? {} : { certificate: a.certificate }), source: { kind: "kubernetes", ...ref } as CertificateSource };
    }),
  ];
  const bare = all.filter((a) => a.certificate === undefined).length;
  if (all.length === 0 || (bare > 0 && all.length > 1)) throw new UsageError("give exactly one of --source-file PATH or --source-secret NS/NAME (several certificates: NAME=PATH or NAME=NS/NAME for each)");
  const names = all.map((a) => a.certificate);
  const twice = names.find((n, i) => n !== undefined && names.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`certificate ${twice} is given twice (--source-file / --source-secret): give each certificate once`);
  return all;
}

/**
 * `--source-file NAME=PATH` / `--source-secret NAME=NS/NAME` (several certificates): name → source;
 * undefined for the bare one-certificate form. Whether the names are the config's is checked by the
 * render (after the clone), which refuses to render with a certificate missing or unknown.
 */
export function certificatesFromFlags(f: SourceFlags): Map<string, CertificateSource> | undefined {
  const all = sourcesFromFlags(f);
  if (all.every((a) => a.certificate === undefined)) return undefined;
  return new Map(all.map((a) => [a.certificate ?? "", a.source]));
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

/**
 * Always on: the controller is only contacted when wildseal.yaml has a `controller:` cluster, and the
 * kubeconfig (in-cluster, else $KUBECONFIG) is loaded only then.
 */
export function controllerCertsFromFlags(f: ControllerCertFlags): { resealOnRotation: boolean } {
  return { resealOnRotation: f.resealOnRotation === true };
}

/** The delivery the flags ask for; Octokit (github/client.ts) is loaded only in pull-request mode. */
export async function deliveryFromFlags(f: DeliveryFlags, env: CliIo["env"]): Promise<Delivery> {
  if (f.mode === "push") return { kind: "push" };
  if (f.mode !== "pull-request") throw new UsageError(`--mode must be push or pull-request, got "${f.mode}"`);
  const autoMerge = f.autoMerge === undefined ? false : f.autoMerge.toUpperCase();
  if (autoMerge !== false && !["MERGE", "SQUASH", "REBASE"].includes(autoMerge)) {
    throw new UsageError(`--auto-merge must be merge, squash or rebase, got "${f.autoMerge}"`);
  }
  const { authFromEnv } = await import("../github/client.ts");
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

/** The action of `wildseal sync` (registered in sync.ts, loaded when the command runs). */
export async function syncAction(flags: SyncFlags & { readonly quiet?: boolean }, command: Command): Promise<void> {
  const ctx = cliContext(command);
  const maxAttempts = parseMaxAttempts(flags.maxAttempts);
  warnAboutUrlPassword(flags.repo, ctx.io.stderr);
  const commit = await commitFromFlags(flags, ctx.io.env);
  const certificates = certificatesFromFlags(flags);
  const progress = progressReporter({ stream: { write: ctx.io.stderr }, isTTY: ctx.io.stderrIsTTY === true, quiet: flags.quiet === true, jsonLogs: false });
  const onProgress = progress.onProgress;
  const outcome = await sync({
    ...(onProgress ? { onProgress } : {}),
    ...commit,
    repo: flags.repo,
    branch: validateBranchName(flags.branch),
    source: sourceFromFlags(flags),
    ...(certificates === undefined ? {} : { certificates }),
    delivery: await deliveryFromFlags(flags, ctx.io.env),
    credentials: credentialsFromEnv(ctx.io.env),
    maxAttempts,
    removals: removalsFromFlags(flags),
    controllerCerts: controllerCertsFromFlags(flags),
    // every line, whatever its level, as before: the one-shot sync narrates on stderr
    log: lineLog((line) => ctx.io.stderr(`${line}\n`), { quiet: ["github"] }),
  }).finally(() => progress.done());
  for (const line of outcomeLines(outcome)) ctx.io.stdout(`${line}\n`);
  for (const d of outcome.diagnostics) ctx.io.stderr(`${formatDiagnostic(d)}\n`);
  ctx.exitCode = outcome.diagnostics.length > 0 ? ExitCode.invalidInput : ExitCode.ok;
}
