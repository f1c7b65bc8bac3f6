import { Option, type Command } from "commander";
import { OUTPUT_FORMATS } from "./output-formats.ts";
import type { UnsealCommandOptions } from "./unseal-action.ts";

/**
 * `wildseal unseal --key FILE [--key FILE …] [-f FILE|-] [-o yaml|json]`: offline recovery, like
 * `kubeseal --recovery-unseal`. Prints the Secrets (this is the one command whose job is to print
 * secret values, to stdout only). The work is in unseal-action.ts, imported when the command runs.
 */
export function register(program: Command): void {
  program
    .command("unseal")
    .description("open SealedSecrets with the controller's private key(s) and print the Secrets (recovery)")
    .requiredOption(
      "--key <file>",
      "private key: PEM (PKCS#1/PKCS#8) or a backup of the controller's key Secrets; repeat for several",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("-f, --file <path>", "SealedSecret manifest(s): YAML/JSON file or - for stdin", "-")
    .addOption(new Option("-o, --format <format>", "output format").choices(OUTPUT_FORMATS).default("json"))
    .action(async (o: UnsealCommandOptions, command: Command) => (await import("./unseal-action.ts")).unsealAction(o, command));
}
