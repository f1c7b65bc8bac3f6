import { Readable } from "node:stream";
import { main } from "../../src/cli/main.ts";

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** what `-` reads (private keys go through stdin, never to disk) */
  readonly stdin?: string | Buffer;
  /** the command's environment (default: empty, so nothing of the test's own leaks in) */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The one way tests run the CLI: in-process, its output captured. */
export async function runCli(argv: readonly string[], opts: RunOptions = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const input = opts.stdin ?? "";
  const code = await main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    stdin: Readable.from(input.length === 0 ? [] : [Buffer.from(input)]),
    env: { ...opts.env },
  });
  return { code, stdout, stderr };
}
