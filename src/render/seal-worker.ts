import { parentPort } from "node:worker_threads";
import { workerState } from "./seal-batch.ts";
import type { WorkerMessage } from "./seal-batch.ts";

/** Entry point of a sealing worker thread (SealPool): lives as long as the pool, one reply per chunk. */
const handle = workerState();
parentPort?.on("message", (m: WorkerMessage) => {
  const reply = handle(m);
  if (reply !== undefined) parentPort?.postMessage(reply);
});
