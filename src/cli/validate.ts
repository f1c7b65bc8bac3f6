import { Option } from "commander";
import type { Command } from "commander";
import { posix } from "node:path";
import { InvalidInputError, UsageError, formatDiagnostic } from "../errors.ts";
import type { Diagnostic } from "../errors.ts";
import { checkRepository, NotARepositoryError } from "../render/check-repository.ts";
import { diagnosticFromMessage } from "../render/repository-inputs.ts";
import type { RepositoryCheck } from "../render/check-repository.ts";
import { readTlsSource } from "../tls/tls-material.ts";
import type { TlsMaterial } from "../tls/types.ts";
import { cliContext } from "./io.ts";

/**
 * `wildseal validate [--repo DIR] [--source-file FILE] [--format text|github]`: every problem of
 * every file at once (render/check-repository.ts) — as `path:line:col: message` on stderr and one
 * summary line on stdout, or as GitHub workflow commands on stdout (annotations on a pull request's
 * files); exit 1 when anything is wrong.
 */

export type ValidationReport = RepositoryCheck;

/** Kept for callers of the former API (init's tests): checkRepository without a certificate. */
export function validateRepository(repoDir: string, now: Date = new Date()): Promise<ValidationReport> {
  return checkRepository(repoDir, { now });
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

export function summaryLine(report: Pick<ValidationReport, "model" | "templateCount" | "diagnostics">): string {
  const { model, templateCount, diagnostics } = report;
  const validFiles = new Set(model.tenants.map((t) => t.file));
  const invalidFiles = new Set(diagnostics.filter((d) => d.path.startsWith("tenants/") && !validFiles.has(d.path)).map((d) => d.path));
  const parts = [
    model.config === undefined ? "config invalid" : "1 config",
    count(model.tenants.length, "tenant"),
    ...(invalidFiles.size > 0 ? [count(invalidFiles.size, "invalid tenant file")] : []),
    count(templateCount, "template"),
  ];
  if (diagnostics.length === 0) return `ok: ${parts.join(", ")}`;
  return `${count(diagnostics.length, "problem")}: ${parts.join(", ")}`;
}

/** GitHub's escaping of a workflow command's message (actions/toolkit escapeData). */
export function escapeGithubData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** GitHub's escaping of a workflow command's property value (actions/toolkit escapeProperty). */
export function escapeGithubProperty(s: string): string {
  return escapeGithubData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

export const GITHUB_TITLE = "wildseal validate";

/** `::error file=…,line=…,col=…,title=wildseal validate::message`; `file` is relative to where the action runs. */
export function githubAnnotation(d: Diagnostic, file: string): string {
  const props = [`file=${file}`, `line=${d.line}`, `col=${d.col}`, `title=${GITHUB_TITLE}`].map((p) => {
    const eq = p.indexOf("=");
    return `${p.slice(0, eq)}=${escapeGithubProperty(p.slice(eq + 1))}`;
  });
  return `::error ${props.join(",")}::${escapeGithubData(d.message)}`;
}

/** An annotation on no file (the repository as a whole). */
export function githubError(message: string): string {
  return `::error title=${escapeGithubProperty(GITHUB_TITLE)}::${escapeGithubData(message)}`;
}

/** Repository paths as seen from the working directory (GitHub resolves annotation files from the checkout root). */
function fileFromCwd(repo: string, d: Diagnostic, sourceFile: string | undefined): string {
  if (sourceFile !== undefined && d.path === sourceFile) return d.path;
  return posix.normalize(posix.join(repo.split("\\").join("/"), d.path));
}

/**
 * The certificate from --source-file as render reads it; a certificate that cannot be used
 * (expired, key mismatch, unreadable) is one more problem of this run, not the end of it.
 */
export async function readSourceForCheck(
  sourceFile: string,
  now: Date,
  stdin?: NodeJS.ReadableStream,
): Promise<{ tls?: TlsMaterial; diagnostics: Diagnostic[] }> {
  try {
    return { tls: await readTlsSource(sourceFile, { now, ...(stdin !== undefined ? { stdin } : {}) }), diagnostics: [] };
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    const label = sourceFile === "-" ? "<stdin>" : sourceFile;
    return { diagnostics: e.diagnostics.length > 0 ? [...e.diagnostics] : [diagnosticFromMessage(label, e.message)] };
  }
}

const FORMATS = ["text", "github"] as const;

export function register(program: Command): void {
  program
    .command("validate")
    .description(
      "check wildseal.yaml, tenants/, templates/, the sealing certificates and what templates need from each tenant; with --source-file also the certificate and each tenant's hosts; list every problem at once",
    )
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .option("--source-file <path>", "the TLS Secret to check tenants' hosts against: a manifest (YAML/JSON, - for stdin) or a folder with tls.crt and tls.key")
    .addOption(
      new Option("--format <format>", "text: path:line:col: message on stderr and a summary on stdout; github: one ::error workflow command per problem on stdout (pull request annotations)")
        .choices(FORMATS)
        .default("text"),
    )
    .action(async (o: { repo: string; sourceFile?: string; format: string }, command: Command) => {
      const ctx = cliContext(command);
      if (o.format !== "text" && o.format !== "github") throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
      const github = o.format === "github";
      const now = new Date();
      let report: RepositoryCheck;
      let sourceProblems: Diagnostic[] = [];
      try {
        const source = o.sourceFile === undefined ? { diagnostics: [] } : await readSourceForCheck(o.sourceFile, now, ctx.io.stdin);
        sourceProblems = source.diagnostics;
        report = await checkRepository(o.repo, {
          now,
          ...(source.tls !== undefined ? { tls: source.tls } : {}),
          ...(o.sourceFile !== undefined ? { tlsLabel: o.sourceFile } : {}),
        });
      } catch (e) {
        if (!(e instanceof NotARepositoryError) || !github) throw e;
        ctx.io.stdout(`${githubError(e.message)}\n`);
        ctx.exitCode = 1;
        return;
      }
      const diagnostics = [...sourceProblems, ...report.diagnostics];
      const label = o.sourceFile === "-" ? "<stdin>" : o.sourceFile;
      if (github) {
        for (const d of diagnostics) ctx.io.stdout(`${githubAnnotation(d, fileFromCwd(o.repo, d, label))}\n`);
      } else {
        for (const d of diagnostics) ctx.io.stderr(`${formatDiagnostic(d)}\n`);
      }
      const summary = summaryLine({ ...report, diagnostics });
      // github: stdout is the workflow command stream; the summary goes to the job log via stderr
      if (github) ctx.io.stderr(`${summary}\n`);
      else ctx.io.stdout(`${summary}\n`);
      ctx.exitCode = diagnostics.length > 0 ? 1 : 0;
    });
}
