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
import type { CertificateSource } from "../pipeline/certificate-source.ts";
import { startWatch } from "../pipeline/watch.ts";
import { cliContext } from "./io.ts";
import { removalsFromFlags } from "./removal-flags.ts";
import { parseMaxAttempts, warnAboutUrlPassword } from "./sync.ts";
import { certificatesFromFlags, commitFromFlags, controllerCertsFromFlags, deliveryFromFlags, sourceFromFlags } from "./sync-action.ts";
import { LEVELS, parseDuration, type WatchFlags } from "./watch.ts";
import { escalationFromFlags } from "./escalation-flags.ts";
// rollout verification
import { parseProbeAddresses } from "../rollout/probe-address.ts";
import type { RolloutVerificationSettings } from "../pipeline/rollout-verifier.ts";

/** `wildseal watch`'s work (the command and its flags are registered in watch.ts). */

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

/** The action of `wildseal watch` (registered in watch.ts, loaded when the command runs). */
export async function watchAction(flags: WatchFlags, command: Command): Promise<void> {
  const ctx = cliContext(command);
  const env = ctx.io.env;
  const pollIntervalMs = parseDuration(flags.interval, "--interval");
  const debounceMs = parseDuration(flags.debounce, "--debounce");
  const resyncIntervalMs = parseDuration(flags.resync, "--resync");
  const maxAttempts = parseMaxAttempts(flags.maxAttempts);
  const branch = validateBranchName(flags.branch);
  const escalation = escalationFromFlags(flags); // --warn-before, --escalate-*: refused before anything starts
  if (!LEVELS.includes(flags.logLevel as LevelWithSilent)) throw new UsageError(`--log-level must be one of ${LEVELS.join(", ")}, got "${flags.logLevel}"`);
  const listen: ListenAddress | undefined = flags.listen === undefined ? undefined : parseListenAddress(flags.listen);
  if ((flags.webhookSecretFile !== undefined || env.WILDSEAL_WEBHOOK_SECRET) && listen === undefined) {
    throw new UsageError("a webhook secret needs --listen: the webhook is served on the ops endpoint at /webhook");
  }
  const webhookSecret = flags.webhookSecretFile !== undefined ? readWebhookSecret(flags.webhookSecretFile) : env.WILDSEAL_WEBHOOK_SECRET || undefined;
  const given = sourceFromFlags(flags);
  // several certificates: one feed (one Secret watch) per certificate
  const named = certificatesFromFlags(flags);
  // the Lease lives in the (first) source Secret's namespace; with several certificates files and
  // Secrets may be mixed, and files are listed first, so look for the first Secret among them all
  const leaseSource = [given, ...(named?.values() ?? [])].find((c) => c.kind === "kubernetes");
  if (flags.leaderElect && leaseSource?.kind !== "kubernetes") {
    throw new UsageError("--leader-elect needs --source-secret: the Lease lives in the source Secret's namespace");
  }
  const delivery = await deliveryFromFlags(flags, env);
  const credentials = credentialsFromEnv(env);
  const commit = await commitFromFlags(flags, env);
  warnAboutUrlPassword(flags.repo, ctx.io.stderr);
  const watchSourceOf = async (c: CertificateSource): Promise<WatchSource> =>
    c.kind === "kubernetes" ? { kind: "secret", namespace: c.namespace, name: c.name } : await watchSourceForPath(c.kind === "file" ? c.path : "");
  const source = await watchSourceOf(given);
  let certificateSources: Map<string, WatchSource> | undefined;
  if (named !== undefined) {
    certificateSources = new Map();
    for (const [name, c] of named) certificateSources.set(name, await watchSourceOf(c));
  }

  const verifyRollout = rolloutFromFlags(flags);
  const log = createLogger({ level: flags.logLevel as LevelWithSilent, destination: { write: (s: string) => ctx.io.stderr(s) } });
  const watcher = await startWatch({
    repo: flags.repo,
    branch,
    source,
    ...(certificateSources === undefined ? {} : { certificateSources }),
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
    ...(verifyRollout === undefined ? {} : { verifyRollout }),
    escalation,
    ...(flags.leaderElect && leaseSource?.kind === "kubernetes"
      ? { leaderElection: { namespace: leaseSource.namespace, identity: `${hostname()}-${process.pid}` } }
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
}

/** --verify-rollout and its settings; the probe flags without it are a usage error (they would do nothing). */
function rolloutFromFlags(flags: WatchFlags): RolloutVerificationSettings | undefined {
  const probeAddresses = parseProbeAddresses(flags.probeAddress ?? []);
  const settings = {
    probeAddresses,
    probeTimeoutMs: parseDuration(flags.probeTimeout, "--probe-timeout"),
    probeIntervalMs: parseDuration(flags.probeInterval, "--probe-interval"),
    deadlineMs: parseDuration(flags.rolloutDeadline, "--rollout-deadline"),
  };
  if (flags.verifyRollout === true) return settings;
  if (probeAddresses.length > 0) throw new UsageError("--probe-address needs --verify-rollout: without it nothing is probed");
  return undefined;
}
