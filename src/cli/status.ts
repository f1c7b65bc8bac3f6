import { collect } from "./repeatable.ts";
import type { Command } from "commander";

/**
 * `wildseal status [--repo DIR] [--json] [--probe-address HOST=ADDR:PORT]… [--probe-timeout D]`:
 * whether each tenant's hosts serve the certificate the repository committed for it, dialled where
 * the flags, then wildseal.yaml's `spec.probe` and `clusters[].probe`, say. The work is in
 * status-action.ts, imported when the command runs (registering must not load the probe engine).
 */
export interface StatusFlags {
  readonly repo: string;
  readonly json?: boolean;
  readonly probeAddress?: readonly string[];
  readonly probeTimeout: string;
}


export function register(program: Command): void {
  program
    .command("status")
    .description(
      "probe every tenant host over TLS (SNI = the host) and compare the served certificate with the committed one: current, stale (an earlier certificate of the tenant), foreign, unreachable; exit 4 when a probed tenant is not current",
    )
    .option("--repo <dir>", "the GitOps repository (a local folder; its Git history tells earlier certificates and lags)", ".")
    .option("--json", "print a JSON array of rows instead of the table")
    .option(
      "--probe-address <host=addr:port>",
      "dial HOST at ADDR:PORT instead of its DNS name on 443, still sending HOST as SNI (repeat for more); HOST may be *.example.com for every host under it; wins over wildseal.yaml's spec.probe.addresses and clusters[].probe.address",
      collect,
    )
    .option("--probe-timeout <duration>", "give each host's lookup, connect and handshake this long", "5s")
    .action(async (o: StatusFlags, command: Command) => (await import("./status-action.ts")).statusAction(o, command));
}
