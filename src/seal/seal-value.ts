import { hybridEncrypt, sealLabel, type SealTarget } from "./hybrid.ts";
import type { SealingCertificate } from "./sealing-cert.ts";

/** One `spec.encryptedData` value: the hybrid blob for `plaintext`, bound to `target`, standard base64. */
export function sealValue(cert: SealingCertificate, target: SealTarget, plaintext: Buffer): string {
  return hybridEncrypt(cert.publicKey, sealLabel(target), plaintext).toString("base64");
}
