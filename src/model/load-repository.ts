import type { Diagnostic } from "../errors.ts";
import { loadConfig } from "./load-config.ts";
import type { PositionedDocument } from "../yaml/load.ts";
import { loadTenantFiles, sortDiagnostics } from "./load-tenants.ts";
import type { InMemoryTenantFile, LoadedTenants } from "./load-tenants.ts";
import type { LocateInFile } from "./rules.ts";
import type { InvalidTenant, Tenant, WildsealConfig } from "./types.ts";

export interface RepositoryModel {
  /** undefined when wildseal.yaml has any problem: then nothing renders */
  readonly config?: WildsealConfig;
  /** valid tenants in file-name order (empty without a config) */
  readonly tenants: Tenant[];
  readonly invalid: InvalidTenant[];
  /** config problems first, then tenant problems by file, line, column */
  readonly diagnostics: Diagnostic[];
  /** positions in tenant files, for later checks (see LoadedTenants.locate) */
  readonly locate: LocateInFile;
  /** see LoadedTenants.tenantSet: removals are allowed only from a complete tenant set */
  readonly tenantSet: "complete" | "incomplete";
  /** see LoadedTenants.documents */
  readonly documents: ReadonlyMap<string, PositionedDocument>;
  /** see LoadedTenants.clashes */
  readonly clashes: LoadedTenants["clashes"];
}

export interface LoadModelOptions {
  /**
   * Which tenants already deliver their Secret (have rendered output), asked once the config is
   * known: in a clash over one Secret the live tenant keeps it.
   */
  readonly liveTenants?: (config: WildsealConfig) => Promise<(t: Tenant) => boolean>;
  /**
   * Tenant files checked as if they were in tenants/ (see InMemoryTenantFile). They are newcomers:
   * without `liveTenants`, a tenant on disk keeps its Secret against them.
   */
  readonly inMemoryTenants?: readonly InMemoryTenantFile[];
}

/** wildseal.yaml and every tenant file, validated; every problem reported at once. */
export async function loadRepositoryModel(repoDir: string, opts: LoadModelOptions = {}): Promise<RepositoryModel> {
  const loaded = await loadConfig(repoDir);
  const inMemory = opts.inMemoryTenants ?? [];
  const newcomers = new Set(inMemory.map((f) => f.file));
  const isLive =
    loaded.config !== undefined && opts.liveTenants !== undefined
      ? await opts.liveTenants(loaded.config)
      : newcomers.size > 0
        ? (t: Tenant) => !newcomers.has(t.file)
        : undefined;
  const tenants = await loadTenantFiles(repoDir, loaded.config, isLive, inMemory);
  return {
    ...(loaded.config !== undefined ? { config: loaded.config } : {}),
    tenants: tenants.tenants,
    invalid: tenants.invalid,
    diagnostics: [...sortDiagnostics(loaded.diagnostics), ...tenants.diagnostics],
    locate: tenants.locate,
    tenantSet: tenants.tenantSet,
    documents: tenants.documents,
    clashes: tenants.clashes,
  };
}
