import type { Diagnostic } from "../errors.ts";
import type { ObjectPolicy, Tenant } from "../model/types.ts";
import type { SealTarget } from "../seal/hybrid.ts";
import type { CertFacts } from "../tls/types.ts";
import { checkRenderedObject } from "./object-policy.ts";
import type { PlaceholderContext } from "./placeholders.ts";
import {
  ANNOTATION,
  finishSealedSecret,
  readCommittedSealedSecret,
  sealedInputsSha256,
  sealedItemsOf,
} from "./sealed-secret-document.ts";
import type { CommittedSealedSecret } from "./sealed-secret-document.ts";
import { rfc3339 } from "../rfc3339.ts";
import { instantiateTemplate } from "./template.ts";
import type { Template } from "./template.ts";
import { decideRemovals } from "./removal-policy.ts";
import type { Removal, RemovalPolicy } from "./removal-policy.ts";
import { clusterIndex, tenantFiles } from "./tree.ts";
import {
  SHARED_FILE,
  SHARED_TARGET,
  committedSharedBase,
  sharedBaseFolder,
  sharedBaseUsedBy,
  sharedFiles,
  sharedSealedSecret,
  sharedTenantFiles,
} from "./shared-layout.ts";
import type { SharedBase } from "./shared-layout.ts";
import type { RenderedDocument } from "./tree.ts";

/**
 * The plan (pure): from the model, the certificate facts and the tree as committed, decide per
 * tenant what happens. Nothing here reads a file, seals or writes.
 *
 * keep    — the desired bytes equal the committed bytes: nothing is written (sealing is randomized,
 *           so re-sealing unchanged inputs would churn Git for nothing).
 * rewrite — only non-secret content changed (a template, a label, a value) and the committed
 *           ciphertext is still bound to exactly what would be sealed now (same sealed-inputs hash):
 *           the files are rewritten with the existing encryptedData.
 * seal    — new tenant, new leaf (renew), new sealing certificate (reseal), or new name/namespace/
 *           scope (update): seal, then write.
 * prune   — a folder whose tenant is gone: delete it, when the removal policy allows (see
 *           removal-policy.ts); otherwise the folder is held.
 * hold    — the tenant file is invalid, or a gate failed: its committed output stays exactly as it is
 *           (never pruned: pruning would delete a live Secret).
 * shared  — a tenant of a shared-layout cluster (shared-layout.ts): its folder holds no ciphertext
 *           and is written only when it differs; its change follows the shared SealedSecret it reuses,
 *           which is planned once per cluster — per (cluster, certificate) with several certificates —
 *           (SharedPlan: keep / rewrite / seal, hold while only held folders use it, remove when no
 *           folder does).
 */

export type ChangeKind = "add" | "update" | "renew" | "reseal" | "remove" | "keep" | "hold";

/** The changes that seal a tenant with its certificate: those a commit's Wildseal-Certificate and a PR's certificate rows count. */
export const SEALING_CHANGES: ReadonlySet<ChangeKind> = new Set<ChangeKind>(["add", "update", "renew", "reseal"]);

export type TenantPlan =
  | { readonly kind: "keep"; readonly cluster: string; readonly tenant: Tenant }
  | { readonly kind: "rewrite"; readonly cluster: string; readonly tenant: Tenant; readonly files: ReadonlyMap<string, string> }
  | {
      readonly kind: "seal";
      readonly cluster: string;
      readonly tenant: Tenant;
      readonly change: "add" | "renew" | "reseal" | "update";
      readonly target: SealTarget;
      /** documents with the SealedSecret's encryptedData still empty; see `filesAfterSealing` */
      readonly documents: readonly RenderedDocument[];
      readonly sealedDocument: number;
    }
  | {
      readonly kind: "shared";
      readonly cluster: string;
      readonly tenant: Tenant;
      /** the base its folder reuses (shared-layout.ts): undefined for `_shared/`, else `_shared/<certificate>/` */
      readonly certificate: SharedBase;
      /** "renew"/"reseal"/"update" when its cluster's shared SealedSecret is sealed again, though the folder may stay */
      readonly change: "add" | "update" | "renew" | "reseal" | "keep";
      /** the folder's files when they differ from the committed ones; undefined: left byte for byte */
      readonly write: ReadonlyMap<string, string> | undefined;
    }
  | { readonly kind: "prune"; readonly cluster: string; readonly tenant: string }
  | { readonly kind: "hold"; readonly cluster: string | undefined; readonly tenant: string; readonly diagnostics: readonly Diagnostic[] };

/**
 * One shared base of a cluster (shared-layout.ts): `_shared/` (`certificate` undefined), or
 * `_shared/<certificate>/` with several certificates. Bases neither committed nor wanted have no entry.
 */
export type SharedPlan =
  | { readonly kind: "keep"; readonly cluster: string; readonly certificate: SharedBase }
  | { readonly kind: "rewrite"; readonly cluster: string; readonly certificate: SharedBase; readonly files: ReadonlyMap<string, string> }
  | {
      readonly kind: "seal";
      readonly cluster: string;
      readonly certificate: SharedBase;
      readonly change: "add" | "renew" | "reseal" | "update";
      readonly target: SealTarget;
      /** the shared SealedSecret with encryptedData still empty; see `sharedFilesAfterSealing` */
      readonly document: Record<string, unknown>;
    }
  /** only held tenant folders use it (or its sealing or TLS certificate can not be used now): left as it is */
  | { readonly kind: "hold"; readonly cluster: string; readonly certificate: SharedBase }
  /**
   * no tenant folder uses it any more, while another base of the cluster stays: `_shared/<certificate>/`
   * goes, or (`certificate` undefined) the files directly in `_shared/`
   */
  | { readonly kind: "remove"; readonly cluster: string; readonly certificate: SharedBase }
  /** no tenant folder uses any base of the cluster: `_shared/` goes as a whole */
  | { readonly kind: "remove-all"; readonly cluster: string };

export type IndexPlan =
  | { readonly kind: "write"; readonly cluster: string; readonly text: string }
  | { readonly kind: "delete-cluster"; readonly cluster: string };

export interface Plan {
  readonly tenants: readonly TenantPlan[];
  /** per cluster that has or needs a `_shared/` folder */
  readonly shared: readonly SharedPlan[];
  /** only the indexes that change */
  readonly indexes: readonly IndexPlan[];
  readonly diagnostics: readonly Diagnostic[];
}

export interface ExistingTenantOutput {
  /** file name → bytes, as committed */
  readonly files: ReadonlyMap<string, Buffer>;
}

export interface ExistingClusterOutput {
  readonly index: Buffer | undefined;
  readonly tenants: ReadonlyMap<string, ExistingTenantOutput>;
  /**
   * The files directly in `_shared/` (the one-certificate base), when the cluster folder has
   * `_shared/` and either files in it or no certificate bases (an empty `_shared/` is one to remove)
   */
  readonly shared?: ExistingTenantOutput;
  /** `_shared/<certificate>/` (several certificates' bases), by certificate name */
  readonly sharedCertificates?: ReadonlyMap<string, ExistingTenantOutput>;
}

/** cluster folder → its committed content */
export type ExistingTree = ReadonlyMap<string, ExistingClusterOutput>;

export interface PlanInput {
  /** output folder, repository-relative (for diagnostic paths) */
  readonly output: string;
  readonly clusters: readonly string[];
  /** valid tenants */
  readonly tenants: readonly Tenant[];
  /** names of tenant files that failed validation: held wherever they have output */
  readonly invalidTenants: readonly string[];
  readonly templates: readonly Template[];
  readonly leaf: CertFacts;
  /** hex SHA-256 of the tls.crt bytes (the whole chain): public */
  readonly chainSha256: string;
  /** hex SHA-256 of the source's ca.crt, when it has one (then ca.crt is sealed too) */
  readonly caSha256?: string;
  /** cluster → SHA-256 of its sealing certificate; absent when it could not be read (its tenants are held) */
  readonly sealingCertSha256: ReadonlyMap<string, string>;
  /** tenant name → problems found by other checks (e.g. hosts not covered): such a tenant is held */
  readonly gates: ReadonlyMap<string, readonly Diagnostic[]>;
  readonly existing: ExistingTree;
  /** what rendered objects may reach beyond the tenant's namespace (spec.policy, see object-policy.ts) */
  readonly objectPolicy: ObjectPolicy;
  /** whether folders of tenants that are gone may be deleted in this render */
  readonly removals: RemovalPolicy;
  readonly now: Date;
  /** how the certificate source is named in diagnostics */
  readonly sourceLabel: string;
  /**
   * One certificate: its name (spec.certificates[0].name, `default` for spec.source). Committed
   * SealedSecrets naming it (left from several certificates) count, for downgrades, as its output;
   * those naming another certificate do not.
   */
  readonly certificateName?: string;
  /**
   * Several certificates (spec.certificates): each tenant's certificate and every certificate's
   * material. Then `leaf`, `chainSha256` and `caSha256` are unused, and a tenant is compared, for
   * downgrades, only with committed SealedSecrets its certificate sealed (their
   * `wildseal.dev/certificate`): the others' notAfter says nothing about its source, even where a
   * tenant that moved to another certificate still has one. Absent: one certificate for every tenant.
   */
  readonly several?: SeveralCertificates;
}

/** What planTenant needs of one certificate. */
export interface CertificateMaterial {
  readonly leaf: CertFacts;
  readonly chainSha256: string;
  readonly caSha256?: string;
  /** how the certificate's source is named in diagnostics (its --source-file path) */
  readonly sourceLabel: string;
}

export interface SeveralCertificates {
  /** certificate name → its material */
  readonly materials: ReadonlyMap<string, CertificateMaterial>;
  /** tenant name → certificate name, for every tenant not gated */
  readonly certificateOf: ReadonlyMap<string, string>;
}

/**
 * The certificate a tenant or a shared base is sealed with, by name (sharedBaseOfTenant): the render's
 * one, or the named one of several. Undefined when there is none, or it expired: what it would seal is
 * held (planRender reports the expiry once).
 */
function usableMaterial(certificate: string | undefined, input: PlanInput): CertificateMaterial | undefined {
  const material =
    input.several === undefined
      ? { leaf: input.leaf, chainSha256: input.chainSha256, sourceLabel: input.sourceLabel, ...(input.caSha256 === undefined ? {} : { caSha256: input.caSha256 }) }
      : certificate === undefined
        ? undefined
        : input.several.materials.get(certificate);
  return material === undefined || material.leaf.notAfter.getTime() <= input.now.getTime() ? undefined : material;
}

export function placeholderContext(tenant: Tenant, leaf: CertFacts): PlaceholderContext {
  return {
    tenant: {
      name: tenant.name,
      namespace: tenant.namespace,
      hosts: [...tenant.hosts],
      secretName: tenant.secretName,
      cluster: tenant.cluster,
    },
    values: tenant.values,
    certNotAfter: rfc3339(leaf.notAfter),
  };
}

function sealedTemplate(templates: readonly Template[]): Template {
  const t = templates.find((x) => x.sealedSecret);
  if (t === undefined) throw new Error("render: the template set has no SealedSecret template (validateTemplates guarantees one)");
  return t;
}

function sameFiles(desired: ReadonlyMap<string, string>, existing: ExistingTenantOutput | undefined): boolean {
  if (existing === undefined || existing.files.size !== desired.size) return false;
  for (const [name, text] of desired) {
    const have = existing.files.get(name);
    if (have === undefined || !have.equals(Buffer.from(text, "utf8"))) return false;
  }
  return true;
}

/** Everything is held: used when the config, the templates or the certificate make any output unsafe. */
export function holdEverything(existing: ExistingTree, diagnostics: readonly Diagnostic[]): Plan {
  const tenants: TenantPlan[] = [];
  for (const [cluster, c] of existing) for (const name of c.tenants.keys()) tenants.push({ kind: "hold", cluster, tenant: name, diagnostics: [] });
  return { tenants, shared: [], indexes: [], diagnostics };
}

export function planRender(input: PlanInput): Plan {
  const { leaf, now } = input;
  if (input.several === undefined && leaf.notAfter.getTime() <= now.getTime()) {
    return holdEverything(input.existing, [
      {
        path: input.sourceLabel,
        line: 1,
        col: 1,
        message: `the certificate expired at ${rfc3339(leaf.notAfter)}; nothing was published: fix the issuer (cert-manager) and render again`,
        reason: "expired",
      },
    ]);
  }
  const diagnostics: Diagnostic[] = [];
  // several certificates: an expired one holds its tenants only, said once
  for (const m of input.several?.materials.values() ?? []) {
    if (m.leaf.notAfter.getTime() > now.getTime()) continue;
    diagnostics.push({
      path: m.sourceLabel,
      line: 1,
      col: 1,
      message: `the certificate expired at ${rfc3339(m.leaf.notAfter)}; its tenants were left as they are: fix the issuer (cert-manager) and render again`,
      reason: "expired",
    });
  }
  const plans: TenantPlan[] = [];
  const held = new Set<string>(input.invalidTenants);
  const desired = new Map<string, Set<string>>(input.clusters.map((c) => [c, new Set<string>()]));
  const committed = readCommittedTree(input);
  // one base per cluster, or per (cluster, certificate): what its shared tenants reuse
  const wantedShared = new Map<string, SharedPlan>();
  for (const t of input.tenants) {
    if (t.layout !== "shared") continue;
    const certificate = sharedBaseOfTenant(t, input);
    if (input.several !== undefined && certificate === undefined) continue; // no certificate: held with its gate
    const key = baseKey(t.cluster, certificate);
    if (!wantedShared.has(key)) wantedShared.set(key, planShared(t.cluster, certificate, input, committed));
  }

  for (const tenant of input.tenants) {
    const plan = planTenant(tenant, input, committed, wantedShared);
    if (plan.kind === "hold") {
      held.add(tenant.name);
      diagnostics.push(...plan.diagnostics);
      if (input.existing.get(tenant.cluster)?.tenants.has(tenant.name)) desired.get(tenant.cluster)?.add(tenant.name);
    } else {
      desired.get(tenant.cluster)?.add(tenant.name);
    }
    plans.push(plan);
  }

  const validNames = new Set(input.tenants.map((t) => t.name));
  for (const name of input.invalidTenants) {
    const where = [...input.existing].filter(([, c]) => c.tenants.has(name)).map(([cluster]) => cluster);
    if (where.length === 0) plans.push({ kind: "hold", cluster: undefined, tenant: name, diagnostics: [] });
    for (const cluster of where) plans.push({ kind: "hold", cluster, tenant: name, diagnostics: [] });
  }

  // Prune folders of tenants that are gone or moved; keep every folder of a held tenant.
  const keepListed = (cluster: string, name: string): void => {
    // a held folder on another cluster (or a cluster no longer configured) stays listed
    let set = desired.get(cluster);
    if (set === undefined) desired.set(cluster, (set = new Set()));
    set.add(name);
  };
  const removals: Removal[] = [];
  let liveFolders = 0;
  for (const [cluster, c] of input.existing) {
    for (const name of c.tenants.keys()) {
      liveFolders++;
      const wanted = desired.get(cluster)?.has(name) ?? false;
      if (wanted) continue;
      if (held.has(name)) {
        keepListed(cluster, name);
        if (validNames.has(name)) plans.push({ kind: "hold", cluster, tenant: name, diagnostics: [] });
        continue;
      }
      removals.push({ cluster, tenant: name });
    }
  }
  const decision = decideRemovals(removals, input.removals, liveFolders);
  for (const r of removals) {
    if (decision.kind === "remove") {
      plans.push({ kind: "prune", ...r });
    } else {
      keepListed(r.cluster, r.tenant);
      plans.push({ kind: "hold", ...r, diagnostics: [] });
    }
  }
  if (decision.kind === "hold") diagnostics.push(decision.diagnostic);
  const shared = finishSharedPlans(input, plans, wantedShared);

  const indexes: IndexPlan[] = [];
  for (const [cluster, names] of desired) {
    const text = clusterIndex(names);
    const have = input.existing.get(cluster)?.index;
    if (have === undefined || !have.equals(Buffer.from(text, "utf8"))) indexes.push({ kind: "write", cluster, text });
  }
  for (const cluster of input.existing.keys()) {
    if (!desired.has(cluster)) indexes.push({ kind: "delete-cluster", cluster });
  }
  return { tenants: plans, shared, indexes, diagnostics };
}

/** A tenant's certificate with several (undefined: none was chosen), and so the base it reuses in the shared layout; undefined with one certificate (`_shared/`). */
function sharedBaseOfTenant(tenant: Tenant, input: PlanInput): SharedBase {
  return input.several === undefined ? undefined : input.several.certificateOf.get(tenant.name);
}

/** Map key of a base: cluster names are DNS labels, so `/` separates unambiguously. */
function baseKey(cluster: string, certificate: SharedBase): string {
  return certificate === undefined ? cluster : `${cluster}/${certificate}`;
}

/**
 * What happens to each shared base of each cluster: as planned while a tenant of the cluster reuses it
 * in this render; kept exactly while only folders left as they are (held) reference it — pruning it
 * would break their Secrets; removed once no folder does. When no base of a cluster stays, `_shared/`
 * goes as a whole (one entry, as before there were several certificates).
 */
function finishSharedPlans(input: PlanInput, plans: readonly TenantPlan[], wanted: ReadonlyMap<string, SharedPlan>): SharedPlan[] {
  const bases = new Map<string, Map<string, SharedBase>>();
  const note = (cluster: string, certificate: SharedBase): void => {
    let m = bases.get(cluster);
    if (m === undefined) bases.set(cluster, (m = new Map()));
    m.set(baseKey(cluster, certificate), certificate);
  };
  for (const p of wanted.values()) if (p.kind !== "remove-all") note(p.cluster, p.certificate);
  for (const [cluster, c] of input.existing) {
    if (c.shared !== undefined) note(cluster, undefined);
    for (const certificate of c.sharedCertificates?.keys() ?? []) note(cluster, certificate);
  }
  const out: SharedPlan[] = [];
  for (const cluster of [...bases.keys()].sort()) {
    const mine = plans.filter((p) => p.cluster === cluster);
    const folders = input.existing.get(cluster)?.tenants;
    const reusedNow = new Set(mine.flatMap((p) => (p.kind === "shared" ? [baseKey(cluster, p.certificate)] : [])));
    const reusedByHeld = new Set(
      mine.flatMap((p) => {
        if (p.kind !== "hold") return [];
        const used = sharedBaseUsedBy(folders?.get(p.tenant)?.files ?? new Map());
        return used === undefined ? [] : [baseKey(cluster, used.certificate)];
      }),
    );
    const committed = input.existing.get(cluster);
    const decided: SharedPlan[] = [];
    // the one-certificate base (key: the cluster alone) first, then certificates by name
    for (const [key, certificate] of [...(bases.get(cluster) ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const plan = wanted.get(key);
      if (plan !== undefined && reusedNow.has(key)) decided.push(plan);
      else if (reusedByHeld.has(key)) decided.push({ kind: "hold", cluster, certificate });
      else if (committedSharedBase(committed, certificate) !== undefined) decided.push({ kind: "remove", cluster, certificate });
    }
    if (decided.length > 0 && decided.every((d) => d.kind === "remove")) out.push({ kind: "remove-all", cluster });
    else out.push(...decided);
  }
  return out;
}

/** One shared SealedSecret, as planTenant plans a tenant's own: keep, rewrite around the ciphertext, or seal. */
function planShared(cluster: string, certificate: SharedBase, input: PlanInput, tree: CommittedTree): SharedPlan {
  const sealingSha = input.sealingCertSha256.get(cluster);
  if (sealingSha === undefined) return { kind: "hold", cluster, certificate };
  // no usable certificate: its tenants are held too
  const material = usableMaterial(certificate, input);
  if (material === undefined) return { kind: "hold", cluster, certificate };
  const { leaf } = material;
  const existing = input.existing.get(cluster);
  const existingBase = committedSharedBase(existing, certificate);
  const committed = tree.shared.get(baseKey(cluster, certificate));
  const key = certificateKeyOfBase(certificate);
  const own = tree.sealedBy.get(committed) === key ? notAfterOf(committed, sharedPath(input.output, cluster, certificate)) : undefined;
  const newest = tree.newestOf.get(key);
  const reference = own !== undefined && (newest === undefined || own.time >= newest.time) ? own : newest;
  // no diagnostic here: each tenant reusing it reports the downgrade itself (and is held)
  if (reference !== undefined && leaf.notAfter.getTime() < reference.time) return { kind: "hold", cluster, certificate };

  const inputsSha = sealedInputsSha256({
    chainSha256: material.chainSha256,
    leafSha256: leaf.sha256,
    sealingCertSha256: sealingSha,
    scope: SHARED_TARGET.scope,
    namespace: SHARED_TARGET.namespace,
    secretName: SHARED_TARGET.name,
    caSha256: material.caSha256,
  });
  const facts = { leaf, sealingCertSha256: sealingSha, sealedInputsSha256: inputsSha, certificate };
  const reusable = reusableCiphertext(committed, inputsSha, sealedItemsOf(material.caSha256 !== undefined));
  if (reusable !== undefined) {
    const files = sharedFiles(sharedSealedSecret({ ...facts, encryptedData: reusable }), certificate);
    return sameFiles(files, existingBase) ? { kind: "keep", cluster, certificate } : { kind: "rewrite", cluster, certificate, files };
  }
  const was = committed?.annotations;
  const change =
    existingBase === undefined
      ? "add"
      : was?.[ANNOTATION.certSha256] !== undefined && was[ANNOTATION.certSha256] !== leaf.sha256
        ? "renew"
        : was?.[ANNOTATION.sealingCertSha256] !== undefined && was[ANNOTATION.sealingCertSha256] !== sealingSha
          ? "reseal"
          : "update";
  return { kind: "seal", cluster, certificate, change, target: SHARED_TARGET, document: sharedSealedSecret({ ...facts, encryptedData: {} }) };
}

function sharedPath(output: string, cluster: string, certificate: SharedBase): string {
  return `${output}/${cluster}/${sharedBaseFolder(certificate)}/${SHARED_FILE}`;
}

/** The files of a base, once its ciphertext is known. */
export function sharedFilesAfterSealing(plan: Extract<SharedPlan, { kind: "seal" }>, encryptedData: Readonly<Record<string, string>>): Map<string, string> {
  const document = structuredClone(plan.document);
  (document["spec"] as Record<string, unknown>)["encryptedData"] = { ...encryptedData };
  return sharedFiles(document, plan.certificate);
}

/** A committed certificate's notAfter annotation and where it stands. */
interface CommittedNotAfter {
  readonly was: string;
  readonly time: number;
  readonly path: string;
  readonly at: { readonly line: number; readonly col: number };
}

interface CommittedTree {
  /** committed path of a tenant's SealedSecret → what it records; parsed once per render */
  readonly sealed: ReadonlyMap<string, CommittedSealedSecret | undefined>;
  /** baseKey(cluster, certificate) → the committed shared SealedSecret of that base */
  readonly shared: ReadonlyMap<string, CommittedSealedSecret | undefined>;
  /** the certificate key (certificateKeyOf) each committed SealedSecret counts for; absent: none of this render's */
  readonly sealedBy: ReadonlyMap<CommittedSealedSecret | undefined, string>;
  /**
   * certificate key → the newest certificate it committed anywhere in the tree (any tenant's folder,
   * held, gone or moved, and any base): no tenant of it, new or old, gets an older one
   */
  readonly newestOf: ReadonlyMap<string, CommittedNotAfter>;
}

/** The key of the one certificate: names are DNS-1123 labels, never empty. */
const ONE_CERTIFICATE = "";

/** Which certificate's output a tenant is compared with: its own (several), or the one. */
function certificateKeyOf(tenant: Tenant, input: PlanInput): string | undefined {
  return input.several === undefined ? ONE_CERTIFICATE : input.several.certificateOf.get(tenant.name);
}

function certificateKeyOfBase(certificate: SharedBase): string {
  return certificate ?? ONE_CERTIFICATE;
}

/**
 * Which certificate's output a committed SealedSecret is, by its `wildseal.dev/certificate` (or, for
 * `_shared/<certificate>/`, its folder): with several certificates only files naming one count, and
 * with one certificate files naming none (all output before several certificates existed) or it.
 */
function committedCertificateKey(doc: CommittedSealedSecret, folder: SharedBase, input: PlanInput): string | undefined {
  const named = doc.annotations[ANNOTATION.certificate] ?? folder;
  if (input.several !== undefined) return named !== undefined && input.several.materials.has(named) ? named : undefined;
  return named === undefined || named === input.certificateName ? ONE_CERTIFICATE : undefined;
}

function notAfterOf(c: CommittedSealedSecret | undefined, path: string): CommittedNotAfter | undefined {
  const was = c?.annotations[ANNOTATION.certNotAfter];
  if (c === undefined || was === undefined) return undefined;
  const time = Date.parse(was);
  return Number.isNaN(time) ? undefined : { was, time, path, at: c.notAfterAt };
}

function readCommittedTree(input: PlanInput): CommittedTree {
  const sealedName = sealedTemplate(input.templates).name;
  const sealed = new Map<string, CommittedSealedSecret | undefined>();
  const shared = new Map<string, CommittedSealedSecret | undefined>();
  const sealedBy = new Map<CommittedSealedSecret | undefined, string>();
  const newestOf = new Map<string, CommittedNotAfter>();
  const note = (doc: CommittedSealedSecret | undefined, folder: SharedBase, path: string): void => {
    const key = doc === undefined ? undefined : committedCertificateKey(doc, folder, input);
    if (key === undefined) return;
    sealedBy.set(doc, key);
    const n = notAfterOf(doc, path);
    const was = newestOf.get(key);
    if (n !== undefined && (was === undefined || n.time > was.time)) newestOf.set(key, n);
  };
  for (const [cluster, c] of input.existing) {
    const bases: (readonly [SharedBase, ExistingTenantOutput])[] = [...(c.shared === undefined ? [] : [[undefined, c.shared] as const]), ...(c.sharedCertificates ?? [])];
    for (const [certificate, base] of bases) {
      const bytes = base.files.get(SHARED_FILE);
      if (bytes === undefined) continue;
      const path = sharedPath(input.output, cluster, certificate);
      const doc = readCommittedSealedSecret(bytes, path);
      shared.set(baseKey(cluster, certificate), doc);
      note(doc, certificate, path);
    }
    for (const [tenant, t] of c.tenants) {
      const bytes = t.files.get(sealedName);
      if (bytes === undefined) continue;
      const path = `${input.output}/${cluster}/${tenant}/${sealedName}`;
      const doc = readCommittedSealedSecret(bytes, path);
      sealed.set(path, doc);
      note(doc, undefined, path);
    }
  }
  return { sealed, shared, sealedBy, newestOf };
}

function planTenant(tenant: Tenant, input: PlanInput, tree: CommittedTree, shared: ReadonlyMap<string, SharedPlan>): TenantPlan {
  const hold = (diagnostics: readonly Diagnostic[]): TenantPlan => ({ kind: "hold", cluster: tenant.cluster, tenant: tenant.name, diagnostics });
  const gated = input.gates.get(tenant.name);
  if (gated !== undefined && gated.length > 0) return hold(gated);
  const sealingSha = input.sealingCertSha256.get(tenant.cluster);
  if (sealingSha === undefined) return hold([]); // the cluster's diagnostic is reported once, by the caller
  // no certificate (never without a gate), or an expired one: reported once, by planRender
  const material = usableMaterial(sharedBaseOfTenant(tenant, input), input);
  if (material === undefined) return hold([]);
  const { leaf } = material;

  const who = `tenant ${tenant.name} (${tenant.file})`;
  const ctx = placeholderContext(tenant, leaf);
  const documents: RenderedDocument[] = [];
  const problems: Diagnostic[] = [];
  let sealedDocument = -1;
  const sealedT = sealedTemplate(input.templates);
  for (const t of input.templates) {
    const r = instantiateTemplate(t, ctx, who);
    if (!r.ok) {
      problems.push(...r.diagnostics);
      continue;
    }
    if (t === sealedT) sealedDocument = documents.length;
    // namespace and object policy: an object reaching past the tenant's namespace holds the tenant
    problems.push(...checkRenderedObject(t, r.value, tenant, input.objectPolicy));
    documents.push({ name: t.name, templateFile: t.builtIn ? "the built-in SealedSecret template" : t.file, value: r.value });
  }
  if (problems.length > 0) return hold(problems);

  const existing = input.existing.get(tenant.cluster)?.tenants.get(tenant.name);
  const sealedName = sealedT.name;
  const committedPath = `${input.output}/${tenant.cluster}/${tenant.name}/${sealedName}`;
  const committed = tree.sealed.get(committedPath);

  // Compared with the tenant's own committed certificate and with the newest its certificate
  // committed anywhere in the tree, so that a stale source can not reach a new tenant (or one that
  // moved) either. A shared tenant's own is also the base it reuses on its cluster (the downgrade is
  // then reported there). Only what the same certificate sealed counts: a tenant that moved to
  // another certificate is not held because the one it left expires later.
  const key = certificateKeyOf(tenant, input);
  const sameCertificate = (doc: CommittedSealedSecret | undefined): boolean => key !== undefined && tree.sealedBy.get(doc) === key;
  const ownFile = sameCertificate(committed) ? notAfterOf(committed, committedPath) : undefined;
  const baseCertificate = sharedBaseOfTenant(tenant, input);
  const committedBase = tenant.layout === "shared" ? tree.shared.get(baseKey(tenant.cluster, baseCertificate)) : undefined;
  const ownBase = sameCertificate(committedBase) ? notAfterOf(committedBase, sharedPath(input.output, tenant.cluster, baseCertificate)) : undefined;
  const own = ownBase !== undefined && (ownFile === undefined || ownBase.time >= ownFile.time) ? ownBase : ownFile;
  const newest = key === undefined ? undefined : tree.newestOf.get(key);
  const reference = own !== undefined && (newest === undefined || own.time >= newest.time) ? own : newest;
  const downgrade = checkNotOlder(reference, leaf, tenant.name);
  if (downgrade !== undefined) return hold([downgrade]);

  const inputsSha = sealedInputsSha256({
    chainSha256: material.chainSha256,
    leafSha256: leaf.sha256,
    sealingCertSha256: sealingSha,
    scope: tenant.scope,
    namespace: tenant.namespace,
    secretName: tenant.secretName,
    caSha256: material.caSha256,
  });
  const facts = { tenant, leaf, sealingCertSha256: sealingSha, sealedInputsSha256: inputsSha, certificate: input.several === undefined ? undefined : key };
  const sealedDoc = documents[sealedDocument];
  if (sealedDoc === undefined) throw new Error("render: SealedSecret document missing");

  if (tenant.layout === "shared") {
    // the ciphertext and the fingerprints live in the shared base; the tenant's patch keeps the rest
    const certificate = baseCertificate;
    finishSealedSecret(sealedDoc.value as Record<string, unknown>, { ...facts, encryptedData: {} });
    const files = sharedTenantFiles(tenant.file, tenant.namespace, documents, sealedDocument, certificate);
    const same = sameFiles(files, existing);
    const base = shared.get(baseKey(tenant.cluster, certificate));
    const change = existing === undefined ? "add" : base?.kind === "seal" && base.change !== "add" ? base.change : same ? "keep" : "update";
    return { kind: "shared", cluster: tenant.cluster, tenant, certificate, change, write: same ? undefined : files };
  }

  const reusable = reusableCiphertext(committed, inputsSha, sealedItemsOf(material.caSha256 !== undefined));
  if (reusable !== undefined) {
    finishSealedSecret(sealedDoc.value as Record<string, unknown>, { ...facts, encryptedData: reusable });
    const files = tenantFiles(tenant.file, documents);
    if (sameFiles(files, existing)) return { kind: "keep", cluster: tenant.cluster, tenant };
    return { kind: "rewrite", cluster: tenant.cluster, tenant, files };
  }

  finishSealedSecret(sealedDoc.value as Record<string, unknown>, { ...facts, encryptedData: {} });
  const change =
    existing === undefined
      ? "add"
      : committed?.annotations[ANNOTATION.certSha256] !== undefined && committed.annotations[ANNOTATION.certSha256] !== leaf.sha256
        ? "renew"
        : committed?.annotations[ANNOTATION.sealingCertSha256] !== undefined && committed.annotations[ANNOTATION.sealingCertSha256] !== sealingSha
          ? "reseal"
          : "update";
  return {
    kind: "seal",
    cluster: tenant.cluster,
    tenant,
    change,
    target: { scope: tenant.scope, namespace: tenant.namespace, name: tenant.secretName },
    documents,
    sealedDocument,
  };
}

/** The committed ciphertext, when it is bound to exactly what would be sealed now. */
function reusableCiphertext(
  committed: CommittedSealedSecret | undefined,
  inputsSha: string,
  items: readonly string[],
): Readonly<Record<string, string>> | undefined {
  if (committed === undefined || committed.encryptedData === undefined) return undefined;
  if (committed.annotations[ANNOTATION.sealedInputsSha256] !== inputsSha) return undefined;
  const keys = Object.keys(committed.encryptedData).sort();
  if (keys.length !== items.length || !items.every((k, i) => keys[i] === k)) return undefined;
  return committed.encryptedData;
}

/** A certificate older than one already committed is never published (docs/templates.md). */
function checkNotOlder(committed: CommittedNotAfter | undefined, leaf: CertFacts, tenant: string): Diagnostic | undefined {
  if (committed === undefined || leaf.notAfter.getTime() >= committed.time) return undefined;
  return {
    path: committed.path,
    ...committed.at,
    message: `tenant ${tenant}: refusing to replace the committed certificate (notAfter ${committed.was}) with an older one (notAfter ${rfc3339(leaf.notAfter)}, sha256 ${leaf.sha256}): the source Secret is stale; point wildseal at the current certificate`,
    reason: "downgrade",
  };
}

/** The files of a sealed tenant, once its ciphertext is known. */
export function filesAfterSealing(plan: Extract<TenantPlan, { kind: "seal" }>, encryptedData: Readonly<Record<string, string>>): Map<string, string> {
  const documents = plan.documents.map((d, i) => {
    if (i !== plan.sealedDocument) return d;
    const value = structuredClone(d.value) as Record<string, unknown>;
    const spec = value["spec"] as Record<string, unknown>;
    spec["encryptedData"] = { ...encryptedData };
    return { ...d, value };
  });
  return tenantFiles(plan.tenant.file, documents);
}

/** The change a plan reports (RenderResult.changes). */
export function changeKind(plan: TenantPlan): ChangeKind {
  switch (plan.kind) {
    case "keep":
      return "keep";
    case "rewrite":
      return "update";
    case "seal":
      return plan.change;
    case "shared":
      return plan.change;
    case "prune":
      return "remove";
    case "hold":
      return "hold";
  }
}
