/**
 * SIGTERM/SIGINT → one orderly shutdown: stop the sources and the loop (which finishes or abandons
 * the running reconcile), close the servers, then exit 0. A second signal while shutting down exits
 * at once with 130/143, for an operator who really means it.
 */
import type { Log } from "../log.ts";

export interface ShutdownOptions {
  readonly log: Log;
  /** everything to stop, in order; each is awaited, a failure is logged and the rest still run */
  readonly steps: ReadonlyArray<{ readonly name: string; readonly stop: () => Promise<void> }>;
  /** give up waiting after this long and exit anyway; default 25 s (inside Kubernetes' 30 s grace) */
  readonly deadlineMs?: number;
  readonly exit?: (code: number) => void;
  readonly signals?: readonly NodeJS.Signals[];
}

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Installs the handlers; returns a function that removes them (for tests and embedders). */
export function handleTermination(options: ShutdownOptions): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? (["SIGTERM", "SIGINT"] as const);
  let shuttingDown = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      options.log.warn({ signal }, "second signal: exiting without waiting");
      exit(SIGNAL_EXIT[signal] ?? 1);
      return;
    }
    shuttingDown = true;
    options.log.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      options.log.error({ deadlineMs: options.deadlineMs ?? 25_000 }, "shutdown deadline passed: exiting");
      exit(1);
    }, options.deadlineMs ?? 25_000);
    deadline.unref();
    void (async () => {
      for (const step of options.steps) {
        try {
          await step.stop();
        } catch (err) {
          options.log.warn({ step: step.name, error: err instanceof Error ? err.message : String(err) }, "shutdown step failed");
        }
      }
      clearTimeout(deadline);
      options.log.info("shut down cleanly");
      exit(0);
    })();
  };

  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
