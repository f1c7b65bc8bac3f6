/**
 * The one logger shape every layer takes: a structural subset of pino's Logger, so the process's pino
 * logger (ops/logger.ts) and its child loggers pass as they are, while layers below ops/ (git/,
 * github/, render/) need not import pino or ops/. A component takes a `Log` and narrows it with
 * `child({ component: "…" })`; messages are static text, variable facts go in the object.
 * Secret material never goes in either: it lives in SecretBytes and is never handed to a logger.
 */
export interface LogFn {
  (msg: string): void;
  (obj: Record<string, unknown>, msg?: string): void;
}

export interface Log {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
  child(bindings: Record<string, unknown>): Log;
}

const nothing: LogFn = () => {};

/** Discards everything: the default where a caller passes no logger (tests, one-shot library use). */
export const silentLog: Log = { debug: nothing, info: nothing, warn: nothing, error: nothing, child: () => silentLog };
