import { z } from "zod";
import { configSchema } from "./config-schema.ts";
import { DIAL_ADDRESS_PATTERN, PROBE_HOST_RULE_PATTERN } from "./probe-addresses.ts";
import { SCHEMA_FILES, schemaUrl, type SchemaDocument } from "./schema-url.ts";
import { tenantSchema } from "./tenant-schema.ts";

/**
 * The JSON Schemas in schemas/, generated from the zod schemas the loader uses, so that an editor
 * flags what `wildseal validate` would refuse. zod converts the structure (types, required fields,
 * enums, literals, `additionalProperties: false` from strictObject); the rest is added here by field
 * path, because the schema files belong to the loader and are not edited for documentation:
 * - descriptions, defaults (the loader applies them after parsing) and examples;
 * - the name rules zod cannot convert (`.check()` callbacks are code): written as `pattern`s, which
 *   test/model/json-schema.test.ts checks against the zod checks on generated strings;
 * - loader rules beyond zod that JSON Schema can say: sealingCert xor controller (`oneOf`), no entry
 *   listed twice (`uniqueItems`).
 * Rules JSON Schema cannot say (unique cluster names, metadata.name equal to the file name, a cluster
 * that exists, safe paths) stay in the descriptions and in `wildseal validate`.
 *
 * Draft-07, not zod's default 2020-12: it is the draft every YAML/JSON editor plugin understands, and
 * nothing here needs a newer keyword.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** `[a-z0-9-]`, at most 63, alphanumeric at both ends (names.ts isDnsLabel). */
export const DNS_LABEL_PATTERN = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$";
/** Dot-separated DNS labels, at most 253 in all (names.ts isDnsSubdomain). */
export const DNS_SUBDOMAIN_PATTERN = "^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$";
/** RFC 1123 host name, any case, one optional trailing dot, no wildcard (tls/hosts.ts isValidHostname). */
export const HOSTNAME_PATTERN =
  "^(?=.{1,253}\\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?$";
/** config-schema.ts API_VERSION_SYNTAX: `group/version` or a core `version`. */
export const API_VERSION_PATTERN = "^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$";
/** config-schema.ts KIND_SYNTAX: UpperCamelCase. */
export const KIND_PATTERN = "^[A-Z][A-Za-z0-9]{0,62}$";

const SCOPE_TEXT = "strict (bound to namespace and name), namespace-wide (any name in the namespace) or cluster-wide (anywhere)";
const DNS_LABEL_TEXT = 'a DNS-1123 label: lower-case letters, digits and "-", at most 63 characters';
const DNS_SUBDOMAIN_TEXT = 'a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", at most 253 characters';

/** What is added to one field, by its path: `spec.clusters[].name` (`[]`: every item of a list). */
type Annotation = JsonObject & { readonly description: string };

const COMMON: Readonly<Record<string, Annotation>> = {
  apiVersion: { description: "Always wildseal.dev/v1alpha1." },
  kind: { description: "The document type." },
  metadata: { description: "The document's name." },
  spec: { description: "The document's settings." },
};

const CONFIG_FIELDS: Readonly<Record<string, Annotation>> = {
  ...COMMON,
  kind: { description: "Always Config." },
  "metadata.name": { description: `A name for this configuration (${DNS_SUBDOMAIN_TEXT}); for people: wildseal does not use it.`, pattern: DNS_SUBDOMAIN_PATTERN },
  "spec.source": {
    description:
      "The kubernetes.io/tls Secret cert-manager writes the wildcard certificate to (used by --source-secret, and protected from tenants): the one-certificate form, a certificate named default. Give this or spec.certificates, not both.",
  },
  "spec.source.namespace": { description: `Its namespace (${DNS_LABEL_TEXT}). Tenants may not target it unless spec.policy.allowNamespaces lists it.`, pattern: DNS_LABEL_PATTERN, examples: ["cert-manager"] },
  "spec.source.name": { description: `Its name (${DNS_SUBDOMAIN_TEXT}).`, pattern: DNS_SUBDOMAIN_PATTERN, examples: ["wildcard-example-com"] },
  "spec.certificates": {
    description:
      "Several wildcard certificates, each with its source Secret; instead of spec.source. A tenant is sealed with the one whose DNS names cover all its hosts, or the one its spec.certificate names. Names and Secrets unique.",
  },
  "spec.certificates[]": { description: "One certificate: a name tenants can refer to and the Secret it is read from." },
  "spec.certificates[].name": { description: `The certificate's name (${DNS_LABEL_TEXT}): tenants' spec.certificate, --source-file NAME=PATH, the Wildseal-Certificate commit trailer.`, pattern: DNS_LABEL_PATTERN, examples: ["example-com"] },
  "spec.certificates[].source": { description: "The kubernetes.io/tls Secret cert-manager writes this certificate to (watched by wildseal watch, protected from tenants)." },
  "spec.certificates[].source.namespace": { description: `Its namespace (${DNS_LABEL_TEXT}). Tenants may not target it unless spec.policy.allowNamespaces lists it.`, pattern: DNS_LABEL_PATTERN, examples: ["cert-manager"] },
  "spec.certificates[].source.name": { description: `Its name (${DNS_SUBDOMAIN_TEXT}).`, pattern: DNS_SUBDOMAIN_PATTERN, examples: ["wildcard-example-com"] },
  "spec.clusters": { description: "The clusters tenants run on, each with the Sealed Secrets certificate its tenants are sealed with. At least one; names unique." },
  "spec.clusters[]": { description: "One cluster: a name and exactly one of sealingCert or controller." },
  "spec.clusters[].name": { description: `The cluster's name (${DNS_LABEL_TEXT}); tenants name it in spec.cluster, output goes to <output>/<name>/.`, pattern: DNS_LABEL_PATTERN, examples: ["prod-east"] },
  "spec.clusters[].layout": {
    description: "This cluster's layout, overriding spec.layout: per-tenant (one SealedSecret per tenant) or shared (one cluster-wide SealedSecret in <output>/<name>/_shared/, or one per certificate in <output>/<name>/_shared/<certificate>/ with spec.certificates listing several, reused by every tenant folder).",
    examples: ["shared"],
  },
  "spec.clusters[].sealingCert": {
    description: "Path, relative to the repository root, of the cluster's Sealed Secrets public certificate (kubeseal --fetch-cert > clusters/<name>/sealed-secrets.pem). No symbolic links, no '..'.",
    examples: ["clusters/prod-east/sealed-secrets.pem"],
  },
  "spec.clusters[].controller": {
    description: "Fetch the certificate from the cluster's sealed-secrets controller (like kubeseal) on every sync and commit it to clusters/<name>/sealed-secrets.pem; {} means the defaults.",
  },
  "spec.clusters[].controller.namespace": { description: `The controller's namespace (${DNS_LABEL_TEXT}). Tenants may not target it unless spec.policy.allowNamespaces lists it.`, pattern: DNS_LABEL_PATTERN, default: "kube-system" },
  "spec.clusters[].probe": { description: "Where wildseal status and watch --verify-rollout reach this cluster's ingress (split-horizon DNS). Absent: each host's own DNS name." },
  "spec.clusters[].probe.address": {
    description:
      "ADDRESS[:PORT] (port 443 when left out; IPv6 in brackets) where every host of this cluster's tenants is dialled, still sent as the TLS server name: typically the ingress controller's Service. spec.probe.addresses and --probe-address win over it.",
    pattern: DIAL_ADDRESS_PATTERN,
    examples: ["ingress-nginx-controller.ingress-nginx.svc:443", "10.0.0.7"],
  },
  "spec.clusters[].controller.name": { description: `The controller's Service name (${DNS_SUBDOMAIN_TEXT}).`, pattern: DNS_SUBDOMAIN_PATTERN, default: "sealed-secrets-controller" },
  "spec.defaults": { description: "Defaults for every tenant that does not set its own." },
  "spec.defaults.secretName": { description: `Name of the Secret created in each tenant's namespace (${DNS_SUBDOMAIN_TEXT}).`, pattern: DNS_SUBDOMAIN_PATTERN, default: "wildcard-tls" },
  "spec.defaults.scope": { description: `Sealed Secrets scope: ${SCOPE_TEXT}. Applies to tenants of per-tenant clusters (shared clusters seal cluster-wide).`, default: "strict" },
  "spec.output": {
    description: "Folder, relative to the repository root, that wildseal generates and owns entirely: every file in it must start with wildseal's generated-file header. Not tenants, templates, clusters, .git or wildseal.yaml; no '..', no symbolic links.",
    default: "rendered",
  },
  "spec.layout": {
    description: "How each cluster's output is laid out: per-tenant seals the certificate once per tenant with the tenant's scope; shared seals it once per cluster (once per cluster and certificate with several certificates), cluster-wide, into <output>/<cluster>/_shared/ (_shared/<certificate>/), so a renewal rewrites a few files per cluster instead of every tenant's (anyone who may create SealedSecrets anywhere in that cluster can then materialise the certificate). clusters[].layout overrides it.",
    default: "per-tenant",
  },
  "spec.probe": { description: "Where wildseal status and watch --verify-rollout dial tenant hosts instead of their public DNS names (split-horizon setups). Absent: public DNS, or a cluster's probe.address." },
  "spec.probe.addresses": {
    description:
      "Per-host addresses, the --probe-address syntax. For a host, an exact HOST wins over *.domain, a longer *.domain over a shorter one; a --probe-address rule for the host wins over these, these over the host's cluster's probe.address. No HOST twice.",
  },
  "spec.probe.addresses[]": {
    description: "HOST=ADDRESS[:PORT]: dial HOST (a host name, or *.example.com for every host under example.com at any depth) at ADDRESS (an IP address, [IPv6] or a DNS name; port 443 when left out), still sending HOST as the TLS server name.",
    pattern: PROBE_HOST_RULE_PATTERN,
    examples: ["*.example.com=ingress-nginx-controller.ingress-nginx.svc:443", "acme.example.com=[fd00::7]:8443"],
  },
  "spec.policy": { description: "Exceptions the platform team allows beyond the safe defaults (tenants in namespaces of their own, rendered objects only in the tenant's namespace). Absent: none." },
  "spec.policy.allowNamespaces": { description: "Protected namespaces (kube-system, kube-public, kube-node-lease, the source's, a controller's) that tenants may target anyway. Never allows naming the source Secret." },
  "spec.policy.allowNamespaces[]": { description: `A namespace (${DNS_LABEL_TEXT}).`, pattern: DNS_LABEL_PATTERN },
  "spec.policy.allowObjectNamespaces": { description: "Namespaces other than the tenant's own that objects rendered from templates may be in." },
  "spec.policy.allowObjectNamespaces[]": { description: `A namespace (${DNS_LABEL_TEXT}).`, pattern: DNS_LABEL_PATTERN },
  "spec.policy.allowKinds": { description: "Kinds templates may render although they reach beyond the tenant's namespace: cluster-scoped kinds, GitOps delegation kinds (Flux Kustomization/HelmRelease, Argo CD Application/ApplicationSet/AppProject), or a Namespace with labels." },
  "spec.policy.allowKinds[]": { description: "One kind, written as the template writes it.", examples: [{ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding" }] },
  "spec.policy.allowKinds[].apiVersion": { description: "group/version, or a core version such as v1.", pattern: API_VERSION_PATTERN, examples: ["rbac.authorization.k8s.io/v1"] },
  "spec.policy.allowKinds[].kind": { description: "The kind, UpperCamelCase.", pattern: KIND_PATTERN, examples: ["ClusterRoleBinding"] },
};

const TENANT_FIELDS: Readonly<Record<string, Annotation>> = {
  ...COMMON,
  kind: { description: "Always Tenant." },
  "metadata.name": { description: `The tenant's name (${DNS_LABEL_TEXT}); must equal the file name (tenants/<name>.yaml).`, pattern: DNS_LABEL_PATTERN, examples: ["acme"] },
  "spec.cluster": { description: "The cluster (spec.clusters[].name in wildseal.yaml) the tenant runs on; may be omitted when wildseal.yaml has exactly one cluster.", pattern: DNS_LABEL_PATTERN, examples: ["prod-east"] },
  "spec.namespace": { description: `The namespace the Secret is created in (${DNS_LABEL_TEXT}); default: metadata.name. Protected namespaces need spec.policy.allowNamespaces in wildseal.yaml.`, pattern: DNS_LABEL_PATTERN },
  "spec.hosts": { description: "The host names the tenant serves; each must be covered by the certificate (an exact SAN or a wildcard SAN covering its first label). At least one, none twice." },
  "spec.hosts[]": { description: "A host name (RFC 1123; no wildcard; internationalised names in punycode). Compared in lower case, a trailing dot ignored.", pattern: HOSTNAME_PATTERN, examples: ["acme.example.com"] },
  "spec.certificate": {
    description: `The certificate (spec.certificates[].name in wildseal.yaml) the tenant is sealed with (${DNS_LABEL_TEXT}); default: the one whose DNS names cover all spec.hosts. Needed when several cover them.`,
    pattern: DNS_LABEL_PATTERN,
    examples: ["example-com"],
  },
  "spec.secretName": { description: `Name of the Secret in the tenant's namespace (${DNS_SUBDOMAIN_TEXT}); default: spec.defaults.secretName in wildseal.yaml.`, pattern: DNS_SUBDOMAIN_PATTERN },
  "spec.scope": { description: `Sealed Secrets scope: ${SCOPE_TEXT}; default: spec.defaults.scope in wildseal.yaml, or cluster-wide in a cluster with the shared layout (where strict or namespace-wide give the tenant a SealedSecret of its own).` },
  "spec.values": { description: "Free-form values for templates, read as ${values.KEY} (dotted keys reach into mappings: ${values.service.port}).", examples: [{ ingressClass: "nginx", service: { name: "web", port: 80 } }] },
};

/** Extra keywords at a path: loader rules JSON Schema can express. */
const CONFIG_RULES: Readonly<Record<string, JsonObject>> = {
  "spec.clusters[]": { oneOf: [{ required: ["sealingCert"] }, { required: ["controller"] }] },
  spec: { oneOf: [{ required: ["source"] }, { required: ["certificates"] }] },
  "spec.policy.allowNamespaces": { uniqueItems: true },
  "spec.policy.allowObjectNamespaces": { uniqueItems: true },
  "spec.policy.allowKinds": { uniqueItems: true },
  "spec.probe.addresses": { uniqueItems: true },
};

const TENANT_RULES: Readonly<Record<string, JsonObject>> = {
  "spec.hosts": { uniqueItems: true },
};

interface DocumentSpec {
  readonly schema: z.ZodType;
  readonly title: string;
  readonly description: string;
  readonly fields: Readonly<Record<string, Annotation>>;
  readonly rules: Readonly<Record<string, JsonObject>>;
}

const DOCUMENTS: Readonly<Record<SchemaDocument, DocumentSpec>> = {
  config: {
    schema: configSchema,
    title: "wildseal.yaml",
    description: "wildseal's pipeline configuration (kind: Config) at the root of the GitOps repository. Reference: docs/configuration.md.",
    fields: CONFIG_FIELDS,
    rules: CONFIG_RULES,
  },
  tenant: {
    schema: tenantSchema,
    title: "wildseal Tenant",
    description: "One tenant of wildseal (kind: Tenant), in tenants/<name>.yaml. Reference: docs/configuration.md.",
    fields: TENANT_FIELDS,
    rules: TENANT_RULES,
  },
};

/** The schema node at a field path; throws when the path is not in the schema (a renamed field). */
function nodeAt(root: JsonObject, path: string, what: string): JsonObject {
  let node = root;
  for (const step of path.split(".")) {
    const [, name = "", list = ""] = /^([^[]+)((?:\[\])*)$/.exec(step) ?? [];
    const next = (node["properties"] as JsonObject | undefined)?.[name];
    if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) {
      throw new Error(`${what}: no field ${path} in the schema; fix the annotation in src/model/json-schema.ts`);
    }
    node = next;
    for (let i = 0; i < list.length / 2; i++) {
      const items = node["items"];
      if (items === undefined || items === null || typeof items !== "object" || Array.isArray(items)) {
        throw new Error(`${what}: ${path} is not a list in the schema; fix the annotation in src/model/json-schema.ts`);
      }
      node = items;
    }
  }
  return node;
}

/** Every field path of a generated schema (`spec.clusters[].name`), parents first. */
export function fieldPaths(schema: JsonObject): string[] {
  const out: string[] = [];
  const visit = (node: JsonObject, prefix: string): void => {
    const props = node["properties"];
    if (props !== undefined && props !== null && typeof props === "object" && !Array.isArray(props)) {
      for (const [name, child] of Object.entries(props)) {
        const path = prefix === "" ? name : `${prefix}.${name}`;
        out.push(path);
        if (child !== null && typeof child === "object" && !Array.isArray(child)) visit(child, path);
      }
    }
    const items = node["items"];
    if (items !== undefined && items !== null && typeof items === "object" && !Array.isArray(items) && prefix !== "") {
      out.push(`${prefix}[]`);
      visit(items, `${prefix}[]`);
    }
  };
  visit(schema, "");
  return out;
}

/** Objects with their keys sorted (arrays keep their order: enum and oneOf order mean something to readers). */
function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k] ?? null);
    return out;
  }
  return v;
}

/** One JSON Schema, as committed: for `wildseal` `version`. */
export function buildJsonSchema(doc: SchemaDocument, version: string): JsonObject {
  const spec = DOCUMENTS[doc];
  const generated = z.toJSONSchema(spec.schema, { target: "draft-07", io: "input", unrepresentable: "throw" }) as JsonObject;
  const root: JsonObject = { ...generated, $id: schemaUrl(doc, version), title: spec.title, description: spec.description };
  const what = SCHEMA_FILES[doc];
  for (const [path, annotation] of Object.entries(spec.fields)) Object.assign(nodeAt(root, path, what), annotation);
  for (const [path, rule] of Object.entries(spec.rules)) Object.assign(nodeAt(root, path, what), rule);
  const undescribed = fieldPaths(root).filter((p) => typeof nodeAt(root, p, what)["description"] !== "string");
  if (undescribed.length > 0) {
    throw new Error(`${what}: no description for ${undescribed.join(", ")}: add them to src/model/json-schema.ts (and to docs/configuration.md)`);
  }
  return sortKeys(root) as JsonObject;
}

/** The file's bytes: 2-space JSON and a final newline. */
export function jsonSchemaText(doc: SchemaDocument, version: string): string {
  return `${JSON.stringify(buildJsonSchema(doc, version), null, 2)}\n`;
}

export const SCHEMA_DOCUMENTS: readonly SchemaDocument[] = ["config", "tenant"];
