import { InvalidInputError, withReason, type Diagnostic } from "../errors.ts";
import { loadRepositoryModel, type RepositoryModel } from "../model/load-repository.ts";
import type { InMemoryTenantFile } from "../model/load-tenants.ts";
import { readRepoFile } from "../model/read-repo-file.ts";
import type { WildsealConfig } from "../model/types.ts";
import { parseSealingCertificate, type SealingCertificate } from "../seal/sealing-cert.ts";
import { validateTemplates, type TemplateSet } from "./load-templates.ts";
import type { ExistingTree } from "./plan.ts";
import { readExistingTree } from "./rendered-files.ts";

/**
 * Everything a render or `wildseal validate` reads from a repository, read once: wildseal.yaml and
 * tenants/ (the model), templates/, each cluster's committed sealing certificate and, for a render,
 * the committed output. Both callers load through here, so validate checks exactly what a render
 * will use; a sync's render step keeps the result for its pull request instead of reading again.
 */

/** One cluster's sealing certificate as the repository holds it. */
export type SealingCertRead =
  | { readonly kind: "read"; readonly cert: SealingCertificate }
  /** `controller:` clusters: fetched by a sync, never read from a file here */
  | { readonly kind: "controller" }
  /** the caller brings this cluster's certificate: not read */
  | { readonly kind: "given" }
  /** gone since wildseal.yaml was checked (which reports a missing file itself) */
  | { readonly kind: "missing"; readonly path: string }
  /** refused (a symlinked folder, not a file, too large) or not usable for sealing (expired, not RSA) */
  | { readonly kind: "invalid"; readonly diagnostics: readonly Diagnostic[] };

export interface RepositoryInputs {
  readonly model: RepositoryModel;
  readonly templates: TemplateSet;
  /** the committed output (render only); undefined without a valid config */
  readonly existing: ExistingTree | undefined;
  /** per cluster of the config (empty without one) */
  readonly sealing: ReadonlyMap<string, SealingCertRead>;
}

export interface LoadInputsOptions {
  /** the time certificates must be valid at */
  readonly now: Date;
  /**
   * Read the committed output (a render does; validate does not): read before the tenants, so that a
   * tenant that already delivers a Secret keeps it when a newcomer claims the same one.
   */
  readonly committedTree?: boolean;
  /** tenant files checked as if they were in tenants/ (validate --tenant-file) */
  readonly inMemoryTenants?: readonly InMemoryTenantFile[];
  /** clusters whose sealing certificate the caller brings (sync, tests): their files are not read */
  readonly givenSealingCerts?: ReadonlySet<string>;
  /** told how many committed tenant folders are read (phase "read"; see RenderOptions.onProgress) */
  readonly onProgress?: (p: { readonly phase: "read"; readonly done: number; readonly total: number }) => void;
}

export async function loadRepositoryInputs(repoDir: string, opts: LoadInputsOptions): Promise<RepositoryInputs> {
  let existing: ExistingTree | undefined;
  const model = await loadRepositoryModel(repoDir, {
    ...(opts.committedTree === true
      ? {
          liveTenants: async (config: WildsealConfig) => {
            const report = opts.onProgress;
            const tree = await readExistingTree(repoDir, config.output, report === undefined ? undefined : (done, total) => report({ phase: "read", done, total }));
            existing = tree;
            return (t) => tree.get(t.cluster)?.tenants.has(t.name) === true;
          },
        }
      : {}),
    ...(opts.inMemoryTenants === undefined ? {} : { inMemoryTenants: opts.inMemoryTenants }),
  });
  const templates = await validateTemplates(repoDir);
  const sealing = model.config === undefined ? new Map<string, SealingCertRead>() : await readSealingCerts(repoDir, model.config, opts);
  return { model, templates, existing, sealing };
}

async function readSealingCerts(repoDir: string, config: WildsealConfig, opts: LoadInputsOptions): Promise<Map<string, SealingCertRead>> {
  const out = new Map<string, SealingCertRead>();
  for (const cluster of config.clusters) {
    if (opts.givenSealingCerts?.has(cluster.name) === true) out.set(cluster.name, { kind: "given" });
    else if (cluster.sealing.kind === "controller") out.set(cluster.name, { kind: "controller" });
    else out.set(cluster.name, await readSealingCert(repoDir, cluster.sealing.path, opts.now));
  }
  return out;
}

/** The committed certificate must be a regular file in the repository, parse, be RSA and not be expired: what sealing demands. */
async function readSealingCert(repoDir: string, path: string, now: Date): Promise<SealingCertRead> {
  const read = await readRepoFile(repoDir, path);
  if (read.kind === "missing") return { kind: "missing", path };
  if (read.kind === "refused") return { kind: "invalid", diagnostics: withReason([read.diagnostic], "sealing-certificate") };
  try {
    return { kind: "read", cert: parseSealingCertificate(read.text, { now, source: path }) };
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    const ds = e.diagnostics.length > 0 ? e.diagnostics : [{ ...diagnosticFromMessage(path, e.message), ...(e.reason === undefined ? {} : { reason: e.reason }) }];
    return { kind: "invalid", diagnostics: withReason(ds, "sealing-certificate") };
  }
}

/** `path:3:1: msg` or `path: msg` (how certificate errors name their source) as a Diagnostic. */
export function diagnosticFromMessage(path: string, message: string): Diagnostic {
  const prefix = `${path}:`;
  const rest = message.startsWith(prefix) ? message.slice(prefix.length) : ` ${message}`;
  const m = /^(\d+):(\d+): ([\s\S]*)$/.exec(rest);
  if (m !== null) return { path, line: Number(m[1]), col: Number(m[2]), message: m[3] ?? "" };
  return { path, line: 1, col: 1, message: rest.trimStart() };
}
