import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/ops/logger.ts";

/** A debug-level pino logger whose JSON lines are kept in memory, for assertions on what was logged. */
export interface CapturedLog {
  readonly log: Logger;
  readonly lines: string[];
  /** the `msg` of every line so far */
  messages(): string[];
}

export function captureLog(): CapturedLog {
  const lines: string[] = [];
  const log = createLogger({
    level: "debug",
    destination: new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  });
  return { log, lines, messages: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}
