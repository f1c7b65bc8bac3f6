import { link, mkdir, readdir, unlink, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Diagnostic } from "../errors.ts";
import { InvalidInputError } from "../errors.ts";
import type { Scope } from "../seal/scope.ts";
import type { TlsMaterial } from "../tls/types.ts";
import { parseYamlDocument } from "../yaml/load.ts";
import type { Position, YamlPath } from "../yaml/load.ts";
import { dumpYaml } from "../yaml/dump.ts";
import { assertRepository, checkRepository } from "./check-repository.ts";
import { API_VERSION, CONFIG_FILE } from "../model/config-schema.ts";
import { loadConfig } from "../model/load-config.ts";
import { loadRepositoryModel } from "../model/load-repository.ts";
import { DNS_LABEL_HINT, isDnsLabel } from "../model/names.ts";
import { checkRepoFolder } from "../model/repo-paths.ts";
import { schemaComment } from "../model/schema-url.ts";
import { TENANTS_DIR } from "../model/tenant-schema.ts";
import type { Tenant, WildsealConfig } from "../model/types.ts";
import { lstatOrUndefined } from "../lstat-or-undefined.ts";

/**
 * Tenant files as `wildseal tenant add` and `tenant remove` write them: built from the flags,
 * checked with every rule `validate` applies (the file is checked in memory before it exists),
 * problems worded with the flag the user typed, written atomically and never over an existing file.
 */

export interface TenantAddOptions {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly cluster?: string;
  readonly namespace?: string;
  readonly scope?: Scope;
  /** spec.values, as valuesFromFlags builds it from `--value key=value` */
  readonly values?: Readonly<Record<string, unknown>>;
  /** the certificate to check the hosts against (--source-file) */
  readonly tls?: TlsMaterial;
  readonly now?: Date;
}

export interface AddedTenant {
  readonly tenant: Tenant;
  /** whether the hosts were checked against a certificate */
  readonly hostsChecked: boolean;
}

/** A placeholder can name `values.a.b` only when each part is an identifier (render/placeholders.ts). */
const VALUE_KEY_PART = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * `--value key=value` flags as spec.values: dotted keys nest (`ingress.class=nginx` →
 * `{ingress: {class: "nginx"}}`), values stay strings. Returns every problem at once.
 */
export function valuesFromFlags(flags: readonly string[]): { readonly values: Record<string, unknown>; readonly problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  const setBy = new Map<string, string>(); // dotted key → the flag that set it
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    if (eq <= 0) {
      problems.push(`--value "${flag}" is not key=value: write e.g. --value ingress.class=nginx`);
      continue;
    }
    const key = flag.slice(0, eq);
    const parts = key.split(".");
    const bad = parts.find((p) => !VALUE_KEY_PART.test(p));
    if (bad !== undefined) {
      problems.push(
        `--value "${flag}": key part "${bad}" cannot be named by a template placeholder: use letters, digits, "_" and "-", starting with a letter or "_"`,
      );
      continue;
    }
    const clash = [...setBy].find(([k]) => k === key || k.startsWith(`${key}.`) || key.startsWith(`${k}.`));
    if (clash !== undefined) {
      problems.push(
        clash[0] === key ? `--value ${key} is given twice (${clash[1]}, ${flag}): keep one` : `--value "${flag}" and --value "${clash[1]}" conflict: ${clash[0].length < key.length ? clash[0] : key} cannot be both text and a mapping`,
      );
      continue;
    }
    setBy.set(key, flag);
    let cur = values;
    for (const p of parts.slice(0, -1)) {
      if (!Object.hasOwn(cur, p)) define(cur, p, {});
      cur = cur[p] as Record<string, unknown>;
    }
    define(cur, parts[parts.length - 1] as string, flag.slice(eq + 1));
  }
  return { values, problems };
}

// defineProperty, not assignment: a "__proto__" key must stay a plain key
function define(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** The tenant file for `opts`: the schema comment, then the contract's format, defaults omitted, deterministic. */
export function tenantFileText(opts: TenantAddOptions, config: WildsealConfig): string {
  const spec: Record<string, unknown> = {};
  if (opts.cluster !== undefined) spec["cluster"] = opts.cluster;
  if (opts.namespace !== undefined && opts.namespace !== opts.name) spec["namespace"] = opts.namespace;
  spec["hosts"] = opts.hosts.map(normalizeHost);
  if (opts.scope !== undefined && opts.scope !== config.defaults.scope) spec["scope"] = opts.scope;
  if (opts.values !== undefined && Object.keys(opts.values).length > 0) spec["values"] = opts.values;
  return schemaComment("tenant") + dumpYaml({ apiVersion: API_VERSION, kind: "Tenant", metadata: { name: opts.name }, spec });
}

function normalizeHost(h: string): string {
  return h.toLowerCase().replace(/\.$/, "");
}

/** Which flag each node of the generated file came from, by position: diagnostics there are about that flag. */
function flagsByPosition(text: string, file: string, opts: TenantAddOptions): Map<string, string> {
  const doc = parseYamlDocument(text, file);
  const out = new Map<string, string>();
  const key = (p: Position): string => `${p.line}:${p.col}`;
  const add = (path: YamlPath, label: string): void => void out.set(key(doc.locate(path)), label);
  add(["metadata", "name"], `NAME "${opts.name}"`);
  if (opts.cluster !== undefined) add(["spec", "cluster"], `--cluster "${opts.cluster}"`);
  if (opts.namespace !== undefined) add(["spec", "namespace"], `--namespace "${opts.namespace}"`);
  if (opts.scope !== undefined) add(["spec", "scope"], `--scope ${opts.scope}`);
  opts.hosts.forEach((h, i) => add(["spec", "hosts", i], `--host "${h}"`));
  const walk = (v: unknown, path: string[]): void => {
    if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    else add(["spec", "values", ...path], `--value ${path.join(".")}=${String(v)}`);
  };
  walk(opts.values ?? {}, []);
  return out;
}

/** Problems with --cluster that the tenant file would word as spec.cluster. */
function clusterProblems(opts: TenantAddOptions, config: WildsealConfig): string[] {
  const names = config.clusters.map((c) => c.name);
  if (opts.cluster === undefined) {
    return names.length === 1 ? [] : [`--cluster is required: wildseal.yaml has ${names.length} clusters (${names.join(", ")})`];
  }
  return names.includes(opts.cluster) ? [] : [`--cluster "${opts.cluster}" is not a cluster in wildseal.yaml (clusters: ${names.join(", ")})`];
}

/**
 * Checks the tenant `opts` describes as part of the repository (every rule of `validate`, and the
 * certificate when given) and writes `tenants/NAME.yaml`. Throws InvalidInputError (exit 1) listing
 * every problem of the new tenant, each naming the flag that caused it; nothing is written then.
 */
export async function addTenant(repoDir: string, opts: TenantAddOptions): Promise<AddedTenant> {
  if (!isDnsLabel(opts.name)) {
    throw new InvalidInputError(`tenant name "${opts.name}" is not a valid DNS-1123 label (${DNS_LABEL_HINT}): choose another name`);
  }
  const config = await requireConfig(repoDir);
  const file = `${TENANTS_DIR}/${opts.name}.yaml`;
  for (const candidate of [file, `${TENANTS_DIR}/${opts.name}.yml`]) {
    if (await exists(join(repoDir, candidate))) {
      throw new InvalidInputError(`tenant ${opts.name} already exists (${candidate}): edit that file instead`);
    }
  }

  const text = tenantFileText(opts, config);
  const check = await checkRepository(repoDir, {
    ...(opts.now !== undefined ? { now: opts.now } : {}),
    ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
    inMemoryTenants: [{ file, text }],
  });
  const problems = clusterProblems(opts, config);
  const flagAt = flagsByPosition(text, file, opts);
  const worded = new Map<Diagnostic, string>();
  for (const { clash, diagnostics } of check.model.clashes) {
    if (clash.refused.file !== file) continue;
    const k = clash.kept;
    const d = diagnostics[0];
    if (d !== undefined) {
      worded.set(
        d,
        `Secret ${k.secretName} in namespace ${k.namespace} on cluster ${k.cluster} is already delivered by tenant ${k.name} (${k.file}): pass another --namespace`,
      );
    }
  }
  for (const m of check.missingValues) {
    if (m.file === file) worded.set(m.diagnostic, `--value ${m.key}=… is required: ${m.usedAt.join(" and ")} use${m.usedAt.length === 1 ? "s" : ""} \${values.${m.key}}`);
  }
  for (const u of check.uncoveredHosts) {
    if (u.file === file) worded.set(u.diagnostic, `--host "${opts.hosts[u.index] ?? u.host}" ${u.diagnostic.message.slice(`host ${u.host} `.length)}`);
  }
  const clusterReported = problems.length > 0;
  for (const d of check.diagnostics) {
    if (d.path !== file) continue; // other files' problems are not this tenant's
    const own = worded.get(d);
    if (own !== undefined) {
      problems.push(own);
      continue;
    }
    const flag = flagAt.get(`${d.line}:${d.col}`);
    if (clusterReported && (flag?.startsWith("--cluster") === true || /\bspec\.cluster\b/.test(d.message))) continue;
    problems.push(flag === undefined ? d.message : `${flag}: ${d.message}`);
  }
  if (problems.length > 0) {
    throw new InvalidInputError(`refusing to add tenant ${opts.name}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
  const tenant = check.model.tenants.find((t) => t.file === file);
  if (tenant === undefined) throw new Error(`tenant add: ${file} passed every check but was not loaded`);
  await writeNewFileAtomically(join(repoDir, file), text);
  return { tenant, hostsChecked: opts.tls !== undefined };
}

async function requireConfig(repoDir: string): Promise<WildsealConfig> {
  await assertRepository(repoDir);
  const { config, diagnostics } = await loadConfig(repoDir);
  if (config === undefined) throw new InvalidInputError(`${CONFIG_FILE} is invalid: fix it first (wildseal validate)`, diagnostics);
  return config;
}

export interface RemovedTenant {
  readonly name: string;
  /** repo-relative files deleted (two when both NAME.yaml and NAME.yml existed) */
  readonly files: readonly string[];
  /** rendered/<cluster>/<name>/ when the tenant's cluster is known, else rendered/<each cluster>/<name>/ */
  readonly outputs: readonly string[];
}

/**
 * Deletes `tenants/NAME.yaml` (and `.yml`). Its rendered output stays until the next sync or render
 * prunes it, so the removal goes through the same review and removal limits as any other.
 */
export async function removeTenant(repoDir: string, name: string): Promise<RemovedTenant> {
  const config = await requireConfig(repoDir);
  const folder = await checkRepoFolder(repoDir, TENANTS_DIR);
  if (folder.kind === "refused") throw new InvalidInputError("", [folder.diagnostic]);
  if (folder.kind === "missing") throw new InvalidInputError(`there is no ${TENANTS_DIR}/ folder in ${repoDir}: nothing to remove`);
  const model = await loadRepositoryModel(repoDir);
  const known = [...new Set((await readdir(join(repoDir, TENANTS_DIR))).filter((f) => /\.ya?ml$/.test(f)).map(stemOf))].sort();
  const candidates = isDnsLabel(name) ? [`${TENANTS_DIR}/${name}.yaml`, `${TENANTS_DIR}/${name}.yml`] : [];
  const files: string[] = [];
  for (const f of candidates) if (await exists(join(repoDir, f))) files.push(f);
  if (files.length === 0) {
    throw new InvalidInputError(
      `no tenant ${JSON.stringify(name)} in ${TENANTS_DIR}/: ${known.length === 0 ? "there are no tenants" : `known tenants: ${known.join(", ")}`}`,
    );
  }
  const tenant = model.tenants.find((t) => t.name === name);
  const clusters = tenant !== undefined ? [tenant.cluster] : config.clusters.map((c) => c.name);
  for (const f of files) await unlink(join(repoDir, f));
  return { name, files, outputs: clusters.map((c) => `${config.output}/${c}/${name}/`) };
}

function stemOf(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1).replace(/\.ya?ml$/, "");
}


async function exists(path: string): Promise<boolean> {
  return (await lstatOrUndefined(path)) !== undefined;
}

/** Write to a temporary name, then hard-link into place: atomic, and fails if the target appeared meanwhile. */
async function writeNewFileAtomically(path: string, text: string): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, text, { flag: "wx" });
  try {
    await link(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new InvalidInputError(`${path} appeared while writing: not overwritten`);
    throw e;
  } finally {
    await unlink(tmp);
  }
}
