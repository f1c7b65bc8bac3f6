import type { Command } from "commander";
import { cliContext } from "./io.ts";
import { formatDiagnostic } from "../errors.ts";
import { ExitCode } from "../errors.ts";
import { renderRepository } from "../render/render-repository.ts";
import type { RenderOptions, RenderResult } from "../render/render-repository.ts";
import { progressReporter } from "./progress.ts";
import { readTlsSource } from "../tls/tls-material.ts";
import type { RemovalLimit } from "../render/removal-policy.ts";
import { removalsFromFlags } from "./removal-flags.ts";
import type { RenderFlags } from "./render.ts";

/** `wildseal render`'s work (the command and its flags are registered in render.ts). */

export interface RenderCommandOptions {
  readonly repo: string;
  readonly sourceFile: string;
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
  lines.push(`${changed} changed${heldPart}, ${kept} unchanged; certificate ${result.leaf.sha256} (notAfter ${result.leaf.notAfter.toISOString()})`);
  return lines;
}

export async function runRender(
  opts: RenderCommandOptions,
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const tls = await readTlsSource(opts.sourceFile, opts.stdin === undefined ? {} : { stdin: opts.stdin });
  const result = await renderRepository({
    repoDir: opts.repo,
    tls,
    sourceLabel: opts.sourceFile,
    ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}),
    ...(opts.removals !== undefined ? { removals: opts.removals } : {}),
    ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
  });
  for (const line of summaryLines(result)) out(`${line}\n`);
  for (const d of result.diagnostics) err(`${formatDiagnostic(d)}\n`);
  return result.diagnostics.length > 0 ? ExitCode.invalidInput : ExitCode.ok;
}

/** The action of `wildseal render` (registered in render.ts, loaded when the command runs). */
export async function renderAction(o: RenderFlags, command: Command): Promise<void> {
  const ctx = cliContext(command);
  const removals = removalsFromFlags(o);
  const progress = progressReporter({ stream: { write: ctx.io.stderr }, isTTY: ctx.io.stderrIsTTY === true, quiet: o.quiet === true, jsonLogs: false });
  try {
    const onProgress = progress.onProgress;
    ctx.exitCode = await runRender({ repo: o.repo, sourceFile: o.sourceFile, removals, stdin: ctx.io.stdin, ...(onProgress ? { onProgress } : {}) }, ctx.io.stdout, ctx.io.stderr);
  } finally {
    progress.done();
  }
}
