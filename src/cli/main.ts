#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { ExitCode, formatDiagnostic, isWildsealError } from "../errors.ts";
import { wildsealVersion } from "../package-info.ts";
import { COMMANDS } from "./commands.ts";
import { attachContext, processIo, type CliContext, type CliIo } from "./io.ts";

/** Builds the program; each command lives in its own module and registers itself. */
export function buildProgram(ctx: CliContext = { io: processIo(), exitCode: 0 }): Command {
  const program = new Command("wildseal")
    .description("Seal one wildcard TLS certificate for many tenants and deliver it through GitOps")
    // read from package.json at run time (src/ and the dist/ bundle alike), so it never drifts from the release
    .version(wildsealVersion(), "-V, --version", "print wildseal's version")
    // before the commands are added: subcommands copy these settings when created
    .configureOutput({ writeOut: ctx.io.stdout, writeErr: ctx.io.stderr })
    .showHelpAfterError()
    .exitOverride();
  attachContext(program, ctx);
  for (const register of COMMANDS) register(program);
  return program;
}

/** Maps any error to a message on stderr and an exit code from the contract. Never prints key material. */
export function reportError(e: unknown, stderr: (s: string) => void): number {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.exitCode === 0) return ExitCode.ok;
    return ExitCode.usage;
  }
  if (isWildsealError(e)) {
    const diags = "diagnostics" in e ? e.diagnostics : [];
    for (const d of diags) stderr(`${formatDiagnostic(d)}\n`);
    if (diags.length === 0 || e.message !== "") stderr(`wildseal: ${e.message}\n`);
    return e.exitCode;
  }
  stderr(`wildseal: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
  return ExitCode.dependency;
}

/** Runs the CLI; `io` is injectable so tests can run commands in-process and read their output. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const ctx: CliContext = { io, exitCode: ExitCode.ok };
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (e) {
    return reportError(e, io.stderr);
  }
}

// Run when executed (also through npm's bin symlink), not when imported by tests.
const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  // `wildseal tenant list | head`: a reader that closed the pipe wants no more output, not a stack trace
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(process.exitCode ?? 0);
  });
  process.exitCode = await main(process.argv.slice(2));
}
