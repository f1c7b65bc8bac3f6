import "reflect-metadata"; // @peculiar/x509 needs it loaded first (tsyringe)
import * as x509 from "@peculiar/x509";
import { generateKeyPairSync, KeyObject, randomBytes, webcrypto } from "node:crypto";
import { generateCa, type GeneratedCertificate } from "../../src/tls/generate.ts"; // also registers the crypto provider

/**
 * The throw-away PKI of one e2e cluster, made at run time: a CA, the apiserver's serving certificate
 * (IP SAN 127.0.0.1, which the shared generateLeaf cannot express), an admin client certificate
 * (CN=admin, O=system:masters) and the ServiceAccount token signing key pair. PEM strings only: the caller
 * writes them into the cluster's private temp folder, removed when the cluster stops.
 */
export interface ClusterPki {
  readonly caPem: string;
  readonly serving: { readonly certPem: string; readonly keyPem: string };
  readonly admin: { readonly certPem: string; readonly keyPem: string };
  readonly serviceAccount: { readonly publicKeyPem: string; readonly privateKeyPem: string };
}

const EC: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGN: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString("hex");
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  return KeyObject.from(key).export({ format: "pem", type: "pkcs8" }).toString();
}

interface LeafSpec {
  readonly subject: string;
  readonly usage: "server" | "client";
  readonly sans?: readonly x509.JsonGeneralName[];
}

async function issue(ca: GeneratedCertificate, spec: LeafSpec): Promise<{ certPem: string; keyPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([spec.usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
  ];
  if (spec.sans) extensions.push(new x509.SubjectAlternativeNameExtension([...spec.sans]));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: spec.subject,
    issuer: ca.subject,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 7 * 86_400_000),
    publicKey: keys.publicKey,
    signingKey: ca.signer.privateKey,
    signingAlgorithm: SIGN,
    extensions,
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await pkcs8Pem(keys.privateKey) };
}

export async function generateClusterPki(): Promise<ClusterPki> {
  const ca = await generateCa({ commonName: "wildseal-e2e cluster CA" });
  const serving = await issue(ca, {
    subject: "CN=kube-apiserver",
    usage: "server",
    sans: [
      { type: "ip", value: "127.0.0.1" },
      { type: "dns", value: "localhost" },
      { type: "dns", value: "kubernetes.default.svc" },
    ],
  });
  const admin = await issue(ca, { subject: "CN=admin, O=system:masters", usage: "client" });
  const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    caPem: ca.certPem,
    serving,
    admin,
    serviceAccount: {
      publicKeyPem: sa.publicKey.export({ type: "spki", format: "pem" }).toString(),
      privateKeyPem: sa.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    },
  };
}
