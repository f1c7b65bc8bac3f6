import { collect } from "./repeatable.ts";
import type { Command } from "commander";

export interface InitFlags {
  readonly sourceSecret: string;
  readonly cluster: string[];
  readonly controller: string[];
}


/**
 * `wildseal init [DIR] --source-secret NS/NAME --cluster NAME=CERT.pem|NAME [--controller NS/NAME]…`:
 * writes a new GitOps repository. The work is in init-action.ts, imported when the command runs.
 */
export function register(program: Command): void {
  program
    .command("init")
    .description("write a new GitOps repository: wildseal.yaml, tenants/, templates/, the clusters' sealing certificates and a validate workflow")
    .argument("[dir]", "folder of the new repository (created when missing)", ".")
    .requiredOption("--source-secret <ns/name>", "the kubernetes.io/tls Secret cert-manager writes (the Certificate's spec.secretName)")
    .option("--cluster <name[=cert.pem]>", "a cluster and its Sealed Secrets certificate (kubeseal --fetch-cert); without =cert.pem it takes the next --controller (repeat)", collect, [])
    .option("--controller <ns/name>", "the sealed-secrets controller of the next --cluster given without a certificate (repeat)", collect, [])
    .action(async (dir: string, o: InitFlags, command: Command) => (await import("./init-action.ts")).initAction(dir, o, command));
}
