import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { SealTarget } from "../seal/hybrid.ts";
import { sealValue } from "../seal/seal-value.ts";
import { parseSealingCertificate } from "../seal/sealing-cert.ts";
import type { SealingCertificate } from "../seal/sealing-cert.ts";

/**
 * Sealing many tenants: one RSA-OAEP + AES-GCM per item, on the main thread or spread over
 * worker_threads. The plaintext items go to the workers by postMessage (memory only, never disk).
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

/**
 * Below this many jobs the main thread is faster: starting a worker (and, under tsx, its loader)
 * costs ~100-300 ms, about what a few hundred tenants take to seal. bench/render.ts measures it.
 */
export const WORKER_THRESHOLD = 500;

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

/** What a worker receives: certificates as PEM (public) and the items (secret, in memory). */
export interface WorkerRequest {
  readonly certs: readonly (readonly [string, string])[];
  readonly items: readonly (readonly [string, Uint8Array])[];
  readonly jobs: readonly SealJob[];
  readonly now: number;
}

export type WorkerReply = { readonly ok: true; readonly results: EncryptedData[] } | { readonly ok: false; readonly message: string };

/** The worker side: re-parses the certificates (KeyObjects do not cross threads as plain data) and seals. */
export function handleWorkerRequest(req: WorkerRequest): WorkerReply {
  try {
    const now = new Date(req.now);
    const certs = new Map(req.certs.map(([c, pem]) => [c, parseSealingCertificate(pem, { now, source: `sealing certificate of ${c}` })]));
    const items = new Map(req.items.map(([n, b]) => [n, Buffer.from(b.buffer, b.byteOffset, b.byteLength)]));
    return { ok: true, results: sealJobsInline({ jobs: req.jobs, certs, items, now }) };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
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
  // (scripts/build.mjs) emits dist/wildseal.mjs beside dist/seal-worker.mjs, tsc emits
  // dist/render/seal-batch.js beside dist/render/seal-worker.js.
  const ext = here.endsWith(".mjs") ? ".mjs" : ".js";
  return new Worker(new URL(`./seal-worker${ext}`, here));
}

function runWorker(req: WorkerRequest): Promise<EncryptedData[]> {
  return new Promise((resolvePromise, reject) => {
    const w = startWorker();
    let settled = false;
    w.once("message", (reply: WorkerReply) => {
      settled = true;
      void w.terminate();
      if (reply.ok) resolvePromise(reply.results);
      else reject(new Error(`render: sealing worker failed: ${reply.message}`));
    });
    w.once("error", (e) => {
      settled = true;
      reject(e);
    });
    w.once("exit", (code) => {
      if (!settled) reject(new Error(`render: sealing worker exited with code ${code} before replying`));
    });
    w.postMessage(req);
  });
}

export async function sealJobsParallel(batch: SealBatch, threads = Math.max(1, availableParallelism())): Promise<EncryptedData[]> {
  const n = Math.max(1, Math.min(threads, batch.jobs.length));
  const size = Math.ceil(batch.jobs.length / n);
  const certs = [...batch.certs].map(([c, cert]) => [c, cert.pem] as const);
  const items = [...batch.items].map(([k, b]) => [k, new Uint8Array(b)] as const);
  const chunks: Promise<EncryptedData[]>[] = [];
  for (let i = 0; i < batch.jobs.length; i += size) {
    chunks.push(runWorker({ certs, items, jobs: batch.jobs.slice(i, i + size), now: batch.now.getTime() }));
  }
  return (await Promise.all(chunks)).flat();
}

/** `parallel`: true forces workers, false forbids them, undefined decides by WORKER_THRESHOLD. */
export async function sealJobs(batch: SealBatch, parallel?: boolean): Promise<EncryptedData[]> {
  if (batch.jobs.length === 0) return [];
  const useWorkers = parallel ?? (batch.jobs.length >= WORKER_THRESHOLD && availableParallelism() > 1);
  return useWorkers ? sealJobsParallel(batch) : sealJobsInline(batch);
}
