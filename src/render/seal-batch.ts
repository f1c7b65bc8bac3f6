import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { SealTarget } from "../seal/hybrid.ts";
import { sealValue } from "../seal/seal-value.ts";
import { parseSealingCertificate } from "../seal/sealing-cert.ts";
import type { SealingCertificate } from "../seal/sealing-cert.ts";

/**
 * Sealing many tenants: one RSA-OAEP + AES-GCM per item, on the main thread or spread over a
 * persistent pool of worker_threads (SealPool). The plaintext items go to the workers by postMessage
 * (memory only, never disk) and are zeroed there when the batch ends.
 */

export interface SealJob {
  readonly cluster: string;
  readonly target: SealTarget;
}

export interface SealBatch {
  readonly jobs: readonly SealJob[];
  /** cluster → its sealing certificate */
  readonly certs: ReadonlyMap<string, SealingCertificate>;
  /** item name → plaintext bytes (the same items for every job) */
  readonly items: ReadonlyMap<string, Buffer>;
  readonly now: Date;
}

export type EncryptedData = Readonly<Record<string, string>>;

/** How many jobs are sealed so far, of how many. */
export type SealProgress = (done: number, total: number) => void;

/**
 * From this many jobs on, the pool is used (started on the first such batch, then kept). Below it
 * the main thread alone is as fast: starting a worker (and, under tsx, its loader) costs ~50-300 ms,
 * about what a couple of hundred tenants take to seal. bench/render.ts measures it.
 */
export const WORKER_THRESHOLD = 200;

export function sealJobsInline(batch: SealBatch): EncryptedData[] {
  const names = [...batch.items.keys()].sort();
  return batch.jobs.map((job) => {
    const cert = batch.certs.get(job.cluster);
    if (cert === undefined) throw new Error(`render: no sealing certificate for cluster ${job.cluster}`);
    const out: Record<string, string> = {};
    for (const name of names) out[name] = sealValue(cert, job.target, batch.items.get(name) as Buffer);
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// The worker protocol. A batch is announced once per worker ("begin": certificates as PEM, items),
// then fed in chunks ("seal"), then forgotten ("end": the worker zeroes its copy of the items).
// Messages to one worker arrive in order, so "begin" always precedes that batch's chunks.

export type WorkerMessage =
  | {
      readonly kind: "begin";
      readonly batch: number;
      readonly certs: readonly (readonly [string, string])[];
      readonly items: readonly (readonly [string, Uint8Array])[];
      readonly now: number;
    }
  | { readonly kind: "seal"; readonly batch: number; readonly chunk: number; readonly jobs: readonly SealJob[] }
  | { readonly kind: "end"; readonly batch: number };

export type WorkerReply =
  | { readonly ok: true; readonly batch: number; readonly chunk: number; readonly results: EncryptedData[] }
  | { readonly ok: false; readonly batch: number; readonly chunk: number; readonly message: string };

interface WorkerContext {
  readonly certs: Map<string, SealingCertificate>;
  readonly items: Map<string, Buffer>;
  readonly now: Date;
}

/**
 * The worker side, as a state machine the tests can drive without a thread: re-parses the
 * certificates (KeyObjects do not cross threads as plain data) once per batch, seals chunks, and
 * zeroes the items when the batch ends. Returns the reply to post, if any.
 */
export function workerState(): (m: WorkerMessage) => WorkerReply | undefined {
  const contexts = new Map<number, WorkerContext | { readonly failed: string }>();
  return (m) => {
    switch (m.kind) {
      case "begin": {
        try {
          const now = new Date(m.now);
          const certs = new Map(m.certs.map(([c, pem]) => [c, parseSealingCertificate(pem, { now, source: `sealing certificate of ${c}` })]));
          const items = new Map(m.items.map(([n, b]) => [n, Buffer.from(b.buffer, b.byteOffset, b.byteLength)]));
          contexts.set(m.batch, { certs, items, now });
        } catch (e) {
          contexts.set(m.batch, { failed: e instanceof Error ? e.message : String(e) });
        }
        return undefined;
      }
      case "seal": {
        const ctx = contexts.get(m.batch);
        if (ctx === undefined) return { ok: false, batch: m.batch, chunk: m.chunk, message: "chunk of a batch that was never begun" };
        if ("failed" in ctx) return { ok: false, batch: m.batch, chunk: m.chunk, message: ctx.failed };
        try {
          return { ok: true, batch: m.batch, chunk: m.chunk, results: sealJobsInline({ jobs: m.jobs, ...ctx }) };
        } catch (e) {
          return { ok: false, batch: m.batch, chunk: m.chunk, message: e instanceof Error ? e.message : String(e) };
        }
      }
      case "end": {
        const ctx = contexts.get(m.batch);
        if (ctx !== undefined && !("failed" in ctx)) for (const b of ctx.items.values()) b.fill(0);
        contexts.delete(m.batch);
        return undefined;
      }
    }
  };
}

function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    // Running from source under tsx: Node 20 workers do not inherit --import hooks, so register tsx first.
    const worker = new URL("./seal-worker.ts", here).href;
    const tsx = import.meta.resolve("tsx/esm/api");
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}); })`;
    return new Worker(boot, { eval: true });
  }
  // Built: the worker sits next to the module running this code, with its extension — the bundle
  // (scripts/build.mjs) emits dist/wildseal.mjs (and its chunks) beside dist/seal-worker.mjs, tsc
  // emits dist/render/seal-batch.js beside dist/render/seal-worker.js.
  const ext = here.endsWith(".mjs") ? ".mjs" : ".js";
  return new Worker(new URL(`./seal-worker${ext}`, here));
}

/**
 * Chunks queued per worker: with two, a worker that finishes one starts the next at once, while the
 * main thread (busy sealing a chunk of its own) has not yet seen its reply.
 */
const IN_FLIGHT_PER_WORKER = 2;

/** Jobs per chunk: many small chunks (a fast thread takes more of them), not one slice per thread. */
export function chunkSize(jobs: number, threads: number): number {
  return Math.max(2, Math.min(32, Math.ceil(jobs / (threads * 8))));
}

interface Slot {
  readonly worker: Worker;
  /** the chunks in flight on this worker (up to IN_FLIGHT_PER_WORKER: it never waits for the main thread to hand it the next) */
  busy: { readonly run: BatchRun; readonly chunk: number }[];
  /** batches this worker has been told about (and must be told to forget) */
  readonly begun: Set<number>;
}

/** One batch being sealed: the chunks not yet handed out, the results so far. */
interface BatchRun {
  readonly id: number;
  readonly batch: SealBatch;
  readonly begin: Extract<WorkerMessage, { kind: "begin" }>;
  readonly chunks: (readonly [number, number])[];
  next: number;
  readonly results: EncryptedData[];
  done: number;
  inFlight: number;
  failed: Error | undefined;
  readonly onProgress: SealProgress | undefined;
  /** wakes the main thread's loop when a worker reports */
  wake: (() => void) | undefined;
}

/**
 * Worker threads sized to the cores, started on first use and kept for the process (`watch` keeps
 * it between reconciles). Idle workers are unref'd, so the pool never holds a one-shot CLI open;
 * `close()` terminates them. The main thread seals chunks too while the workers are busy. A worker
 * that fails (crash, missing worker file) fails its batch with a clear error and is replaced on the
 * next batch.
 */
export class SealPool {
  private readonly slots: Slot[] = [];
  private batches = 0;
  private active = 0;
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;

  /**
   * `idleMs`: workers idle this long are terminated (a new batch starts them again, ~50 ms with the
   * bundle). A watch renders for seconds every few weeks; each idle worker holds ~10-20 MB of RSS
   * for nothing in between.
   */
  constructor(
    private readonly size = Math.max(1, availableParallelism()),
    private readonly idleMs = IDLE_RELEASE_MS,
  ) {}

  /** Worker threads currently alive (tests). */
  get threads(): number {
    return this.slots.length;
  }

  /** Their thread ids (tests: the same threads serve a second batch). */
  get threadIds(): number[] {
    return this.slots.map((s) => s.worker.threadId);
  }

  async seal(batch: SealBatch, onProgress?: SealProgress): Promise<EncryptedData[]> {
    if (this.closed) throw new Error("render: the sealing pool was closed");
    const n = batch.jobs.length;
    if (n === 0) return [];
    clearTimeout(this.idleTimer);
    this.active++;
    this.fill();
    const size = chunkSize(n, this.size + 1);
    const chunks: (readonly [number, number])[] = [];
    for (let i = 0; i < n; i += size) chunks.push([i, Math.min(n, i + size)]);
    const id = ++this.batches;
    const run: BatchRun = {
      id,
      batch,
      begin: {
        kind: "begin",
        batch: id,
        certs: [...batch.certs].map(([c, cert]) => [c, cert.pem] as const),
        items: [...batch.items].map(([k, b]) => [k, new Uint8Array(b)] as const),
        now: batch.now.getTime(),
      },
      chunks,
      next: 0,
      results: new Array<EncryptedData>(n),
      done: 0,
      inFlight: 0,
      failed: undefined,
      onProgress,
      wake: undefined,
    };
    try {
      for (const s of this.slots) this.dispatch(s, run);
      // The main thread takes a chunk whenever none is left waiting for a worker... and otherwise
      // waits for a worker to report. Each inline chunk is short, so a worker that finishes while the
      // main thread seals waits at most one chunk for its next one.
      while (run.failed === undefined && (run.next < chunks.length || run.inFlight > 0)) {
        if (run.next < chunks.length) {
          // from the end: the workers take chunks from the front, so the main thread's share is
          // whatever they have not reached
          const [from, to] = chunks.pop() as readonly [number, number];
          const sealed = sealJobsInline({ ...batch, jobs: batch.jobs.slice(from, to) });
          this.store(run, from, sealed);
          await new Promise<void>((r) => setImmediate(r)); // let worker replies in
        } else {
          await new Promise<void>((r) => {
            run.wake = r;
          });
          run.wake = undefined;
        }
      }
      if (run.failed !== undefined) throw run.failed;
      return run.results;
    } finally {
      for (const s of this.slots) {
        if (s.begun.delete(id)) s.worker.postMessage({ kind: "end", batch: id } satisfies WorkerMessage);
        s.busy = s.busy.filter((b) => b.run !== run); // a failed batch: a late reply is dropped
        if (s.busy.length === 0) s.worker.unref();
      }
      if (--this.active === 0 && !this.closed) this.idleTimer = setTimeout(() => this.release(), this.idleMs).unref();
    }
  }

  /** Terminates idle workers (after `idleMs` without a batch); the next batch starts new ones. */
  private release(): void {
    if (this.active > 0) return;
    for (const s of this.slots.splice(0)) {
      s.worker.removeAllListeners();
      void s.worker.terminate();
    }
  }

  /** Terminates every worker; the pool can not be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private store(run: BatchRun, from: number, sealed: readonly EncryptedData[]): void {
    sealed.forEach((r, i) => {
      run.results[from + i] = r;
    });
    run.done += sealed.length;
    run.onProgress?.(run.done, run.batch.jobs.length);
  }

  private fill(): void {
    while (this.slots.length < this.size) {
      const worker = startWorker();
      worker.unref();
      const slot: Slot = { worker, busy: [], begun: new Set() };
      worker.on("message", (reply: WorkerReply) => this.reply(slot, reply));
      worker.on("error", (e) => this.lose(slot, new Error(`render: a sealing worker failed: ${e.message}`, { cause: e })));
      worker.on("exit", (code) => this.lose(slot, new Error(`render: a sealing worker exited (code ${code}) before finishing its work`)));
      this.slots.push(slot);
    }
  }

  private dispatch(slot: Slot, run: BatchRun): void {
    while (slot.busy.length < IN_FLIGHT_PER_WORKER && run.failed === undefined && run.next < run.chunks.length) {
      if (!slot.begun.has(run.id)) {
        slot.worker.postMessage(run.begin);
        slot.begun.add(run.id);
      }
      const c = run.next++;
      const [from, to] = run.chunks[c] as readonly [number, number];
      slot.busy.push({ run, chunk: c });
      run.inFlight++;
      slot.worker.ref(); // work in flight keeps the process alive until it is back
      slot.worker.postMessage({ kind: "seal", batch: run.id, chunk: c, jobs: run.batch.jobs.slice(from, to) } satisfies WorkerMessage);
    }
    if (slot.busy.length === 0) slot.worker.unref();
  }

  private reply(slot: Slot, reply: WorkerReply): void {
    const i = slot.busy.findIndex((b) => b.run.id === reply.batch && b.chunk === reply.chunk);
    if (i < 0) return; // a failed batch's late reply
    const run = (slot.busy[i] as Slot["busy"][number]).run;
    slot.busy.splice(i, 1);
    run.inFlight--;
    if (reply.ok) {
      this.store(run, (run.chunks[reply.chunk] as readonly [number, number])[0], reply.results);
      this.dispatch(slot, run);
    } else {
      run.failed ??= new Error(`render: a sealing worker failed: ${reply.message}`);
      if (slot.busy.length === 0) slot.worker.unref();
    }
    run.wake?.();
  }

  /** A worker died: its chunk fails the batch; the slot is dropped and refilled on the next batch. */
  private lose(slot: Slot, error: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    slot.worker.removeAllListeners("message");
    void slot.worker.terminate();
    const lost = slot.busy;
    slot.busy = [];
    for (const { run } of lost) {
      run.inFlight--;
      run.failed ??= error;
      run.wake?.();
    }
  }
}

/** How long idle workers are kept for the next batch (a watch's renders come in bursts of reconciles). */
export const IDLE_RELEASE_MS = 30_000;

let shared: SealPool | undefined;

/** The process's pool, started on first use. */
export function sharedSealPool(): SealPool {
  shared ??= new SealPool();
  return shared;
}

/** Terminates the process's pool, if one was started (`watch` on shutdown); a later batch starts a new one. */
export async function closeSharedSealPool(): Promise<void> {
  const p = shared;
  shared = undefined;
  await p?.close();
}

/** Whether a batch of `jobs` goes to the pool (sealJobs' rule). */
export function usesPool(jobs: number, parallel: boolean | undefined): boolean {
  return parallel ?? (jobs >= WORKER_THRESHOLD && availableParallelism() > 1);
}

/** `parallel`: true forces the pool, false forbids it, undefined decides by WORKER_THRESHOLD and the cores. */
export async function sealJobs(batch: SealBatch, parallel?: boolean, onProgress?: SealProgress): Promise<EncryptedData[]> {
  if (batch.jobs.length === 0) return [];
  if (usesPool(batch.jobs.length, parallel)) return sharedSealPool().seal(batch, onProgress);
  // inline, in chunks, so that progress can be reported
  const out: EncryptedData[] = [];
  const size = chunkSize(batch.jobs.length, 1);
  for (let i = 0; i < batch.jobs.length; i += size) {
    out.push(...sealJobsInline({ ...batch, jobs: batch.jobs.slice(i, i + size) }));
    onProgress?.(out.length, batch.jobs.length);
  }
  return out;
}
