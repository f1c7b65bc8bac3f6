import { createHash, X509Certificate, type KeyObject } from "node:crypto";
import { DependencyError, InvalidInputError, UsageError } from "../errors.ts";
import { pemBlocks, toPem } from "../tls/pem.ts";

/**
 * The sealing certificate: the controller's public cert.pem. kubeseal trusts it as given (no chain or
 * signature check) and refuses only non-RSA keys and expired certificates; wildseal does the same and
 * also refuses RSA keys under 2048 bits, which no controller makes.
 */
export interface SealingCertificate {
  readonly publicKey: KeyObject;
  /** hex SHA-256 of the certificate DER, lower case */
  readonly sha256: string;
  readonly notAfter: Date;
  readonly modulusBits: number;
  /** the certificate (first of the bundle), re-encoded as canonical PEM */
  readonly pem: string;
}

export const MIN_SEALING_KEY_BITS = 2048;

/** Every refusal here is one gate: the cluster's tenants are held until its certificate is fixed. */
const REFUSED = { reason: "sealing-certificate" } as const;
const MAX_CERT_INPUT_BYTES = 1024 * 1024;

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** Go's `January 2, 2006`, as kubeseal prints the expiry date. */
function goLongDate(d: Date): string {
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
}

export function parseSealingCertificate(
  pem: string | Buffer,
  opts: { now?: Date; source?: string } = {},
): SealingCertificate {
  const source = opts.source ?? "sealing certificate";
  if (pem.length > MAX_CERT_INPUT_BYTES) {
    throw new InvalidInputError(`${source}: larger than ${MAX_CERT_INPUT_BYTES} bytes; pass the controller's cert.pem`, [], REFUSED);
  }
  const text = typeof pem === "string" ? pem : pem.toString("utf8");
  const blocks = pemBlocks(text);
  const first = blocks.find((b) => b.label === "CERTIFICATE");
  if (first === undefined) {
    const found = blocks.map((b) => b.label);
    const what = found.length > 0 ? `found only ${[...new Set(found)].join(", ")} block(s)` : "no PEM block found";
    throw new InvalidInputError(
      `${source}: data does not contain any valid RSA certificate (${what}); pass the controller's PEM certificate, as printed by \`kubeseal --fetch-cert\``,
      [],
      REFUSED,
    );
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(first.body.replace(/\s+/g, ""), "base64"));
  } catch {
    throw new InvalidInputError(`${source}:${first.line}:1: the CERTIFICATE block does not parse as an X.509 certificate`, [], REFUSED);
  }
  const publicKey = cert.publicKey;
  if (publicKey.asymmetricKeyType !== "rsa") {
    throw new InvalidInputError(
      `${source}: the sealing certificate holds a ${publicKey.asymmetricKeyType ?? "non-RSA"} key; Sealed Secrets needs an RSA certificate`,
      [],
      REFUSED,
    );
  }
  const modulusBits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (modulusBits < MIN_SEALING_KEY_BITS) {
    throw new InvalidInputError(
      `${source}: the sealing certificate has a ${modulusBits}-bit RSA key; at least ${MIN_SEALING_KEY_BITS} bits are required`,
      [],
      REFUSED,
    );
  }
  const notAfter = new Date(cert.validTo);
  const now = opts.now ?? new Date();
  if (now.getTime() > notAfter.getTime()) {
    throw new InvalidInputError(
      `${source}: failed to encrypt using an expired certificate on ${goLongDate(notAfter)} (notAfter ${notAfter.toISOString()}); fetch the controller's current certificate`,
      [],
      REFUSED,
    );
  }
  return {
    publicKey,
    sha256: createHash("sha256").update(cert.raw).digest("hex"),
    notAfter,
    modulusBits,
    pem: toPem("CERTIFICATE", cert.raw),
  };
}

export interface FetchCertOptions {
  /** per attempt, default 10 s */
  readonly timeoutMs?: number;
  /** default 1 MiB */
  readonly maxBytes?: number;
  /** default 2 (one retry on network errors and 5xx) */
  readonly attempts?: number;
}

function isLoopback(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]" || hostname === "::1";
}

/**
 * `--cert https://…`: fetches the PEM text (not parsed here). Plain http is accepted only for a
 * loopback address: a certificate swapped in transit would seal the secret for someone else's key.
 */
export async function fetchSealingCertificate(url: string, opts: FetchCertOptions = {}): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--cert ${url}: not a valid URL`);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new UsageError("--cert URL must not carry credentials");
  }
  if (!(parsed.protocol === "https:" || (parsed.protocol === "http:" && isLoopback(parsed.hostname)))) {
    throw new UsageError(`--cert ${parsed.origin}: only https:// URLs are accepted (http:// only on a loopback address)`);
  }
  const shown = `${parsed.origin}${parsed.pathname}`;
  const maxBytes = opts.maxBytes ?? MAX_CERT_INPUT_BYTES;
  const attempts = Math.max(1, opts.attempts ?? 2);
  let lastError = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let res: Response;
    try {
      res = await fetch(parsed, {
        headers: { accept: "application/x-pem-file, */*" },
        redirect: "error",
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
    } catch (e) {
      lastError = e instanceof Error && e.name === "TimeoutError" ? "timed out" : "connection failed";
      continue;
    }
    if (res.status >= 500) {
      lastError = `HTTP ${res.status}`;
      await res.body?.cancel();
      continue;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new DependencyError(`fetching the sealing certificate from ${shown}: HTTP ${res.status}`);
    }
    return await readBounded(res, maxBytes, shown);
  }
  throw new DependencyError(`fetching the sealing certificate from ${shown}: ${lastError} (after ${attempts} attempts)`);
}

async function readBounded(res: Response, maxBytes: number, shown: string): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new InvalidInputError(`${shown}: certificate response is ${declared} bytes, more than ${maxBytes}`, [], REFUSED);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (res.body === null) return "";
  for await (const chunk of res.body) {
    total += chunk.length;
    if (total > maxBytes) {
      throw new InvalidInputError(`${shown}: certificate response is more than ${maxBytes} bytes`, [], REFUSED);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString("utf8");
}
