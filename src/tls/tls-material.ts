import { createHash, createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { InvalidInputError, type Reason } from "../errors.ts";
import { pemBlocks } from "./pem.ts";
import { readSecretSource } from "./secret-input.ts";
import type { CertFacts, SecretManifest, TlsMaterial } from "./types.ts";

/**
 * Validating a kubernetes.io/tls Secret before anything is sealed: the chain parses and is in
 * order, the key matches the leaf, the leaf is inside its validity window and names DNS hosts.
 */

export const TLS_SECRET_TYPE = "kubernetes.io/tls";

/**
 * Splits X509Certificate#subjectAltName ("DNS:a, DNS:b, IP Address:1.2.3.4"). Since the
 * CVE-2021-44532 fix, Node prints an entry whose value holds a comma, quote or other special
 * character as a JSON string (`DNS:"a, b"`), so a naive split on ", " would forge extra names.
 */
export function parseSubjectAltName(san: string): { type: string; value: string }[] {
  const out: { type: string; value: string }[] = [];
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(":", i);
    if (colon === -1) break;
    const type = san.slice(i, colon);
    let value: string;
    let j = colon + 1;
    if (san[j] === '"') {
      // JSON string literal: find the closing quote that is not escaped
      let k = j + 1;
      while (k < san.length && san[k] !== '"') k += san[k] === "\\" ? 2 : 1;
      value = JSON.parse(san.slice(j, k + 1)) as string;
      j = k + 1;
    } else {
      const end = san.indexOf(", ", j);
      value = san.slice(j, end === -1 ? san.length : end);
      j = end === -1 ? san.length : end;
    }
    out.push({ type, value });
    i = san.startsWith(", ", j) ? j + 2 : j;
  }
  return out;
}

function oneLineName(name: string): string {
  return name.split("\n").filter((s) => s !== "").join(", ");
}

function firstCertificate(pem: string): X509Certificate {
  const block = pemBlocks(pem).find((b) => b.label === "CERTIFICATE");
  if (block === undefined) throw new InvalidInputError("no PEM CERTIFICATE block found", [], { reason: "invalid-certificate" });
  return new X509Certificate(Buffer.from(block.body.replace(/\s+/g, ""), "base64"));
}

/** Public facts of a certificate (the first one when given PEM text). */
export function certFacts(pemOrX509: string | Buffer | X509Certificate): CertFacts {
  const cert = pemOrX509 instanceof X509Certificate ? pemOrX509 : firstCertificate(pemOrX509.toString());
  return {
    sha256: createHash("sha256").update(cert.raw).digest("hex"),
    serial: cert.serialNumber.toUpperCase(),
    subject: oneLineName(cert.subject),
    issuer: oneLineName(cert.issuer),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    dnsNames: parseSubjectAltName(cert.subjectAltName ?? "")
      .filter((e) => e.type === "DNS")
      .map((e) => e.value.toLowerCase()),
  };
}

/** Refuses the Secret. `reason` names the gate that refused it; by default, the Secret's content is unusable. */
function fail(where: string, message: string, reason: Reason = "invalid-certificate"): never {
  throw new InvalidInputError(`${where}: ${message}`, [], { reason });
}

/** The Secret cert-manager writes is the one to read: how to find it, for every "wrong Secret" error. */
export const CERT_MANAGER_SECRET_HINT =
  "cert-manager writes the certificate into a kubernetes.io/tls Secret named by the Certificate's spec.secretName " +
  "(kubectl get certificates -A -o custom-columns=NAMESPACE:.metadata.namespace,SECRET:.spec.secretName): point wildseal at that Secret";

/** cert-manager's item for the issuing CA (private issuers): delivered with tls.crt and tls.key when present. */
export const CA_ITEM = "ca.crt";

/**
 * The `ca.crt` PEM when the Secret carries a non-empty one, checked like tls.crt (certificates
 * only, each parses); it is not required to have issued the chain: a private issuer's ca.crt is
 * often the root while tls.crt ends at an intermediate.
 */
function caOf(secret: SecretManifest, where: string): string | undefined {
  const ca = secret.data.get(CA_ITEM);
  if (ca === undefined || ca.length === 0) return undefined;
  const pem = ca.reveal().toString("utf8");
  const blocks = pemBlocks(pem);
  if (blocks.length === 0) fail(where, `${CA_ITEM} holds no PEM block; expected the issuing CA's PEM certificate(s), or no ${CA_ITEM} at all`);
  blocks.forEach((b, i) => {
    if (b.label !== "CERTIFICATE") fail(where, `${CA_ITEM} block ${i + 1} is a ${b.label}, not a CERTIFICATE`);
    try {
      new X509Certificate(Buffer.from(b.body.replace(/\s+/g, ""), "base64"));
    } catch {
      fail(where, `${CA_ITEM} certificate ${i + 1} (line ${b.line}) does not parse as X.509`);
    }
  });
  return pem;
}

/** Checks a TLS Secret; errors name the source and the Secret and never include key bytes. */
export function validateTlsSecret(
  secret: SecretManifest,
  opts: {
    now?: Date;
    source: string;
    /** default true; `wildseal seal` accepts any server cert */
    requireDnsNames?: boolean;
    /**
     * default "refuse". "allow": an expired leaf is returned, for a caller that holds what it would
     * seal (render/plan.ts with several certificates: an expired one holds only its own tenants)
     */
    expiry?: "refuse" | "allow";
  },
): TlsMaterial {
  const where = `${opts.source}: Secret ${secret.namespace === undefined ? "" : `${secret.namespace}/`}${secret.name}`;
  // An Opaque Secret holding a certificate is usually a copy someone made, not cert-manager's Secret.
  if (secret.type !== undefined && secret.type !== TLS_SECRET_TYPE) {
    fail(where, `is of type ${secret.type}, not ${TLS_SECRET_TYPE}; ${CERT_MANAGER_SECRET_HINT}`);
  }
  const crt = secret.data.get("tls.crt");
  const key = secret.data.get("tls.key");
  if (crt === undefined || crt.length === 0) fail(where, "tls.crt is missing or empty; a kubernetes.io/tls Secret needs tls.crt and tls.key");
  if (key === undefined || key.length === 0) fail(where, "tls.key is missing or empty; a kubernetes.io/tls Secret needs tls.crt and tls.key");

  const chainPem = crt.reveal().toString("utf8");
  const blocks = pemBlocks(chainPem);
  if (blocks.length === 0) fail(where, "tls.crt holds no PEM block; expected the PEM certificate chain, leaf first");
  const chain: X509Certificate[] = [];
  blocks.forEach((b, i) => {
    // the label only: a private key pasted into tls.crt must not be echoed back
    if (b.label !== "CERTIFICATE") fail(where, `tls.crt block ${i + 1} is a ${b.label}, not a CERTIFICATE`);
    try {
      chain.push(new X509Certificate(Buffer.from(b.body.replace(/\s+/g, ""), "base64")));
    } catch {
      fail(where, `tls.crt certificate ${i + 1} (line ${b.line}) does not parse as X.509`);
    }
  });
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as X509Certificate;
    const parent = chain[i + 1] as X509Certificate;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      fail(where, `tls.crt certificate ${i + 2} did not issue certificate ${i + 1}: the chain must be leaf first, then each issuer`);
    }
  }
  const leaf = chain[0] as X509Certificate;

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: key.reveal(), format: "pem" });
  } catch {
    fail(where, "tls.key does not parse as an unencrypted PEM private key (PKCS#1, PKCS#8 or SEC1)");
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    fail(where, `tls.key does not match the leaf certificate in tls.crt (sha256 ${certFacts(leaf).sha256}); store the key issued with this certificate`, "key-mismatch");
  }

  const facts = certFacts(leaf);
  const now = opts.now ?? new Date();
  if (now < facts.notBefore) fail(where, `the leaf certificate is not valid before ${facts.notBefore.toISOString()}`, "not-yet-valid");
  if (now > facts.notAfter && opts.expiry !== "allow") fail(where, `the leaf certificate expired at ${facts.notAfter.toISOString()}; renew it before sealing`, "expired");
  if (facts.dnsNames.length === 0 && opts.requireDnsNames !== false) fail(where, "the leaf certificate has no DNS subjectAltName; tenants' hosts cannot be checked against it");
  const ca = caOf(secret, where);
  return ca === undefined ? { secret, leaf: facts, certChainPem: chainPem } : { secret, leaf: facts, certChainPem: chainPem, ca };
}

/** Reads a source (file, `-`, or Secret-volume folder), picks its single kubernetes.io/tls Secret and validates it. */
export async function readTlsSource(path: string, opts: { now?: Date; stdin?: NodeJS.ReadableStream; expiry?: "refuse" | "allow" } = {}): Promise<TlsMaterial> {
  const secrets = await readSecretSource(path, opts.stdin);
  const source = path === "-" ? "<stdin>" : path;
  const tls = secrets.filter((s) => s.type === TLS_SECRET_TYPE);
  if (tls.length !== 1) {
    const found = secrets.map((s) => `${s.name} (${s.type ?? "Opaque"})`).join(", ");
    const hint = tls.length === 0 ? `; ${CERT_MANAGER_SECRET_HINT} (kubectl get secret -n NAMESPACE NAME -o yaml > ${source === "<stdin>" ? "secret.yaml" : source})` : "; keep only the one to seal";
    throw new InvalidInputError(
      `${source}: expected exactly one ${TLS_SECRET_TYPE} Secret, found ${tls.length} among: ${found}${hint}`,
      [],
      { reason: "invalid-certificate" },
    );
  }
  return validateTlsSecret(tls[0] as SecretManifest, { now: opts.now, source, ...(opts.expiry === undefined ? {} : { expiry: opts.expiry }) });
}
