import { CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, scopeAnnotations } from "../seal/sealed-secret.ts";
import { rfc3339 } from "../rfc3339.ts";
import type { CertFacts } from "../tls/types.ts";
import { dumpYaml } from "../yaml/dump.ts";
import { ANNOTATION } from "./sealed-secret-document.ts";
import { isDnsLabel } from "../model/names.ts";
import type { ExistingClusterOutput, ExistingTenantOutput, ExistingTree } from "./plan.ts";
import { KUSTOMIZATION, generatedHeader } from "./tree.ts";
import type { RenderedDocument } from "./tree.ts";

/**
 * The shared layout (docs/configuration.md#layouts): one cluster-wide SealedSecret per cluster,
 *
 *   <output>/<cluster>/_shared/kustomization.yaml   resources: [sealed-secret.yaml]
 *   <output>/<cluster>/_shared/sealed-secret.yaml   the ciphertext and the fingerprints (cert-sha256, …)
 *
 * and tenant folders that reuse it: each tenant kustomization lists `../_shared` and two patches
 * aimed at the shared SealedSecret — a JSON 6902 patch that sets its namespace (a strategic-merge
 * patch can not: kustomize reads metadata.namespace there as part of the target's id and drops it),
 * then a strategic-merge patch with the tenant's own SealedSecret (its name, labels, annotations,
 * spec.template.metadata) minus everything that changes on a renewal. So the tenant folders hold
 * nothing that changes when the certificate does, and a renewal rewrites O(clusters) files.
 *
 * `_shared` can never be a tenant folder: tenant names are DNS-1123 labels, which have no `_`.
 * The cluster index does not list it (applied on its own it would be a nameless-namespace copy).
 *
 * Several certificates (spec.certificates of more than one): one base per certificate used by a
 * shared tenant of the cluster, `_shared/<certificate>/` (same two files), and each tenant lists
 * `../_shared/<certificate>`. A renewal of one certificate then rewrites one file per cluster. A
 * certificate name is a DNS-1123 label (config-schema.ts), so it can neither leave `_shared/` (no
 * `/`, no `..`) nor be one of the base's files (no `.`). With one certificate the base stays
 * `_shared/` itself, so repositories rendered before several certificates existed keep their bytes.
 */

export const SHARED_FOLDER = "_shared";
/** The SealedSecret file in `_shared/` (fixed: it is wildseal's, not a template's). */
export const SHARED_FILE = "sealed-secret.yaml";
/** metadata.name of the shared SealedSecret before a tenant's patch renames it. */
export const SHARED_NAME = "wildseal-shared";

/**
 * Which base a shared tenant uses: `undefined` — the one-certificate base, `_shared/` itself; a
 * certificate name — `_shared/<certificate>/` (several certificates).
 */
export type SharedBase = string | undefined;

/** The base's folder, relative to the cluster folder: `_shared` or `_shared/<certificate>`. */
export function sharedBaseFolder(certificate: SharedBase): string {
  if (certificate === undefined) return SHARED_FOLDER;
  // names were validated with the config; checked again because this becomes a path
  if (!isDnsLabel(certificate)) throw new Error(`render: certificate name ${JSON.stringify(certificate)} is not a DNS-1123 label`);
  return `${SHARED_FOLDER}/${certificate}`;
}

/** A committed base: the files directly in `_shared/`, or those of `_shared/<certificate>/` (none without the cluster's output). */
export function committedSharedBase(cluster: ExistingClusterOutput | undefined, certificate: SharedBase): ExistingTenantOutput | undefined {
  return certificate === undefined ? cluster?.shared : cluster?.sharedCertificates?.get(certificate);
}

const SEALED_SECRET_TARGET = { group: "bitnami.com", version: "v1alpha1", kind: "SealedSecret", name: SHARED_NAME } as const;

/** What the shared ciphertext is sealed for: cluster-wide, so no namespace or name is bound into it. */
export const SHARED_TARGET = { scope: "cluster-wide", namespace: "", name: "" } as const;

/** Annotations that change with the certificate or the sealing certificate: only in `_shared`, never in a tenant folder. */
const RENEWAL_ANNOTATIONS = [ANNOTATION.certSha256, ANNOTATION.certNotAfter, ANNOTATION.sealingCertSha256, ANNOTATION.sealedInputsSha256];
/** What `_shared/<certificate>/` alone carries: the folder a tenant lists already says which base it reuses. */
const BASE_ANNOTATIONS = [...RENEWAL_ANNOTATIONS, ANNOTATION.certificate];

export interface SharedFacts {
  readonly leaf: CertFacts;
  readonly sealingCertSha256: string;
  readonly sealedInputsSha256: string;
  /** several certificates: the base's certificate (ANNOTATION.certificate); undefined for `_shared/` */
  readonly certificate?: string | undefined;
  /** item → base64 blob; `{}` while waiting to be sealed */
  readonly encryptedData: Readonly<Record<string, string>>;
}

/** The shared SealedSecret: wildseal's fields only (every tenant's own labels and annotations come from its patch). */
export function sharedSealedSecret(f: SharedFacts): Record<string, unknown> {
  const fingerprints = {
    [ANNOTATION.certSha256]: f.leaf.sha256,
    [ANNOTATION.certNotAfter]: rfc3339(f.leaf.notAfter),
    [ANNOTATION.sealingCertSha256]: f.sealingCertSha256,
  };
  return {
    apiVersion: "bitnami.com/v1alpha1",
    kind: "SealedSecret",
    metadata: {
      name: SHARED_NAME,
      annotations: {
        ...scopeAnnotations("cluster-wide"),
        ...fingerprints,
        [ANNOTATION.sealedInputsSha256]: f.sealedInputsSha256,
        ...(f.certificate === undefined ? {} : { [ANNOTATION.certificate]: f.certificate }),
      },
    },
    spec: {
      template: { metadata: { annotations: { ...fingerprints } }, type: "kubernetes.io/tls" },
      encryptedData: { ...f.encryptedData },
    },
  };
}

/** The files of a base (`_shared/`, or `_shared/<certificate>/`), name → text. */
export function sharedFiles(document: unknown, certificate?: SharedBase): Map<string, string> {
  const sources = ["wildseal.yaml", certificate === undefined ? "the certificate source" : `certificate ${certificate}'s source`];
  return new Map([
    [KUSTOMIZATION, generatedHeader(sources) + dumpYaml(kustomization([SHARED_FILE]))],
    [SHARED_FILE, generatedHeader(sources) + dumpYaml(document)],
  ]);
}

function kustomization(resources: readonly string[], patches?: readonly unknown[]): Record<string, unknown> {
  return {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: [...resources],
    ...(patches === undefined ? {} : { patches: [...patches] }),
  };
}

function mappingAt(parent: unknown, ...keys: readonly string[]): Record<string, unknown> | undefined {
  let cur = parent;
  for (const k of keys) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur !== null && typeof cur === "object" && !Array.isArray(cur) ? (cur as Record<string, unknown>) : undefined;
}

/**
 * The strategic-merge patch for one tenant: its finished SealedSecret (finishSealedSecret has set
 * names, namespace and annotations) without the ciphertext, the scope annotations (the shared one
 * carries cluster-wide), the fingerprints that change on renewal and the certificate's name (the base
 * carries it); metadata.namespace goes in the JSON patch (see the top of this file).
 */
export function tenantPatch(finished: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const patch = structuredClone(finished) as Record<string, unknown>;
  const metadata = mappingAt(patch, "metadata");
  if (metadata !== undefined) delete metadata["namespace"];
  for (const annotations of [mappingAt(patch, "metadata", "annotations"), mappingAt(patch, "spec", "template", "metadata", "annotations")]) {
    if (annotations === undefined) continue;
    for (const k of [...BASE_ANNOTATIONS, NAMESPACE_WIDE_ANNOTATION, CLUSTER_WIDE_ANNOTATION]) delete annotations[k];
  }
  const spec = mappingAt(patch, "spec");
  if (spec !== undefined) delete spec["encryptedData"];
  return patch;
}

/**
 * Every file of one shared-layout tenant folder: the templates other than the SealedSecret, and the
 * kustomization that reuses `../_shared` (`../_shared/<certificate>`) and patches it into the
 * tenant's Secret.
 */
export function sharedTenantFiles(
  tenantFile: string,
  namespace: string,
  documents: readonly RenderedDocument[],
  sealedDocument: number,
  certificate?: SharedBase,
): Map<string, string> {
  const files = new Map<string, string>();
  const names: string[] = [];
  for (const [i, d] of documents.entries()) {
    if (i === sealedDocument) continue;
    files.set(d.name, generatedHeader([tenantFile, d.templateFile]) + dumpYaml(d.value));
    names.push(d.name);
  }
  const sealed = documents[sealedDocument];
  if (sealed === undefined) throw new Error("render: SealedSecret document missing");
  const patches = [
    { target: SEALED_SECRET_TARGET, patch: dumpYaml([{ op: "add", path: "/metadata/namespace", value: namespace }]) },
    { target: SEALED_SECRET_TARGET, options: { allowNameChange: true }, patch: dumpYaml(tenantPatch(sealed.value as Record<string, unknown>)) },
  ];
  const sources = [tenantFile, "templates/"];
  files.set(KUSTOMIZATION, generatedHeader(sources) + dumpYaml(kustomization([`../${sharedBaseFolder(certificate)}`, ...names.sort()], patches)));
  return files;
}

/** `  - ../_shared` or `  - ../_shared/<label>` on a line of its own, as sharedTenantFiles writes it */
const SHARED_RESOURCE_LINE = new RegExp(`\\n {2}- \\.\\./${SHARED_FOLDER}(?:/([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))?\\n`);

/**
 * The base a committed tenant folder reuses (its kustomization lists `../_shared` or
 * `../_shared/<certificate>`), or undefined when it reuses none (a per-tenant folder).
 */
export function sharedBaseUsedBy(files: ReadonlyMap<string, Buffer>): { readonly certificate: SharedBase } | undefined {
  const k = files.get(KUSTOMIZATION);
  if (k === undefined) return undefined;
  const m = SHARED_RESOURCE_LINE.exec(k.toString("utf8"));
  return m === null ? undefined : { certificate: m[1] };
}

/**
 * The committed base a committed tenant folder reuses, with its folder relative to the cluster's
 * (`_shared`, `_shared/<certificate>`): where status and tenant list find a shared tenant's certificate.
 */
export function committedBaseOf(
  cluster: ExistingClusterOutput,
  tenantFiles: ReadonlyMap<string, Buffer>,
): { readonly folder: string; readonly files: ReadonlyMap<string, Buffer> } | undefined {
  const used = sharedBaseUsedBy(tenantFiles);
  if (used === undefined) return undefined;
  const base = committedSharedBase(cluster, used.certificate);
  return base === undefined ? undefined : { folder: sharedBaseFolder(used.certificate), files: base.files };
}

/**
 * For each committed tenant folder (`cluster/tenant`), what `read` finds where its certificate is
 * recorded: the folder itself, else the shared base it reuses — read once per base, however many
 * tenants reuse it. `folder` is the one read, relative to the output folder (`cluster/tenant`,
 * `cluster/_shared`, `cluster/_shared/<certificate>`). Tenants with nothing found are left out.
 */
export function recordedPerTenant<T>(
  tree: ExistingTree,
  read: (files: ReadonlyMap<string, Buffer>, folder: string) => T | undefined,
): Map<string, { readonly value: T; readonly folder: string }> {
  const out = new Map<string, { value: T; folder: string }>();
  for (const [cluster, c] of tree) {
    const bases = new Map<string, T | undefined>();
    for (const [tenant, t] of c.tenants) {
      const folder = `${cluster}/${tenant}`;
      const own = read(t.files, folder);
      if (own !== undefined) {
        out.set(folder, { value: own, folder });
        continue;
      }
      const base = committedBaseOf(c, t.files);
      if (base === undefined) continue;
      const baseFolder = `${cluster}/${base.folder}`;
      if (!bases.has(baseFolder)) bases.set(baseFolder, read(base.files, baseFolder));
      const shared = bases.get(baseFolder);
      if (shared !== undefined) out.set(folder, { value: shared, folder: baseFolder });
    }
  }
  return out;
}
