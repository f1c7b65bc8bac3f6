import { join } from "node:path";
import type { Diagnostic } from "../errors.ts";
import { InvalidInputError } from "../errors.ts";
import { diagnosticFromMessage, loadRepositoryInputs } from "./repository-inputs.ts";
import { lookup, substituteSegments } from "./placeholders.ts";
import type { PlaceholderContext } from "./placeholders.ts";
import type { Template } from "./template.ts";
import { hostCoveredBy, isValidHostname } from "../tls/hosts.ts";
import { validateTlsSecret } from "../tls/tls-material.ts";
import type { TlsMaterial } from "../tls/types.ts";
import type { PositionedDocument } from "../yaml/load.ts";
import { CONFIG_FILE } from "../model/config-schema.ts";
import type { RepositoryModel } from "../model/load-repository.ts";
import { chooseCertificate, type CertificateSans } from "../model/certificates.ts";
import type { CertificateConfig } from "../model/types.ts";
import { compareCodeUnits } from "../model/load-tenants.ts";
import type { InMemoryTenantFile } from "../model/load-tenants.ts";
import { lstatOrUndefined } from "../lstat-or-undefined.ts";

/**
 * Everything `wildseal validate` checks, in one run, for every file: wildseal.yaml, each tenant
 * (schema and rules), templates, the committed sealing certificates, what templates need from each
 * tenant (`${values.…}`), and — given the certificate — its key, its validity and each tenant
 * host's coverage. A tenant's checks run on what is known of its file even when its schema is
 * refused, so a bad host never hides a missing value until the next run.
 */

export interface CheckOptions {
  readonly now?: Date;
  /** the certificate tenants will be served from (already read, e.g. from --source-file) */
  readonly tls?: TlsMaterial;
  /** how diagnostics about `tls` name it (the --source-file path); default "<certificate>" */
  readonly tlsLabel?: string;
  /**
   * Several certificates (spec.certificates), by name, each with how diagnostics name it; instead
   * of `tls`. With all of the config's certificates given, each tenant's certificate is chosen
   * (model/certificates.ts: ambiguous and uncovered tenants are problems); with some, tenants that
   * name one of those are checked against it.
   */
  readonly sources?: ReadonlyMap<string, { readonly tls: TlsMaterial; readonly label: string }>;
  /** tenant files checked as if they were in tenants/ (see InMemoryTenantFile) */
  readonly inMemoryTenants?: readonly InMemoryTenantFile[];
}

/** A `${values.KEY}` a template uses that a tenant file does not define. */
export interface MissingValue {
  readonly file: string;
  /** dotted, as in the placeholder: `ingress.class` */
  readonly key: string;
  /** `templates/ingress.yaml:9:14`, one per use */
  readonly usedAt: readonly string[];
  readonly diagnostic: Diagnostic;
}

/** A tenant host the certificate's DNS names do not cover. */
export interface UncoveredHost {
  readonly file: string;
  readonly index: number;
  readonly host: string;
  readonly diagnostic: Diagnostic;
}

export interface RepositoryCheck {
  readonly model: RepositoryModel;
  /** templates that will render, the built-in SealedSecret template included */
  readonly templateCount: number;
  /** config problems first, then every other problem by file, line, column */
  readonly diagnostics: readonly Diagnostic[];
  /** the same problems as in `diagnostics`, with what they are about, for callers that word them their way */
  readonly missingValues: readonly MissingValue[];
  readonly uncoveredHosts: readonly UncoveredHost[];
}

/** Thrown when `repoDir` holds no wildseal.yaml at all: there is nothing to check, and counting built-ins would mislead. */
export class NotARepositoryError extends InvalidInputError {
  constructor(readonly repoDir: string, reason: "no-folder" | "no-config") {
    super(
      reason === "no-folder"
        ? `${repoDir} does not exist: pass --repo with the GitOps repository's folder`
        : `${repoDir} is not a wildseal repository (it has no ${CONFIG_FILE}): run \`wildseal init${repoDir === "." ? "" : ` ${repoDir}`}\` to create one, or pass --repo with the repository's folder`,
    );
    this.name = "NotARepositoryError";
  }
}

export async function checkRepository(repoDir: string, opts: CheckOptions = {}): Promise<RepositoryCheck> {
  const now = opts.now ?? new Date();
  await assertRepository(repoDir);
  const { model, templates, sealing } = await loadRepositoryInputs(repoDir, {
    now,
    ...(opts.inMemoryTenants !== undefined ? { inMemoryTenants: opts.inMemoryTenants } : {}),
  });
  // a missing file is loadConfig's to report; a controller's certificate is not in the repository
  const certs = [...sealing.values()].flatMap((r) => (r.kind === "invalid" ? r.diagnostics : []));
  const tenantFiles = [...model.documents].map(([file, doc]) => ({ file, doc, facts: tenantFacts(doc) }));
  const missingValues = tenantFiles.flatMap((t) => missingValuesOf(t.file, t.doc, t.facts, templates.templates));
  const typeProblems = tenantFiles.flatMap((t) => valueTypeProblems(t.file, t.doc, t.facts, templates.templates));
  const certificate: Diagnostic[] = [];
  let uncovered: UncoveredHost[] = [];
  const several = model.config !== undefined && model.config.certificates.length > 1;
  if (opts.tls !== undefined) {
    certificate.push(...certificateProblems(opts.tls, now, opts.tlsLabel ?? "<certificate>"));
    if (!several) uncovered = tenantFiles.flatMap((t) => uncoveredHostsOf(t.file, t.doc, t.facts, opts.tls?.leaf.dnsNames ?? []));
  }
  for (const { tls, label } of opts.sources?.values() ?? []) certificate.push(...certificateProblems(tls, now, label));
  if (!several && opts.tls === undefined) {
    const only = [...(opts.sources?.values() ?? [])][0];
    if (only !== undefined) uncovered = tenantFiles.flatMap((t) => uncoveredHostsOf(t.file, t.doc, t.facts, only.tls.leaf.dnsNames));
  }
  const choices = several && model.config !== undefined && opts.sources !== undefined ? certificateChoiceProblems(model, model.config.certificates, opts.sources) : [];
  const isConfig = (d: Diagnostic): boolean => d.path === CONFIG_FILE;
  const rest = [
    ...model.diagnostics.filter((d) => !isConfig(d)),
    ...certs,
    ...templates.diagnostics,
    ...missingValues.map((m) => m.diagnostic),
    ...typeProblems,
    ...uncovered.map((u) => u.diagnostic),
    ...choices,
    ...certificate,
  ];
  return {
    model,
    templateCount: templates.templates.length,
    diagnostics: [...model.diagnostics.filter(isConfig), ...sortStable(rest)],
    missingValues,
    uncoveredHosts: uncovered,
  };
}

/**
 * With several certificates: every tenant's choice when all are given (ambiguous, uncovered); with
 * some, only tenants naming a given one (their hosts against it): the others can not be decided.
 */
function certificateChoiceProblems(
  model: RepositoryModel,
  certificates: readonly CertificateConfig[],
  given: ReadonlyMap<string, { readonly tls: TlsMaterial }>,
): Diagnostic[] {
  const known: CertificateSans[] = certificates.flatMap((c) => {
    const g = given.get(c.name);
    return g === undefined ? [] : [{ name: c.name, dnsNames: g.tls.leaf.dnsNames }];
  });
  const all = known.length === certificates.length;
  const out: Diagnostic[] = [];
  for (const t of model.tenants) {
    if (!all && (t.certificate === undefined || !given.has(t.certificate))) continue;
    const choice = chooseCertificate(t, all ? known : known.filter((k) => k.name === t.certificate), model.locate);
    if (choice.kind === "refused") out.push(...choice.diagnostics);
  }
  return out;
}

/** Throws NotARepositoryError unless `repoDir` is a folder holding a wildseal.yaml (whatever its state). */
export async function assertRepository(repoDir: string): Promise<void> {
  const st = await lstatOrUndefined(repoDir);
  if (st === undefined || !st.isDirectory()) throw new NotARepositoryError(repoDir, "no-folder");
  // a wildseal.yaml that is a link or a folder exists: loadConfig says what is wrong with it
  if ((await lstatOrUndefined(join(repoDir, CONFIG_FILE))) === undefined) throw new NotARepositoryError(repoDir, "no-config");
}

function sortStable(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => compareCodeUnits(a.path, b.path) || a.line - b.line || a.col - b.col);
}

/** Key match and validity at `now`: the material may have been read long before (watch) or for another time. */
function certificateProblems(tls: TlsMaterial, now: Date, label: string): Diagnostic[] {
  try {
    validateTlsSecret(tls.secret, { now, source: label });
    return [];
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    return [diagnosticFromMessage(label, e.message)];
  }
}

/** What is known of a tenant file, whether or not its schema was accepted. */
interface TenantFacts {
  readonly name: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly secretName: string;
  /** [index in spec.hosts, host] for each string entry */
  readonly hosts: readonly (readonly [number, string])[];
  /** spec.values when it is a mapping or absent ({}); undefined when it is something else (the schema said so) */
  readonly values: Readonly<Record<string, unknown>> | undefined;
}

function field(o: unknown, k: string): unknown {
  return o !== null && typeof o === "object" && !Array.isArray(o) && Object.hasOwn(o, k) ? (o as Record<string, unknown>)[k] : undefined;
}

function tenantFacts(doc: PositionedDocument): TenantFacts {
  const spec = field(doc.value, "spec");
  const str = (v: unknown): string => (typeof v === "string" ? v : "");
  const hosts = field(spec, "hosts");
  const values = field(spec, "values");
  return {
    name: str(field(field(doc.value, "metadata"), "name")),
    cluster: str(field(spec, "cluster")),
    namespace: str(field(spec, "namespace")),
    secretName: str(field(spec, "secretName")),
    hosts: Array.isArray(hosts) ? hosts.flatMap((h, i) => (typeof h === "string" ? [[i, h] as const] : [])) : [],
    values: values === undefined ? {} : values !== null && typeof values === "object" && !Array.isArray(values) ? (values as Record<string, unknown>) : undefined,
  };
}

function contextOf(f: TenantFacts, values: Readonly<Record<string, unknown>>): PlaceholderContext {
  return {
    tenant: { name: f.name, cluster: f.cluster, namespace: f.namespace, secretName: f.secretName, hosts: f.hosts.map(([, h]) => h) },
    values,
    certNotAfter: "1970-01-01T00:00:00Z",
  };
}

const where = (t: Template, p: { line: number; col: number }): string => `${t.file}:${p.line}:${p.col}`;

/** One problem per (tenant file, key) a template placeholder needs and the file lacks, at spec.values (or spec). */
function missingValuesOf(file: string, doc: PositionedDocument, f: TenantFacts, templates: readonly Template[]): MissingValue[] {
  if (f.values === undefined) return [];
  const ctx = contextOf(f, f.values);
  const uses = new Map<string, string[]>();
  for (const t of templates) {
    for (const site of t.sites) {
      for (const seg of site.segments) {
        if (seg.kind !== "placeholder" || seg.ref.kind !== "values" || lookup(seg.ref, ctx).found) continue;
        const key = seg.ref.path.join(".");
        const at = where(t, site.positions.get(seg.source) ?? site.at);
        const list = uses.get(key) ?? [];
        if (!list.includes(at)) list.push(at);
        uses.set(key, list);
      }
    }
  }
  return [...uses].map(([key, usedAt]) => ({
    file,
    key,
    usedAt,
    diagnostic: {
      path: file,
      ...doc.locate(["spec", "values", ...key.split(".")]),
      message: `spec.values.${key} is missing, but ${usedAt.join(" and ")} use${usedAt.length === 1 ? "s" : ""} \${values.${key}}: add it under spec.values, or remove the placeholder`,
    },
  }));
}

/**
 * Values that exist but cannot go where a template puts them (a mapping inside a longer string),
 * found with the renderer's own substitution, at the value in the tenant file.
 */
function valueTypeProblems(file: string, doc: PositionedDocument, f: TenantFacts, templates: readonly Template[]): Diagnostic[] {
  if (f.values === undefined) return [];
  const ctx = contextOf(f, f.values);
  const out: Diagnostic[] = [];
  for (const t of templates) {
    for (const site of t.sites) {
      const complete = site.segments.every((s) => s.kind !== "placeholder" || lookup(s.ref, ctx).found);
      if (!complete) continue; // missingValuesOf reports it
      const r = substituteSegments(site.segments, ctx);
      if (r.ok) continue;
      const ref = site.segments.find((s) => s.kind === "placeholder" && s.source === r.source);
      const path = ref?.kind === "placeholder" && ref.ref.kind === "values" ? ["spec", "values", ...ref.ref.path] : ["spec"];
      out.push({ path: file, ...doc.locate(path), message: `${where(t, site.positions.get(r.source) ?? site.at)}: ${r.message}` });
    }
  }
  return out;
}

/** Hosts the leaf does not cover; hosts that are no host name at all are the schema's to report. */
function uncoveredHostsOf(file: string, doc: PositionedDocument, f: TenantFacts, dnsNames: readonly string[]): UncoveredHost[] {
  const sans = dnsNames.join(", ");
  return f.hosts
    .filter(([, h]) => isValidHostname(h) && !hostCoveredBy(h, dnsNames))
    .map(([index, h]) => {
      const host = h.toLowerCase().replace(/\.$/, "");
      return {
        file,
        index,
        host,
        // worded as checkHostsCovered (rules.ts) words it: the watch gate metrics match on it
        diagnostic: {
          path: file,
          ...doc.locate(["spec", "hosts", index]),
          message: `host ${host} is not covered by the certificate (DNS names: ${sans}): remove the host or issue a certificate that covers it`,
        },
      };
    });
}
