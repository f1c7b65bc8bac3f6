import type { Diagnostic } from "../errors.ts";
import type { YamlPath } from "../yaml/load.ts";
import { tenantLayout } from "./layout.ts";
import { isDnsLabel } from "./names.ts";
import type { RawTenant } from "./tenant-schema.ts";
import type { ObjectPolicy, Tenant, WildsealConfig } from "./types.ts";

/**
 * Rules for one tenant file that the schema can not express: they need the file name or the
 * config. Pure: the caller supplies positions through `at`.
 */

export type At = (path: YamlPath, message: string) => Diagnostic;

/** Validates `raw` against its file and the config; returns the Tenant with defaults, or diagnostics. */
export function checkTenant(
  raw: RawTenant,
  file: string,
  stem: string,
  config: WildsealConfig | undefined,
  at: At,
): { readonly tenant?: Tenant; readonly diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const name = raw.metadata.name;
  checkFileName(name, file, stem, at, diagnostics);

  const hosts = raw.spec.hosts.map((h) => h.toLowerCase().replace(/\.$/, ""));
  const firstIndex = new Map<string, number>();
  for (const [i, h] of hosts.entries()) {
    const first = firstIndex.get(h);
    if (first === undefined) firstIndex.set(h, i);
    else diagnostics.push(at(["spec", "hosts", i], `host "${h}" is listed twice (also spec.hosts[${first}]): remove one`));
  }

  const cluster = resolveCluster(raw.spec.cluster, config, at, diagnostics);
  checkCertificateName(raw.spec.certificate, config, at, diagnostics);
  if (config !== undefined) checkSecretTarget({ namespace: raw.spec.namespace, name, secretName: raw.spec.secretName }, config, at, diagnostics);
  if (diagnostics.length > 0 || config === undefined || cluster === undefined) return { diagnostics };
  return {
    tenant: {
      name,
      cluster,
      namespace: raw.spec.namespace ?? name,
      hosts,
      secretName: raw.spec.secretName ?? config.defaults.secretName,
      // layout: the cluster's shared layout and a scope the file may narrow (model/layout.ts)
      ...tenantLayout(config, cluster, raw.spec.scope),
      ...(raw.spec.certificate === undefined ? {} : { certificate: raw.spec.certificate }),
      values: raw.spec.values ?? {},
      file,
    },
    diagnostics,
  };
}

/**
 * The rules that need no valid schema, run on a file the schema refused so that one run reports
 * everything: the name against the file name, the cluster against the config.
 */
export function checkPartialTenant(value: unknown, file: string, stem: string, config: WildsealConfig | undefined, at: At): Diagnostic[] {
  const out: Diagnostic[] = [];
  const field = (o: unknown, k: string): unknown =>
    o !== null && typeof o === "object" && !Array.isArray(o) && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined;
  const name = field(field(value, "metadata"), "name");
  if (typeof name === "string") checkFileName(name, file, stem, at, out);
  const spec = field(value, "spec");
  const cluster = field(spec, "cluster");
  if (typeof cluster === "string" || (cluster === undefined && spec !== undefined)) {
    resolveCluster(cluster, config, at, out);
  }
  const certificate = field(spec, "certificate");
  if (typeof certificate === "string") checkCertificateName(certificate, config, at, out);
  const namespace = field(spec, "namespace");
  const secretName = field(spec, "secretName");
  const typed = (v: unknown): v is string | undefined => v === undefined || typeof v === "string";
  if (config !== undefined && spec !== undefined && typed(namespace) && typed(secretName)) {
    checkSecretTarget({ namespace, name: typeof name === "string" ? name : undefined, secretName }, config, at, out);
  }
  return out;
}

function checkFileName(name: string, file: string, stem: string, at: At, out: Diagnostic[]): void {
  if (name !== stem) {
    out.push(
      // suggest setting metadata.name to the file's stem only when that would be a valid name
      at(["metadata", "name"], `metadata.name "${name}" does not match the file name ${file}: rename the file to ${name}.yaml${isDnsLabel(stem) ? ` or set metadata.name: ${stem}` : ""}`),
    );
  }
}

function resolveCluster(wanted: string | undefined, config: WildsealConfig | undefined, at: At, out: Diagnostic[]): string | undefined {
  if (config === undefined) return undefined;
  const names = config.clusters.map((c) => c.name);
  if (wanted === undefined) {
    const [only, ...more] = names;
    if (only !== undefined && more.length === 0) return only;
    out.push(at(["spec"], `spec.cluster is required: the config has ${names.length} clusters (${names.join(", ")}); add spec.cluster`));
    return undefined;
  }
  if (!names.includes(wanted)) {
    out.push(at(["spec", "cluster"], `unknown cluster "${wanted}": use one of ${names.join(", ")} (spec.clusters in wildseal.yaml)`));
    return undefined;
  }
  return wanted;
}

/** `spec.certificate` must name one of the config's certificates. */
function checkCertificateName(wanted: string | undefined, config: WildsealConfig | undefined, at: At, out: Diagnostic[]): void {
  if (wanted === undefined || config === undefined) return;
  const names = config.certificates.map((c) => c.name);
  if (names.includes(wanted)) return;
  out.push(
    at(
      ["spec", "certificate"],
      `unknown certificate "${wanted}": use one of ${names.join(", ")} (${config.certificates.length === 1 && names[0] === "default" ? "spec.source in wildseal.yaml is the certificate named default" : "spec.certificates in wildseal.yaml"}), or remove spec.certificate to use the one that covers the hosts`,
    ),
  );
}

/** Kubernetes' own namespaces: what lives there runs the cluster. */
export const SYSTEM_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease"] as const;

/**
 * The namespaces a tenant may not target unless spec.policy.allowNamespaces lists them, each with
 * why: a Secret sealed there could replace one the cluster or wildseal itself depends on (the
 * controller's sealing keys, the source certificate), and Flux or Argo CD would apply it with
 * rights no tenant has.
 */
export function protectedNamespaces(config: WildsealConfig): ReadonlyMap<string, string> {
  const reasons = new Map<string, string[]>();
  const add = (namespace: string, why: string): void => {
    const list = reasons.get(namespace);
    if (list === undefined) reasons.set(namespace, [why]);
    else if (!list.includes(why)) list.push(why);
  };
  for (const ns of SYSTEM_NAMESPACES) add(ns, "a Kubernetes system namespace");
  for (const c of config.certificates) {
    add(c.source.namespace, config.certificates.length === 1 ? "the source Secret's namespace (spec.source in wildseal.yaml)" : `certificate ${c.name}'s source Secret's namespace (spec.certificates in wildseal.yaml)`);
  }
  const controllers = new Map<string, string[]>();
  for (const c of config.clusters) {
    if (c.sealing.kind !== "controller") continue;
    const names = controllers.get(c.sealing.namespace) ?? [];
    controllers.set(c.sealing.namespace, [...names, c.name]);
  }
  for (const [ns, clusters] of controllers) {
    add(ns, `the sealed-secrets controller's namespace on ${clusters.length === 1 ? "cluster" : "clusters"} ${clusters.join(", ")}`);
  }
  return new Map([...reasons].map(([ns, why]) => [ns, why.join(" and ")]));
}

/** Where a tenant's Secret goes, and which field of the tenant file decides each part. */
interface Target {
  readonly namespace: string;
  /** spec.namespace, or metadata.name that it defaults to */
  readonly namespaceFrom: "spec.namespace" | "metadata.name";
  readonly secretName: string;
  readonly secretNameFrom: "spec.secretName" | "spec.defaults.secretName";
}

/** The fields of a tenant file that place its Secret, as far as they are known (a file the schema refused may lack some). */
interface TargetFields {
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly secretName: string | undefined;
}

/** undefined when neither spec.namespace nor metadata.name is known. */
function targetOf(f: TargetFields, config: WildsealConfig): Target | undefined {
  const namespace = f.namespace ?? f.name;
  if (namespace === undefined) return undefined;
  return {
    namespace,
    namespaceFrom: f.namespace !== undefined ? "spec.namespace" : "metadata.name",
    secretName: f.secretName ?? config.defaults.secretName,
    secretNameFrom: f.secretName !== undefined ? "spec.secretName" : "spec.defaults.secretName",
  };
}

const FIELD_PATH = {
  "spec.namespace": ["spec", "namespace"],
  "metadata.name": ["metadata", "name"],
  "spec.secretName": ["spec", "secretName"],
} as const;

/**
 * The tenant's Secret may not be the source Secret (never, whatever the policy: the sealed-secrets
 * controller would take over the Secret cert-manager writes the certificate to, the one every tenant
 * is served from), nor land in a protected namespace unless spec.policy.allowNamespaces lists it.
 */
function checkSecretTarget(fields: TargetFields, config: WildsealConfig, at: At, out: Diagnostic[]): void {
  const target = targetOf(fields, config);
  if (target === undefined) return;
  const { namespace, secretName } = target;
  const nsField = FIELD_PATH[target.namespaceFrom];
  const nsWhat =
    target.namespaceFrom === "spec.namespace" ? `spec.namespace "${namespace}"` : `namespace "${namespace}" (metadata.name; spec.namespace is not set)`;
  if (config.certificates.some((c) => namespace === c.source.namespace && secretName === c.source.name)) {
    const secretWhat =
      target.secretNameFrom === "spec.secretName" ? `spec.secretName "${secretName}"` : `secret name "${secretName}" (spec.defaults.secretName in wildseal.yaml)`;
    out.push(
      at(
        target.secretNameFrom === "spec.secretName" ? FIELD_PATH["spec.secretName"] : nsField,
        `${secretWhat} in namespace ${namespace} is the source Secret (spec.source in wildseal.yaml): sealing into it would overwrite the certificate every tenant is served from; set another spec.secretName (no policy allows this)`,
      ),
    );
    return;
  }
  const why = protectedNamespaces(config).get(namespace);
  if (why === undefined || (config.policy?.allowNamespaces ?? []).includes(namespace)) return;
  const fix = target.namespaceFrom === "spec.namespace" ? "choose a namespace of the tenant's own" : "set spec.namespace to a namespace of the tenant's own";
  out.push(
    at(
      nsField,
      `${nsWhat} is protected as ${why}: a tenant's Secret there could replace one the cluster depends on; ${fix}, or have the platform team list ${namespace} in spec.policy.allowNamespaces (wildseal.yaml)`,
    ),
  );
}

/** What the renderer checks every rendered object against (src/render/object-policy.ts), from wildseal.yaml. */
export function objectPolicyOf(config: WildsealConfig): ObjectPolicy {
  return {
    allowKinds: config.policy?.allowKinds ?? [],
    allowObjectNamespaces: config.policy?.allowObjectNamespaces ?? [],
    source: config.source,
    // several certificates: every source is off limits (one: `source` says it all)
    ...(config.certificates.length > 1 ? { sources: config.certificates.map((c) => c.source) } : {}),
    protectedNamespaces: [...protectedNamespaces(config).keys()],
  };
}
