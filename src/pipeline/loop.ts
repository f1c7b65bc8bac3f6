/**
 * The reconcile loop: turns a stream of "something may have changed" triggers into as few reconciles
 * as correctness allows. Level-triggered: a reconcile looks at the world, not at the trigger, so
 * triggers are only coalesced and passed along for logging.
 *
 * - a burst is debounced into one reconcile (window opens at the burst's first trigger);
 * - `startup` skips the debounce: the catch-up reconcile runs at once;
 * - one reconcile at a time; triggers arriving meanwhile coalesce into exactly one follow-up;
 * - a periodic `resync` trigger bounds how long a missed event can go unnoticed;
 * - a failure is retried with jittered exponential backoff, at most `maxRetries` times, then the loop
 *   waits for the next trigger (the resync is one); while backing off, new triggers wait too, so a
 *   failing remote is not hammered by a chatty source.
 */
import type { Log } from "../log.ts";
import { recordReconcile, type WildsealMetrics } from "../ops/metrics.ts";
import { backoffDelay } from "../backoff.ts";
import type { ReconcileFn, ReconcileOutcome, Trigger } from "../trigger.ts";

export interface RetryPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** retries after a failure before giving up until the next trigger */
  readonly maxRetries: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialMs: 2_000, maxMs: 120_000, maxRetries: 5 };

export interface ReconcileLoopOptions {
  readonly reconcile: ReconcileFn;
  readonly debounceMs: number;
  /** 0 disables the periodic resync */
  readonly resyncIntervalMs: number;
  readonly log: Log;
  readonly metrics?: WildsealMetrics;
  readonly retry?: RetryPolicy;
  /** [0,1) source for backoff jitter; injectable for deterministic tests */
  readonly random?: () => number;
}

export interface StopOptions {
  /** let the running reconcile finish for this long before aborting it; default 0 (abort at once) */
  readonly graceMs?: number;
}

export interface LoopStatus {
  readonly alive: boolean;
  readonly running: boolean;
  /** true once any reconcile ended published or unchanged: what /readyz reports */
  readonly succeededOnce: boolean;
  readonly lastSuccessAt: Date | undefined;
  readonly consecutiveFailures: number;
  readonly lastOutcome: ReconcileOutcome["kind"] | undefined;
}

export interface ReconcileLoop {
  trigger(trigger: Trigger): void;
  /** Stop accepting triggers; finish (within graceMs) or abort the running reconcile; resolves when it settled. */
  stop(options?: StopOptions): Promise<void>;
  /** Resolves when nothing runs and nothing is scheduled (the periodic resync aside). */
  idle(): Promise<void>;
  status(): LoopStatus;
}

/** Distinct triggers kept for one reconcile; past it, only a trigger of a kind not yet pending is kept. */
export const MAX_PENDING_TRIGGERS = 1_000;

/**
 * The triggers waiting for the next reconcile: one entry per kind+detail, in first-arrival order.
 * The reconcile is level-triggered (it reads Git and the inputs itself), so which triggers are
 * pending only matters for logs: once MAX_PENDING_TRIGGERS distinct ones wait, a trigger whose kind
 * is already pending adds nothing. A flood of distinct webhook deliveries then costs O(1) time per
 * delivery and bounded memory (a pending array scanned per trigger made it O(n²)).
 */
export class PendingTriggers {
  readonly #byKey = new Map<string, Trigger>();
  readonly #kinds = new Set<Trigger["kind"]>();
  /** distinct triggers left out past the limit, per kind: the log still counts them */
  #dropped: Partial<Record<Trigger["kind"], number>> = {};

  add(trigger: Trigger): void {
    const key = trigger.detail === undefined ? trigger.kind : `${trigger.kind}\0${trigger.detail}`;
    if (this.#byKey.has(key)) return;
    if (this.#byKey.size >= MAX_PENDING_TRIGGERS && this.#kinds.has(trigger.kind)) {
      // a repeat of a dropped detail is counted again: past the limit, telling them apart would need the memory the limit saves
      this.#dropped[trigger.kind] = (this.#dropped[trigger.kind] ?? 0) + 1;
      return;
    }
    this.#byKey.set(key, trigger);
    this.#kinds.add(trigger.kind);
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Everything pending, in arrival order, and how many were left out per kind; the set is empty afterwards. */
  take(): { readonly triggers: Trigger[]; readonly dropped: Partial<Record<Trigger["kind"], number>> } {
    const taken = { triggers: [...this.#byKey.values()], dropped: this.#dropped };
    this.clear();
    return taken;
  }

  clear(): void {
    this.#byKey.clear();
    this.#kinds.clear();
    this.#dropped = {};
  }
}

export function startReconcileLoop(options: ReconcileLoopOptions): ReconcileLoop {
  const retry = options.retry ?? DEFAULT_RETRY;
  const random = options.random ?? Math.random;
  const log = options.log;

  let alive = true;
  const pending = new PendingTriggers();
  let timer: NodeJS.Timeout | undefined;
  let timerDue = Number.POSITIVE_INFINITY;
  /** earliest time the next reconcile may start (set by backoff after a failure) */
  let notBefore = 0;
  let running: { promise: Promise<void>; abort: AbortController } | undefined;
  let failures = 0;
  let succeededOnce = false;
  let lastSuccessAt: Date | undefined;
  let lastOutcome: ReconcileOutcome["kind"] | undefined;
  let idleWaiters: Array<() => void> = [];

  const resync =
    options.resyncIntervalMs > 0
      ? setInterval(() => loop.trigger({ kind: "resync" }), options.resyncIntervalMs)
      : undefined;

  function isIdle(): boolean {
    return running === undefined && timer === undefined;
  }

  function settleIdle(): void {
    if (!isIdle()) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Run no earlier than `delayMs` from now (and never before the backoff allows); keeps an earlier timer. */
  function schedule(delayMs: number): void {
    if (!alive || running) return;
    const due = Math.max(Date.now() + delayMs, notBefore);
    if (timer !== undefined && timerDue <= due) return;
    if (timer !== undefined) clearTimeout(timer);
    timerDue = due;
    timer = setTimeout(fire, Math.max(0, due - Date.now()));
  }

  function fire(): void {
    timer = undefined;
    timerDue = Number.POSITIVE_INFINITY;
    if (!alive || running || pending.size === 0) {
      settleIdle();
      return;
    }
    const { triggers: batch, dropped } = pending.take();
    const abort = new AbortController();
    const promise = runOnce(batch, dropped, abort.signal).finally(() => {
      running = undefined;
      afterRun();
    });
    running = { promise, abort };
  }

  async function runOnce(batch: readonly Trigger[], dropped: Partial<Record<Trigger["kind"], number>>, signal: AbortSignal): Promise<void> {
    const started = Date.now();
    log.info(summarizeTriggers(batch, dropped), "reconcile started");
    let outcome: ReconcileOutcome;
    try {
      outcome = await options.reconcile(signal, batch);
    } catch (error) {
      outcome = { kind: "failed", error };
    }
    lastOutcome = outcome.kind;
    if (options.metrics) recordReconcile(options.metrics, outcome, new Date());
    const ms = Date.now() - started;
    if (outcome.kind === "failed") {
      failures += 1;
      onFailure(batch, outcome.error, ms, signal);
      return;
    }
    failures = 0;
    notBefore = 0;
    succeededOnce = true;
    lastSuccessAt = new Date();
    if (outcome.kind === "published") log.info({ commit: outcome.commit, ms }, "reconcile published");
    else log.info({ ms }, "reconcile found nothing to publish");
  }

  function onFailure(batch: readonly Trigger[], error: unknown, ms: number, signal: AbortSignal): void {
    const message = error instanceof Error ? error.message : String(error);
    if (signal.aborted) {
      log.warn({ ms, error: message }, "reconcile abandoned: stopping");
      return;
    }
    if (failures > retry.maxRetries) {
      log.error({ ms, error: message, failures }, "reconcile failed; retries exhausted, waiting for the next trigger");
      // Even the next trigger waits out one more backoff step: a chatty source must not hammer a dead remote.
      notBefore = Date.now() + backoffDelay(retry, failures, random);
      failures = 0;
      return;
    }
    const delay = backoffDelay(retry, failures, random);
    notBefore = Date.now() + delay;
    // Re-queue what this run was for, so the retry runs even if nothing new arrives.
    for (const t of batch) pending.add(t);
    log.warn({ ms, error: message, failures, retryInMs: delay }, "reconcile failed; will retry");
  }

  function afterRun(): void {
    if (alive && pending.size > 0) schedule(options.debounceMs);
    settleIdle();
  }

  const loop: ReconcileLoop = {
    trigger(trigger: Trigger): void {
      if (!alive) return;
      pending.add(trigger);
      if (running) return; // coalesced into the follow-up scheduled when the run ends
      schedule(trigger.kind === "startup" ? 0 : options.debounceMs);
    },

    async stop(stopOptions: StopOptions = {}): Promise<void> {
      if (!alive) {
        await running?.promise;
        return;
      }
      alive = false;
      if (resync) clearInterval(resync);
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      pending.clear();
      const current = running;
      if (current) {
        const graceMs = stopOptions.graceMs ?? 0;
        let graceTimer: NodeJS.Timeout | undefined;
        if (graceMs > 0) {
          const grace = new Promise<void>((resolve) => {
            graceTimer = setTimeout(resolve, graceMs);
          });
          await Promise.race([current.promise, grace]);
          clearTimeout(graceTimer);
        }
        if (running === current) current.abort.abort(new Error("wildseal is stopping"));
        await current.promise;
      }
      settleIdle();
    },

    idle(): Promise<void> {
      if (isIdle()) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },

    status(): LoopStatus {
      return {
        alive,
        running: running !== undefined,
        succeededOnce,
        lastSuccessAt,
        consecutiveFailures: failures,
        lastOutcome,
      };
    },
  };
  return loop;
}

/** examples in a "reconcile started" line; the counts cover the rest */
const MAX_TRIGGER_EXAMPLES = 3;
const MAX_EXAMPLE_CHARS = 120;

/** A type, not an interface: it goes to a logger as its fields object, which needs an index signature. */
export type TriggerSummary = {
  readonly triggerCount: number;
  readonly triggerKinds: Readonly<Partial<Record<Trigger["kind"], number>>>;
  /** the first trigger of each kind, in arrival order, at most MAX_TRIGGER_EXAMPLES, each clipped */
  readonly triggers: readonly string[];
};

/**
 * A batch as a bounded log record: a burst of thousands of distinct webhook deliveries coalesces into
 * thousands of pending triggers, and listing them all made one log line of tens of KiB.
 */
export function summarizeTriggers(batch: readonly Trigger[], dropped: Partial<Record<Trigger["kind"], number>> = {}): TriggerSummary {
  const kinds: Partial<Record<Trigger["kind"], number>> = {};
  const examples: string[] = [];
  for (const t of batch) {
    const seen = kinds[t.kind] ?? 0;
    if (seen === 0 && examples.length < MAX_TRIGGER_EXAMPLES) examples.push(describe(t));
    kinds[t.kind] = seen + 1;
  }
  let count = batch.length;
  for (const [kind, n] of Object.entries(dropped) as [Trigger["kind"], number][]) {
    kinds[kind] = (kinds[kind] ?? 0) + n;
    count += n;
  }
  return { triggerCount: count, triggerKinds: kinds, triggers: examples };
}

function describe(t: Trigger): string {
  const text = t.detail === undefined ? t.kind : `${t.kind}: ${t.detail}`;
  return text.length > MAX_EXAMPLE_CHARS ? `${text.slice(0, MAX_EXAMPLE_CHARS)}…` : text;
}
