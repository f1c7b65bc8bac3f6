import type { Diagnostic } from "../errors.ts";
import type { YamlPath } from "../yaml/load.ts";
import type { RawTenant } from "./tenant-schema.ts";
import type { Tenant, WildsealConfig } from "./types.ts";

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
  if (diagnostics.length > 0 || config === undefined || cluster === undefined) return { diagnostics };
  return {
    tenant: {
      name,
      cluster,
      namespace: raw.spec.namespace ?? name,
      hosts,
      secretName: raw.spec.secretName ?? config.defaults.secretName,
      scope: raw.spec.scope ?? config.defaults.scope,
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
  return out;
}

function checkFileName(name: string, file: string, stem: string, at: At, out: Diagnostic[]): void {
  if (name !== stem) {
    out.push(
      at(["metadata", "name"], `metadata.name "${name}" does not match the file name ${file}: rename the file to ${name}.yaml or set metadata.name: ${stem}`),
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
