/**
 * The operations endpoint of `wildseal watch --listen ADDR`: liveness, readiness, Prometheus metrics
 * and (optionally) the GitHub webhook, on one small node:http server.
 *
 * The port may face untrusted clients (the webhook must be reachable from GitHub), and a probe that
 * cannot connect restarts the pod. So the number of open connections is capped (each one is a file
 * descriptor and some memory), and a new connection over the cap closes the OLDEST connection that is
 * not answering a probe, rather than being refused: whoever hoards connections loses them, while a
 * kubelet probe (a fresh connection that asks at once and is answered in microseconds) always gets in.
 * Every phase of a connection is bounded in time: silence before the first byte (node's headersTimeout
 * only starts with it), headers, the whole request, keep-alive idleness; the webhook bounds its body.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { isIP } from "node:net";
import { UsageError } from "../errors.ts";
import type { Log } from "../log.ts";
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
  readonly log?: Log;
  /** connection cap and timeouts; each omitted field takes its DEFAULT_OPS_LIMITS value */
  readonly limits?: Partial<OpsServerLimits>;
}

export interface OpsServerLimits {
  /** open connections at most; a new one over the cap closes the oldest one not answering a probe */
  readonly maxConnections: number;
  /** a connection silent this long is closed (also bounds a keep-alive connection's idleness) */
  readonly idleTimeoutMs: number;
  readonly headersTimeoutMs: number;
  /** headers and body together (the webhook cuts its body off sooner) */
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

/**
 * 256 connections: far more than probes, scrapes and GitHub's deliveries ever need at once, yet about a
 * quarter of the common 1024 file-descriptor limit (the rest is for git, the Kubernetes watch, logs),
 * and at most ~256 × 16 KiB of headers in memory.
 */
export const DEFAULT_OPS_LIMITS: OpsServerLimits = {
  maxConnections: 256,
  idleTimeoutMs: 15_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  keepAliveTimeoutMs: 5_000,
};

export interface ConnectionStats {
  readonly open: number;
  /** connections closed to make room for newer ones since the server started */
  readonly evicted: number;
}

export interface OpsServer {
  /** base URL, e.g. http://127.0.0.1:8080 (the bound port when 0 was asked) */
  readonly url: string;
  connections(): ConnectionStats;
  close(): Promise<void>;
}

/** The oldest connection (iteration order is age) that is not busy answering a probe; undefined if all are. */
export function oldestEvictable<T>(byAge: Iterable<T>, busy: ReadonlySet<T>): T | undefined {
  for (const c of byAge) if (!busy.has(c)) return c;
  return undefined;
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const address = typeof options.listen === "string" ? parseListenAddress(options.listen) : options.listen;
  const alive = options.alive ?? (() => true);
  const limits: OpsServerLimits = { ...DEFAULT_OPS_LIMITS, ...options.limits };
  // Checked every second rather than node's default 30 s, so headersTimeout/requestTimeout hold closely.
  const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    route(req, res).catch((err: unknown) => {
      options.log?.error({ error: err instanceof Error ? err.message : String(err), path: req.url }, "ops endpoint failed");
      if (!res.headersSent) text(res, 500, "internal error");
      else res.destroy();
    });
  });
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // Inactivity: without a 'timeout' listener node destroys the socket.
  server.timeout = limits.idleTimeoutMs;

  /** open connections, oldest first (a Set iterates in insertion order) */
  const open = new Set<Socket>();
  /** connections whose request is a probe or scrape being answered: never evicted */
  const busy = new Set<Socket>();
  let evicted = 0;
  server.on("connection", (socket: Socket) => {
    if (open.size >= limits.maxConnections) {
      const victim = oldestEvictable(open, busy);
      if (victim === undefined) {
        socket.destroy(); // every slot answers a probe right now: the newcomer waits its turn
        return;
      }
      // Deleted now, not on its 'close' (next tick): a burst of accepts in one tick must pick distinct victims.
      open.delete(victim);
      victim.destroy();
      evicted += 1;
    }
    open.add(socket);
    socket.once("close", () => {
      open.delete(socket);
      busy.delete(socket);
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://ops").pathname;
    if (path === "/webhook" && options.webhook) return options.webhook(req, res);
    const socket = req.socket;
    busy.add(socket);
    res.once("close", () => busy.delete(socket));
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
    connections: () => ({ open: open.size, evicted }),
    async close(): Promise<void> {
      const closed = once(server, "close");
      server.close();
      server.closeIdleConnections();
      // A probe being answered finishes; a webhook body still trickling in is not waited for.
      for (const socket of open) if (!busy.has(socket)) socket.destroy();
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
