/**
 * Errors users see. Every failure that reaches the CLI is one of these, so the exit code and the
 * message are decided where the problem is understood, not guessed at the top.
 *
 * Exit codes (docs/cli.md): 0 success, 1 invalid input, 2 usage, 3 a dependency failed after retries,
 * 4 `status` found a tenant not serving its committed certificate.
 */

/**
 * Why an input was refused, as a stable code set where the refusal is raised (renovate keeps such
 * codes as constants for the same reason): `wildseal_gate_failures_total{reason}` counts them and
 * tests assert them, so a message can be reworded without moving a metric. Defined on the floor so
 * that tls/, model/ and render/ can all attach one.
 */
export const REASONS = [
  "expired",
  "not-yet-valid",
  "key-mismatch",
  "invalid-certificate",
  "uncovered-host",
  "downgrade",
  "invalid-tenant",
  "removal-held",
  "invalid-template",
  "sealing-certificate",
  "invalid-config",
  "invalid-input",
] as const;
export type Reason = (typeof REASONS)[number];

/** One problem in one input, printed as `path:line:col: message`. line/col are 1-based. */
export interface Diagnostic {
  readonly path: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
  /** why it holds something back; absent: pipeline/gates.ts decides from `path` alone */
  readonly reason?: Reason;
}

/**
 * `ds` with `reason` on every diagnostic that has none: for a loader that knows what all of its
 * input is (wildseal.yaml, tenants/, templates/) while the helpers it calls (YAML, schema, file
 * reads) do not. A diagnostic that already has a reason is returned as is (same object: callers
 * may key maps by diagnostic).
 */
export function withReason(ds: readonly Diagnostic[], reason: Reason): Diagnostic[] {
  return ds.map((d) => (d.reason !== undefined ? d : { ...d, reason }));
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.path}:${d.line}:${d.col}: ${d.message}`;
}

export const ExitCode = {
  ok: 0,
  invalidInput: 1,
  usage: 2,
  dependency: 3,
  /** `wildseal status`: a probed tenant does not serve its committed certificate (docs/cli.md) */
  notCurrent: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

abstract class WildsealError extends Error {
  abstract readonly exitCode: ExitCode;
}

/** Bad config, tenant, template, certificate, key or ciphertext: the user must fix an input. */
export class InvalidInputError extends WildsealError {
  readonly exitCode = ExitCode.invalidInput;
  /** why the input was refused, when the thrower knows (e.g. validateTlsSecret: "expired") */
  readonly reason: Reason | undefined;
  constructor(
    message: string,
    readonly diagnostics: readonly Diagnostic[] = [],
    options?: ErrorOptions & { readonly reason?: Reason },
  ) {
    super(message, options);
    this.name = "InvalidInputError";
    this.reason = options?.reason;
  }
}

/** The command line itself is wrong (unknown flag, missing argument, conflicting options). */
export class UsageError extends WildsealError {
  readonly exitCode = ExitCode.usage;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** Git remote, GitHub or the Kubernetes API failed after retries. */
export class DependencyError extends WildsealError {
  readonly exitCode = ExitCode.dependency;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DependencyError";
  }
}

export function isWildsealError(e: unknown): e is InvalidInputError | UsageError | DependencyError {
  return e instanceof WildsealError;
}
