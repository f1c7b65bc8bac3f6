import { X509Certificate, createHash } from "node:crypto";
import { connect } from "node:tls";
import { mapLimit } from "../map-limit.ts";
import { rfc3339 } from "../rfc3339.ts";
import { certFacts } from "../tls/tls-material.ts";
import { formatAddress, type DialTarget } from "./probe-address.ts";

/**
 * The socket edge of rollout verification: one TLS handshake per target, the served leaf read and
 * hashed exactly as `wildseal.dev/cert-sha256` is (SHA-256 of the leaf's DER, tls/tls-material.ts
 * certFacts). The peer is not verified (`rejectUnauthorized: false`): the point is to see what is
 * served, whatever it is, and the comparison with the committed fingerprint is the verification.
 * One attempt per target and run, no retries: a flapping ingress shows as unreachable, not as load.
 */

/** Why no certificate was read. `message` is Node's (the caller names the host and address). */
export interface ProbeError {
  readonly kind: "dns" | "refused" | "timeout" | "tls" | "closed" | "network" | "other";
  readonly message: string;
}

/** The served leaf: public facts only. */
export interface ServedCertificate {
  /** hex SHA-256 of the leaf DER, lower case */
  readonly sha256: string;
  /** RFC 3339 UTC; null when the DER does not parse as X.509 */
  readonly notAfter: string | null;
  readonly subject: string | null;
  readonly issuer: string | null;
}

export type ProbeResult = { readonly kind: "served"; readonly certificate: ServedCertificate } | { readonly kind: "unreachable"; readonly error: ProbeError };

export interface ProbeOptions {
  /** the whole attempt: name lookup, connect and handshake */
  readonly timeoutMs: number;
}

/** How many handshakes are in flight at once. */
export const PROBE_CONCURRENCY = 16;

/** Facts of a served leaf from its DER. Pure. */
export function servedCertificate(der: Buffer): ServedCertificate {
  const sha256 = createHash("sha256").update(der).digest("hex");
  try {
    const f = certFacts(new X509Certificate(der));
    return { sha256, notAfter: rfc3339(f.notAfter), subject: f.subject, issuer: f.issuer };
  } catch {
    return { sha256, notAfter: null, subject: null, issuer: null };
  }
}

const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_NONAME", "ENODATA"]);
const CLOSED_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
const NETWORK_CODES = new Set(["EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN", "EADDRNOTAVAIL"]);

/** The kind of a connection error, from its code; the message is Node's. Pure. */
export function classifyProbeError(e: unknown): ProbeError {
  const err = e as NodeJS.ErrnoException | undefined;
  const code = typeof err?.code === "string" ? err.code : "";
  const text = (err instanceof Error ? err.message : String(e)).trim();
  // OpenSSL's `<hex>:error:<code>:SSL routines:<fn>:<reason>:<file>:<line>:SSL alert number 70` → its reason
  const ssl = /:SSL routines:[^:]*:([^:]+):[^:]*:\d+:?(.*)$/.exec(text);
  const message = ssl === null ? text : `${ssl[1] ?? ""}${ssl[2] ? ` (${ssl[2]})` : ""}`;
  if (DNS_CODES.has(code)) return { kind: "dns", message };
  if (code === "ECONNREFUSED") return { kind: "refused", message };
  if (code === "ETIMEDOUT") return { kind: "timeout", message };
  if (CLOSED_CODES.has(code)) return { kind: "closed", message };
  if (NETWORK_CODES.has(code)) return { kind: "network", message };
  if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || /alert|handshake|ssl|tls/i.test(text)) return { kind: "tls", message };
  return { kind: "other", message };
}

/** One handshake with `target`. Never rejects: every failure is a ProbeResult. */
export function probe(target: DialTarget, opts: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    // covers the name lookup too, which a socket timeout (idle time) would not
    const timer = setTimeout(
      () => finish({ kind: "unreachable", error: { kind: "timeout", message: `no TLS handshake within ${opts.timeoutMs} ms` } }),
      opts.timeoutMs,
    );
    const socket = connect({
      host: target.address.host,
      port: target.address.port,
      servername: target.servername,
      rejectUnauthorized: false,
      // no ALPN: an ingress picks the certificate by SNI alone
    });
    socket.once("secureConnect", () => {
      const raw = socket.getPeerCertificate().raw as Buffer | undefined;
      if (raw === undefined || raw.length === 0) {
        finish({ kind: "unreachable", error: { kind: "tls", message: "the handshake completed without a certificate" } });
      } else {
        finish({ kind: "served", certificate: servedCertificate(raw) });
      }
    });
    // `on`, not `once`: an error after the first must not go unhandled (finish ignores it)
    socket.on("error", (e) => finish({ kind: "unreachable", error: classifyProbeError(e) }));
    socket.once("close", () =>
      finish({ kind: "unreachable", error: { kind: "closed", message: "the server closed the connection before the handshake completed" } }),
    );
  });
}

/** Identity of a connection: the same host at the same address is dialled once per run. */
export function targetKey(t: DialTarget): string {
  return `${t.servername}@${formatAddress(t.address)}`;
}

/** Probes each distinct target once, at most PROBE_CONCURRENCY at a time; keyed by targetKey. */
export async function probeAll(
  targets: readonly DialTarget[],
  opts: ProbeOptions & { readonly concurrency?: number; readonly probeOne?: typeof probe },
): Promise<Map<string, ProbeResult>> {
  const unique = [...new Map(targets.map((t) => [targetKey(t), t])).values()];
  const one = opts.probeOne ?? probe;
  const results = await mapLimit(unique, opts.concurrency ?? PROBE_CONCURRENCY, (t) => one(t, opts));
  return new Map(unique.map((t, i) => [targetKey(t), results[i] as ProbeResult]));
}
