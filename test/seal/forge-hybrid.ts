import forge from "node-forge";
import type { KeyObject } from "node:crypto";

/**
 * An independent implementation of the Sealed Secrets hybrid format on node-forge (pure JS), used
 * only by tests and the benchmark to show that our node:crypto output is the format and not just
 * self-consistent.
 */

const ZERO_NONCE = "\0".repeat(12);

function bin(b: Buffer): string {
  return b.toString("binary");
}

function oaep(): { md: forge.md.MessageDigest; mgf1: { md: forge.md.MessageDigest } } {
  return { md: forge.md.sha256.create(), mgf1: { md: forge.md.sha256.create() } };
}

export function forgePublicKey(key: KeyObject): forge.pki.rsa.PublicKey {
  return forge.pki.publicKeyFromPem(key.export({ type: "spki", format: "pem" }).toString()) as forge.pki.rsa.PublicKey;
}

export function forgePrivateKey(key: KeyObject): forge.pki.rsa.PrivateKey {
  return forge.pki.privateKeyFromPem(key.export({ type: "pkcs1", format: "pem" }).toString()) as forge.pki.rsa.PrivateKey;
}

export function forgeEncrypt(pub: forge.pki.rsa.PublicKey, label: Buffer, plaintext: Buffer): Buffer {
  const sessionKey = forge.random.getBytesSync(32);
  const wrapped = pub.encrypt(sessionKey, "RSA-OAEP", { ...oaep(), label: bin(label) });
  const cipher = forge.cipher.createCipher("AES-GCM", sessionKey);
  cipher.start({ iv: ZERO_NONCE, tagLength: 128 });
  cipher.update(forge.util.createBuffer(bin(plaintext)));
  cipher.finish();
  const header = Buffer.alloc(2);
  header.writeUInt16BE(wrapped.length, 0);
  return Buffer.concat([
    header,
    Buffer.from(wrapped, "binary"),
    Buffer.from(cipher.output.getBytes(), "binary"),
    Buffer.from(cipher.mode.tag.getBytes(), "binary"),
  ]);
}

export function forgeDecrypt(priv: forge.pki.rsa.PrivateKey, label: Buffer, blob: Buffer): Buffer {
  const n = blob.readUInt16BE(0);
  const sessionKey = priv.decrypt(bin(blob.subarray(2, 2 + n)), "RSA-OAEP", { ...oaep(), label: bin(label) });
  const decipher = forge.cipher.createDecipher("AES-GCM", sessionKey);
  decipher.start({ iv: ZERO_NONCE, tagLength: 128, tag: forge.util.createBuffer(bin(blob.subarray(blob.length - 16))) });
  decipher.update(forge.util.createBuffer(bin(blob.subarray(2 + n, blob.length - 16))));
  if (!decipher.finish()) throw new Error("forge: GCM authentication failed");
  return Buffer.from(decipher.output.getBytes(), "binary");
}
