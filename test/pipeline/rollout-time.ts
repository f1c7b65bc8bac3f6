import { X509Certificate } from "node:crypto";
import type { WildsealMetrics } from "../../src/ops/metrics.ts";
import type { SyncOutcome } from "../../src/pipeline/sync.ts";
import type { VerifierScheduler } from "../../src/pipeline/rollout-verifier.ts";
import type { GeneratedCertificate } from "../../src/tls/generate.ts";

/**
 * A hand-driven clock for the rollout verifier: its timers fire only when a test advances time, so
 * that "at most one probe per interval" is counted, never timed.
 */
export class FakeTime {
  #t: number;
  #timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  constructor(start: number) {
    this.#t = start;
  }
  readonly now = (): Date => new Date(this.#t);
  readonly scheduler: VerifierScheduler = {
    after: (ms, fn) => {
      const timer = { at: this.#t + ms, fn, live: true };
      this.#timers.push(timer);
      return () => {
        timer.live = false;
      };
    },
  };
  get ms(): number {
    return this.#t;
  }
  /** moves the clock (never back) without firing anything */
  set(ms: number): void {
    this.#t = Math.max(this.#t, ms);
  }
  /** moves the clock by `ms` and fires every live timer now due, in order */
  advance(ms: number): void {
    this.#t += ms;
    const due = this.#timers.filter((t) => t.live && t.at <= this.#t).sort((a, b) => a.at - b.at);
    this.#timers = this.#timers.filter((t) => !due.includes(t));
    for (const t of due) {
      t.live = false;
      t.fn();
    }
  }
}

/** The outcome of a sync that pushed `commit` (only what the verifier reads is meaningful). */
export function pushedOutcome(commit: string): SyncOutcome {
  return {
    kind: "pushed",
    tip: commit,
    commit,
    branch: "main",
    summary: { changes: [], certSha256: "", certNotAfter: new Date(0), domain: "*.example.com" },
    message: "",
    diagnostics: [],
    changes: [],
  };
}

export function notAfterSeconds(cert: GeneratedCertificate): number {
  return Date.parse(new X509Certificate(cert.certPem).validTo) / 1000;
}

/** One series of the registry's exposition text, by its full name with labels (NaN when absent). */
export async function exposed(metrics: WildsealMetrics, series: string): Promise<number> {
  return seriesIn(await metrics.registry.metrics(), series);
}

export function seriesIn(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}
