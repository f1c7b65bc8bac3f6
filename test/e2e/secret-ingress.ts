import { X509Certificate, createHash } from "node:crypto";
import { request, createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";

/**
 * A stand-in for an ingress controller on 127.0.0.1: an HTTPS server that reads each route's TLS Secret
 * from the real apiserver (GET /api/v1/namespaces/NS/secrets/NAME with its own ServiceAccount token, as an
 * ingress controller's informer does), keeps tls.crt/tls.key in memory only, and picks the certificate by
 * SNI. It reloads when told to (`reload()`), the way an ingress controller's sync does after the Secret
 * changed: the test decides when, so the window in which the Secret is new and the served certificate old
 * is observed on purpose instead of raced.
 */

export interface IngressRoute {
  /** SNI name (and Host) the route serves */
  readonly host: string;
  readonly namespace: string;
  readonly secretName: string;
}

export interface LoadedSecret {
  readonly host: string;
  /** the Secret's metadata.resourceVersion when it was read */
  readonly resourceVersion: string;
  /** hex SHA-256 of the leaf DER in tls.crt: what `wildseal.dev/cert-sha256` names */
  readonly sha256: string;
}

export interface SecretIngress {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** reads every route's Secret from the apiserver and serves it from now on; what was loaded, in route order */
  reload(): Promise<LoadedSecret[]>;
  /** what each host serves now (undefined before the first successful reload of its Secret) */
  serving(host: string): LoadedSecret | undefined;
  close(): Promise<void>;
}

export interface SecretIngressOptions {
  readonly apiserverUrl: string;
  /** PEM of the apiserver's CA */
  readonly caPem: string;
  /** bearer token of the ingress's ServiceAccount */
  readonly token: string;
  readonly routes: readonly IngressRoute[];
}

interface SecretJson {
  readonly type?: string;
  readonly metadata?: { readonly resourceVersion?: string };
  readonly data?: Readonly<Record<string, string>>;
}

/** GET a JSON object from the apiserver; errors say which path and what the apiserver answered. */
function getJson(opts: SecretIngressOptions, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, opts.apiserverUrl),
      { ca: opts.caPem, headers: { authorization: `Bearer ${opts.token}`, accept: "application/json" }, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) reject(new Error(`ingress: GET ${path}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
          else resolve(JSON.parse(body));
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`ingress: GET ${path}: timeout`)));
    req.on("error", reject);
    req.end();
  });
}

export async function startSecretIngress(opts: SecretIngressOptions): Promise<SecretIngress> {
  const contexts = new Map<string, SecureContext>();
  const loaded = new Map<string, LoadedSecret>();
  const sockets = new Set<Socket>();
  const server: Server = createServer({
    SNICallback: (name, cb) => {
      const ctx = contexts.get(name);
      if (ctx === undefined) cb(new Error(`no certificate loaded for ${name}`), undefined);
      else cb(null, ctx);
    },
  }, (req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`hello from ${req.headers.host ?? "?"}\n`);
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("tlsClientError", () => undefined);
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      if (a === null || typeof a === "string") reject(new Error("no port"));
      else resolve(a.port);
    });
  });

  const loadOne = async (r: IngressRoute): Promise<{ readonly loaded: LoadedSecret; readonly ctx: SecureContext }> => {
    const path = `/api/v1/namespaces/${encodeURIComponent(r.namespace)}/secrets/${encodeURIComponent(r.secretName)}`;
    const s = (await getJson(opts, path)) as SecretJson;
    const crt = s.data?.["tls.crt"];
    const key = s.data?.["tls.key"];
    if (s.type !== "kubernetes.io/tls" || crt === undefined || key === undefined) {
      throw new Error(`ingress: ${r.namespace}/${r.secretName} is not a kubernetes.io/tls Secret with tls.crt and tls.key`);
    }
    const certPem = Buffer.from(crt, "base64");
    const keyPem = Buffer.from(key, "base64");
    try {
      // the first certificate of tls.crt is the leaf; the rest is the chain
      const sha256 = createHash("sha256").update(new X509Certificate(certPem).raw).digest("hex");
      return { loaded: { host: r.host, resourceVersion: s.metadata?.resourceVersion ?? "", sha256 }, ctx: createSecureContext({ cert: certPem, key: keyPem }) };
    } finally {
      keyPem.fill(0);
    }
  };

  return {
    port,
    address: `127.0.0.1:${port}`,
    async reload() {
      // all routes read first, then swapped in together: a failed read leaves the served certificates as they were
      const fresh = await Promise.all(opts.routes.map(loadOne));
      return fresh.map(({ loaded: l, ctx }) => {
        contexts.set(l.host, ctx);
        loaded.set(l.host, l);
        return l;
      });
    },
    serving: (host) => loaded.get(host),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
