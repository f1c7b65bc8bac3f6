import type { Log, LogFn } from "./log.ts";

export interface LineLogOptions {
  /**
   * Components (the `component` a child is bound to) whose debug and info lines are traces rather
   * than narration: only their warnings and errors are written (e.g. "github": one line per API
   * request would drown the story; a rate-limit wait must still show).
   */
  readonly quiet?: readonly string[];
}

/**
 * A Log that hands the text of every message to `write`, whatever its level, and drops the object:
 * the one-shot `wildseal sync` narrates on stderr line by line (its messages carry their facts in the
 * text), and tests read the same lines. A long-running process uses pino instead (ops/logger.ts).
 */
export function lineLog(write: (line: string) => void, opts: LineLogOptions = {}): Log {
  const line: LogFn = (a: string | Record<string, unknown>, msg?: string): void => {
    const text = typeof a === "string" ? a : msg;
    if (text !== undefined) write(text);
  };
  const nothing: LogFn = () => {};
  const quietLog: Log = { debug: nothing, info: nothing, warn: line, error: line, child: () => quietLog };
  const log: Log = {
    debug: line,
    info: line,
    warn: line,
    error: line,
    child: (bindings) => (typeof bindings["component"] === "string" && (opts.quiet ?? []).includes(bindings["component"]) ? quietLog : log),
  };
  return log;
}
