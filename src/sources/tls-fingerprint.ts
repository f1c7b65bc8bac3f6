/**
 * What "the certificate changed" means for every source: the bytes of tls.crt, tls.key and ca.crt (sealed
 * and delivered too when present, so a new CA alone must reach the tenants), nothing else.
 * Annotation, label or resourceVersion churn (cert-manager touches those without renewing) is ignored.
 * The fingerprint is only compared, never logged.
 */
import { createHash } from "node:crypto";
import { DROPPED_ANNOTATIONS } from "../tls/secret-input.ts";
import { SecretBytes, type SecretManifest } from "../tls/types.ts";

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

const DROPPED = new Set(DROPPED_ANNOTATIONS);

interface ObjectMetaLike {
  readonly name?: string;
  readonly namespace?: string;
  readonly annotations?: Record<string, string>;
  readonly labels?: Record<string, string>;
}

export interface SecretObjectLike {
  readonly metadata?: ObjectMetaLike;
  readonly type?: string;
  readonly immutable?: boolean;
  /** base64 values, as the API serves them */
  readonly data?: Record<string, string>;
}

/** A Secret as served by the API (data in base64) → SecretManifest with raw bytes. */
export function secretManifestFromApi(obj: SecretObjectLike): SecretManifest {
  const data = new Map<string, SecretBytes>();
  for (const [k, v] of Object.entries(obj.data ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    data.set(k, new SecretBytes(Buffer.from(v, "base64")));
  }
  const annotations = Object.fromEntries(
    Object.entries(obj.metadata?.annotations ?? {}).filter(([k]) => !DROPPED.has(k)),
  );
  return {
    name: obj.metadata?.name ?? "",
    namespace: obj.metadata?.namespace,
    type: obj.type,
    labels: { ...obj.metadata?.labels },
    annotations,
    immutable: obj.immutable,
    data,
  };
}
