import type { Command } from "commander";
import { addRemovalOptions, type RemovalFlags } from "./removal-flags.ts";
import { collect } from "./repeatable.ts";

/** --quiet of `render` and `sync`. */
export const QUIET_HELP = "no progress on stderr (shown for renders of 1,000 tenants or more: a bar on a terminal, a line every 2 s otherwise)";

/**
 * `wildseal render [--repo DIR] --source-file PATH`: writes `rendered/` in DIR (no commit). The
 * valid tenants are written even when others are invalid; then every problem is listed and the
 * exit code is 1. The work is in render-action.ts, imported when the command runs: registering every
 * command (for --help, --version and the docs test) must not load what only one of them needs.
 */
export interface RenderFlags extends RemovalFlags {
  readonly repo: string;
  /** `[NAME=]PATH`, repeatable (source-files.ts) */
  readonly sourceFile: readonly string[];
  readonly quiet?: boolean;
}

export function register(program: Command): void {
  addRemovalOptions(program.command("render"))
    .description("render rendered/<cluster>/<tenant>/ from tenants/ and templates/ with the given certificate (no commit)")
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .requiredOption(
      "--source-file <[name=]path>",
      "the TLS Secret: a manifest (YAML/JSON, - for stdin) or a folder with tls.crt and tls.key; with several certificates (spec.certificates) NAME=PATH, once per certificate",
      collect,
    )
    .option("-q, --quiet", QUIET_HELP)
    .action(async (o: RenderFlags, command: Command) => (await import("./render-action.ts")).renderAction(o, command));
}
