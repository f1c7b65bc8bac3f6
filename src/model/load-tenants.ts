import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Diagnostic } from "../errors.ts";
import { InvalidInputError, withReason } from "../errors.ts";
import { parseYamlDocument } from "../yaml/load.ts";
import type { PositionedDocument, YamlPath } from "../yaml/load.ts";
import { isDnsLabel } from "./names.ts";
import { readFileInCheckedFolder } from "./read-repo-file.ts";
import { checkRepoFolder } from "./repo-paths.ts";
import { findSecretClashes, secretClashDiagnostics } from "./rules.ts";
import type { LocateInFile, SecretClash } from "./rules.ts";
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
  /**
   * "complete" only when tenants/ is a real folder and every entry in it was read without a problem.
   * Removing a tenant's output is allowed only from a complete set: a file that is missing because it
   * was misnamed, moved, unreadable or behind a broken link must never read as "tenant deleted".
   */
  readonly tenantSet: "complete" | "incomplete";
  /** every tenant file that parsed as YAML (valid or not), by repo-relative path: later checks read what is known of it */
  readonly documents: ReadonlyMap<string, PositionedDocument>;
  /** the diagnostics each Secret clash produced (objects also in `diagnostics`), so callers can word them their way */
  readonly clashes: readonly { readonly clash: SecretClash; readonly diagnostics: readonly Diagnostic[] }[];
}

/**
 * A tenant file that is not on disk (yet): `tenant add` checks the file it is about to write with
 * every rule `validate` applies. `file` is `tenants/<name>.yaml` (or `.yml`); it replaces a file of
 * that name on disk.
 */
export interface InMemoryTenantFile {
  readonly file: string;
  readonly text: string;
}

/** Files tenants/ may hold besides tenant files (documentation, a placeholder for an empty folder). */
const NOT_TENANTS = new Set([".gitkeep", "README.md"]);

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
  inMemory: readonly InMemoryTenantFile[] = [],
): Promise<LoadedTenants> {
  const listing = await listTenantFiles(repoDir);
  const extra = new Map(inMemory.map((f) => [inMemoryName(f.file), f.text]));
  const files = listing.files.filter((name) => !extra.has(name));
  const fromDisk = await mapLimit(files, READ_CONCURRENCY, (name) => loadOne(repoDir, name, config));
  const fromMemory = [...extra].map(([name, text]): FileResult => {
    const file = `${TENANTS_DIR}/${name}`;
    return { file, stem: TENANT_FILE.exec(name)?.[1] ?? name, ...checkTenantText(text, file, config) };
  });
  const results = [...fromDisk, ...fromMemory].sort((a, b) => compareCodeUnits(a.file, b.file));
  const docs = new Map<string, PositionedDocument>();
  for (const r of results) if (r.doc !== undefined) docs.set(r.file, r.doc);
  const locate: LocateInFile = (file: string, path: YamlPath) => docs.get(file)?.locate(path) ?? { line: 1, col: 1 };

  // Everything found in tenants/ is a tenant problem (the YAML, schema and file helpers do not know
  // that); stamped before the clash diagnostics join, which carry their own reason and must stay the
  // same objects as in `clashes`.
  const diagnostics = withReason([...listing.diagnostics, ...results.flatMap((r) => r.diagnostics)], "invalid-tenant");
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
        reason: "invalid-tenant",
      });
    } else byName.set(r.tenant.name, r);
  }
  const candidates = results.flatMap((r) => (r.tenant !== undefined && !refused.has(r.file) ? [r.tenant] : []));
  const hasNamespace = (file: string): boolean => {
    const spec = (docs.get(file)?.value as { spec?: Record<string, unknown> } | undefined)?.spec;
    return spec !== undefined && Object.hasOwn(spec, "namespace");
  };
  const clashes: { clash: SecretClash; diagnostics: Diagnostic[] }[] = [];
  for (const clash of findSecretClashes(candidates, isLive)) {
    refused.add(clash.refused.file);
    const ds = secretClashDiagnostics(clash, locate, hasNamespace);
    clashes.push({ clash, diagnostics: ds });
    diagnostics.push(...ds);
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
    tenantSet: diagnostics.length === 0 ? "complete" : "incomplete",
    documents: docs,
    clashes,
  };
}

/** The file name of an in-memory tenant file; anything but `tenants/<x>.yaml|yml` is a caller's bug. */
function inMemoryName(file: string): string {
  const name = file.slice(`${TENANTS_DIR}/`.length);
  if (!file.startsWith(`${TENANTS_DIR}/`) || name.includes("/") || !TENANT_FILE.test(name)) {
    throw new Error(`in-memory tenant file ${JSON.stringify(file)} is not tenants/<name>.yaml`);
  }
  return name;
}

interface TenantListing {
  /** names of the tenant files (`*.yaml`, `*.yml`), sorted */
  readonly files: string[];
  /** the folder itself, or entries that are neither tenant files nor NOT_TENANTS */
  readonly diagnostics: Diagnostic[];
}

/**
 * The tenant files of tenants/, and a problem for everything else in it: a missing or linked folder,
 * a sub-folder, a file with another extension (`acme.YAML`, `acme.yaml.bak`). Nothing is skipped
 * silently, because a skipped file would look like a deleted tenant.
 */
async function listTenantFiles(repoDir: string): Promise<TenantListing> {
  const folder = await checkRepoFolder(repoDir, TENANTS_DIR);
  if (folder.kind === "refused") return { files: [], diagnostics: [folder.diagnostic] };
  if (folder.kind === "missing") {
    return {
      files: [],
      diagnostics: [{ path: TENANTS_DIR, line: 1, col: 1, message: "the tenants folder is missing: create it and add one <tenant>.yaml per tenant (Git keeps no empty folder: commit a tenants/.gitkeep to have none)" }],
    };
  }
  const entries = await readdir(join(repoDir, TENANTS_DIR), { withFileTypes: true });
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const e of entries) {
    const path = `${TENANTS_DIR}/${e.name}`;
    if (e.isDirectory() || !(TENANT_FILE.test(e.name) || NOT_TENANTS.has(e.name))) {
      diagnostics.push({ path, line: 1, col: 1, message: unexpectedEntryMessage(e.name, e.isDirectory()) });
    } else if (TENANT_FILE.test(e.name)) {
      files.push(e.name);
    }
  }
  return { files: files.sort(compareCodeUnits), diagnostics };
}

function unexpectedEntryMessage(name: string, isFolder: boolean): string {
  const where = `${TENANTS_DIR}/ holds one <tenant>.yaml file per tenant`;
  if (isFolder) return `is a folder: ${where} and no sub-folders; move it out of ${TENANTS_DIR}/`;
  const yamlLike = /^(.+?)\.(ya?ml)(\..*)?$/i.exec(name);
  if (yamlLike !== null) {
    return `is not read as a tenant (only names ending in .yaml or .yml, lower case, are): rename it to ${yamlLike[1]?.toLowerCase()}.yaml, or move it out of ${TENANTS_DIR}/`;
  }
  return `is not a tenant file: ${where} (besides ${[...NOT_TENANTS].join(" and ")}); move it out of ${TENANTS_DIR}/ or rename it to <tenant>.yaml`;
}

async function loadOne(repoDir: string, name: string, config: WildsealConfig | undefined): Promise<FileResult> {
  const file = `${TENANTS_DIR}/${name}`;
  const stem = TENANT_FILE.exec(name)?.[1] ?? name;
  const read = await readFileInCheckedFolder(repoDir, file); // listTenantFiles checked tenants/
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

