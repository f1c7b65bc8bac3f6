import type { Command } from "commander";

/**
 * The process edges a command touches, injectable so tests can run `main()` in-process and read what
 * it printed. A command gets its context with `cliContext(command)`; it sets `exitCode` there instead
 * of on `process` (a test process must not inherit the exit code of the CLI runs it makes).
 */
export interface CliIo {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  /** stderr is a terminal (progress is then drawn as a bar redrawn in place); absent: it is not */
  readonly stderrIsTTY?: boolean;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface CliContext {
  readonly io: CliIo;
  exitCode: number;
}

export function processIo(): CliIo {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    stderrIsTTY: process.stderr.isTTY === true,
    stdin: process.stdin,
    env: process.env,
  };
}

const contexts = new WeakMap<Command, CliContext>();

export function attachContext(program: Command, ctx: CliContext): void {
  contexts.set(program, ctx);
}

/** The context of the program `command` belongs to (process IO when none was attached). */
export function cliContext(command: Command): CliContext {
  let c: Command | null = command;
  while (c !== null) {
    const ctx = contexts.get(c);
    if (ctx !== undefined) return ctx;
    c = c.parent;
  }
  const ctx: CliContext = { io: processIo(), exitCode: 0 };
  contexts.set(command, ctx);
  return ctx;
}
