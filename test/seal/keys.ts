import { generateSealingKeyPair, type GeneratedCertificate } from "../../src/tls/generate.ts";

/** Sealing key pairs generated once per test process (RSA-4096 generation takes a second or two). */
const cache = new Map<number, Promise<GeneratedCertificate>>();

export function sealingPair(bits: 2048 | 4096): Promise<GeneratedCertificate> {
  let p = cache.get(bits);
  if (p === undefined) {
    p = generateSealingKeyPair({ bits });
    cache.set(bits, p);
  }
  return p;
}
