import type { RenderProgress } from "../render/render-repository.ts";

/**
 * Progress of a long render (`render`, `sync`) on stderr: a bar redrawn in place on a terminal,
 * a plain line every few seconds otherwise (CI logs, `| tee`), nothing in quiet or JSON-log mode.
 * Small renders say nothing: below PROGRESS_MIN_TENANTS a render is over before a bar helps.
 * The formatting is pure (tested in test/cli/progress.test.ts); progressReporter adds the clock
 * and the stream.
 */

/** Renders touching fewer tenant folders than this show no progress. */
export const PROGRESS_MIN_TENANTS = 1000;
/** How often a plain (non-TTY) line is printed per phase, besides the phase's end. */
export const PLAIN_INTERVAL_MS = 2000;
const BAR_WIDTH = 30;

const VERB: Record<RenderProgress["phase"], string> = {
  read: "reading committed tenants",
  seal: "sealing",
  write: "writing",
};

export function percent(p: RenderProgress): number {
  return p.total <= 0 ? 100 : Math.min(100, Math.floor((p.done * 100) / p.total));
}

/** `sealing  [##########--------------------]  3,412/10,000  34%` (no control characters). */
export function formatBar(p: RenderProgress, width = BAR_WIDTH): string {
  const filled = p.total <= 0 ? width : Math.min(width, Math.floor((p.done * width) / p.total));
  const bar = "#".repeat(filled) + "-".repeat(width - filled);
  return `${VERB[p.phase]} [${bar}] ${count(p.done)}/${count(p.total)} ${percent(p)}%`;
}

/** `wildseal: sealing 3,412/10,000 tenants (34%)`: one self-contained log line. */
export function formatLine(p: RenderProgress): string {
  return `wildseal: ${VERB[p.phase]} ${count(p.done)}/${count(p.total)} tenants (${percent(p)}%)`;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

export interface ProgressStream {
  write(text: string): unknown;
}

export interface ProgressReporterOptions {
  /** where progress goes: stderr (stdout carries the command's result) */
  readonly stream: ProgressStream;
  /** the stream is a terminal: a bar redrawn with \r; otherwise periodic lines */
  readonly isTTY: boolean;
  /** --quiet: nothing */
  readonly quiet: boolean;
  /** JSON log mode: nothing (a bar or free text would corrupt the JSON lines) */
  readonly jsonLogs: boolean;
  /** test seam */
  readonly now?: () => number;
}

export interface ProgressReporter {
  /** RenderOptions.onProgress / SyncOptions.onProgress; undefined when nothing is to be shown */
  readonly onProgress: ((p: RenderProgress) => void) | undefined;
  /** clears the bar (call when the render ends, before printing the result, also on failure) */
  done(): void;
}

/** What a reporter does with one update, given what it showed last: pure, so the decisions are testable. */
export type ProgressAction = { readonly kind: "none" } | { readonly kind: "write"; readonly text: string };

export interface ProgressState {
  readonly phase: RenderProgress["phase"] | undefined;
  readonly lastAt: number;
  /** a bar is on screen (to clear) */
  readonly barShown: boolean;
}

export const INITIAL_PROGRESS: ProgressState = { phase: undefined, lastAt: -Infinity, barShown: false };

export function nextProgress(state: ProgressState, p: RenderProgress, at: number, isTTY: boolean): { state: ProgressState; action: ProgressAction } {
  if (p.total < PROGRESS_MIN_TENANTS) return { state, action: { kind: "none" } };
  if (isTTY) {
    // \r back to the start, the bar, then clear to the end of the line (a shorter bar leaves no tail)
    return { state: { phase: p.phase, lastAt: at, barShown: true }, action: { kind: "write", text: `\r${formatBar(p)}\x1b[K` } };
  }
  const newPhase = p.phase !== state.phase;
  const end = p.done >= p.total;
  if (!newPhase && !end && at - state.lastAt < PLAIN_INTERVAL_MS) return { state, action: { kind: "none" } };
  return { state: { phase: p.phase, lastAt: at, barShown: false }, action: { kind: "write", text: `${formatLine(p)}\n` } };
}

/** The text that removes a bar from the terminal line ("" when none is shown). */
export function clearBar(state: ProgressState): string {
  return state.barShown ? "\r\x1b[K" : "";
}

/**
 * Ready to wire into a command:
 *
 *   const progress = progressReporter({ stream: process.stderr, isTTY: process.stderr.isTTY === true, quiet, jsonLogs });
 *   try { result = await renderRepository({ ...opts, ...(progress.onProgress ? { onProgress: progress.onProgress } : {}) }); }
 *   finally { progress.done(); }
 */
export function progressReporter(opts: ProgressReporterOptions): ProgressReporter {
  if (opts.quiet || opts.jsonLogs) return { onProgress: undefined, done: () => undefined };
  const now = opts.now ?? (() => performance.now());
  let state = INITIAL_PROGRESS;
  return {
    onProgress: (p) => {
      const next = nextProgress(state, p, now(), opts.isTTY);
      state = next.state;
      if (next.action.kind === "write") opts.stream.write(next.action.text);
    },
    done: () => {
      const text = clearBar(state);
      if (text !== "") opts.stream.write(text);
      state = INITIAL_PROGRESS;
    },
  };
}
