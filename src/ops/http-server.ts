/**
 * The operations endpoint of `wildseal watch --listen ADDR`: liveness, readiness, Prometheus metrics
 * and (optionally) the GitHub webhook, on one small node:http server.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isIP } from "node:net";
import { UsageError } from "../errors.ts";
import type { Logger } from "./logger.ts";
import type { WildsealMetrics } from "./metrics.ts";

export interface ListenAddress {
  /** undefined: every interface (as Go's ":8080") */
  readonly host: string | undefined;
  readonly port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;

/** `:8080`, `127.0.0.1:8080`, `[::1]:8080`, `localhost:8080` → host and port; anything else is a usage error. */
export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const bad = (why: string): never => {
    throw new UsageError(`--listen ${JSON.stringify(text)}: ${why} (expected :PORT, HOST:PORT or [IPv6]:PORT)`);
  };
  if (!m) return bad("not an address");
  const port = Number(m[3]);
  if (port > 65535) bad("port out of range");
  const v6 = m[1];
  if (v6 !== undefined) {
    if (isIP(v6) !== 6) bad("not an IPv6 address inside [ ]");
    return { host: v6, port };
  }
  const host = m[2] ?? "";
  if (host === "") return { host: undefined, port };
  if (isIP(host) !== 4 && !HOSTNAME.test(host)) bad("not a host name or IPv4 address");
  return { host, port };
}

export interface OpsServerOptions {
  readonly listen: string | ListenAddress;
  readonly metrics: WildsealMetrics;
  /** /readyz: true once the first reconcile succeeded */
  readonly ready: () => boolean;
  /** /healthz: true while the reconcile loop runs; default always */
  readonly alive?: () => boolean;
  readonly webhook?: (req: IncomingMessage, res: ServerResponse) => void;
  readonly log?: Logger;
}

export interface OpsServer {
  /** base URL, e.g. http://127.0.0.1:8080 (the bound port when 0 was asked) */
  readonly url: string;
  close(): Promise<void>;
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const address = typeof options.listen === "string" ? parseListenAddress(options.listen) : options.listen;
  const alive = options.alive ?? (() => true);
  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      options.log?.error({ error: err instanceof Error ? err.message : String(err), path: req.url }, "ops endpoint failed");
      if (!res.headersSent) text(res, 500, "internal error");
      else res.destroy();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://ops").pathname;
    if (path === "/webhook" && options.webhook) return options.webhook(req, res);
    if (req.method !== "GET" && req.method !== "HEAD") return text(res, 405, "GET only");
    switch (path) {
      case "/healthz":
        return alive() ? text(res, 200, "ok") : text(res, 503, "reconcile loop stopped");
      case "/readyz":
        return options.ready() ? text(res, 200, "ready") : text(res, 503, "no successful reconcile yet");
      case "/metrics": {
        const body = await options.metrics.registry.metrics();
        res.writeHead(200, { "content-type": options.metrics.registry.contentType });
        res.end(req.method === "HEAD" ? undefined : body);
        return;
      }
      default:
        return text(res, 404, "not found");
    }
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(new UsageError(`--listen: cannot listen on ${formatHostPort(address)}: ${err.message}`));
    server.once("error", onError);
    server.listen(address.port, address.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const urlHost = address.host === undefined ? "127.0.0.1" : bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  options.log?.info({ listen: formatHostPort({ host: address.host, port: bound.port }) }, "ops endpoint listening");
  return {
    url: `http://${urlHost}:${bound.port}`,
    async close(): Promise<void> {
      const closed = once(server, "close");
      server.close();
      server.closeIdleConnections();
      await closed;
    },
  };
}

function formatHostPort(a: ListenAddress): string {
  if (a.host === undefined) return `:${a.port}`;
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function text(res: ServerResponse, status: number, body: string): void {
  const payload = `${body}\n`;
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}
