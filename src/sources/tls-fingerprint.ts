/**
 * What "the certificate changed" means for every source: the bytes of tls.crt, tls.key and ca.crt (sealed
 * and delivered too when present, so a new CA alone must reach the tenants), nothing else.
 * Annotation, label or resourceVersion churn (cert-manager touches those without renewing) is ignored.
 * The fingerprint is only compared, never logged.
 */
import { createHash } from "node:crypto";
import type { SecretBytes } from "../tls/types.ts";

export const TLS_ITEMS = ["tls.crt", "tls.key", "ca.crt"] as const;

/** SHA-256 over length-prefixed tls.crt, tls.key and ca.crt (absent items hash as absent, distinct from ""). */
export function tlsFingerprint(data: ReadonlyMap<string, SecretBytes>): string {
  const h = createHash("sha256");
  for (const item of TLS_ITEMS) {
    const bytes = data.get(item)?.reveal();
    const len = Buffer.alloc(9);
    if (bytes === undefined) {
      len.writeUInt8(0, 0);
    } else {
      len.writeUInt8(1, 0);
      len.writeBigUInt64BE(BigInt(bytes.length), 1);
    }
    h.update(item).update(len);
    if (bytes) h.update(bytes);
  }
  return h.digest("hex");
}
