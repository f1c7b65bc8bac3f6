import { collect } from "./repeatable.ts";
import type { Command } from "commander";
import type { LevelWithSilent } from "pino";
import { UsageError } from "../errors.ts";
import { addRemovalOptions, type RemovalFlags } from "./removal-flags.ts";
import { addEscalationOptions, type EscalationFlags } from "./escalation-flags.ts";
import {
  addCommitOptions,
  addDeliveryOptions,
  type CommitFlags,
  RESEAL_ON_ROTATION_HELP,
  type ControllerCertFlags,
  type DeliveryFlags,
  type SourceFlags,
} from "./sync.ts";

/**
 * `wildseal watch --repo URL|PATH (--source-file PATH | --source-secret NS/NAME) [--listen ADDR] [--interval DURATION]`
 * Runs until SIGTERM/SIGINT, then finishes (or abandons) the running reconcile and exits 0. Logs are
 * JSON lines on stderr. Credentials, as for sync, come from the environment only; the webhook
 * secret too: WILDSEAL_WEBHOOK_SECRET or a file (a flag value would show in process listings). The
 * work is in watch-action.ts, imported when the command runs.
 */

export interface WatchFlags extends SourceFlags, DeliveryFlags, ControllerCertFlags, RemovalFlags, CommitFlags, EscalationFlags {
  readonly listen?: string;
  readonly interval: string;
  readonly debounce: string;
  readonly resync: string;
  readonly webhookSecretFile?: string;
  readonly leaderElect?: boolean;
  readonly logLevel: string;
  // rollout verification
  readonly verifyRollout?: boolean;
  readonly probeAddress?: readonly string[];
  readonly probeTimeout: string;
  readonly probeInterval: string;
  readonly rolloutDeadline: string;
}

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
const MAX_DURATION_MS = 24 * 3_600_000;

/**
 * Go-style durations as Kubernetes users write them: `30s`, `1m`, `2m30s`, `1h`, `500ms`; units in
 * decreasing order, each at most once; positive and at most 24h. Anything else is a usage error.
 */
export function parseDuration(text: string, flag: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text.trim());
  const bad = (why: string): never => {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: ${why} (e.g. 30s, 1m, 2m30s, 1h)`);
  };
  if (m === null || text.trim() === "") return bad("not a duration");
  const parts: Array<[string | undefined, string]> = [
    [m[1], "h"],
    [m[2], "m"],
    [m[3], "s"],
    [m[4], "ms"],
  ];
  const ms = parts.reduce((sum, [n, unit]) => sum + (n === undefined ? 0 : Number(n) * (UNIT_MS[unit] ?? 0)), 0);
  if (ms <= 0) bad("must be longer than zero");
  if (ms > MAX_DURATION_MS) bad("must be at most 24h");
  return ms;
}

export const LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function register(program: Command): void {
  const watchCommand = addRemovalOptions(program.command("watch")).description(
    "watch the certificate and the GitOps repository; render, commit and push (or open a pull request) whenever something changed",
  );
  addEscalationOptions(addCommitOptions(addDeliveryOptions(watchCommand)))
    .option("--listen <addr>", "serve /healthz, /readyz, /metrics (and /webhook) on ADDR, e.g. :8080 or 127.0.0.1:8080")
    .option("--interval <duration>", "poll the Git branch this often", "1m")
    .option("--debounce <duration>", "wait for a burst of events to settle this long", "1s")
    .option("--resync <duration>", "reconcile in full this often, events or not", "10m")
    .option("--webhook-secret-file <path>", "accept GitHub push webhooks on /webhook signed with the secret in this file (or env WILDSEAL_WEBHOOK_SECRET)")
    .option("--leader-elect", "run reconciles only while holding the Lease wildseal in the source namespace (with --source-secret)")
    .option("--reseal-on-rotation", RESEAL_ON_ROTATION_HELP)
    .option("--log-level <level>", `one of ${LEVELS.join(", ")}`, "info")
    // rollout verification (pipeline/rollout-verifier.ts)
    .option("--verify-rollout", "probe every tenant host over TLS after each push (and periodically) until it serves the committed certificate; rollout metrics")
    .option(
      "--probe-address <host=addr:port>",
      "with --verify-rollout: dial HOST at ADDR:PORT instead of its DNS name on 443, still sending HOST as SNI (repeat for more; HOST may be *.example.com); wins over wildseal.yaml's spec.probe.addresses and clusters[].probe.address",
      collect,
    )
    .option("--probe-timeout <duration>", "with --verify-rollout: give each host's lookup, connect and handshake this long", "5s")
    .option("--probe-interval <duration>", "with --verify-rollout: probe each host at most this often", "1m")
    .option("--rollout-deadline <duration>", "with --verify-rollout: log each tenant not serving its committed certificate this long after a push", "30m")
    .action(async (flags: WatchFlags, command: Command) => (await import("./watch-action.ts")).watchAction(flags, command));
}
