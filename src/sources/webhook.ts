/**
 * GitHub push webhook → immediate reconcile. Only a request whose body carries a valid
 * X-Hub-Signature-256 (HMAC-SHA256 with the shared secret) can trigger; everything else is answered
 * without touching the loop. The payload is only used to filter (event, branch): the reconcile reads
 * Git itself, so a forged-but-signed payload cannot make wildseal publish anything Git does not hold.
 *
 * The endpoint is reachable by anyone who can reach the ops port, and the signature can only be checked
 * once the whole body is in memory. So everything that can be judged from the headers is judged before a
 * single body byte is read (GitHub always sends a well-formed signature, an event, a JSON or form content
 * type and a Content-Length), and what is read is bounded three ways: per request (maxBodyBytes), across
 * all requests in flight (bufferBudgetBytes, reserved from the declared Content-Length) and in time
 * (bodyTimeoutMs). A refused request is answered with `Connection: close`, its body never drained.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Log } from "../log.ts";
import type { TriggerSink } from "../trigger.ts";

export const DEFAULT_WEBHOOK_MAX_BYTES = 1024 * 1024;
/** 8 concurrent maximum-size deliveries; a typical push payload is tens of KiB, so hundreds of real ones. */
export const DEFAULT_WEBHOOK_BUFFER_BUDGET_BYTES = 8 * 1024 * 1024;
/** GitHub itself gives up on a delivery after 10 s, so a body still arriving then is not GitHub's. */
export const DEFAULT_WEBHOOK_BODY_TIMEOUT_MS = 10_000;
/** what a 503 asks the sender to wait: about one body timeout, when the budget has surely been freed */
const RETRY_AFTER_SECONDS = 10;
/** attacker-chosen header values end up in logs and trigger details: keep them short */
const MAX_ECHOED_CHARS = 80;
/** refusals that hint at a misconfigured sender or an attack, rather than an ignored event */
const WARN_STATUSES: ReadonlySet<number> = new Set([401, 408, 411, 413, 415, 503]);
/** anyone who can reach the port can send requests: their log lines are throttled per status */
export const DEFAULT_WEBHOOK_LOG_INTERVAL_MS = 60_000;

/**
 * Whether to log now, per key: the first time, then once per interval; a line that is logged
 * carries how many were held back since the last one (`suppressed`). Without it, a flood of
 * unsigned requests to the public webhook port writes one warn line each. Pure given `now`.
 */
export function createLogThrottle(intervalMs: number, now: () => number): (key: string) => { readonly log: boolean; readonly suppressed: number } {
  const state = new Map<string, { last: number; held: number }>();
  return (key) => {
    const t = now();
    const s = state.get(key);
    if (s !== undefined && t - s.last < intervalMs) {
      s.held++;
      return { log: false, suppressed: 0 };
    }
    state.set(key, { last: t, held: 0 });
    return { log: true, suppressed: s?.held ?? 0 };
  };
}

export interface WebhookOptions {
  /** the shared secret configured on the GitHub webhook (never logged) */
  readonly secret: string;
  /** only pushes to this branch trigger */
  readonly branch: string;
  readonly onTrigger: TriggerSink;
  readonly log: Log;
  /** a larger declared Content-Length gets 413 unread; default 1 MiB */
  readonly maxBodyBytes?: number;
  /** bytes all webhook requests together may hold while their bodies arrive; default 8 MiB */
  readonly bufferBudgetBytes?: number;
  /** a body not complete this long after its headers is cut off with 408; default 10 s */
  readonly bodyTimeoutMs?: number;
  /** per response status, at most one log line this often (the rest are counted in the next); default 60 s */
  readonly logIntervalMs?: number;
  /** the clock of that throttle (tests) */
  readonly now?: () => number;
}

export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => void;

export type BodyEncoding = "json" | "form";

/** What the headers alone decide: refuse now (body unread), or read exactly `bytes` bytes. */
export type Admission =
  | { readonly kind: "refuse"; readonly status: 400 | 401 | 405 | 411 | 413 | 415; readonly message: string }
  | { readonly kind: "read"; readonly bytes: number; readonly encoding: BodyEncoding; readonly signature: Buffer; readonly event: string };

type Verdict =
  | { readonly status: 202; readonly message: string; readonly trigger: string }
  | { readonly status: 200 | 400 | 401; readonly message: string };

/** GitHub's format exactly; anything else cannot be a valid signature, so it is refused before the body. */
const SIGNATURE = /^sha256=([0-9a-f]{64})$/;
const DECIMAL = /^\d{1,15}$/;

/** Judge a webhook request from its method and headers only. Pure. */
export function admitWebhookRequest(method: string | undefined, headers: IncomingHttpHeaders, maxBodyBytes: number): Admission {
  if (method !== "POST") return { kind: "refuse", status: 405, message: "POST only" };
  const signatureHeader = first(headers["x-hub-signature-256"]);
  if (signatureHeader === undefined) return { kind: "refuse", status: 401, message: "missing X-Hub-Signature-256" };
  const hex = SIGNATURE.exec(signatureHeader)?.[1];
  if (hex === undefined) return { kind: "refuse", status: 401, message: "malformed X-Hub-Signature-256 (expected sha256= and 64 lowercase hex digits)" };
  const event = first(headers["x-github-event"]);
  if (event === undefined || event === "") return { kind: "refuse", status: 400, message: "missing X-GitHub-Event" };
  const encoding = bodyEncoding(first(headers["content-type"]));
  if (encoding === undefined) return { kind: "refuse", status: 415, message: "content type must be application/json or application/x-www-form-urlencoded" };
  // A chunked body has no length to check against the limits up front; GitHub never sends one.
  if (headers["transfer-encoding"] !== undefined) return { kind: "refuse", status: 411, message: "chunked bodies are not accepted; send Content-Length" };
  const length = first(headers["content-length"]);
  if (length === undefined) return { kind: "refuse", status: 411, message: "Content-Length required" };
  if (!DECIMAL.test(length)) return { kind: "refuse", status: 400, message: "invalid Content-Length" };
  const bytes = Number(length);
  if (bytes > maxBodyBytes) return { kind: "refuse", status: 413, message: `body larger than ${maxBodyBytes} bytes` };
  return { kind: "read", bytes, encoding, signature: Buffer.from(hex, "hex"), event };
}

/** GitHub's two content types ("json" and "form" in the webhook settings), parameters such as charset ignored. */
export function bodyEncoding(contentType: string | undefined): BodyEncoding | undefined {
  const mediaType = contentType?.split(";", 1)[0]?.trim().toLowerCase();
  if (mediaType === "application/json") return "json";
  if (mediaType === "application/x-www-form-urlencoded") return "form";
  return undefined;
}

/** Shared accounting of bytes held by bodies in flight: a reservation either fits whole or is refused. */
export interface ByteBudget {
  /** a release function (idempotent) when `bytes` fit in what is left, undefined otherwise */
  reserve(bytes: number): (() => void) | undefined;
  readonly inUse: number;
}

export function createByteBudget(totalBytes: number): ByteBudget {
  let inUse = 0;
  return {
    reserve(bytes) {
      if (inUse + bytes > totalBytes) return undefined;
      inUse += bytes;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        inUse -= bytes;
      };
    },
    get inUse() {
      return inUse;
    },
  };
}

export type BodyRead =
  | { readonly kind: "complete"; readonly body: Buffer }
  | { readonly kind: "timeout" }
  | { readonly kind: "aborted" }
  | { readonly kind: "too-large" };

/**
 * The body, read until its end, the deadline, the connection's end, or more than `maxBytes` (which
 * node's Content-Length framing already prevents; kept so the bound does not rest on that alone).
 */
export function readBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyRead): void => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("close", onAbort);
      if (result.kind !== "complete") req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) finish({ kind: "too-large" });
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish({ kind: "complete", body: Buffer.concat(chunks, size) });
    const onAbort = (): void => finish({ kind: "aborted" });
    const timer = setTimeout(() => finish({ kind: "timeout" }), timeoutMs);
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onAbort);
    req.once("close", onAbort);
  });
}

/** Constant-time HMAC-SHA256 check over the raw bytes GitHub signed. */
export function signatureMatches(secret: string, body: Buffer, signature: Buffer): boolean {
  const expected = createHmac("sha256", secret).update(body).digest();
  return signature.length === expected.length && timingSafeEqual(signature, expected);
}

/** What a verified body asks for. Pure. */
export function judgeVerifiedDelivery(event: string, encoding: BodyEncoding, body: Buffer, ref: string, delivery: string): Verdict {
  if (event === "ping") return { status: 200, message: "pong" };
  if (event !== "push") return { status: 200, message: `ignored event ${clip(event)}` };
  let payload: { ref?: unknown; after?: unknown };
  try {
    const json = encoding === "json" ? body.toString("utf8") : new URLSearchParams(body.toString("utf8")).get("payload");
    if (json === null) return { status: 400, message: "form body without a payload field" };
    payload = JSON.parse(json) as { ref?: unknown; after?: unknown };
  } catch {
    return { status: 400, message: "push payload is not JSON" };
  }
  if (typeof payload !== "object" || payload === null) return { status: 400, message: "push payload is not a JSON object" };
  if (payload.ref !== ref) return { status: 200, message: `ignored push to ${clip(String(payload.ref))}` };
  const after = typeof payload.after === "string" ? payload.after.slice(0, 40) : "?";
  return { status: 202, message: "reconcile scheduled", trigger: `push ${after} (delivery ${delivery})` };
}

export function createWebhookHandler(options: WebhookOptions): WebhookHandler {
  if (options.secret === "") throw new Error("the webhook secret is empty: refusing to accept unsigned pushes");
  const maxBytes = options.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BYTES;
  const budgetBytes = options.bufferBudgetBytes ?? DEFAULT_WEBHOOK_BUFFER_BUDGET_BYTES;
  const timeoutMs = options.bodyTimeoutMs ?? DEFAULT_WEBHOOK_BODY_TIMEOUT_MS;
  if (budgetBytes < maxBytes) throw new Error(`the webhook buffer budget (${budgetBytes} bytes) is below one maximum body (${maxBytes} bytes)`);
  const budget = createByteBudget(budgetBytes);
  const ref = `refs/heads/${options.branch}`;
  const throttle = createLogThrottle(options.logIntervalMs ?? DEFAULT_WEBHOOK_LOG_INTERVAL_MS, options.now ?? Date.now);

  function respond(req: IncomingMessage, res: ServerResponse, status: number, message: string, close: boolean, extra: Record<string, string> = {}): void {
    const level = WARN_STATUSES.has(status) ? "warn" : "info";
    // an accepted delivery is always logged: it is one reconcile, and the loop coalesces those anyway
    const t = status === 202 ? { log: true, suppressed: 0 } : throttle(String(status));
    if (t.log) options.log[level]({ status, delivery: deliveryId(req), ...(t.suppressed > 0 ? { suppressed: t.suppressed } : {}) }, `webhook: ${message}`);
    reply(res, status, message, close, extra);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const admission = admitWebhookRequest(req.method, req.headers, maxBytes);
    if (admission.kind === "refuse") return respond(req, res, admission.status, admission.message, true);
    const release = budget.reserve(admission.bytes);
    if (release === undefined) {
      return respond(req, res, 503, "too many webhook bodies in flight; retry later", true, { "retry-after": String(RETRY_AFTER_SECONDS) });
    }
    let read: BodyRead;
    try {
      read = await readBody(req, admission.bytes, timeoutMs);
    } finally {
      release();
    }
    switch (read.kind) {
      case "aborted":
        options.log.info({ delivery: deliveryId(req) }, "webhook: the sender went away before its body was complete");
        res.destroy();
        return;
      case "timeout":
        return respond(req, res, 408, `body not complete within ${timeoutMs} ms`, true);
      case "too-large":
        return respond(req, res, 413, `body larger than ${maxBytes} bytes`, true);
      case "complete":
        break;
    }
    if (!signatureMatches(options.secret, read.body, admission.signature)) return respond(req, res, 401, "invalid signature", false);
    const verdict = judgeVerifiedDelivery(admission.event, admission.encoding, read.body, ref, deliveryId(req) ?? "?");
    if (verdict.status === 202) options.onTrigger({ kind: "webhook", detail: verdict.trigger });
    respond(req, res, verdict.status, verdict.message, false);
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log.warn({ error: err instanceof Error ? err.message : String(err) }, "webhook: request failed");
      reply(res, 400, "could not read the request", true);
    });
  };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function clip(text: string): string {
  return text.length > MAX_ECHOED_CHARS ? `${text.slice(0, MAX_ECHOED_CHARS)}…` : text;
}

function deliveryId(req: IncomingMessage): string | undefined {
  const id = first(req.headers["x-github-delivery"]);
  return id === undefined ? undefined : clip(id);
}

function reply(res: ServerResponse, status: number, message: string, close: boolean, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = `${message}\n`;
  const headers: Record<string, string | number> = {
    ...extra,
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  };
  // An unread, partly read or refused body: do not drain it for another request on this connection.
  if (close) headers["connection"] = "close";
  res.writeHead(status, headers);
  res.end(body);
}
