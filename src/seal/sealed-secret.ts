import type { KeyObject } from "node:crypto";
import { InvalidInputError, UsageError, type Diagnostic } from "../errors.ts";
import { sortedRecord } from "../tls/secret-manifest.ts";
import { SecretBytes, type SecretManifest } from "../tls/types.ts";
import { parseYamlDocuments, type PositionedDocument, type YamlPath } from "../yaml/load.ts";
import { hybridDecrypt, sealLabel } from "./hybrid.ts";
import type { Scope } from "./scope.ts";
import { sealValue } from "./seal-value.ts";
import type { SealingCertificate } from "./sealing-cert.ts";

/**
 * The SealedSecret object as kubeseal (v0.32+, no creationTimestamp) writes it. Fields are built in
 * kubeseal's JSON order (kind, apiVersion, metadata{name, namespace, annotations},
 * spec{template{metadata, type, immutable}, encryptedData}) and maps are sorted, so `dumpJson` gives
 * kubeseal's layout and `dumpYaml` its sorted YAML.
 */

export const SEALED_SECRET_API_VERSION = "bitnami.com/v1alpha1";
export const NAMESPACE_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/namespace-wide";
export const CLUSTER_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/cluster-wide";

export interface SealedSecretTemplateMetadata {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface SealedSecretObject {
  kind: "SealedSecret";
  apiVersion: typeof SEALED_SECRET_API_VERSION;
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec: {
    template: { metadata: SealedSecretTemplateMetadata; type?: string; immutable?: boolean };
    encryptedData: Record<string, string>;
  };
}

/** The top-level annotations that tell the controller which label to use. */
export function scopeAnnotations(scope: Scope): Record<string, string> {
  switch (scope) {
    case "strict":
      return {};
    case "namespace-wide":
      return { [NAMESPACE_WIDE_ANNOTATION]: "true" };
    case "cluster-wide":
      return { [CLUSTER_WIDE_ANNOTATION]: "true" };
  }
}

/** The scope annotations say, as the controller reads them: exactly "true", cluster-wide first. */
function scopeFromAnnotations(annotations: Readonly<Record<string, string>> | undefined): Scope | undefined {
  if (annotations?.[CLUSTER_WIDE_ANNOTATION] === "true") return "cluster-wide";
  if (annotations?.[NAMESPACE_WIDE_ANNOTATION] === "true") return "namespace-wide";
  return undefined;
}

/** The scope the controller will unseal with: only the SealedSecret's own top-level annotations count. */
export function readScope(obj: SealedSecretObject): Scope {
  return scopeFromAnnotations(obj.metadata.annotations) ?? "strict";
}

export interface BuildOptions {
  /** else the input's scope annotations, else strict */
  readonly scope?: Scope;
  /** replaces the input's name */
  readonly name?: string;
  /** replaces the input's namespace (kubeseal refuses a different one; wildseal's point is to move it) */
  readonly namespace?: string;
}

/** Seals every item of `input` for `cert`, kubeseal-style. */
export function buildSealedSecret(input: SecretManifest, cert: SealingCertificate, opts: BuildOptions = {}): SealedSecretObject {
  const name = opts.name ?? input.name;
  const namespace = opts.namespace ?? input.namespace;
  if (namespace === undefined || namespace === "") {
    throw new UsageError(`Secret ${name} has no namespace: pass --namespace NS (the namespace the Secret must live in)`);
  }
  if (input.data.size === 0) {
    throw new InvalidInputError(`Secret ${namespace}/${name} has no data or stringData: there is nothing to seal`);
  }
  const scope = opts.scope ?? scopeFromAnnotations(input.annotations) ?? "strict";
  const scopeAnns = scopeAnnotations(scope);

  const templateAnnotations: Record<string, string> = { ...input.annotations };
  delete templateAnnotations[NAMESPACE_WIDE_ANNOTATION];
  delete templateAnnotations[CLUSTER_WIDE_ANNOTATION];
  Object.assign(templateAnnotations, scopeAnns);

  const templateMetadata: SealedSecretTemplateMetadata = { name, namespace };
  if (Object.keys(input.labels).length > 0) templateMetadata.labels = sortedRecord(Object.entries(input.labels));
  if (Object.keys(templateAnnotations).length > 0) templateMetadata.annotations = sortedRecord(Object.entries(templateAnnotations));

  const template: SealedSecretObject["spec"]["template"] = { metadata: templateMetadata };
  if (input.type !== undefined && input.type !== "") template.type = input.type;
  if (input.immutable !== undefined) template.immutable = input.immutable;

  const target = { scope, namespace, name };
  const encryptedData = sortedRecord([...input.data].map(([k, v]) => [k, sealValue(cert, target, v.reveal())] as [string, string]));

  const metadata: SealedSecretObject["metadata"] = { name, namespace };
  if (Object.keys(scopeAnns).length > 0) metadata.annotations = scopeAnns;
  return { kind: "SealedSecret", apiVersion: SEALED_SECRET_API_VERSION, metadata, spec: { template, encryptedData } };
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Opens every item with any of `keys` (the controller keeps old keys and tries them all: there is no
 * key id in the blob). One failing item fails the whole object, and every failure is listed.
 */
export function unsealSealedSecret(obj: SealedSecretObject, keys: readonly KeyObject[], source = "SealedSecret"): SecretManifest {
  const { name, namespace } = obj.metadata;
  const scope = readScope(obj);
  const where = `${source}: SealedSecret ${namespace === "" ? "" : `${namespace}/`}${name}`;
  if (keys.length === 0) throw new InvalidInputError(`${where}: no private key given; pass --key FILE`);
  const label = sealLabel({ scope, namespace, name });
  const data = new Map<string, SecretBytes>();
  const failures: string[] = [];
  for (const [item, b64] of Object.entries(obj.spec.encryptedData).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!STRICT_BASE64.test(b64)) {
      failures.push(`encryptedData.${item}: not valid base64`);
      continue;
    }
    const blob = Buffer.from(b64, "base64");
    const reasons = new Set<string>();
    let opened: Buffer | undefined;
    for (const key of keys) {
      try {
        opened = hybridDecrypt(key, label, blob);
        break;
      } catch (e) {
        reasons.add(e instanceof Error ? e.message : "decryption failed");
      }
    }
    if (opened === undefined) {
      const why = [...reasons].join("; ");
      failures.push(`encryptedData.${item}: ${keys.length === 1 ? "" : `none of the ${keys.length} keys opens it: `}${why}`);
    } else data.set(item, new SecretBytes(opened));
  }
  if (failures.length > 0) {
    throw new InvalidInputError(
      `${where} (scope ${scope}) cannot be unsealed:\n${failures.map((f) => `  ${f}`).join("\n")}`,
    );
  }
  const t = obj.spec.template;
  return {
    name,
    namespace: namespace === "" ? undefined : namespace,
    type: t.type,
    labels: { ...(t.metadata.labels ?? {}) },
    annotations: { ...(t.metadata.annotations ?? {}) },
    immutable: t.immutable,
    data,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses SealedSecrets (YAML or JSON, several documents, or a List). */
export function parseSealedSecrets(text: string, source: string): SealedSecretObject[] {
  const docs = parseYamlDocuments(text, source);
  const out: SealedSecretObject[] = [];
  const problems: Diagnostic[] = [];
  for (const doc of docs) {
    if (doc.value === null || doc.value === "") continue; // an empty document (e.g. a trailing `---`)
    if (isRecord(doc.value) && doc.value["kind"] === "List" && Array.isArray(doc.value["items"])) {
      doc.value["items"].forEach((item, i) => {
        const s = readSealedSecret(item, doc, ["items", i], source, problems);
        if (s !== undefined) out.push(s);
      });
    } else {
      const s = readSealedSecret(doc.value, doc, [], source, problems);
      if (s !== undefined) out.push(s);
    }
  }
  if (problems.length > 0) throw new InvalidInputError("", problems);
  if (out.length === 0) {
    throw new InvalidInputError("", [{ path: source, line: 1, col: 1, message: "no SealedSecret found: expected `kind: SealedSecret`" }]);
  }
  return out;
}

function readSealedSecret(
  value: unknown,
  doc: PositionedDocument,
  base: YamlPath,
  source: string,
  problems: Diagnostic[],
): SealedSecretObject | undefined {
  const before = problems.length;
  const at = (path: YamlPath, message: string): void => {
    problems.push({ path: source, ...doc.locate([...base, ...path]), message });
  };
  const strings = (v: unknown, path: YamlPath, what: string): Record<string, string> | undefined => {
    if (v === undefined || v === null) return undefined;
    if (!isRecord(v)) {
      at(path, `${what} must be a mapping of strings`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, s] of Object.entries(v)) {
      if (typeof s === "string") out[k] = s;
      else at([...path, k], `${what} "${k}" must be a string`);
    }
    return out;
  };
  if (!isRecord(value) || value["kind"] !== "SealedSecret") {
    at(isRecord(value) ? ["kind"] : [], "expected a SealedSecret (`kind: SealedSecret`)");
    return undefined;
  }
  if (value["apiVersion"] !== SEALED_SECRET_API_VERSION) at(["apiVersion"], `expected apiVersion ${SEALED_SECRET_API_VERSION}`);
  const meta = isRecord(value["metadata"]) ? value["metadata"] : {};
  const name = meta["name"];
  if (typeof name !== "string" || name === "") at(["metadata", "name"], "metadata.name is required");
  const annotations = strings(meta["annotations"], ["metadata", "annotations"], "annotation");
  const cluster = annotations?.[CLUSTER_WIDE_ANNOTATION] === "true";
  const ns = meta["namespace"];
  if (ns !== undefined && typeof ns !== "string") at(["metadata", "namespace"], "metadata.namespace must be a string");
  if ((ns === undefined || ns === "") && !cluster) {
    at(["metadata"], "metadata.namespace is required: the value is bound to it (add the namespace the SealedSecret was applied in)");
  }
  const spec = value["spec"];
  if (!isRecord(spec)) {
    at(["spec"], "spec is required");
    return undefined;
  }
  if (spec["data"] !== undefined && spec["data"] !== null) {
    at(["spec", "data"], "the deprecated v1 `spec.data` format is not supported: re-seal with a current kubeseal");
  }
  const encryptedData = strings(spec["encryptedData"], ["spec", "encryptedData"], "encryptedData");
  if (encryptedData === undefined) at(["spec"], "spec.encryptedData is required");
  const tpl = isRecord(spec["template"]) ? spec["template"] : {};
  if (tpl["data"] !== undefined && tpl["data"] !== null) {
    at(["spec", "template", "data"], "spec.template.data (templated values) is not supported by wildseal");
  }
  const tmeta = isRecord(tpl["metadata"]) ? tpl["metadata"] : {};
  const templateMetadata: SealedSecretTemplateMetadata = {};
  if (typeof tmeta["name"] === "string") templateMetadata.name = tmeta["name"];
  if (typeof tmeta["namespace"] === "string") templateMetadata.namespace = tmeta["namespace"];
  const labels = strings(tmeta["labels"], ["spec", "template", "metadata", "labels"], "label");
  const tAnns = strings(tmeta["annotations"], ["spec", "template", "metadata", "annotations"], "annotation");
  if (labels !== undefined) templateMetadata.labels = labels;
  if (tAnns !== undefined) templateMetadata.annotations = tAnns;
  const type = tpl["type"];
  if (type !== undefined && typeof type !== "string") at(["spec", "template", "type"], "spec.template.type must be a string");
  const immutable = tpl["immutable"];
  if (immutable !== undefined && immutable !== null && typeof immutable !== "boolean") {
    at(["spec", "template", "immutable"], "spec.template.immutable must be true or false");
  }
  if (problems.length > before) return undefined;
  const template: SealedSecretObject["spec"]["template"] = { metadata: templateMetadata };
  if (typeof type === "string" && type !== "") template.type = type;
  if (typeof immutable === "boolean") template.immutable = immutable;
  const metadata: SealedSecretObject["metadata"] = { name: name as string, namespace: typeof ns === "string" ? ns : "" };
  if (annotations !== undefined) metadata.annotations = annotations;
  return {
    kind: "SealedSecret",
    apiVersion: SEALED_SECRET_API_VERSION,
    metadata,
    spec: { template, encryptedData: encryptedData ?? {} },
  };
}
