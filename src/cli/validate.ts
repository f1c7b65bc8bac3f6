import type { Command } from "commander";
import { InvalidInputError, formatDiagnostic } from "../errors.ts";
import type { Diagnostic } from "../errors.ts";
import { loadRepositoryModel } from "../model/load-repository.ts";
import type { RepositoryModel } from "../model/load-repository.ts";
import { readRepoFile } from "../model/read-repo-file.ts";
import { validateTemplates } from "../render/load-templates.ts";
import { parseSealingCertificate } from "../seal/sealing-cert.ts";
import { cliContext } from "./io.ts";

/**
 * `wildseal validate [--repo DIR]`: config, tenants, templates and the committed sealing
 * certificates, every problem at once as `path:line:col: message` on stderr, one summary line on
 * stdout; exit 1 when anything is wrong.
 */

export interface ValidationReport {
  readonly model: RepositoryModel;
  readonly templateCount: number;
  readonly diagnostics: readonly Diagnostic[];
}

export async function validateRepository(repoDir: string, now: Date = new Date()): Promise<ValidationReport> {
  const model = await loadRepositoryModel(repoDir);
  const templates = await validateTemplates(repoDir);
  const certs = model.config === undefined ? [] : await checkSealingCerts(repoDir, model.config, now);
  return {
    model,
    templateCount: templates.templates.length,
    diagnostics: [...model.diagnostics, ...certs, ...templates.diagnostics],
  };
}

/** The committed sealing certificates must parse, be RSA and not be expired (what sealing will demand). */
async function checkSealingCerts(repoDir: string, config: NonNullable<RepositoryModel["config"]>, now: Date): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const cluster of config.clusters) {
    if (cluster.sealing.kind !== "file") continue;
    const path = cluster.sealing.path;
    const read = await readRepoFile(repoDir, path);
    if (read.kind === "refused") {
      out.push(read.diagnostic);
      continue;
    }
    if (read.kind === "missing") continue; // loadConfig reported it
    try {
      parseSealingCertificate(read.text, { now, source: path });
    } catch (e) {
      if (!(e instanceof InvalidInputError)) throw e;
      out.push(...(e.diagnostics.length > 0 ? e.diagnostics : [diagnosticFromMessage(path, e.message)]));
    }
  }
  return out;
}

/** `path:3:1: msg` or `path: msg` (how certificate errors name their source) as a Diagnostic. */
function diagnosticFromMessage(path: string, message: string): Diagnostic {
  const prefix = `${path}:`;
  const rest = message.startsWith(prefix) ? message.slice(prefix.length) : ` ${message}`;
  const m = /^(\d+):(\d+): ([\s\S]*)$/.exec(rest);
  if (m !== null) return { path, line: Number(m[1]), col: Number(m[2]), message: m[3] ?? "" };
  return { path, line: 1, col: 1, message: rest.trimStart() };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

export function summaryLine(report: ValidationReport): string {
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

export function register(program: Command): void {
  program
    .command("validate")
    .description("check wildseal.yaml, tenants/, templates/ and the sealing certificates; list every problem as path:line:col")
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .action(async (o: { repo: string }, command: Command) => {
      const ctx = cliContext(command);
      const report = await validateRepository(o.repo);
      for (const d of report.diagnostics) ctx.io.stderr(`${formatDiagnostic(d)}\n`);
      ctx.io.stdout(`${summaryLine(report)}\n`);
      ctx.exitCode = report.diagnostics.length > 0 ? 1 : 0;
    });
}
