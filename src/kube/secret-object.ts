/**
 * A Secret as the Kubernetes API serves it (data in base64, server-side metadata) → the SecretManifest
 * the rest of wildseal reads, with the same annotations dropped as for a manifest file. Used by the
 * Secret watch and by the one-shot read of --source-secret.
 */
import { DROPPED_ANNOTATIONS } from "../tls/secret-input.ts";
import { SecretBytes, type SecretManifest } from "../tls/types.ts";

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
