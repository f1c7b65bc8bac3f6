/**
 * GitHub push webhook → immediate reconcile. Only a request whose body carries a valid
 * X-Hub-Signature-256 (HMAC-SHA256 with the shared secret) can trigger; everything else is answered
 * without touching the loop. The payload is only used to filter (event, branch): the reconcile reads
 * Git itself, so a forged-but-signed payload cannot make wildseal publish anything Git does not hold.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { verify } from "@octokit/webhooks-methods";
import type { Logger } from "../ops/logger.ts";
import type { TriggerSink } from "../pipeline/trigger.ts";

export const DEFAULT_WEBHOOK_MAX_BYTES = 1024 * 1024;

export interface WebhookOptions {
  /** the shared secret configured on the GitHub webhook (never logged) */
  readonly secret: string;
  /** only pushes to this branch trigger */
  readonly branch: string;
  readonly onTrigger: TriggerSink;
  readonly log: Logger;
  /** larger bodies get 413 unread; default 1 MiB */
  readonly maxBodyBytes?: number;
}

export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => void;

type Verdict =
  | { readonly status: 202; readonly message: string; readonly trigger: string }
  | { readonly status: 200 | 400 | 401 | 405 | 413; readonly message: string };

export function createWebhookHandler(options: WebhookOptions): WebhookHandler {
  if (options.secret === "") throw new Error("the webhook secret is empty: refusing to accept unsigned pushes");
  const maxBytes = options.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BYTES;
  const ref = `refs/heads/${options.branch}`;

  async function judge(req: IncomingMessage): Promise<Verdict> {
    if (req.method !== "POST") return { status: 405, message: "POST only" };
    const signature = header(req, "x-hub-signature-256");
    if (!signature) return { status: 401, message: "missing X-Hub-Signature-256" };
    const declared = Number(header(req, "content-length") ?? "0");
    if (declared > maxBytes) return { status: 413, message: `body larger than ${maxBytes} bytes` };
    const body = await readBody(req, maxBytes);
    if (body === undefined) return { status: 413, message: `body larger than ${maxBytes} bytes` };
    if (!(await verifySignature(options.secret, body, signature))) return { status: 401, message: "invalid signature" };
    const event = header(req, "x-github-event");
    if (event === "ping") return { status: 200, message: "pong" };
    if (event !== "push") return { status: 200, message: `ignored event ${event ?? "(none)"}` };
    let payload: { ref?: unknown; after?: unknown };
    try {
      payload = JSON.parse(body) as { ref?: unknown; after?: unknown };
    } catch {
      return { status: 400, message: "push payload is not JSON" };
    }
    if (payload.ref !== ref) return { status: 200, message: `ignored push to ${String(payload.ref)}` };
    const after = typeof payload.after === "string" ? payload.after.slice(0, 40) : "?";
    return { status: 202, message: "reconcile scheduled", trigger: `push ${after} (delivery ${header(req, "x-github-delivery") ?? "?"})` };
  }

  return (req, res) => {
    judge(req).then(
      (verdict) => {
        if (verdict.status === 202) options.onTrigger({ kind: "webhook", detail: verdict.trigger });
        const level = verdict.status === 401 || verdict.status === 413 ? "warn" : "info";
        options.log[level]({ status: verdict.status, delivery: header(req, "x-github-delivery") }, `webhook: ${verdict.message}`);
        reply(res, verdict.status, verdict.message, verdict.status === 413);
      },
      (err: unknown) => {
        options.log.warn({ error: err instanceof Error ? err.message : String(err) }, "webhook: request failed");
        reply(res, 400, "could not read the request", true);
      },
    );
  };
}

async function verifySignature(secret: string, body: string, signature: string): Promise<boolean> {
  try {
    return await verify(secret, body, signature);
  } catch {
    return false; // malformed signature header
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The body as UTF-8, or undefined when it exceeds the limit (reading stops there). */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function reply(res: ServerResponse, status: number, message: string, close: boolean): void {
  if (res.headersSent) return;
  const body = `${message}\n`;
  const headers: Record<string, string | number> = {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  };
  // An unread or oversized body: do not keep the connection for another request.
  if (close) headers["connection"] = "close";
  res.writeHead(status, headers);
  res.end(body);
}
