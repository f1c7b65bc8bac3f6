import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { INITIAL_PROGRESS, PLAIN_INTERVAL_MS, PROGRESS_MIN_TENANTS, clearBar, formatBar, formatLine, nextProgress, progressReporter } from "../../src/cli/progress.ts";
import { throttled, type RenderProgress } from "../../src/render/render-repository.ts";

const N = 10_000;
const p = (phase: RenderProgress["phase"], done: number, total = N): RenderProgress => ({ phase, done, total });

function recorder(isTTY: boolean, flags: { quiet?: boolean; jsonLogs?: boolean } = {}) {
  let t = 0;
  const out: string[] = [];
  const r = progressReporter({ stream: { write: (s: string) => out.push(s) }, isTTY, quiet: flags.quiet ?? false, jsonLogs: flags.jsonLogs ?? false, now: () => t });
  return { r, out, tick: (ms: number) => (t += ms) };
}

describe("render progress", () => {
  test("a bar shows the phase, the counts and the percentage", () => {
    assert.equal(formatBar(p("seal", 3412)), `sealing [##########--------------------] 3,412/10,000 34%`);
    assert.equal(formatBar(p("write", N)), `writing [##############################] 10,000/10,000 100%`);
    assert.equal(formatBar(p("read", 0, 0)), `reading committed tenants [##############################] 0/0 100%`);
  });

  test("a plain line says the same in words", () => {
    assert.equal(formatLine(p("seal", 3412)), "wildseal: sealing 3,412/10,000 tenants (34%)");
  });

  test("on a terminal each update redraws the bar in place, and done() clears it", () => {
    const { r, out } = recorder(true);
    r.onProgress?.(p("seal", 10));
    r.onProgress?.(p("seal", 20));
    r.done();
    assert.deepEqual(out, [`\r${formatBar(p("seal", 10))}\x1b[K`, `\r${formatBar(p("seal", 20))}\x1b[K`, "\r\x1b[K"]);
  });

  test("elsewhere a line is printed per phase start, every few seconds and at a phase's end", () => {
    const { r, out, tick } = recorder(false);
    r.onProgress?.(p("seal", 1));
    tick(PLAIN_INTERVAL_MS / 2);
    r.onProgress?.(p("seal", 2)); // too soon
    tick(PLAIN_INTERVAL_MS);
    r.onProgress?.(p("seal", 3));
    r.onProgress?.(p("seal", N)); // the end, whenever it comes
    r.onProgress?.(p("write", 1)); // a new phase
    r.done();
    assert.deepEqual(out, [p("seal", 1), p("seal", 3), p("seal", N), p("write", 1)].map((x) => `${formatLine(x)}\n`));
  });

  test("small renders, --quiet and JSON logs show nothing", () => {
    for (const [isTTY, flags, total] of [
      [true, {}, PROGRESS_MIN_TENANTS - 1],
      [true, { quiet: true }, N],
      [false, { jsonLogs: true }, N],
    ] as const) {
      const { r, out } = recorder(isTTY, flags);
      r.onProgress?.(p("seal", 1, total));
      r.done();
      assert.deepEqual(out, []);
    }
    assert.equal(recorder(true, { quiet: true }).r.onProgress, undefined, "no callback: the render does no progress work at all");
  });

  test("the pure step keeps no bar to clear off a terminal-less stream", () => {
    const { state } = nextProgress(INITIAL_PROGRESS, p("seal", 1), 0, false);
    assert.equal(clearBar(state), "");
  });

  test("the render's throttle passes a phase's first report and its end, and at most one per interval between", () => {
    let t = 0;
    const seen: RenderProgress[] = [];
    const f = throttled((x) => seen.push(x), () => t);
    f(p("seal", 1));
    f(p("seal", 2));
    t += 1000;
    f(p("seal", 3));
    f(p("seal", N));
    f(p("write", 1));
    assert.deepEqual(seen, [p("seal", 1), p("seal", 3), p("seal", N), p("write", 1)]);
  });
});
