import "reflect-metadata"; // @peculiar/x509 resolves its services through tsyringe, which needs it
import * as x509 from "@peculiar/x509";
import { KeyObject, randomBytes, webcrypto } from "node:crypto";
import { SecretBytes, type SecretManifest } from "./types.ts";

/**
 * Certificate generation for the demo and the tests: a CA, a CA-signed wildcard leaf as cert-manager
 * would store it, and sealing certificates like the sealed-secrets controller makes (self-signed RSA).
 * node:crypto parses certificates but cannot issue them, hence @peculiar/x509 (WebCrypto underneath).
 * Private keys are returned as SecretBytes / KeyObject and never written anywhere by this module.
 */

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const DAY_MS = 86_400_000;

export type KeySpec = { readonly kind: "rsa"; readonly bits: number } | { readonly kind: "ec"; readonly curve: "P-256" | "P-384" };

export interface GeneratedKeyPair {
  /** PKCS#8 PEM of the private key */
  readonly keyPem: SecretBytes;
  readonly privateKey: KeyObject;
}

export interface GeneratedCertificate extends GeneratedKeyPair {
  readonly certPem: string;
  /** what signs further certificates (CA only) */
  readonly signer: webcrypto.CryptoKeyPair;
  readonly subject: string;
}

function algorithm(spec: KeySpec): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams {
  return spec.kind === "rsa"
    ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: spec.bits }
    : { name: "ECDSA", namedCurve: spec.curve };
}

function signingAlgorithm(spec: KeySpec): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return spec.kind === "rsa" ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } : { name: "ECDSA", hash: "SHA-256" };
}

async function generateKeys(spec: KeySpec): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithm(spec) as webcrypto.RsaHashedKeyGenParams, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

async function exportKey(keys: webcrypto.CryptoKeyPair): Promise<GeneratedKeyPair> {
  const privateKey = KeyObject.from(keys.privateKey);
  return { keyPem: new SecretBytes(Buffer.from(privateKey.export({ format: "pem", type: "pkcs8" }))), privateKey };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  return b.toString("hex");
}

export interface Validity {
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

function window(v: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const notBefore = v.notBefore ?? new Date(Date.now() - DAY_MS);
  return { notBefore, notAfter: v.notAfter ?? new Date(notBefore.getTime() + defaultDays * DAY_MS) };
}

/** A self-signed certificate for a fresh key pair of `spec`: what the CA and the sealing certificates share. */
async function selfSigned(
  spec: KeySpec,
  subject: string,
  validity: Validity,
  extensions: x509.Extension[],
): Promise<GeneratedCertificate> {
  const keys = await generateKeys(spec);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: subject,
    ...window(validity, 3650),
    keys,
    signingAlgorithm: signingAlgorithm(spec),
    extensions,
  });
  return { ...(await exportKey(keys)), certPem: cert.toString("pem") + "\n", signer: keys, subject };
}

/** A self-signed CA, the issuer of test and demo leaves (stands in for Let's Encrypt). */
export async function generateCa(opts: { commonName?: string; key?: KeySpec } & Validity = {}): Promise<GeneratedCertificate> {
  return selfSigned(opts.key ?? { kind: "ec", curve: "P-256" }, `CN=${opts.commonName ?? "wildseal demo CA"}`, opts, [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ]);
}

/** A leaf for `dnsNames` signed by `ca`; `certPem` is the chain leaf + CA, as cert-manager writes tls.crt. */
export async function generateLeaf(
  ca: GeneratedCertificate,
  opts: { dnsNames: readonly string[]; key?: KeySpec; commonName?: string } & Validity,
): Promise<GeneratedCertificate> {
  const spec = opts.key ?? { kind: "ec", curve: "P-256" };
  const keys = await generateKeys(spec);
  const subject = `CN=${opts.commonName ?? opts.dnsNames[0] ?? "leaf"}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.subject,
    ...window(opts, 90),
    publicKey: keys.publicKey,
    signingKey: ca.signer.privateKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(opts.dnsNames.map((value) => ({ type: "dns" as const, value }))),
    ],
  });
  return { ...(await exportKey(keys)), certPem: `${cert.toString("pem")}\n${ca.certPem}`, signer: keys, subject };
}

/**
 * A sealing certificate as the sealed-secrets controller makes it: self-signed RSA (4096 by default
 * there; 2048 here unless asked, to keep tests fast), 10-year validity.
 */
export async function generateSealingKeyPair(
  opts: { bits?: number; key?: KeySpec; commonName?: string } & Validity = {},
): Promise<GeneratedCertificate> {
  return selfSigned(opts.key ?? { kind: "rsa", bits: opts.bits ?? 2048 }, `CN=${opts.commonName ?? "sealed-secret"}`, opts, [
    new x509.BasicConstraintsExtension(true, undefined, true),
  ]);
}

/**
 * The kubernetes.io/tls Secret cert-manager would store for `leaf` (tls.crt = chain, tls.key =
 * the leaf's key), by default `cert-manager/wildcard-example-com`. Held in memory only.
 */
export function tlsSecretOf(
  leaf: GeneratedCertificate,
  meta: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): SecretManifest {
  return {
    name: meta.name ?? "wildcard-example-com",
    namespace: meta.namespace ?? "cert-manager",
    type: "kubernetes.io/tls",
    labels: meta.labels ?? {},
    annotations: meta.annotations ?? {},
    immutable: undefined,
    data: new Map([
      ["tls.crt", new SecretBytes(Buffer.from(leaf.certPem))],
      ["tls.key", leaf.keyPem],
    ]),
  };
}
