import { createHash } from "node:crypto";
import type { Tenant } from "../model/types.ts";
import type { Scope } from "../seal/scope.ts";
import { CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, scopeAnnotations } from "../seal/sealed-secret.ts";
import { CA_ITEM } from "../tls/tls-material.ts";
import type { CertFacts } from "../tls/types.ts";
import { rfc3339 } from "../rfc3339.ts";
import { parseYamlDocument } from "../yaml/load.ts";
import type { Position } from "../yaml/load.ts";

/**
 * What wildseal owns in the SealedSecret template's output: names, scope and wildseal.dev/*
 * annotations, the Secret type and the ciphertext. Everything else in the template is the user's.
 */

export const ANNOTATION = {
  certSha256: "wildseal.dev/cert-sha256",
  certNotAfter: "wildseal.dev/cert-not-after",
  sealingCertSha256: "wildseal.dev/sealing-cert-sha256",
  tenant: "wildseal.dev/tenant",
  /**
   * Not in the contract's table: a hash of the public facts the ciphertext is bound to (see
   * `sealedInputsSha256`). Written on the SealedSecret only, not on the Secret in the cluster.
   */
  sealedInputsSha256: "wildseal.dev/sealed-inputs-sha256",
} as const;


/** The items sealed from every source Secret (a kubernetes.io/tls Secret needs exactly these two). */
export const SEALED_ITEMS = ["tls.crt", "tls.key"] as const;

/**
 * The items sealed from a source, sorted as encryptedData is written: SEALED_ITEMS, plus ca.crt
 * when the source carries one (cert-manager's private issuers), so tenants can trust that CA too.
 */
export function sealedItemsOf(withCa: boolean): readonly string[] {
  return withCa ? [CA_ITEM, ...SEALED_ITEMS] : SEALED_ITEMS;
}

/**
 * What a sealed value is bound to, as one hash: if it is unchanged, the existing ciphertext still
 * decrypts to exactly what would be sealed now, so it can be kept. Only public facts go in: the
 * certificate chain's hash (never the key: the key is bound to the leaf, whose hash is included)
 * and ca.crt's hash when the source has one. Without ca.crt the hash is the one earlier versions
 * wrote, so upgrading re-seals nothing; with it, a change of the CA alone re-seals.
 */
export function sealedInputsSha256(f: {
  readonly chainSha256: string;
  readonly leafSha256: string;
  readonly sealingCertSha256: string;
  readonly scope: Scope;
  readonly namespace: string;
  readonly secretName: string;
  /** hex SHA-256 of the source's ca.crt bytes; absent when it has none */
  readonly caSha256?: string | undefined;
}): string {
  const common = [
    "wildseal.dev/sealed-inputs/v1",
    f.chainSha256,
    f.leafSha256,
    f.sealingCertSha256,
    f.scope,
    f.namespace,
    f.secretName,
  ];
  const canonical = JSON.stringify(
    f.caSha256 === undefined ? [...common, SEALED_ITEMS] : [...common, sealedItemsOf(true), f.caSha256],
  );
  return createHash("sha256").update(canonical).digest("hex");
}

export interface SealedSecretFacts {
  readonly tenant: Tenant;
  readonly leaf: CertFacts;
  readonly sealingCertSha256: string;
  readonly sealedInputsSha256: string;
  /** item → base64 blob; `{}` while the tenant waits to be sealed */
  readonly encryptedData: Readonly<Record<string, string>>;
}

function mapping(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = parent[key];
  if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  parent[key] = fresh;
  return fresh;
}

/** Sets wildseal's fields on an instantiated SealedSecret template (mutates and returns `doc`). */
export function finishSealedSecret(doc: Record<string, unknown>, f: SealedSecretFacts): Record<string, unknown> {
  const { tenant } = f;
  const wildsealAnnotations = {
    [ANNOTATION.certSha256]: f.leaf.sha256,
    [ANNOTATION.certNotAfter]: rfc3339(f.leaf.notAfter),
    [ANNOTATION.sealingCertSha256]: f.sealingCertSha256,
    [ANNOTATION.tenant]: tenant.name,
  };
  const metadata = mapping(doc, "metadata");
  metadata["name"] = tenant.secretName;
  metadata["namespace"] = tenant.namespace;
  const annotations = mapping(metadata, "annotations");
  // The controller reads the scope from these top-level annotations only; a template must not override it.
  delete annotations[NAMESPACE_WIDE_ANNOTATION];
  delete annotations[CLUSTER_WIDE_ANNOTATION];
  Object.assign(annotations, scopeAnnotations(tenant.scope), wildsealAnnotations, {
    [ANNOTATION.sealedInputsSha256]: f.sealedInputsSha256,
  });

  const spec = mapping(doc, "spec");
  const template = mapping(spec, "template");
  const tmeta = mapping(template, "metadata");
  tmeta["name"] = tenant.secretName;
  tmeta["namespace"] = tenant.namespace;
  Object.assign(mapping(tmeta, "annotations"), wildsealAnnotations);
  template["type"] = "kubernetes.io/tls";
  spec["encryptedData"] = { ...f.encryptedData };
  return doc;
}

/** What the plan needs from a committed SealedSecret. */
export interface CommittedSealedSecret {
  readonly annotations: Readonly<Record<string, string>>;
  readonly encryptedData: Readonly<Record<string, string>> | undefined;
  /** position of the cert-not-after annotation, for the downgrade diagnostic */
  readonly notAfterAt: Position;
}

/** Reads a rendered SealedSecret; undefined when it is not one wildseal can use (it will then be re-sealed). */
export function readCommittedSealedSecret(bytes: Buffer, source: string): CommittedSealedSecret | undefined {
  let doc;
  try {
    doc = parseYamlDocument(bytes.toString("utf8"), source);
  } catch {
    return undefined;
  }
  const v = doc.value as Record<string, unknown> | null;
  if (v === null || typeof v !== "object" || v["kind"] !== "SealedSecret") return undefined;
  const meta = v["metadata"] as Record<string, unknown> | undefined;
  const annotations = stringMap(meta?.["annotations"]) ?? {};
  const spec = v["spec"] as Record<string, unknown> | undefined;
  return {
    annotations,
    encryptedData: stringMap(spec?.["encryptedData"]),
    notAfterAt: doc.locate(["metadata", "annotations", ANNOTATION.certNotAfter]),
  };
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") return undefined;
    out[k] = x;
  }
  return out;
}
