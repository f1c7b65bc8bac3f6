/**
 * The one retry delay every retrying part uses (the reconcile loop, the Secret watch's reconnects,
 * Git's push and clone retries): equal-jitter exponential backoff. Jitter keeps replicas and
 * restarted watches from retrying in lockstep; the cap bounds the wait.
 */
export interface Backoff {
  /** the first retry's ceiling */
  readonly initialMs: number;
  /** no retry waits longer */
  readonly maxMs: number;
}

/** The n-th retry (1-based) waits in [d/2, d), d = min(initial·2^(n-1), max). */
export function backoffDelay(b: Backoff, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
