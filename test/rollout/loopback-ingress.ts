import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { createSecureContext, createServer, type SecureContext, type Server, type TlsOptions } from "node:tls";
import type { GeneratedCertificate } from "../../src/tls/generate.ts";

/**
 * Stand-ins for an ingress controller on 127.0.0.1: a TLS server choosing the certificate by SNI
 * (switchable while it runs, as an ingress reloads a Secret), a server that accepts and never
 * answers, and a port nothing listens on.
 */

export interface LoopbackIngress {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** serve `cert` (leaf + chain, and its key) for SNI `host` from now on */
  serve(host: string, cert: GeneratedCertificate): void;
  /** forget `host`: a handshake with it is then refused with an alert */
  forget(host: string): void;
  /** SNI names seen so far, in order (one per handshake) */
  readonly seen: readonly string[];
  close(): Promise<void>;
}

/** `options` go to the TLS server as well (e.g. `maxVersion: "TLSv1.1"` for a server whose handshake every client refuses). */
export async function startLoopbackIngress(options: TlsOptions = {}): Promise<LoopbackIngress> {
  const contexts = new Map<string, SecureContext>();
  const seen: string[] = [];
  const server: Server = createServer({
    ...options,
    SNICallback: (name, cb) => {
      seen.push(name);
      const ctx = contexts.get(name);
      if (ctx === undefined) cb(new Error(`no certificate for ${name}`), undefined);
      else cb(null, ctx);
    },
  });
  server.on("secureConnection", (s) => s.end());
  server.on("tlsClientError", () => undefined);
  const port = await listen(server);
  return {
    port,
    address: `127.0.0.1:${port}`,
    serve(host, cert) {
      contexts.set(host, createSecureContext({ cert: cert.certPem, key: cert.keyPem.reveal() }));
    },
    forget(host) {
      contexts.delete(host);
    },
    seen,
    close: () => closeServer(server),
  };
}

/** Accepts connections and never says a word: a probe must give up after its timeout. */
export async function startSilentServer(): Promise<{ readonly address: string; readonly accepted: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createNetServer((s) => {
    accepted += 1;
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  const port = await listen(server);
  return {
    address: `127.0.0.1:${port}`,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

/** A loopback port that was just free and is closed again: connecting to it is refused. */
export async function closedPort(): Promise<string> {
  const server = createNetServer();
  const port = await listen(server);
  await closeServer(server);
  return `127.0.0.1:${port}`;
}

function listen(server: Server | NetServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      if (a === null || typeof a === "string") reject(new Error("no port"));
      else resolve(a.port);
    });
  });
}

function closeServer(server: Server | NetServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
