import type { Command } from "commander";
import { cliContext } from "./io.ts";
import { formatDiagnostic } from "../errors.ts";
import { ExitCode } from "../errors.ts";
import { renderRepository } from "../render/render-repository.ts";
import type { RenderOptions, RenderResult } from "../render/render-repository.ts";
import { progressReporter } from "./progress.ts";
import { readTlsSource } from "../tls/tls-material.ts";
import type { TlsMaterial } from "../tls/types.ts";
import { UsageError } from "../errors.ts";
import { loadConfig } from "../model/load-config.ts";
import { certificateNameOf, parseSourceFileArgs } from "./source-files.ts";
import type { RemovalLimit } from "../render/removal-policy.ts";
import { removalsFromFlags } from "./removal-flags.ts";
import type { RenderFlags } from "./render.ts";

/** `wildseal render`'s work (the command and its flags are registered in render.ts). */

export interface RenderCommandOptions {
  readonly repo: string;
  /** the one certificate; with `certificateFiles`, only how diagnostics about the render name it */
  readonly sourceFile: string;
  /** several certificates: name → --source-file path */
  readonly certificateFiles?: ReadonlyMap<string, string>;
  readonly parallel?: boolean;
  readonly removals?: RemovalLimit;
  /** see progress.ts */
  readonly onProgress?: RenderOptions["onProgress"];
  /** what `--source-file -` reads (the CLI's injected stdin) */
  readonly stdin?: NodeJS.ReadableStream;
}

/**
 * One line per tenant folder that changed or was held; kept ones are counted, not listed. Held
 * tenants are counted as held: their live output stayed as it was, so they did not change.
 */
export function summaryLines(result: RenderResult): string[] {
  const lines: string[] = [];
  let kept = 0;
  let held = 0;
  for (const c of result.changes) {
    if (c.kind === "keep") kept++;
    else {
      if (c.kind === "hold") held++;
      lines.push(`${c.kind.padEnd(6)} ${c.cluster === "" ? "-" : c.cluster}/${c.tenant}`);
    }
  }
  const changed = result.changes.length - kept - held;
  const heldPart = held > 0 ? `, ${held} held` : "";
  if (result.leaves !== undefined) {
    const certs = [...result.leaves].map(([name, leaf]) => `${name} ${leaf.sha256} (notAfter ${leaf.notAfter.toISOString()})`);
    lines.push(`${changed} changed${heldPart}, ${kept} unchanged; certificates ${certs.join(", ")}`);
    return lines;
  }
  lines.push(`${changed} changed${heldPart}, ${kept} unchanged; certificate ${result.leaf.sha256} (notAfter ${result.leaf.notAfter.toISOString()})`);
  return lines;
}

export async function runRender(
  opts: RenderCommandOptions,
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const stdin = opts.stdin === undefined ? {} : { stdin: opts.stdin };
  const certificates = new Map<string, { tls: TlsMaterial; label: string }>();
  // several certificates: an expired one holds only its own tenants (render/plan.ts), not every certificate's
  for (const [name, path] of opts.certificateFiles ?? []) certificates.set(name, { tls: await readTlsSource(path, { ...stdin, expiry: "allow" }), label: path });
  const first = [...certificates.values()][0];
  const tls = first !== undefined ? first.tls : await readTlsSource(opts.sourceFile, stdin);
  const result = await renderRepository({
    repoDir: opts.repo,
    tls,
    ...(certificates.size > 0 ? { certificates } : {}),
    sourceLabel: opts.sourceFile,
    ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}),
    ...(opts.removals !== undefined ? { removals: opts.removals } : {}),
    ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
  });
  for (const line of summaryLines(result)) out(`${line}\n`);
  for (const d of result.diagnostics) err(`${formatDiagnostic(d)}\n`);
  return result.diagnostics.length > 0 ? ExitCode.invalidInput : ExitCode.ok;
}

/**
 * --source-file as runRender takes it: a bare PATH for a config of one certificate, else NAME=PATH
 * for each of the config's certificates (checked against wildseal.yaml; a config that does not
 * load is the render's to report).
 */
export async function sourceFilesFor(repo: string, values: readonly string[]): Promise<Pick<RenderCommandOptions, "sourceFile" | "certificateFiles">> {
  const args = parseSourceFileArgs(values);
  const { config } = await loadConfig(repo);
  const names = config?.certificates.map((c) => c.name) ?? [];
  const [only] = args;
  if (only !== undefined && args.length === 1 && names.length <= 1) {
    if (config !== undefined) certificateNameOf(only, names);
    return { sourceFile: only.path };
  }
  const files = new Map<string, string>();
  for (const a of args) files.set(certificateNameOf(a, names), a.path);
  const missing = names.filter((n) => !files.has(n));
  if (missing.length > 0) throw new UsageError(`wildseal.yaml lists ${names.length} certificates: give --source-file NAME=PATH for ${missing.join(", ")} too`);
  return { sourceFile: only?.path ?? "", certificateFiles: files };
}

/** The action of `wildseal render` (registered in render.ts, loaded when the command runs). */
export async function renderAction(o: RenderFlags, command: Command): Promise<void> {
  const ctx = cliContext(command);
  const removals = removalsFromFlags(o);
  const progress = progressReporter({ stream: { write: ctx.io.stderr }, isTTY: ctx.io.stderrIsTTY === true, quiet: o.quiet === true, jsonLogs: false });
  try {
    const onProgress = progress.onProgress;
    const sources = await sourceFilesFor(o.repo, o.sourceFile);
    ctx.exitCode = await runRender({ repo: o.repo, ...sources, removals, stdin: ctx.io.stdin, ...(onProgress ? { onProgress } : {}) }, ctx.io.stdout, ctx.io.stderr);
  } finally {
    progress.done();
  }
}
