/**
 * Plain JSON requests to the Kubernetes API with the KubeConfig's TLS and auth, and a hard deadline.
 * The generated client's calls cannot be aborted without observable middleware; a LIST or GET that
 * hangs must not wedge the watcher, so the few calls wildseal makes go through here.
 */
import http from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface KubeRequestOptions {
  readonly method?: "GET" | "POST" | "PUT";
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** "json" (default): the body is parsed; "text": the body is returned as a string (e.g. a PEM) */
  readonly responseType?: "json" | "text";
  /** the Accept header; default application/json */
  readonly accept?: string;
  /** the response is refused beyond this many bytes; default 8 MiB */
  readonly maxBodyBytes?: number;
}

/** Error for a non-2xx answer: `code` is the HTTP status, as ListWatch and callers expect. */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "KubeApiError";
  }
  get statusCode(): number {
    return this.code;
  }
}

const MAX_BODY = 8 * 1024 * 1024;

/** The response was longer than `maxBodyBytes`: the connection was cut. */
export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
}

export async function kubeRequest(kc: KubeConfig, path: string, options: KubeRequestOptions): Promise<KubeResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  const url = new URL(cluster.server.replace(/\/+$/, "") + path);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  const fetchOptions = await kc.applyToFetchOptions({});
  const headers: Record<string, string> = { accept: options.accept ?? "application/json" };
  const given = fetchOptions.headers as { forEach?(cb: (v: string, k: string) => void): void } | undefined;
  given?.forEach?.((v, k) => {
    headers[k] = v;
  });
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  if (payload) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(payload.length);
  }
  const agent = fetchOptions.agent as http.Agent | undefined;
  const signal = options.signal
    ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)])
    : AbortSignal.timeout(options.timeoutMs);
  const request = url.protocol === "https:" ? https.request : http.request;
  const maxBody = options.maxBodyBytes ?? MAX_BODY;
  try {
    return await new Promise<KubeResponse>((resolve, reject) => {
      const req = request(url, { method: options.method ?? "GET", headers, agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > maxBody) req.destroy(new BodyTooLargeError(`response from ${url.pathname} exceeds ${maxBody} bytes`));
          else chunks.push(c);
        });
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (options.responseType === "text") {
            resolve({ status: res.statusCode ?? 0, body: text });
            return;
          }
          try {
            resolve({ status: res.statusCode ?? 0, body: text === "" ? undefined : JSON.parse(text) });
          } catch {
            reject(new Error(`${url.pathname} answered ${res.statusCode} with a body that is not JSON`));
          }
        });
      });
      req.on("error", reject);
      req.end(payload);
    });
  } finally {
    // Per-call agent (applyToFetchOptions makes a new one): release its sockets.
    agent?.destroy();
  }
}

/** GET/PUT/POST expecting 2xx; anything else becomes a KubeApiError carrying the Status reason. */
export async function kubeJson(kc: KubeConfig, path: string, options: KubeRequestOptions): Promise<unknown> {
  const res = await kubeRequest(kc, path, options);
  if (res.status >= 200 && res.status < 300) return res.body;
  const status = res.body as { reason?: string; message?: string } | undefined;
  throw new KubeApiError(
    res.status,
    status?.reason,
    `${options.method ?? "GET"} ${path}: HTTP ${res.status}${status?.message ? `: ${status.message}` : ""}`,
  );
}
