import { Option, type Command } from "commander";
import { SCOPES } from "../seal/scope.ts";
import { OUTPUT_FORMATS } from "./output-formats.ts";
import type { SealCommandOptions } from "./seal-action.ts";

/**
 * `wildseal seal [--cert FILE|URL] [--scope S] [--name N] [--namespace NS] [-f FILE|-] [-o yaml|json]`:
 * kubeseal's offline sealing, except that --namespace replaces the input's namespace (the copy of
 * the wildcard Secret lives in the tenant's namespace, not in cert-manager's). The work is in
 * seal-action.ts, imported when the command runs; the Kubernetes client only when no --cert is given.
 */
export function register(program: Command): void {
  program
    .command("seal")
    .description("seal Secret manifests for a Sealed Secrets controller, like kubeseal (offline, with its certificate)")
    .option("--cert <file|url>", "the controller's public certificate: a PEM file or an https:// URL (env SEALED_SECRETS_CERT); default: fetched from the cluster")
    .option("--controller-name <name>", "the controller's Service when fetching (env SEALED_SECRETS_CONTROLLER_NAME; default sealed-secrets-controller)")
    .option("--controller-namespace <ns>", "its namespace (env SEALED_SECRETS_CONTROLLER_NAMESPACE; default kube-system)")
    .addOption(new Option("--scope <scope>", "default: the input's scope annotations, else strict").choices(SCOPES))
    .option("--name <name>", "name of the sealed Secret (replaces the input's)")
    .option("--namespace <ns>", "namespace of the sealed Secret (replaces the input's)")
    .option("-f, --file <path>", "input Secret(s): YAML/JSON file, a mounted Secret folder, or - for stdin", "-")
    .addOption(new Option("-o, --format <format>", "output format").choices(OUTPUT_FORMATS).default("json"))
    .action(async (o: SealCommandOptions, command: Command) => (await import("./seal-action.ts")).sealAction(o, command));
}
