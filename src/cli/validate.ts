import { Option } from "commander";
import type { Command } from "commander";
import type { Diagnostic } from "../errors.ts";
import type { RepositoryCheck } from "../render/check-repository.ts";
import { collect } from "./repeatable.ts";

/**
 * `wildseal validate [--repo DIR] [--source-file FILE] [--format text|github]`: every problem of
 * every file at once (render/check-repository.ts) — as `path:line:col: message` on stderr and one
 * summary line on stdout, or as GitHub workflow commands on stdout (annotations on a pull request's
 * files); exit 1 when anything is wrong. The work is in validate-action.ts, imported when the command runs.
 */

export type ValidationReport = RepositoryCheck;

/** Kept for callers of the former API (init's tests): checkRepository without a certificate. */
export async function validateRepository(repoDir: string, now: Date = new Date()): Promise<ValidationReport> {
  const { checkRepository } = await import("../render/check-repository.ts");
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

export const FORMATS = ["text", "github"] as const;

export interface ValidateFlags {
  readonly repo: string;
  /** `[NAME=]PATH`, repeatable (source-files.ts) */
  readonly sourceFile?: readonly string[];
  readonly format: string;
}

export function register(program: Command): void {
  program
    .command("validate")
    .description(
      "check wildseal.yaml, tenants/, templates/, the sealing certificates and what templates need from each tenant; with --source-file also the certificate and each tenant's hosts; list every problem at once",
    )
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .option(
      "--source-file <[name=]path>",
      "the TLS Secret to check tenants' hosts against: a manifest (YAML/JSON, - for stdin) or a folder with tls.crt and tls.key; with several certificates (spec.certificates) NAME=PATH, once per certificate",
      collect,
    )
    .addOption(
      new Option("--format <format>", "text: path:line:col: message on stderr and a summary on stdout; github: one ::error workflow command per problem on stdout (pull request annotations)")
        .choices(FORMATS)
        .default("text"),
    )
    .action(async (o: ValidateFlags, command: Command) => (await import("./validate-action.ts")).validateAction(o, command));
}
