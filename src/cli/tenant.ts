import { collect } from "./repeatable.ts";
import { Option } from "commander";
import type { Command } from "commander";
import { SCOPES } from "../seal/scope.ts";

/**
 * `wildseal tenant add|remove|list`: the commands and their flags; the work is in tenant-action.ts,
 * imported when a command runs.
 */

export interface AddFlags {
  host: string[];
  cluster?: string;
  namespace?: string;
  scope?: string;
  value?: string[];
  sourceFile?: string;
  repo: string;
}


export function register(program: Command): void {
  const tenant = program.command("tenant").description("manage tenant files in tenants/");
  tenant
    .command("add")
    .description(
      "write tenants/NAME.yaml after checking it like `wildseal validate` does: refused (nothing written) when a template needs a value it lacks, or, with --source-file, when the certificate does not cover a host",
    )
    .argument("<name>", "tenant name (DNS-1123 label); also the file name and the default namespace")
    .requiredOption("--host <host>", "a host name the tenant serves (repeat for more)", collect)
    .option("--cluster <cluster>", "cluster from wildseal.yaml (may be omitted when there is exactly one)")
    .option("--namespace <ns>", "namespace of the Secret (default: the tenant name)")
    .addOption(new Option("--scope <scope>", "Sealed Secrets scope (default: the config's)").choices(SCOPES))
    .option(
      "--value <key=value>",
      "a spec.values entry for templates' ${values.KEY} placeholders (repeat for more); dotted keys nest (ingress.class=nginx); values are written as strings",
      collect,
    )
    .option("--source-file <path>", "the TLS Secret the tenant will be served from: refuse hosts it does not cover (a manifest, - for stdin, or a folder with tls.crt and tls.key)")
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .action(async (name: string, o: AddFlags, command: Command) => (await import("./tenant-action.ts")).addAction(name, o, command));

  tenant
    .command("remove")
    .description("delete tenants/NAME.yaml; the next sync (or render) removes the tenant's rendered output")
    .argument("<name>", "the tenant to remove")
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .action(async (name: string, o: { repo: string }, command: Command) => (await import("./tenant-action.ts")).removeAction(name, o, command));

  tenant
    .command("list")
    .description("list the tenants: cluster, namespace, hosts, the committed certificate's notAfter and the last commit that changed each tenant file")
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .option("--json", "print a JSON array (name, cluster, namespace, hosts, certificateNotAfter, lastChange {commit, author, date})")
    .action(async (o: { repo: string; json?: boolean }, command: Command) => (await import("./tenant-action.ts")).listAction(o, command));
}
