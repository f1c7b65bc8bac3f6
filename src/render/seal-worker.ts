import { parentPort } from "node:worker_threads";
import { handleWorkerRequest } from "./seal-batch.ts";
import type { WorkerRequest } from "./seal-batch.ts";

/** Entry point of a sealing worker thread: one request, one reply. */
parentPort?.once("message", (req: WorkerRequest) => {
  parentPort?.postMessage(handleWorkerRequest(req));
});
