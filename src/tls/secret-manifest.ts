import type { SecretManifest } from "./types.ts";

/**
 * A Secret as a manifest object, fields in the order kubectl/kubeseal print them (Go struct order:
 * kind, apiVersion, metadata, immutable, data, type) and map keys sorted, so JSON output is stable.
 * This is the one place that turns SecretBytes back into base64 text, for `wildseal unseal` only.
 */
export interface SecretManifestObject {
  kind: "Secret";
  apiVersion: "v1";
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  immutable?: boolean;
  data?: Record<string, string>;
  type?: string;
}

export function sortedRecord<T>(entries: Iterable<[string, T]>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = v;
  return out;
}

export function secretManifestObject(secret: SecretManifest): SecretManifestObject {
  const metadata: SecretManifestObject["metadata"] = { name: secret.name };
  if (secret.namespace !== undefined && secret.namespace !== "") metadata.namespace = secret.namespace;
  if (Object.keys(secret.labels).length > 0) metadata.labels = sortedRecord(Object.entries(secret.labels));
  if (Object.keys(secret.annotations).length > 0) metadata.annotations = sortedRecord(Object.entries(secret.annotations));
  const out: SecretManifestObject = { kind: "Secret", apiVersion: "v1", metadata };
  if (secret.immutable !== undefined) out.immutable = secret.immutable;
  if (secret.data.size > 0) {
    out.data = sortedRecord([...secret.data].map(([k, v]) => [k, v.reveal().toString("base64")] as [string, string]));
  }
  if (secret.type !== undefined) out.type = secret.type;
  return out;
}
