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
import { loadConfig } from "../model/load-config.ts";
import { certificateNameOf, parseSourceFileArgs } from "./source-files.ts";
import { FORMATS, githubAnnotation, githubError, summaryLine, type ValidateFlags } from "./validate.ts";

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

/**
 * Checks the --source-file names against wildseal.yaml's certificates (a UsageError says which
 * name is wrong); a config that does not load is checkRepository's to report, so nothing is checked.
 */
async function certificateNamesOf(repo: string, check: (names: readonly string[]) => void): Promise<void> {
  const { config } = await loadConfig(repo);
  if (config !== undefined) check(config.certificates.map((c) => c.name));
}

/** The action of `wildseal validate` (registered in validate.ts, loaded when the command runs). */
export async function validateAction(o: ValidateFlags, command: Command): Promise<void> {
  const ctx = cliContext(command);
  if (o.format !== "text" && o.format !== "github") throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
  const github = o.format === "github";
  const now = new Date();
  let report: RepositoryCheck;
  let sourceProblems: Diagnostic[] = [];
  const args = parseSourceFileArgs(o.sourceFile ?? []);
  const bare = args.length === 1 && args[0]?.certificate === undefined ? args[0] : undefined;
  try {
    let sources: Map<string, { tls: TlsMaterial; label: string }> | undefined;
    let single: { tls?: TlsMaterial; diagnostics: Diagnostic[] } = { diagnostics: [] };
    if (bare !== undefined) {
      // the one certificate: checked as before, whatever the config (a config with several says so below)
      single = await readSourceForCheck(bare.path, now, ctx.io.stdin);
      await certificateNamesOf(o.repo, (names) => certificateNameOf(bare, names));
    } else if (args.length > 0) {
      sources = new Map();
      await certificateNamesOf(o.repo, (names) => args.forEach((a) => certificateNameOf(a, names)));
      for (const a of args) {
        const read = await readSourceForCheck(a.path, now, ctx.io.stdin);
        single.diagnostics.push(...read.diagnostics);
        if (read.tls !== undefined && a.certificate !== undefined) sources.set(a.certificate, { tls: read.tls, label: a.path === "-" ? "<stdin>" : a.path });
      }
    }
    sourceProblems = single.diagnostics;
    report = await checkRepository(o.repo, {
      now,
      ...(single.tls !== undefined ? { tls: single.tls } : {}),
      ...(bare !== undefined ? { tlsLabel: bare.path } : {}),
      ...(sources !== undefined ? { sources } : {}),
    });
  } catch (e) {
    if (!(e instanceof NotARepositoryError) || !github) throw e;
    ctx.io.stdout(`${githubError(e.message)}\n`);
    ctx.exitCode = 1;
    return;
  }
  const diagnostics = [...sourceProblems, ...report.diagnostics];
  const label = bare === undefined ? undefined : bare.path === "-" ? "<stdin>" : bare.path;
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
}
