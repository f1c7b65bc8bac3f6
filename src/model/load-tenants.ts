import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Diagnostic } from "../errors.ts";
import { InvalidInputError } from "../errors.ts";
import { parseYamlDocument } from "../yaml/load.ts";
import type { PositionedDocument, YamlPath } from "../yaml/load.ts";
import { isDnsLabel } from "./names.ts";
import { readRepoFile } from "./read-repo-file.ts";
import { findSecretClashes, secretClashDiagnostics } from "./rules.ts";
import type { LocateInFile } from "./rules.ts";
import { parseWithSchema } from "./schema-diagnostics.ts";
import { checkPartialTenant, checkTenant } from "./tenant-rules.ts";
import { TENANTS_DIR, tenantSchema } from "./tenant-schema.ts";
import type { InvalidTenant, Tenant, WildsealConfig } from "./types.ts";
import { mapLimit, READ_CONCURRENCY } from "../map-limit.ts";

export interface LoadedTenants {
  /** valid tenants, in file-name order */
  readonly tenants: Tenant[];
  /** invalid tenant files whose name is known (see InvalidTenant) */
  readonly invalid: InvalidTenant[];
  /** every problem, sorted by file, line, column */
  readonly diagnostics: Diagnostic[];
  /**
   * Position of a value in a tenant file, for checks made later (host coverage, templates):
   * `locate(tenant.file, ["spec", "hosts", 2])`. Files that did not parse locate to 1:1.
   */
  readonly locate: LocateInFile;
}

const TENANT_FILE = /^(.*)\.ya?ml$/;

interface FileResult {
  readonly file: string;
  readonly stem: string;
  readonly doc?: PositionedDocument;
  readonly tenant?: Tenant;
  readonly diagnostics: Diagnostic[];
}

/** Loads and validates every `tenants/*.yaml` (and `.yml`) against `config`. Each file is read once. */
export function loadTenants(repoDir: string, config: WildsealConfig): Promise<LoadedTenants> {
  return loadTenantFiles(repoDir, config);
}

/**
 * Same as loadTenants; without a config (it was invalid) the files are still checked on their own
 * (syntax, schema, names) so that `validate` reports everything at once, but no tenant is returned.
 */
export async function loadTenantFiles(
  repoDir: string,
  config: WildsealConfig | undefined,
  isLive?: (t: Tenant) => boolean,
): Promise<LoadedTenants> {
  const files = await listTenantFiles(repoDir);
  const results = await mapLimit(files, READ_CONCURRENCY, (name) => loadOne(repoDir, name, config));
  const docs = new Map<string, PositionedDocument>();
  for (const r of results) if (r.doc !== undefined) docs.set(r.file, r.doc);
  const locate: LocateInFile = (file: string, path: YamlPath) => docs.get(file)?.locate(path) ?? { line: 1, col: 1 };

  const diagnostics = results.flatMap((r) => r.diagnostics);
  const refused = new Set<string>();
  const byName = new Map<string, FileResult>();
  for (const r of results) {
    if (r.tenant === undefined) continue;
    const first = byName.get(r.tenant.name);
    if (first !== undefined) {
      // tenants/acme.yaml and tenants/acme.yml: same tenant twice; the first in order stays.
      refused.add(r.file);
      diagnostics.push({
        path: r.file,
        line: 1,
        col: 1,
        message: `tenant ${r.tenant.name} is already defined in ${first.file}: remove one of the two files; this one is skipped`,
      });
    } else byName.set(r.tenant.name, r);
  }
  const candidates = results.flatMap((r) => (r.tenant !== undefined && !refused.has(r.file) ? [r.tenant] : []));
  const hasNamespace = (file: string): boolean => {
    const spec = (docs.get(file)?.value as { spec?: Record<string, unknown> } | undefined)?.spec;
    return spec !== undefined && Object.hasOwn(spec, "namespace");
  };
  for (const clash of findSecretClashes(candidates, isLive)) {
    refused.add(clash.refused.file);
    diagnostics.push(...secretClashDiagnostics(clash, locate, hasNamespace));
  }

  const tenants = candidates.filter((t) => !refused.has(t.file));
  const validNames = new Set(tenants.map((t) => t.name));
  const invalid: InvalidTenant[] = [];
  for (const r of results) {
    if (r.tenant !== undefined && !refused.has(r.file)) continue;
    if (isDnsLabel(r.stem) && !validNames.has(r.stem)) invalid.push({ name: r.stem, file: r.file });
  }
  return {
    tenants: config === undefined ? [] : tenants,
    invalid,
    diagnostics: sortDiagnostics(diagnostics),
    locate,
  };
}

async function listTenantFiles(repoDir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(join(repoDir, TENANTS_DIR));
  } catch (e) {
    if (typeof e === "object" && e !== null && "code" in e && e.code === "ENOENT") return [];
    throw e;
  }
  return entries.filter((n) => TENANT_FILE.test(n)).sort(compareCodeUnits);
}

async function loadOne(repoDir: string, name: string, config: WildsealConfig | undefined): Promise<FileResult> {
  const file = `${TENANTS_DIR}/${name}`;
  const stem = TENANT_FILE.exec(name)?.[1] ?? name;
  const read = await readRepoFile(repoDir, file);
  if (read.kind === "missing") {
    return { file, stem, diagnostics: [{ path: file, line: 1, col: 1, message: "cannot be read (dangling symlink?): remove it or point it at a tenant file" }] };
  }
  if (read.kind === "refused") return { file, stem, diagnostics: [read.diagnostic] };
  return { file, stem, ...checkTenantText(read.text, file, config) };
}

export interface CheckedTenantText {
  readonly doc?: PositionedDocument;
  readonly tenant?: Tenant;
  readonly diagnostics: Diagnostic[];
}

/**
 * Every single-file rule on the text of `tenants/<name>.yaml` (`file` is its repo-relative path):
 * YAML limits, schema, names, cluster. Cross-tenant rules (unique Secret) are the caller's.
 */
export function checkTenantText(text: string, file: string, config: WildsealConfig | undefined): CheckedTenantText {
  const name = file.slice(file.lastIndexOf("/") + 1);
  const stem = TENANT_FILE.exec(name)?.[1] ?? name;
  let doc: PositionedDocument;
  try {
    doc = parseYamlDocument(text, file);
  } catch (e) {
    if (e instanceof InvalidInputError) return { diagnostics: [...e.diagnostics] };
    throw e;
  }
  const fileNameProblem: Diagnostic[] = isDnsLabel(stem)
    ? []
    : [{ path: file, line: 1, col: 1, message: `file name "${name}" is not a DNS-1123 label followed by .yaml: rename it to <tenant name>.yaml` }];
  const parsed = parseWithSchema(tenantSchema, doc, file);
  const at = (path: YamlPath, message: string): Diagnostic => ({ path: file, ...doc.locate(path), message });
  if (parsed.value === undefined) {
    const partial = checkPartialTenant(doc.value, file, stem, config, at);
    return { doc, diagnostics: [...fileNameProblem, ...parsed.diagnostics, ...partial] };
  }
  const checked = checkTenant(parsed.value, file, stem, config, at);
  const diagnostics = [...fileNameProblem, ...checked.diagnostics];
  if (diagnostics.length > 0 || checked.tenant === undefined) return { doc, diagnostics };
  return { doc, tenant: checked.tenant, diagnostics };
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => compareCodeUnits(a.path, b.path) || a.line - b.line || a.col - b.col);
}

