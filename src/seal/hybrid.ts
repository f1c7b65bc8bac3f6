import {
  constants,
  createCipheriv,
  createDecipheriv,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { InvalidInputError } from "../errors.ts";
import type { Scope } from "./scope.ts";

/**
 * The Sealed Secrets hybrid format (bitnami-labs/sealed-secrets pkg/crypto/crypto.go):
 *
 *   uint16 BE length L | L bytes RSA-OAEP(SHA-256, MGF1-SHA-256, label)(session key) | AES-256-GCM(ciphertext ‖ 16-byte tag)
 *
 * The 32-byte session key is fresh per call and used exactly once, which is what makes the
 * all-zero 12-byte GCM nonce safe (and is what the controller expects).
 */

const SESSION_KEY_BYTES = 32;
const GCM_NONCE = Buffer.alloc(12); // all zero: each session key encrypts one message only
const GCM_TAG_BYTES = 16;

export interface SealTarget {
  readonly scope: Scope;
  readonly namespace: string;
  readonly name: string;
}

/** The OAEP label a value is bound to: strict `ns/name`, namespace-wide `ns`, cluster-wide empty. */
export function sealLabel(target: SealTarget): Buffer {
  switch (target.scope) {
    case "strict":
      return Buffer.from(`${target.namespace}/${target.name}`, "utf8");
    case "namespace-wide":
      return Buffer.from(target.namespace, "utf8");
    case "cluster-wide":
      return Buffer.alloc(0);
  }
}

export function hybridEncrypt(publicKey: KeyObject, label: Buffer, plaintext: Buffer): Buffer {
  const sessionKey = randomBytes(SESSION_KEY_BYTES);
  try {
    const wrapped = publicEncrypt(
      { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: label },
      sessionKey,
    );
    if (wrapped.length > 0xffff) throw new InvalidInputError("sealing key is too large for the sealed-secrets format");
    const cipher = createCipheriv("aes-256-gcm", sessionKey, GCM_NONCE);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    const header = Buffer.alloc(2);
    header.writeUInt16BE(wrapped.length, 0);
    return Buffer.concat([header, wrapped, body]);
  } finally {
    sessionKey.fill(0);
  }
}

/**
 * Opens a blob made by `hybridEncrypt` (or kubeseal). Every failure is an InvalidInputError with a
 * fixed message: OpenSSL's own text is dropped so nothing about the key or the bytes leaks.
 */
export function hybridDecrypt(privateKey: KeyObject, label: Buffer, blob: Buffer): Buffer {
  if (blob.length < 2) throw new InvalidInputError("sealed value is truncated: shorter than its 2-byte length header");
  const wrappedLength = blob.readUInt16BE(0);
  if (blob.length < 2 + wrappedLength + GCM_TAG_BYTES) {
    throw new InvalidInputError(
      `sealed value is truncated: ${blob.length} bytes, header announces ${wrappedLength} bytes of wrapped key plus a ${GCM_TAG_BYTES}-byte tag`,
    );
  }
  const wrapped = blob.subarray(2, 2 + wrappedLength);
  const body = blob.subarray(2 + wrappedLength, blob.length - GCM_TAG_BYTES);
  const tag = blob.subarray(blob.length - GCM_TAG_BYTES);
  let sessionKey: Buffer;
  try {
    sessionKey = privateDecrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256", oaepLabel: label },
      wrapped,
    );
  } catch {
    throw new InvalidInputError("cannot decrypt the session key: wrong private key, or the value was sealed for another name/namespace/scope");
  }
  try {
    if (sessionKey.length !== SESSION_KEY_BYTES) {
      throw new InvalidInputError(`session key has ${sessionKey.length} bytes, expected ${SESSION_KEY_BYTES}`);
    }
    const decipher = createDecipheriv("aes-256-gcm", sessionKey, GCM_NONCE);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      throw new InvalidInputError("sealed value failed authentication (AES-GCM tag mismatch): the ciphertext was altered or truncated");
    }
  } finally {
    sessionKey.fill(0);
  }
}
