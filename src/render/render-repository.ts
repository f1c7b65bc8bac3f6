import { createHash } from "node:crypto";
import type { Diagnostic } from "../errors.ts";
import { InvalidInputError } from "../errors.ts";
import { checkHostsCovered, objectPolicyOf, type RepositoryModel } from "../model/index.ts";
import type { WildsealConfig } from "../model/types.ts";
import type { SealingCertificate } from "../seal/sealing-cert.ts";
import type { CertFacts, TlsMaterial } from "../tls/types.ts";
import { changeKind, filesAfterSealing, holdEverything, planRender } from "./plan.ts";
import type { CertificateMaterial, ChangeKind, ExistingTree, Plan, SeveralCertificates, TenantPlan } from "./plan.ts";
import { chooseCertificates, type CertificateSans } from "../model/certificates.ts";
import { readExistingTree, removeFolder, writeClusterIndex, writeTenantFolder } from "./rendered-files.ts";
import type { WriteCounts } from "./rendered-files.ts";
import { sealJobs } from "./seal-batch.ts";
import { mapLimit } from "../map-limit.ts";
import { DEFAULT_REMOVAL_LIMIT, type RemovalLimit } from "./removal-policy.ts";
import { sealedItemsOf } from "./sealed-secret-document.ts";
import { loadRepositoryInputs, type RepositoryInputs } from "./repository-inputs.ts";
import { removeUnusedShared, writeSharedPlans } from "./apply-shared.ts";

/**
 * One render of a repository: load, validate, read the committed tree once, plan, seal what
 * changed, write only what differs. The valid tenants are written even when others are invalid;
 * the caller exits 1 when `diagnostics` is not empty.
 */

export interface RenderOptions {
  readonly repoDir: string;
  /** the certificate (one certificate: spec.source, or the only entry of spec.certificates) */
  readonly tls: TlsMaterial;
  /**
   * Several certificates (spec.certificates): name → material, every certificate of the config;
   * then `tls` is only the RenderResult's `leaf` when nothing else is known. Each tenant is sealed
   * with its certificate (model/certificates.ts chooses; ambiguous and uncovered tenants are held).
   */
  readonly certificates?: ReadonlyMap<string, { readonly tls: TlsMaterial; readonly label: string }>;
  readonly now?: Date;
  /** cluster → sealing certificate; default: each cluster's `sealingCert` file from wildseal.yaml */
  readonly sealingCerts?: ReadonlyMap<string, SealingCertificate>;
  /** true: seal in worker threads; false: on this thread; default: decided by the number of tenants to seal */
  readonly parallel?: boolean;
  /** how the certificate source is named in diagnostics (e.g. the --source-file path) */
  readonly sourceLabel?: string;
  /**
   * How many tenant folders this render may delete (--max-removals, --allow-removals); default: the
   * limit of removal-policy.ts. Whatever is given, nothing is removed while tenants/ has problems.
   */
  readonly removals?: RemovalLimit;
  /**
   * Told how far a long render is (reading the committed tree, sealing, writing), at most every
   * PROGRESS_INTERVAL_MS per phase and always at a phase's end; see src/cli/progress.ts.
   */
  readonly onProgress?: (p: RenderProgress) => void;
}

/** How far one phase of a render is: `done` of `total` tenant folders (read, sealed, written). */
export interface RenderProgress {
  readonly phase: "read" | "seal" | "write";
  readonly done: number;
  readonly total: number;
}

/** Tenant folders written at once: enough to hide syscall latency, few enough for fd limits. */
const WRITE_CONCURRENCY = 16;

export const PROGRESS_INTERVAL_MS = 100;

/** Passes on the first report of a phase, its end, and otherwise at most one per PROGRESS_INTERVAL_MS. */
export function throttled(report: (p: RenderProgress) => void, clock: () => number = () => performance.now()): (p: RenderProgress) => void {
  let phase: RenderProgress["phase"] | undefined;
  let last = 0;
  return (p) => {
    const t = clock();
    if (p.phase !== phase || p.done >= p.total || t - last >= PROGRESS_INTERVAL_MS) {
      phase = p.phase;
      last = t;
      report(p);
    }
  };
}

export interface RenderChange {
  readonly tenant: string;
  /** "" for a held tenant that has no output anywhere */
  readonly cluster: string;
  readonly kind: ChangeKind;
  /** several certificates: the certificate the tenant is sealed with (absent for held and removed ones without one) */
  readonly certificate?: string;
}

export interface RenderResult {
  readonly diagnostics: Diagnostic[];
  /** one entry per tenant folder, sorted by cluster then tenant */
  readonly changes: RenderChange[];
  readonly leaf: CertFacts;
  /** several certificates: each one's leaf, by name */
  readonly leaves?: ReadonlyMap<string, CertFacts>;
  /** repository-relative paths written and removed */
  readonly files: WriteCounts;
}

/**
 * Each cluster's sealing certificate (the caller's first, else the committed file), or a diagnostic
 * saying why its tenants are held.
 */
function sealingCertsOf(
  config: WildsealConfig,
  read: RepositoryInputs["sealing"],
  given: ReadonlyMap<string, SealingCertificate> | undefined,
): { certs: Map<string, SealingCertificate>; diagnostics: Diagnostic[] } {
  const certs = new Map<string, SealingCertificate>();
  const diagnostics: Diagnostic[] = [];
  for (const cluster of config.clusters) {
    const provided = given?.get(cluster.name);
    if (provided !== undefined) {
      certs.set(cluster.name, provided);
      continue;
    }
    const r = read.get(cluster.name);
    if (cluster.sealing.kind === "controller") {
      diagnostics.push({
        path: "wildseal.yaml",
        line: 1,
        col: 1,
        message: `cluster ${cluster.name} takes its sealing certificate from controller ${cluster.sealing.namespace}/${cluster.sealing.name}, which render does not contact: fetch it into a sealingCert file, or use wildseal sync; its tenants were left as they are`,
        reason: "sealing-certificate",
      });
      continue;
    }
    if (r === undefined || r.kind === "given" || r.kind === "controller") {
      throw new Error(`render: cluster ${cluster.name}'s sealing certificate was neither given nor read`);
    }
    if (r.kind === "read") certs.set(cluster.name, r.cert);
    else if (r.kind === "invalid") diagnostics.push(...r.diagnostics);
    else {
      diagnostics.push({
        path: r.path,
        line: 1,
        col: 1,
        message: `cluster ${cluster.name}'s sealing certificate is missing: fetch it (kubeseal --fetch-cert > ${r.path}); its tenants were left as they are`,
        reason: "sealing-certificate",
      });
    }
  }
  return { certs, diagnostics };
}

function hostGates(model: RepositoryModel, leaf: CertFacts): Map<string, Diagnostic[]> {
  const gates = new Map<string, Diagnostic[]>();
  for (const t of model.tenants) {
    const problems = checkHostsCovered([t], leaf, model.locate);
    if (problems.length > 0) gates.set(t.name, problems);
  }
  return gates;
}

function summarize(plan: Plan, certificateOf?: ReadonlyMap<string, string>): RenderChange[] {
  const changes = plan.tenants.map((p: TenantPlan) => {
    const tenant = typeof p.tenant === "string" ? p.tenant : p.tenant.name;
    const certificate = p.kind === "prune" ? undefined : certificateOf?.get(tenant);
    return { tenant, cluster: p.cluster ?? "", kind: changeKind(p), ...(certificate === undefined ? {} : { certificate }) };
  });
  return changes.sort((a, b) => (a.cluster === b.cluster ? cmp(a.tenant, b.tenant) : cmp(a.cluster, b.cluster)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Loads the repository (repository-inputs.ts) and renders it. */
export async function renderRepository(opts: RenderOptions): Promise<RenderResult> {
  const now = opts.now ?? new Date();
  const inputs = await loadRepositoryInputs(opts.repoDir, {
    now,
    committedTree: true,
    ...(opts.onProgress === undefined ? {} : { onProgress: throttled(opts.onProgress) }),
    ...(opts.sealingCerts === undefined ? {} : { givenSealingCerts: new Set(opts.sealingCerts.keys()) }),
  });
  return renderInputs(inputs, opts);
}

/**
 * Renders what loadRepositoryInputs (with `committedTree`) read from `opts.repoDir`: a caller that
 * needs the model too (sync's pull request) loads once and keeps `inputs`.
 */
export async function renderInputs(inputs: RepositoryInputs, opts: RenderOptions): Promise<RenderResult> {
  const { tls } = opts;
  const now = opts.now ?? new Date();
  const files: WriteCounts = { written: [], removed: [] };
  const { model, templates } = inputs;
  const diagnostics: Diagnostic[] = [...model.diagnostics, ...templates.diagnostics];
  const config = model.config;
  if (config === undefined) return { diagnostics, changes: [], leaf: tls.leaf, files };

  const existing: ExistingTree = inputs.existing ?? (await readExistingTree(opts.repoDir, config.output));
  if (templates.diagnostics.length > 0) {
    const plan = holdEverything(existing, []);
    return { diagnostics, changes: summarize(plan), leaf: tls.leaf, files };
  }
  const sealing = sealingCertsOf(config, inputs.sealing, opts.sealingCerts);
  diagnostics.push(...sealing.diagnostics);

  const several = severalOf(config, model, opts);
  if (several.kind === "missing") {
    diagnostics.push(several.diagnostic);
    return { diagnostics, changes: summarize(holdEverything(existing, [])), leaf: tls.leaf, files };
  }
  const plan = planRender({
    output: config.output,
    clusters: config.clusters.map((c) => c.name),
    tenants: model.tenants,
    invalidTenants: model.invalid.map((t) => t.name),
    templates: templates.templates,
    ...certificateMaterial(tls, opts.sourceLabel ?? "certificate source"),
    sealingCertSha256: new Map([...sealing.certs].map(([c, cert]) => [c, cert.sha256])),
    gates: several.kind === "several" ? several.gates : hostGates(model, tls.leaf),
    ...(several.kind === "several" ? { several: several.several } : config.certificates[0] === undefined ? {} : { certificateName: config.certificates[0].name }),
    existing,
    objectPolicy: objectPolicyOf(config),
    removals: model.tenantSet === "incomplete" ? { kind: "held" } : (opts.removals ?? DEFAULT_REMOVAL_LIMIT),
    now,
  });
  diagnostics.push(...plan.diagnostics);
  if (several.kind === "several") {
    await applySeveral(opts, config.output, plan, existing, sealing.certs, now, files, several);
    const leaves = new Map([...several.several.materials].map(([name, m]) => [name, m.leaf]));
    return { diagnostics, changes: summarize(plan, several.several.certificateOf), leaf: tls.leaf, leaves, files };
  }
  await applyPlan(opts, config.output, plan, existing, sealing.certs, now, files);
  return { diagnostics, changes: summarize(plan), leaf: tls.leaf, files };
}

/** What planning needs of a certificate: its leaf, the fingerprints its sealed inputs include, how diagnostics name its source. */
function certificateMaterial(tls: TlsMaterial, sourceLabel: string): CertificateMaterial {
  const crt = tls.secret.data.get("tls.crt");
  return {
    leaf: tls.leaf,
    chainSha256: createHash("sha256").update(crt?.reveal() ?? Buffer.alloc(0)).digest("hex"),
    ...(tls.ca === undefined ? {} : { caSha256: createHash("sha256").update(tls.ca).digest("hex") }),
    sourceLabel,
  };
}

type Several =
  | { readonly kind: "one" }
  | { readonly kind: "missing"; readonly diagnostic: Diagnostic }
  | {
      readonly kind: "several";
      readonly several: SeveralCertificates;
      readonly gates: Map<string, Diagnostic[]>;
      readonly tls: ReadonlyMap<string, TlsMaterial>;
    };

/**
 * With spec.certificates of more than one entry: every certificate's material (all are needed to
 * choose: a tenant covered by one given certificate may be covered by a missing one too), and each
 * tenant's choice; refused tenants are held with their diagnostics.
 */
function severalOf(config: WildsealConfig, model: RepositoryModel, opts: RenderOptions): Several {
  if (config.certificates.length <= 1) return { kind: "one" };
  const given = opts.certificates ?? new Map<string, { readonly tls: TlsMaterial; readonly label: string }>();
  const names = config.certificates.map((c) => c.name);
  const unknown = [...given.keys()].filter((n) => !names.includes(n));
  // the whole render depends on every certificate: refused as one problem of wildseal.yaml
  const refuse = (message: string): Several => ({ kind: "missing", diagnostic: { path: "wildseal.yaml", line: 1, col: 1, message, reason: "invalid-input" } });
  if (unknown.length > 0) {
    return refuse(`certificate ${unknown.join(", ")} was given, but wildseal.yaml lists ${names.join(", ")}: give --source-file NAME=PATH with those names; nothing was rendered`);
  }
  const missing = config.certificates.filter((c) => !given.has(c.name)).map((c) => c.name);
  if (missing.length > 0) {
    return refuse(
      `wildseal.yaml lists ${config.certificates.length} certificates and ${missing.join(", ")} ${missing.length === 1 ? "was" : "were"} not given: give each one (--source-file NAME=PATH); nothing was rendered`,
    );
  }
  const materials = new Map<string, CertificateMaterial>();
  const tls = new Map<string, TlsMaterial>();
  for (const c of config.certificates) {
    const g = given.get(c.name);
    if (g === undefined) continue;
    tls.set(c.name, g.tls);
    materials.set(c.name, certificateMaterial(g.tls, g.label));
  }
  const sans: CertificateSans[] = config.certificates.map((c) => ({ name: c.name, dnsNames: materials.get(c.name)?.leaf.dnsNames ?? [] }));
  const gates = new Map<string, Diagnostic[]>();
  const certificateOf = new Map<string, string>();
  for (const [tenant, choice] of chooseCertificates(model.tenants, sans, model.locate)) {
    if (choice.kind === "assigned") certificateOf.set(tenant, choice.certificate);
    else gates.set(tenant, [...choice.diagnostics]);
  }
  return { kind: "several", several: { materials, certificateOf }, gates, tls };
}

/**
 * applyPlan once per certificate, each with its tenants and its shared bases (`_shared/<certificate>/`)
 * only: a renewal of one certificate seals only its tenants and its bases, since the others'
 * fingerprints (sealed-inputs) did not change. Bases no folder uses any more go after every pass.
 */
async function applySeveral(
  opts: RenderOptions,
  output: string,
  plan: Plan,
  existing: ExistingTree,
  certs: ReadonlyMap<string, SealingCertificate>,
  now: Date,
  files: WriteCounts,
  several: Extract<Several, { kind: "several" }>,
): Promise<void> {
  const certOf = (p: TenantPlan): string | undefined =>
    p.kind === "seal" || p.kind === "rewrite" ? several.several.certificateOf.get(p.tenant.name) : p.kind === "shared" ? p.certificate : undefined;
  const first = several.tls.keys().next().value;
  for (const [name, tls] of several.tls) {
    // the first pass also writes the indexes and prunes; the others write their tenants' folders only
    const mine: Plan = {
      ...plan,
      tenants: plan.tenants.filter((p) => (p.kind === "seal" || p.kind === "rewrite" || p.kind === "shared" ? certOf(p) === name : name === first && p.kind === "prune")),
      indexes: name === first ? plan.indexes : [],
      shared: plan.shared.filter((s) => s.kind !== "remove" && s.kind !== "remove-all" && s.certificate === name),
    };
    await applyPlan({ ...opts, tls }, output, mine, existing, certs, now, files);
  }
  await removeUnusedShared(opts.repoDir, output, plan, existing, files);
}

async function applyPlan(
  opts: RenderOptions,
  output: string,
  plan: Plan,
  existing: ExistingTree,
  certs: ReadonlyMap<string, SealingCertificate>,
  now: Date,
  files: WriteCounts,
): Promise<void> {
  const { repoDir, tls } = opts;
  const toSeal = plan.tenants.filter((p): p is Extract<TenantPlan, { kind: "seal" }> => p.kind === "seal");
  const items = new Map<string, Buffer>();
  // ca.crt only when validation kept it (present and not empty): an empty one is no CA to deliver
  for (const name of sealedItemsOf(tls.ca !== undefined)) {
    const v = tls.secret.data.get(name);
    if (v === undefined) throw new InvalidInputError(`the source Secret has no ${name}`);
    items.set(name, v.reveal());
  }
  const progress = opts.onProgress === undefined ? undefined : throttled(opts.onProgress);
  const sealed = await sealJobs(
    { jobs: toSeal.map((p) => ({ cluster: p.cluster, target: p.target })), certs, items, now },
    opts.parallel,
    progress === undefined ? undefined : (done, total) => progress({ phase: "seal", done, total }),
  );
  // shared layout (apply-shared.ts): each cluster's _shared/ and the tenant folders that reuse it
  await writeSharedPlans(repoDir, output, plan, existing, certs, items, now, files);

  const existingTenant = (cluster: string, tenant: string) => existing.get(cluster)?.tenants.get(tenant);
  // Tenant folders first, then the indexes that list them, then what is pruned. Folders are written
  // a bounded number at a time (each is a few small files: the time is syscall latency); what each
  // wrote is merged in plan order, so `files` does not depend on which write finished first.
  const folders: { readonly p: Extract<TenantPlan, { kind: "seal" | "rewrite" }>; readonly i: number }[] = [
    ...toSeal.map((p, i) => ({ p, i })),
    ...plan.tenants.flatMap((p) => (p.kind === "rewrite" ? [{ p, i: -1 }] : [])),
  ];
  let written = 0;
  const counts = await mapLimit(folders, WRITE_CONCURRENCY, async ({ p, i }) => {
    const mine: WriteCounts = { written: [], removed: [] };
    const tenantFiles = p.kind === "seal" ? filesAfterSealing(p, sealed[i] ?? {}) : p.files;
    await writeTenantFolder(repoDir, output, p.cluster, p.tenant.name, tenantFiles, existingTenant(p.cluster, p.tenant.name), mine);
    progress?.({ phase: "write", done: ++written, total: folders.length });
    return mine;
  });
  for (const c of counts) {
    files.written.push(...c.written);
    files.removed.push(...c.removed);
  }
  for (const ix of plan.indexes) if (ix.kind === "write") await writeClusterIndex(repoDir, output, ix.cluster, ix.text, files);
  for (const p of plan.tenants) if (p.kind === "prune") await removeFolder(repoDir, output, p.cluster, p.tenant, files);
  for (const ix of plan.indexes) if (ix.kind === "delete-cluster") await removeFolder(repoDir, output, ix.cluster, undefined, files);
  await removeUnusedShared(repoDir, output, plan, existing, files); // shared layout: bases no folder uses any more
}
