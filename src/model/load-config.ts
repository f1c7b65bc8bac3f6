import type { Diagnostic } from "../errors.ts";
import { InvalidInputError, withReason } from "../errors.ts";
import { parseYamlDocument } from "../yaml/load.ts";
import type { PositionedDocument } from "../yaml/load.ts";
import {
  API_VERSION,
  CONFIG_FILE,
  DEFAULT_CERTIFICATE,
  DEFAULT_CONTROLLER,
  DEFAULT_OUTPUT,
  DEFAULT_SCOPE,
  DEFAULT_SECRET_NAME,
  configSchema,
} from "./config-schema.ts";
import type { RawConfig } from "./config-schema.ts";
import { parseDialAddress, parseProbeHostRule, type Parsed } from "./probe-addresses.ts";
import { readRepoFile } from "./read-repo-file.ts";
import { resolveInsideRepo, unsafeRelativePathReason } from "./repo-paths.ts";
import { parseWithSchema } from "./schema-diagnostics.ts";
import type { ApiKind, CertificateConfig, ClusterConfig, PolicyConfig, ProbeHostRule, WildsealConfig } from "./types.ts";

/** Top-level names the output folder must never be, or be inside: a prune there would delete inputs. */
const RESERVED_TOP_LEVEL = new Set(["tenants", "templates", "clusters", ".git", CONFIG_FILE]);

export interface LoadedConfig {
  readonly config?: WildsealConfig;
  readonly diagnostics: Diagnostic[];
}

/** Reads and validates `wildseal.yaml`; any problem leaves `config` undefined (then nothing renders). */
export async function loadConfig(repoDir: string): Promise<LoadedConfig> {
  const loaded = await readConfig(repoDir);
  // every problem found here is a config problem, whichever helper (YAML, schema, file read) found it
  return { ...loaded, diagnostics: withReason(loaded.diagnostics, "invalid-config") };
}

async function readConfig(repoDir: string): Promise<LoadedConfig> {
  const read = await readRepoFile(repoDir, CONFIG_FILE);
  if (read.kind === "missing") {
    return {
      diagnostics: [
        {
          path: CONFIG_FILE,
          line: 1,
          col: 1,
          message: `missing: create it (apiVersion: ${API_VERSION}, kind: Config) or pass --repo with the repository's folder`,
        },
      ],
    };
  }
  if (read.kind === "refused") return { diagnostics: [read.diagnostic] };

  let doc: PositionedDocument;
  try {
    doc = parseYamlDocument(read.text, CONFIG_FILE);
  } catch (e) {
    if (e instanceof InvalidInputError) return { diagnostics: [...e.diagnostics] };
    throw e;
  }
  const parsed = parseWithSchema(configSchema, doc, CONFIG_FILE);
  if (parsed.value === undefined) return { diagnostics: parsed.diagnostics };
  const raw = parsed.value;

  const diagnostics: Diagnostic[] = [];
  const at = (path: readonly (string | number)[], message: string): void => {
    diagnostics.push({ path: CONFIG_FILE, ...doc.locate(path), message });
  };

  const clusters: ClusterConfig[] = [];
  const seen = new Set<string>();
  for (const [i, c] of raw.spec.clusters.entries()) {
    const here = ["spec", "clusters", i];
    if (seen.has(c.name)) at([...here, "name"], `cluster name "${c.name}" is used twice: rename one of them`);
    seen.add(c.name);
    const cluster = await clusterConfig(repoDir, c, (p, m) => at([...here, ...p], m), i);
    if (cluster === undefined) continue;
    // the cluster's own layout, else spec.layout; only `shared` is recorded (absent: per-tenant, as before)
    const layout = (c.layout ?? raw.spec.layout) === "shared" ? { layout: "shared" as const } : {};
    const probe = c.probe === undefined ? {} : { probe: { address: checked(parseDialAddress(c.probe.address)) } };
    clusters.push({ ...cluster, ...layout, ...probe });
  }
  checkDefaultScope(raw, at);

  const output = raw.spec.output ?? DEFAULT_OUTPUT;
  const outputProblem = outputFolderProblem(output);
  if (outputProblem !== undefined) at(["spec", "output"], `spec.output ${JSON.stringify(output)} ${outputProblem}`);

  // with several certificates a shared cluster gets one base per certificate (render/shared-layout.ts)
  const certificates = certificatesOf(raw, at);

  const policy = raw.spec.policy === undefined ? undefined : policyConfig(raw.spec.policy, (p, m) => at(["spec", "policy", ...p], m));
  const probe = raw.spec.probe === undefined ? undefined : probeConfig(raw.spec.probe, at);

  const first = certificates[0];
  if (diagnostics.length > 0 || first === undefined) return { diagnostics };
  return {
    config: {
      name: raw.metadata.name,
      source: first.source,
      certificates,
      clusters,
      defaults: {
        secretName: raw.spec.defaults?.secretName ?? DEFAULT_SECRET_NAME,
        scope: raw.spec.defaults?.scope ?? DEFAULT_SCOPE,
      },
      output: output.replace(/\/+$/, ""),
      ...(policy !== undefined ? { policy } : {}),
      ...(probe !== undefined ? { probe } : {}),
    },
    diagnostics: [],
  };
}

/**
 * `spec.certificates`, or `spec.source` as the one certificate named `default`; exactly one of
 * the two. Names are unique (tenants refer to them), and so are sources: two names for one Secret
 * would seal the same certificate twice under different names.
 */
function certificatesOf(raw: RawConfig, at: (path: readonly (string | number)[], message: string) => void): CertificateConfig[] {
  const { source, certificates } = raw.spec;
  if (source !== undefined && certificates !== undefined) {
    at(
      ["spec", "certificates"],
      `spec.source and spec.certificates are both set: keep one (spec.source is the one-certificate form; move it into spec.certificates as {name: ${DEFAULT_CERTIFICATE}, source: …})`,
    );
    return [];
  }
  if (source !== undefined) return [{ name: DEFAULT_CERTIFICATE, source: { namespace: source.namespace, name: source.name } }];
  if (certificates === undefined) {
    at(["spec"], "spec.source (one certificate's Secret, {namespace, name}) or spec.certificates (several, each {name, source}) is required: add one");
    return [];
  }
  const names = new Map<string, number>();
  const sources = new Map<string, number>();
  const out: CertificateConfig[] = [];
  for (const [i, c] of certificates.entries()) {
    const was = names.get(c.name);
    if (was !== undefined) at(["spec", "certificates", i, "name"], `certificate name "${c.name}" is used twice (also spec.certificates[${was}]): rename one of them`);
    else names.set(c.name, i);
    const key = `${c.source.namespace}/${c.source.name}`;
    const same = sources.get(key);
    if (same !== undefined) at(["spec", "certificates", i, "source"], `source Secret ${key} is listed twice (also spec.certificates[${same}]): each certificate needs its own Secret; remove one`);
    else sources.set(key, i);
    out.push({ name: c.name, source: { namespace: c.source.namespace, name: c.source.name } });
  }
  return out;
}

/**
 * `spec.defaults.scope` serves per-tenant clusters only (a shared cluster seals cluster-wide, see
 * layout.ts). A narrower default written next to a layout where every cluster is shared would apply
 * to no tenant: the author most likely believes it protects them, so it is an error, not ignored.
 */
function checkDefaultScope(raw: RawConfig, at: (path: readonly (string | number)[], message: string) => void): void {
  const scope = raw.spec.defaults?.scope;
  if (scope === undefined || scope === "cluster-wide") return;
  const allShared = raw.spec.clusters.every((c) => (c.layout ?? raw.spec.layout) === "shared");
  if (!allShared) return;
  at(
    ["spec", "defaults", "scope"],
    `spec.defaults.scope is ${scope}, but every cluster has layout shared, which seals one cluster-wide SealedSecret per cluster: remove spec.defaults.scope (or set it to cluster-wide), set layout: per-tenant for the clusters that need ${scope} secrets, or set scope: ${scope} in the tenant files that need it`,
  );
}

type RawPolicy = NonNullable<RawConfig["spec"]["policy"]>;

/** spec.policy with its lists defaulted to empty; an entry listed twice is reported (a sign of a botched merge). */
function policyConfig(raw: RawPolicy, at: (path: readonly (string | number)[], message: string) => void): PolicyConfig {
  const once = <T>(field: keyof RawPolicy, items: readonly T[], key: (t: T) => string, show: (t: T) => string): void => {
    const first = new Map<string, number>();
    for (const [i, item] of items.entries()) {
      const k = key(item);
      const was = first.get(k);
      if (was === undefined) first.set(k, i);
      else at([field, i], `${show(item)} is listed twice (also spec.policy.${field}[${was}]): remove one`);
    }
  };
  const allowNamespaces = raw.allowNamespaces ?? [];
  const allowKinds: ApiKind[] = (raw.allowKinds ?? []).map((k) => ({ apiVersion: k.apiVersion, kind: k.kind }));
  const allowObjectNamespaces = raw.allowObjectNamespaces ?? [];
  const namespace = (n: string): string => `namespace ${JSON.stringify(n)}`;
  once("allowNamespaces", allowNamespaces, (n) => n, namespace);
  once("allowKinds", allowKinds, (k) => `${k.apiVersion}\u0000${k.kind}`, (k) => `${k.kind} (${k.apiVersion})`);
  once("allowObjectNamespaces", allowObjectNamespaces, (n) => n, namespace);
  return { allowNamespaces, allowKinds, allowObjectNamespaces };
}

/** The value of a probe address the schema has already checked (config-schema.ts). */
function checked<T>(r: Parsed<T>): T {
  if (!r.ok) throw new Error(`a probe address passed the schema but not the parser: ${r.problem}`);
  return r.value;
}

/**
 * spec.probe with its rules parsed. A HOST written twice is refused, as `--probe-address` refuses it:
 * with two addresses for one host, which one the probe used would depend on the order.
 */
function probeConfig(raw: NonNullable<RawConfig["spec"]["probe"]>, at: (path: readonly (string | number)[], message: string) => void): { readonly addresses: readonly ProbeHostRule[] } {
  const addresses: ProbeHostRule[] = [];
  const first = new Map<string, number>();
  for (const [i, text] of (raw.addresses ?? []).entries()) {
    const rule = checked(parseProbeHostRule(text));
    const was = first.get(rule.pattern);
    if (was !== undefined) at(["spec", "probe", "addresses", i], `${rule.pattern} is given twice (also spec.probe.addresses[${was}]): keep one address per host or *.domain`);
    else first.set(rule.pattern, i);
    addresses.push(rule);
  }
  return { addresses };
}

type RawCluster = RawConfig["spec"]["clusters"][number];

async function clusterConfig(
  repoDir: string,
  c: RawCluster,
  at: (path: readonly (string | number)[], message: string) => void,
  index: number,
): Promise<ClusterConfig | undefined> {
  const name = `spec.clusters[${index}]`;
  if (c.sealingCert !== undefined && c.controller !== undefined) {
    at(["controller"], `${name} sets both sealingCert and controller: keep one`);
    return undefined;
  }
  if (c.controller !== undefined) {
    return {
      name: c.name,
      sealing: {
        kind: "controller",
        namespace: c.controller.namespace ?? DEFAULT_CONTROLLER.namespace,
        name: c.controller.name ?? DEFAULT_CONTROLLER.name,
      },
    };
  }
  if (c.sealingCert === undefined) {
    at([], `${name} (${c.name}) needs sealingCert (a path in this repository) or controller ({namespace, name}): add one`);
    return undefined;
  }
  const path = c.sealingCert;
  const reason = unsafeRelativePathReason(path);
  if (reason !== undefined) {
    at(["sealingCert"], `${name}.sealingCert ${JSON.stringify(path)} ${reason}`);
    return undefined;
  }
  try {
    await resolveInsideRepo(repoDir, path);
  } catch (e) {
    if (e instanceof InvalidInputError) {
      const folder = e.diagnostics[0];
      at(
        ["sealingCert"],
        folder !== undefined
          ? `${name}.sealingCert ${JSON.stringify(path)}: ${folder.path} ${folder.message}`
          : `${name}.sealingCert ${JSON.stringify(path)} resolves outside the repository (symlink): commit the certificate itself`,
      );
      return undefined;
    }
    if (typeof e === "object" && e !== null && "code" in e && (e.code === "ENOENT" || e.code === "ENOTDIR")) {
      at(
        ["sealingCert"],
        `${name}.sealingCert ${JSON.stringify(path)} does not exist: fetch it (kubeseal --fetch-cert > ${path}) or fix the path`,
      );
      return undefined;
    }
    throw e;
  }
  return { name: c.name, sealing: { kind: "file", path } };
}

/** Why `output` can not be the rendered folder, or undefined. */
export function outputFolderProblem(output: string): string | undefined {
  const trimmed = output.replace(/\/+$/, "");
  const reason = unsafeRelativePathReason(trimmed);
  if (reason !== undefined) return reason;
  const top = trimmed.split("/")[0] ?? "";
  if (RESERVED_TOP_LEVEL.has(top)) {
    return `is inside ${top}, which wildseal reads: choose a folder of its own such as ${DEFAULT_OUTPUT}`;
  }
  return undefined;
}
