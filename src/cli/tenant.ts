import { link, lstat, mkdir, unlink, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Option } from "commander";
import type { Command } from "commander";
import { InvalidInputError, UsageError } from "../errors.ts";
import { API_VERSION } from "../model/config-schema.ts";
import { loadConfig } from "../model/load-config.ts";
import { checkTenantText, loadTenants } from "../model/load-tenants.ts";
import { DNS_LABEL_HINT, isDnsLabel } from "../model/names.ts";
import { TENANTS_DIR } from "../model/tenant-schema.ts";
import type { Tenant, WildsealConfig } from "../model/types.ts";
import { SCOPES, isScope } from "../seal/scope.ts";
import type { Scope } from "../seal/scope.ts";
import { dumpYaml } from "../yaml/dump.ts";
import { cliContext } from "./io.ts";

/**
 * `wildseal tenant add NAME --host HOST… [--cluster C] [--namespace NS] [--scope S] [--repo DIR]`:
 * writes `tenants/NAME.yaml`, checked with the very rules `validate` applies before anything is
 * written, atomically and never over an existing file.
 */

export interface TenantAddOptions {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly cluster?: string;
  readonly namespace?: string;
  readonly scope?: Scope;
}

/** The tenant file for `opts`: the contract's format, defaults omitted, deterministic. */
export function tenantFileText(opts: TenantAddOptions, config: WildsealConfig): string {
  const spec: Record<string, unknown> = {};
  if (opts.cluster !== undefined) spec["cluster"] = opts.cluster;
  if (opts.namespace !== undefined && opts.namespace !== opts.name) spec["namespace"] = opts.namespace;
  spec["hosts"] = opts.hosts.map((h) => h.toLowerCase().replace(/\.$/, ""));
  if (opts.scope !== undefined && opts.scope !== config.defaults.scope) spec["scope"] = opts.scope;
  return dumpYaml({ apiVersion: API_VERSION, kind: "Tenant", metadata: { name: opts.name }, spec });
}

/** Validates and writes the tenant; returns it. Throws InvalidInputError (exit 1) on any problem. */
export async function addTenant(repoDir: string, opts: TenantAddOptions): Promise<Tenant> {
  if (!isDnsLabel(opts.name)) {
    throw new InvalidInputError(`tenant name "${opts.name}" is not a valid DNS-1123 label (${DNS_LABEL_HINT}): choose another name`);
  }
  const { config, diagnostics } = await loadConfig(repoDir);
  if (config === undefined) {
    throw new InvalidInputError("wildseal.yaml is invalid: fix it first (wildseal validate)", diagnostics);
  }
  const file = `${TENANTS_DIR}/${opts.name}.yaml`;
  for (const candidate of [file, `${TENANTS_DIR}/${opts.name}.yml`]) {
    if (await exists(join(repoDir, candidate))) {
      throw new InvalidInputError(`tenant ${opts.name} already exists (${candidate}): edit that file instead`);
    }
  }
  const existing = await loadTenants(repoDir, config);

  const text = tenantFileText(opts, config);
  const checked = checkTenantText(text, file, config);
  if (checked.tenant === undefined) {
    // positions in a file that does not exist yet mean little: name the flag instead
    throw new InvalidInputError(`refusing to add tenant ${opts.name}:\n${checked.diagnostics.map((d) => `  ${d.message}`).join("\n")}`);
  }
  const tenant = checked.tenant;
  const clash = existing.tenants.find(
    (t) => t.cluster === tenant.cluster && t.namespace === tenant.namespace && t.secretName === tenant.secretName,
  );
  if (clash !== undefined) {
    throw new InvalidInputError(
      `Secret ${tenant.secretName} in namespace ${tenant.namespace} on cluster ${tenant.cluster} is already delivered by tenant ${clash.name} (${clash.file}): pass another --namespace`,
    );
  }
  await writeNewFileAtomically(join(repoDir, file), text);
  return tenant;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
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

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function register(program: Command): void {
  const tenant = program.command("tenant").description("manage tenant files in tenants/");
  tenant
    .command("add")
    .description("write tenants/NAME.yaml, validated like `wildseal validate` before writing")
    .argument("<name>", "tenant name (DNS-1123 label); also the file name and the default namespace")
    .requiredOption("--host <host>", "a host name the tenant serves (repeat for more)", collect)
    .option("--cluster <cluster>", "cluster from wildseal.yaml (may be omitted when there is exactly one)")
    .option("--namespace <ns>", "namespace of the Secret (default: the tenant name)")
    .addOption(new Option("--scope <scope>", "Sealed Secrets scope (default: the config's)").choices(SCOPES))
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .action(async (name: string, o: { host: string[]; cluster?: string; namespace?: string; scope?: string; repo: string }, command: Command) => {
      const ctx = cliContext(command);
      if (o.scope !== undefined && !isScope(o.scope)) throw new UsageError(`--scope must be one of ${SCOPES.join(", ")}`);
      const added = await addTenant(o.repo, {
        name,
        hosts: o.host,
        ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
        ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
        ...(o.scope !== undefined ? { scope: o.scope } : {}),
      });
      ctx.io.stdout(`added tenant ${added.name}: ${added.file} (cluster ${added.cluster}, namespace ${added.namespace}, ${added.hosts.length} host${added.hosts.length === 1 ? "" : "s"})\n`);
    });
}
