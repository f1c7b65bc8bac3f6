import type { Log, LogFn } from "./log.ts";

/**
 * A Log that hands the text of every message to `write`, whatever its level, and drops the object:
 * the one-shot `wildseal sync` narrates on stderr line by line (its messages carry their facts in the
 * text), and tests read the same lines. A long-running process uses pino instead (ops/logger.ts).
 */
export function lineLog(write: (line: string) => void): Log {
  const line: LogFn = (a: string | Record<string, unknown>, msg?: string): void => {
    const text = typeof a === "string" ? a : msg;
    if (text !== undefined) write(text);
  };
  const log: Log = { debug: line, info: line, warn: line, error: line, child: () => log };
  return log;
}
