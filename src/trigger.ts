/**
 * What wakes the reconcile loop, and what one reconcile reports back. Sources only say "something may
 * have changed"; the reconcile itself decides, from Git and the current inputs, whether anything is to
 * publish (level-triggered), so a duplicate or spurious trigger costs one no-op reconcile, never a commit.
 */

export type TriggerKind = "secret-changed" | "volume-changed" | "git-poll" | "webhook" | "resync" | "startup";

export interface Trigger {
  readonly kind: TriggerKind;
  /** human-readable context for logs (never secret material) */
  readonly detail?: string;
}

export type ReconcileOutcome =
  | { readonly kind: "published"; readonly commit: string }
  | { readonly kind: "unchanged" }
  | { readonly kind: "failed"; readonly error: unknown };

/**
 * One reconcile. `signal` aborts when the process is stopping: the function should stop before its next
 * side effect (a push is atomic, so abandoning before it is always safe) and return or throw promptly.
 */
export type ReconcileFn = (signal: AbortSignal, triggers: readonly Trigger[]) => Promise<ReconcileOutcome>;

/** Where a source delivers its triggers (the loop's `trigger`). */
export type TriggerSink = (trigger: Trigger) => void;
