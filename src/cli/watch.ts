import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Command } from "commander";
import type { LevelWithSilent } from "pino";
import { ExitCode, UsageError } from "../errors.ts";
import { validateBranchName } from "../git/branch-name.ts";
import { credentialsFromEnv } from "../git/credentials.ts";
import { parseListenAddress, type ListenAddress } from "../ops/http-server.ts";
import { createLogger } from "../ops/logger.ts";
import { handleTermination } from "../ops/shutdown.ts";
import { watchSourceForPath, type WatchSource } from "../pipeline/certificate-feed.ts";
import { startWatch } from "../pipeline/watch.ts";
import { cliContext } from "./io.ts";
import { addRemovalOptions, removalsFromFlags, type RemovalFlags } from "./removal-flags.ts";
import {
  addCommitOptions,
  addDeliveryOptions,
  commitFromFlags,
  type CommitFlags,
  controllerCertsFromFlags,
  deliveryFromFlags,
  parseMaxAttempts,
  RESEAL_ON_ROTATION_HELP,
  sourceFromFlags,
  type ControllerCertFlags,
  type DeliveryFlags,
  type SourceFlags,
  warnAboutUrlPassword,
} from "./sync.ts";

/**
 * `wildseal watch --repo URL|PATH (--source-file PATH | --source-secret NS/NAME) [--listen ADDR] [--interval DURATION]`
 * Runs until SIGTERM/SIGINT, then finishes (or abandons) the running reconcile and exits 0. Logs are
 * JSON lines on stderr. Credentials, as for sync, come from the environment only; the webhook
 * secret too: WILDSEAL_WEBHOOK_SECRET or a file (a flag value would show in process listings).
 */

const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** The webhook secret from a file (a mounted Secret): trailing newline ignored, never echoed. */
function readWebhookSecret(path: string): string {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > MAX_SECRET_FILE_BYTES) throw new UsageError(`--webhook-secret-file ${path}: larger than ${MAX_SECRET_FILE_BYTES} bytes; not a webhook secret`);
    text = bytes.toString("utf8").replace(/\r?\n$/, "");
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--webhook-secret-file ${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"}); give the file that holds the secret`);
  }
  if (text === "") throw new UsageError(`--webhook-secret-file ${path} is empty`);
  return text;
}

interface WatchFlags extends SourceFlags, DeliveryFlags, ControllerCertFlags, RemovalFlags, CommitFlags {
  readonly listen?: string;
  readonly interval: string;
  readonly debounce: string;
  readonly resync: string;
  readonly webhookSecretFile?: string;
  readonly leaderElect?: boolean;
  readonly logLevel: string;
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

const LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function register(program: Command): void {
  const watchCommand = addRemovalOptions(program.command("watch")).description(
    "watch the certificate and the GitOps repository; render, commit and push (or open a pull request) whenever something changed",
  );
  addCommitOptions(addDeliveryOptions(watchCommand))
    .option("--listen <addr>", "serve /healthz, /readyz, /metrics (and /webhook) on ADDR, e.g. :8080 or 127.0.0.1:8080")
    .option("--interval <duration>", "poll the Git branch this often", "1m")
    .option("--debounce <duration>", "wait for a burst of events to settle this long", "1s")
    .option("--resync <duration>", "reconcile in full this often, events or not", "10m")
    .option("--webhook-secret-file <path>", "accept GitHub push webhooks on /webhook signed with the secret in this file (or env WILDSEAL_WEBHOOK_SECRET)")
    .option("--leader-elect", "run reconciles only while holding the Lease wildseal in the source namespace (with --source-secret)")
    .option("--reseal-on-rotation", RESEAL_ON_ROTATION_HELP)
    .option("--log-level <level>", `one of ${LEVELS.join(", ")}`, "info")
    .action(async (flags: WatchFlags, command: Command) => {
      const ctx = cliContext(command);
      const env = ctx.io.env;
      const pollIntervalMs = parseDuration(flags.interval, "--interval");
      const debounceMs = parseDuration(flags.debounce, "--debounce");
      const resyncIntervalMs = parseDuration(flags.resync, "--resync");
      const maxAttempts = parseMaxAttempts(flags.maxAttempts);
      const branch = validateBranchName(flags.branch);
      if (!LEVELS.includes(flags.logLevel as LevelWithSilent)) throw new UsageError(`--log-level must be one of ${LEVELS.join(", ")}, got "${flags.logLevel}"`);
      const listen: ListenAddress | undefined = flags.listen === undefined ? undefined : parseListenAddress(flags.listen);
      if ((flags.webhookSecretFile !== undefined || env.WILDSEAL_WEBHOOK_SECRET) && listen === undefined) {
        throw new UsageError("a webhook secret needs --listen: the webhook is served on the ops endpoint at /webhook");
      }
      const webhookSecret = flags.webhookSecretFile !== undefined ? readWebhookSecret(flags.webhookSecretFile) : env.WILDSEAL_WEBHOOK_SECRET || undefined;
      const given = sourceFromFlags(flags);
      if (flags.leaderElect && given.kind !== "kubernetes") {
        throw new UsageError("--leader-elect needs --source-secret: the Lease lives in the source Secret's namespace");
      }
      const delivery = deliveryFromFlags(flags, env);
      const credentials = credentialsFromEnv(env);
      const commit = await commitFromFlags(flags, env);
      warnAboutUrlPassword(flags.repo, ctx.io.stderr);
      const source: WatchSource =
        given.kind === "kubernetes"
          ? { kind: "secret", namespace: given.namespace, name: given.name }
          : await watchSourceForPath(given.kind === "file" ? given.path : "");

      const log = createLogger({ level: flags.logLevel as LevelWithSilent, destination: { write: (s: string) => ctx.io.stderr(s) } });
      const watcher = await startWatch({
        repo: flags.repo,
        branch,
        source,
        delivery,
        credentials,
        log,
        pollIntervalMs,
        debounceMs,
        resyncIntervalMs,
        maxAttempts,
        ...commit,
        removals: removalsFromFlags(flags),
        controllerCerts: controllerCertsFromFlags(flags),
        ...(listen === undefined ? {} : { listen }),
        ...(webhookSecret === undefined ? {} : { webhookSecret }),
        ...(flags.leaderElect && given.kind === "kubernetes"
          ? { leaderElection: { namespace: given.namespace, identity: `${hostname()}-${process.pid}` } }
          : {}),
      });
      const code = await new Promise<number>((resolve) => {
        let remove: () => void = () => undefined;
        remove = handleTermination({
          log,
          steps: watcher.shutdownSteps,
          // a clean shutdown returns through main(); a second signal or the deadline exits at once
          exit: (c) => {
            if (c !== 0) process.exit(c);
            remove();
            resolve(c);
          },
        });
      });
      ctx.exitCode = code === 0 ? ExitCode.ok : code;
      // Everything was stopped; should a stray handle still hold the event loop, do not hang on it.
      setTimeout(() => process.exit(ctx.exitCode), 2_000).unref();
    });
}
