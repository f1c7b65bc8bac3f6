/**
 * Errors users see. Every failure that reaches the CLI is one of these, so the exit code and the
 * message are decided where the problem is understood, not guessed at the top.
 *
 * Exit codes (docs/cli.md): 0 success, 1 invalid input, 2 usage, 3 a dependency failed after retries.
 */

/** One problem in one input, printed as `path:line:col: message`. line/col are 1-based. */
export interface Diagnostic {
  readonly path: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.path}:${d.line}:${d.col}: ${d.message}`;
}

export const ExitCode = {
  ok: 0,
  invalidInput: 1,
  usage: 2,
  dependency: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

abstract class WildsealError extends Error {
  abstract readonly exitCode: ExitCode;
}

/** Bad config, tenant, template, certificate, key or ciphertext: the user must fix an input. */
export class InvalidInputError extends WildsealError {
  readonly exitCode = ExitCode.invalidInput;
  constructor(
    message: string,
    readonly diagnostics: readonly Diagnostic[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "InvalidInputError";
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
