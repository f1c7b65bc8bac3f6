import type { Command } from "commander";

export function register(program: Command): void {
  program
    .command("demo")
    .description("run the whole pipeline locally on an embedded default: no cluster, no GitHub")
    .option("--keep <dir>", "keep the demo's Git remote and a checkout in DIR")
    .action(async (flags: { keep?: string }, command: Command) => (await import("./demo-action.ts")).demoAction(flags, command));
}
