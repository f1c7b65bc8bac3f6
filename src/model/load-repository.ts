import type { Diagnostic } from "../errors.ts";
import { loadConfig } from "./load-config.ts";
import { loadTenantFiles, sortDiagnostics } from "./load-tenants.ts";
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
}

export interface LoadModelOptions {
  /**
   * Which tenants already deliver their Secret (have rendered output), asked once the config is
   * known: in a clash over one Secret the live tenant keeps it.
   */
  readonly liveTenants?: (config: WildsealConfig) => Promise<(t: Tenant) => boolean>;
}

/** wildseal.yaml and every tenant file, validated; every problem reported at once. */
export async function loadRepositoryModel(repoDir: string, opts: LoadModelOptions = {}): Promise<RepositoryModel> {
  const loaded = await loadConfig(repoDir);
  const isLive = loaded.config !== undefined && opts.liveTenants !== undefined ? await opts.liveTenants(loaded.config) : undefined;
  const tenants = await loadTenantFiles(repoDir, loaded.config, isLive);
  return {
    ...(loaded.config !== undefined ? { config: loaded.config } : {}),
    tenants: tenants.tenants,
    invalid: tenants.invalid,
    diagnostics: [...sortDiagnostics(loaded.diagnostics), ...tenants.diagnostics],
    locate: tenants.locate,
    tenantSet: tenants.tenantSet,
  };
}
