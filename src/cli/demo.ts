import type { Command } from "commander";
import { runDemo } from "../pipeline/demo.ts";
import { cliContext } from "./io.ts";

export function register(program: Command): void {
  program
    .command("demo")
    .description("run the whole pipeline locally on an embedded default: no cluster, no GitHub")
    .option("--keep <dir>", "keep the demo's Git remote and a checkout in DIR")
    .action(async (flags: { keep?: string }, command: Command) => {
      const ctx = cliContext(command);
      ctx.exitCode = await runDemo({ out: (l) => ctx.io.stdout(`${l}\n`), ...(flags.keep === undefined ? {} : { keep: flags.keep }) });
    });
}
