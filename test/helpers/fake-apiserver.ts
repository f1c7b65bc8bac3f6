/**
 * A loopback stand-in for kube-apiserver, just enough of it to drive the real @kubernetes/client-node
 * through list+watch of Secrets (and get/create/update of Leases):
 * - LIST honours `fieldSelector=metadata.name=…` and returns the list resourceVersion;
 * - WATCH streams chunked JSON lines (ADDED/MODIFIED/DELETED/BOOKMARK/ERROR) from the requested
 *   resourceVersion, replaying history after it; a resourceVersion older than the compaction point gets
 *   an `ERROR` event carrying a 410 Status, as the real server sends it; `timeoutSeconds` closes cleanly;
 * - fault injection: drop every open watch, stall them (open, silent), expire them with 410;
 * - Services (GET) and the service proxy `services/[scheme:]name[:port]/proxy/…`, answered from
 *   replies a test registers per Service port (what the Sealed Secrets controller serves behind it).
 * Every request is recorded so tests can assert what the client asked for.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** request headers, lower-case names (the Authorization header is left out) */
  readonly headers: Readonly<Record<string, string>>;
}

export interface ServicePortSpec {
  /** omitted: an unnamed port, as a single-port Service may have */
  readonly name?: string;
  readonly port: number;
}

/** What a backend behind the service proxy answers for one path. */
export interface ProxyReply {
  readonly status: number;
  readonly body: string | Buffer;
  readonly contentType?: string;
}

type KubeObject = Record<string, unknown> & {
  metadata: { name: string; namespace: string; resourceVersion: string; [k: string]: unknown };
};

interface HistoryEntry {
  readonly rv: number;
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly object: KubeObject;
}

interface OpenWatch {
  readonly resource: string;
  readonly namespace: string;
  readonly name: string | undefined;
  readonly bookmarks: boolean;
  readonly res: ServerResponse;
  stalled: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface SecretSpec {
  readonly data: Readonly<Record<string, Buffer | string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly type?: string;
}

const RESOURCES = ["secrets", "leases", "services"] as const;
type Resource = (typeof RESOURCES)[number];
const KINDS: Readonly<Record<Resource, { kind: string; apiVersion: string }>> = {
  secrets: { kind: "Secret", apiVersion: "v1" },
  leases: { kind: "Lease", apiVersion: "coordination.k8s.io/v1" },
  services: { kind: "Service", apiVersion: "v1" },
};

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  #server: Server;
  #rv = 100;
  /** watches from a resourceVersion at or below this get 410 Gone */
  #compactedRv = 0;
  #objects = new Map<string, KubeObject>();
  #history: HistoryEntry[] = [];
  #watches = new Set<OpenWatch>();
  #stallNewWatches = false;
  /** LIST/GET requests answered with this status instead (fault injection) */
  #failReads: number | undefined;
  /** `namespace/name/port` → path below /proxy → reply */
  #proxied = new Map<string, ReadonlyMap<string, ProxyReply>>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeApiServer> {
    let fake: FakeApiServer | undefined;
    const server = createServer((req, res) => fake?.handle(req, res));
    fake = new FakeApiServer(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return fake;
  }

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** A KubeConfig pointing at this server over plain HTTP (the client needs skipTLSVerify for that). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "fake", token: "fake-token" }],
      contexts: [{ name: "fake", cluster: "fake", user: "fake", namespace: "default" }],
      currentContext: "fake",
    });
    return kc;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  get openWatchCount(): number {
    return this.#watches.size;
  }

  watchRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.query["watch"] === "true");
  }

  listRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.query["watch"] !== "true" && !/\/(?:secrets|services)\/[^/]+(?:\/proxy\/.*)?$/.test(r.path));
  }

  /** Create or replace a Secret; emits ADDED or MODIFIED to matching watches. Returns its resourceVersion. */
  putSecret(namespace: string, name: string, spec: SecretSpec): string {
    const data = Object.fromEntries(
      Object.entries(spec.data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    );
    return this.put("secrets", {
      apiVersion: "v1",
      kind: "Secret",
      type: spec.type ?? "kubernetes.io/tls",
      metadata: {
        name,
        namespace,
        resourceVersion: "",
        uid: `uid-${namespace}-${name}`,
        annotations: { ...spec.annotations },
        labels: { ...spec.labels },
      },
      data,
    });
  }

  /** Create or replace a Service with these ports (type ClusterIP). Returns its resourceVersion. */
  putService(namespace: string, name: string, ports: readonly ServicePortSpec[]): string {
    return this.put("services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, resourceVersion: "", uid: `uid-svc-${namespace}-${name}` },
      spec: {
        type: "ClusterIP",
        clusterIP: "10.96.0.10",
        ports: ports.map((p) => ({ ...(p.name === undefined ? {} : { name: p.name }), port: p.port, protocol: "TCP", targetPort: p.port })),
      },
    });
  }

  /**
   * What the backend behind Service `namespace/name`, port `port` (its name, or "" for an unnamed
   * port) answers through the service proxy, per path (e.g. `/v1/cert.pem`). Replaces earlier replies;
   * an empty map means the Service has no ready endpoints (503, as the API server answers).
   */
  serveBehindService(namespace: string, name: string, port: string, replies: Readonly<Record<string, ProxyReply>>): void {
    this.#proxied.set(`${namespace}/${name}/${port}`, new Map(Object.entries(replies)));
  }

  deleteSecret(namespace: string, name: string): void {
    const key = objectKey("secrets", namespace, name);
    const existing = this.#objects.get(key);
    if (!existing) return;
    this.#objects.delete(key);
    const rv = ++this.#rv;
    const object = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(rv) } };
    this.record("secrets", { rv, type: "DELETED", object });
  }

  /** Send a BOOKMARK at the current resourceVersion on every open watch that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.#watches) {
      if (w.bookmarks && !w.stalled) this.send(w, "BOOKMARK", bookmarkObject(w.resource, this.#rv));
    }
  }

  /** Destroy every open watch connection mid-stream (no final chunk), as a dying load balancer does. */
  dropWatches(): void {
    for (const w of this.#watches) {
      w.res.socket?.destroy();
      this.forget(w);
    }
  }

  /** Keep every open watch connection open but deliver nothing more on it. */
  stallWatches(): void {
    for (const w of this.#watches) w.stalled = true;
  }

  /** New watch requests hang before response headers (set false to let later ones through). */
  stallNewWatches(on: boolean): void {
    this.#stallNewWatches = on;
  }

  /** Answer LIST and GET with this HTTP status until cleared (undefined). */
  failReads(status: number | undefined): void {
    this.#failReads = status;
  }

  /**
   * Compact history up to now and expire every open watch with an `ERROR` 410 event, as the apiserver
   * does when a watcher's resourceVersion falls out of its window. Resuming from any older
   * resourceVersion then also gets 410: the client must relist.
   */
  expireWatches(): void {
    this.#compactedRv = this.#rv;
    this.#history = [];
    for (const w of this.#watches) {
      this.send(w, "ERROR", goneStatus());
      w.res.end();
      this.forget(w);
    }
  }

  async close(): Promise<void> {
    for (const w of this.#watches) {
      w.res.socket?.destroy();
      this.forget(w);
    }
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, "close");
  }

  // --- request handling ---------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (k !== "authorization" && v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    }
    this.requests.push({ method: req.method ?? "GET", path: url.pathname, query, headers });
    const proxy = parseProxyRoute(url.pathname);
    if (proxy) return this.proxy(req, res, proxy);
    const route = parseRoute(url.pathname);
    if (!route) return sendStatus(res, 404, "NotFound", `no route for ${url.pathname}`);
    if (req.method === "GET" && route.name !== undefined) return this.getOne(res, route);
    if (req.method === "GET" && query["watch"] === "true") return this.watch(res, route, query);
    if (req.method === "GET") return this.list(res, route, query);
    if (req.method === "POST" || req.method === "PUT") {
      void readJson(req).then((body) => this.write(res, route, req.method ?? "POST", body));
      return;
    }
    sendStatus(res, 405, "MethodNotAllowed", `${req.method} not supported`);
  }

  /** The API server's service proxy: resolve the Service and its port, then answer as the backend. */
  private proxy(req: IncomingMessage, res: ServerResponse, p: ProxyRoute): void {
    if (req.method !== "GET") return sendStatus(res, 405, "MethodNotAllowed", `${req.method} not supported by the fake proxy`);
    if (p.scheme !== "" && p.scheme !== "http" && p.scheme !== "https") {
      return sendStatus(res, 400, "BadRequest", `unsupported scheme "${p.scheme}"`);
    }
    const svc = this.#objects.get(objectKey("services", p.namespace, p.name));
    if (!svc) return sendStatus(res, 404, "NotFound", `services "${p.name}" not found`);
    const ports = ((svc["spec"] as { ports?: Array<{ name?: string; port: number }> } | undefined)?.ports ?? []);
    const port = ports.find((q) => (q.name ?? "") === p.port || String(q.port) === p.port) ?? (p.port === "" && ports.length === 1 ? ports[0] : undefined);
    if (!port) return sendStatus(res, 503, "ServiceUnavailable", `no service port "${p.port}" found for service "${p.name}"`);
    const replies = this.#proxied.get(`${p.namespace}/${p.name}/${port.name ?? ""}`);
    if (!replies || replies.size === 0) {
      return sendStatus(res, 503, "ServiceUnavailable", `no endpoints available for service "${p.name}"`);
    }
    const reply = replies.get(p.path);
    if (!reply) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("404 page not found\n");
      return;
    }
    const body = Buffer.from(reply.body);
    res.writeHead(reply.status, { "content-type": reply.contentType ?? "application/x-pem-file", "content-length": body.length });
    res.end(body);
  }

  private getOne(res: ServerResponse, route: Route): void {
    if (this.#failReads !== undefined) return sendStatus(res, this.#failReads, "InternalError", "injected failure");
    const obj = this.#objects.get(objectKey(route.resource, route.namespace, route.name ?? ""));
    if (!obj) return sendStatus(res, 404, "NotFound", `${route.resource} "${route.name}" not found`);
    sendJson(res, 200, obj);
  }

  private list(res: ServerResponse, route: Route, query: Record<string, string>): void {
    if (this.#failReads !== undefined) return sendStatus(res, this.#failReads, "InternalError", "injected failure");
    const selector = parseFieldSelector(query["fieldSelector"]);
    if (selector === "invalid") return sendStatus(res, 400, "BadRequest", "unsupported field selector");
    const items = [...this.#objects.values()].filter((o) => matches(o, route, selector));
    sendJson(res, 200, {
      apiVersion: KINDS[route.resource].apiVersion,
      kind: `${KINDS[route.resource].kind}List`,
      metadata: { resourceVersion: String(this.#rv) },
      items,
    });
  }

  private watch(res: ServerResponse, route: Route, query: Record<string, string>): void {
    const selector = parseFieldSelector(query["fieldSelector"]);
    if (selector === "invalid") return sendStatus(res, 400, "BadRequest", "unsupported field selector");
    if (this.#stallNewWatches) {
      // Accept the request, never answer: the client's connect hangs.
      res.socket?.setTimeout(0);
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const w: OpenWatch = {
      resource: route.resource,
      namespace: route.namespace,
      name: selector,
      bookmarks: query["allowWatchBookmarks"] === "true",
      res,
      stalled: false,
      timer: undefined,
    };
    this.#watches.add(w);
    res.on("close", () => this.forget(w));
    const from = query["resourceVersion"] ?? "";
    if (from === "" || from === "0") {
      // "Start at most recent": synthetic ADDED for the current state, then live events.
      for (const o of this.#objects.values()) if (matches(o, route, selector)) this.send(w, "ADDED", o);
    } else {
      const rv = Number(from);
      if (!Number.isInteger(rv) || rv <= this.#compactedRv) {
        this.send(w, "ERROR", goneStatus());
        res.end();
        this.forget(w);
        return;
      }
      for (const h of this.#history) {
        if (h.rv > rv && matches(h.object, route, selector)) this.send(w, h.type, h.object);
      }
    }
    const timeout = Number(query["timeoutSeconds"] ?? "0");
    if (timeout > 0) {
      w.timer = setTimeout(() => {
        res.end();
        this.forget(w);
      }, timeout * 1000);
    }
  }

  private write(res: ServerResponse, route: Route, method: string, body: unknown): void {
    if (!isKubeObject(body)) return sendStatus(res, 400, "BadRequest", "body is not an object with metadata");
    const name = route.name ?? body.metadata.name;
    const key = objectKey(route.resource, route.namespace, name);
    const existing = this.#objects.get(key);
    if (method === "POST" && existing) return sendStatus(res, 409, "AlreadyExists", `"${name}" already exists`);
    if (method === "PUT" && !existing) return sendStatus(res, 404, "NotFound", `"${name}" not found`);
    if (method === "PUT" && existing && body.metadata.resourceVersion !== existing.metadata.resourceVersion) {
      return sendStatus(res, 409, "Conflict", "the object has been modified; please apply your changes to the latest version");
    }
    const rv = this.put(route.resource, { ...body, metadata: { ...body.metadata, name, namespace: route.namespace } });
    sendJson(res, method === "POST" ? 201 : 200, this.#objects.get(key) ?? { rv });
  }

  private put(resource: Resource, object: KubeObject): string {
    const key = objectKey(resource, object.metadata.namespace, object.metadata.name);
    const type = this.#objects.has(key) ? "MODIFIED" : "ADDED";
    const rv = ++this.#rv;
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } };
    this.#objects.set(key, stored);
    this.record(resource, { rv, type, object: stored });
    return String(rv);
  }

  private record(resource: Resource, entry: HistoryEntry): void {
    this.#history.push(entry);
    for (const w of this.#watches) {
      const route: Route = { resource: w.resource as Resource, namespace: w.namespace, name: undefined };
      if (!w.stalled && matches(entry.object, route, w.name) && resource === w.resource) {
        this.send(w, entry.type, entry.object);
      }
    }
  }

  private send(w: OpenWatch, type: string, object: unknown): void {
    w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private forget(w: OpenWatch): void {
    if (w.timer) clearTimeout(w.timer);
    this.#watches.delete(w);
  }
}

interface Route {
  readonly resource: Resource;
  readonly namespace: string;
  readonly name: string | undefined;
}

interface ProxyRoute {
  readonly namespace: string;
  readonly scheme: string;
  readonly name: string;
  readonly port: string;
  /** the path below `/proxy`, e.g. `/v1/cert.pem` */
  readonly path: string;
}

/** `/api/v1/namespaces/NS/services/[scheme:]name[:port]/proxy/PATH`, as the API server parses it. */
function parseProxyRoute(pathname: string): ProxyRoute | undefined {
  const m = /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/services\/([^/]+)\/proxy(\/.*)?$/.exec(pathname);
  if (!m || !m[1] || !m[2]) return undefined;
  const parts = decodeURIComponent(m[2]).split(":");
  let scheme = "";
  let name: string;
  let port = "";
  if (parts.length === 3) [scheme, name, port] = parts as [string, string, string];
  else if (parts.length === 2) [name, port] = parts as [string, string];
  else if (parts.length === 1) name = parts[0] ?? "";
  else return undefined;
  return { namespace: m[1], scheme, name, port, path: m[3] ?? "/" };
}

/** Only namespaced routes exist: a cluster-wide list has no route here and gets 404. */
function parseRoute(pathname: string): Route | undefined {
  const m =
    /^\/api\/v1\/namespaces\/([a-z0-9-]+)\/(secrets|services)(?:\/([a-z0-9.-]+))?$/.exec(pathname) ??
    /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([a-z0-9-]+)\/(leases)(?:\/([a-z0-9.-]+))?$/.exec(pathname);
  if (!m || !m[1] || !m[2]) return undefined;
  return { namespace: m[1], resource: m[2] as Resource, name: m[3] };
}

/** `metadata.name=X` (the only selector the client under test may use) → X; none → undefined. */
function parseFieldSelector(selector: string | undefined): string | undefined | "invalid" {
  if (selector === undefined || selector === "") return undefined;
  const m = /^metadata\.name=([a-z0-9.-]+)$/.exec(selector);
  return m?.[1] ?? "invalid";
}

function matches(o: KubeObject, route: Route, name: string | undefined): boolean {
  const kind = KINDS[route.resource].kind;
  return o["kind"] === kind && o.metadata.namespace === route.namespace && (name === undefined || o.metadata.name === name);
}

function objectKey(resource: string, namespace: string, name: string): string {
  return `${resource}/${namespace}/${name}`;
}

function bookmarkObject(resource: string, rv: number): unknown {
  return {
    kind: KINDS[resource as Resource].kind,
    apiVersion: KINDS[resource as Resource].apiVersion,
    metadata: { resourceVersion: String(rv), annotations: { "k8s.io/initial-events-end": "false" } },
  };
}

function goneStatus(): unknown {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: "too old resource version",
    reason: "Expired",
    code: 410,
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}

function isKubeObject(v: unknown): v is KubeObject {
  if (typeof v !== "object" || v === null) return false;
  const md = (v as { metadata?: unknown }).metadata;
  return typeof md === "object" && md !== null && typeof (md as { name?: unknown }).name === "string";
}
