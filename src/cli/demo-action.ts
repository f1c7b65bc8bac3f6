import type { Command } from "commander";
import { runDemo } from "../pipeline/demo.ts";
import { cliContext } from "./io.ts";

/** The action of `wildseal demo` (registered in demo.ts): certificate generation is loaded only here. */
export async function demoAction(flags: { keep?: string }, command: Command): Promise<void> {
  const ctx = cliContext(command);
  ctx.exitCode = await runDemo({ out: (l) => ctx.io.stdout(`${l}\n`), ...(flags.keep === undefined ? {} : { keep: flags.keep }) });
}
