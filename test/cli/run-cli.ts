import { Readable } from "node:stream";
import { main } from "../../src/cli/main.ts";

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process and captures what it printed. */
export async function runCli(argv: readonly string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    stdin: Readable.from([]),
    env: {},
  });
  return { code, stdout, stderr };
}
