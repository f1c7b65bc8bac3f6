/**
 * The Markdown body of a wildseal pull request: what changes for whom, and which certificate replaces
 * which, from public facts only, so a reviewer can approve without decrypting anything.
 * Pure and deterministic: the same input renders the same bytes (publishing relies on that to say
 * "unchanged" instead of touching the PR).
 */
import type { Tenant } from "../model/types.ts";
import { SEALING_CHANGES, type ExistingTree } from "../render/plan.ts";
import type { RenderChange } from "../render/render-repository.ts";
import { recordedCertificates } from "../render/sealed-secret-document.ts";
import { committedBaseOf } from "../render/shared-layout.ts";
import type { CertFacts } from "../tls/types.ts";
import { rfc3339 } from "../rfc3339.ts";

export type TenantChange = "renew" | "add" | "update" | "remove" | "reseal";

export interface PullRequestTenantRow {
  readonly name: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly hosts: readonly string[];
  readonly scope: string;
  readonly change: TenantChange;
  /** several certificates: the one the tenant is sealed with (absent for a removed tenant without one) */
  readonly certificate?: string;
}

/** Several certificates: one that tenants of this change are sealed with. */
export interface CertificateInChange {
  readonly name: string;
  /** the change renews it: `before` is what the renewed tenants' folders held (absent: nothing recorded) */
  readonly renewed: boolean;
  readonly before?: Pick<CertFacts, "sha256" | "notAfter">;
  readonly after: CertFacts;
}

export interface PullRequestBodyInput {
  /** one line, e.g. the commit subject */
  readonly summary: string;
  readonly tenants: readonly PullRequestTenantRow[];
  /** the certificate the base branch holds; absent on the first publication */
  readonly certBefore?: CertFacts;
  readonly certAfter: CertFacts;
  /** hidden marker, see pullRequestMarker() */
  readonly marker: string;
  /**
   * Several certificates (spec.certificates): the tenant table gains a Certificate column, and the
   * certificate section lists these instead of certBefore → certAfter (which describe one certificate).
   */
  readonly certificates?: readonly CertificateInChange[];
}

/**
 * The table's rows: one per tenant folder a render changed (kept and held ones are no change),
 * described by the tenants that render loaded; a removed tenant has no file left to describe it.
 */
export function tenantRows(tenants: readonly Tenant[], changes: readonly RenderChange[]): PullRequestTenantRow[] {
  const byName = new Map(tenants.map((t) => [t.name, t]));
  return changes.flatMap((c) => {
    if (c.kind === "keep" || c.kind === "hold") return [];
    const t = byName.get(c.tenant);
    const row: PullRequestTenantRow = {
      name: c.tenant,
      cluster: c.cluster,
      namespace: t?.namespace ?? "(removed)",
      hosts: t?.hosts ?? [],
      scope: t?.scope ?? "",
      change: c.kind,
      ...(c.certificate === undefined ? {} : { certificate: c.certificate }),
    };
    return [row];
  });
}

/**
 * Several certificates: each one the changed tenants are sealed with, by name. A renewed one (a
 * tenant's change is `renew`, as the commit's Wildseal-Certificate trailer counts it) carries what
 * those tenants' committed SealedSecrets recorded before — the newest, should they differ.
 */
export function certificatesInChange(
  changes: readonly RenderChange[],
  leaves: ReadonlyMap<string, CertFacts>,
  existing: ExistingTree | undefined,
  output: string,
): CertificateInChange[] {
  // a removed tenant's certificate is no part of what the change delivers (the table still names it)
  const changed = changes.filter((c) => SEALING_CHANGES.has(c.kind) && c.certificate !== undefined);
  const names = [...new Set(changed.map((c) => c.certificate ?? ""))].sort((a, b) => a.localeCompare(b, "en"));
  return names.flatMap((name): CertificateInChange[] => {
    const after = leaves.get(name);
    if (after === undefined) return [];
    const renewedTenants = changed.filter((c) => c.certificate === name && c.kind === "renew");
    if (renewedTenants.length === 0) return [{ name, renewed: false, after }];
    let before: { sha256: string; notAfter: Date } | undefined;
    for (const c of renewedTenants) {
      const cluster = existing?.get(c.cluster);
      const own = cluster?.tenants.get(c.tenant)?.files;
      // a shared-layout tenant's folder holds no SealedSecret: its certificate is in the base it reuses
      const base = cluster === undefined || own === undefined ? undefined : committedBaseOf(cluster, own);
      const [folder, files] = base === undefined ? [c.tenant, own] : [base.folder, base.files];
      for (const r of recordedCertificates(files ?? new Map(), `${output}/${c.cluster}/${folder}`)) {
        if (before === undefined || r.notAfter > before.notAfter) before = r;
      }
    }
    return [{ name, renewed: true, ...(before === undefined ? {} : { before }), after }];
  });
}

/** GitHub rejects bodies over 65,536 characters; keep a margin for the marker and the footer. */
export const MAX_BODY_CHARS = 60_000;

/** The hidden comment that identifies wildseal's pull requests for one base branch. */
export function pullRequestMarker(base: string): string {
  // `--` cannot occur inside an HTML comment; branch names may contain it, so encode them.
  return `<!-- wildseal:base=${encodeURIComponent(base).replace(/-/g, "%2D")} -->`;
}

/**
 * Makes a value inert inside a GFM table cell: no HTML (so no fake marker, no hidden text), no
 * emphasis/links/code, no @mentions or #references, no `|` column breaks, no line breaks.
 */
export function escapeMarkdownCell(value: string): string {
  return value
    .replace(/[\r\n\t]+/g, " ")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[\\`*_[\]#|~@]/g, (c) => `\\${c}`);
}

/** A date the repository does not record (an old certificate known only by its annotations) shows as such. */
function dateCell(d: Date): string {
  return Number.isNaN(d.getTime()) ? "(not recorded)" : rfc3339(d);
}

function compareRows(a: PullRequestTenantRow, b: PullRequestTenantRow): number {
  return a.cluster.localeCompare(b.cluster, "en") || a.name.localeCompare(b.name, "en");
}

function tenantRow(t: PullRequestTenantRow, withCertificate: boolean): string {
  const cells = withCertificate
    ? [t.name, t.cluster, t.namespace, t.hosts.join(", "), t.scope, t.certificate ?? "", t.change]
    : [t.name, t.cluster, t.namespace, t.hosts.join(", "), t.scope, t.change];
  return `| ${cells.map(escapeMarkdownCell).join(" | ")} |`;
}

/** As `wildseal audit` shows fingerprints: enough to tell certificates apart at a glance. */
const SHA256_PREFIX = 16;

/** Several certificates: one row each, old → new where the change renews it; cut with a count past `budget` characters. */
function certificatesSection(certs: readonly CertificateInChange[], budget: number): string[] {
  const renewed = certs.filter((c) => c.renewed).length;
  const title = `### Certificates (${renewed} renewed)`;
  if (certs.length === 0) return [title, "", "This change delivers no certificate: no tenant is added, updated, renewed or resealed."];
  const head = [
    title,
    "",
    "| Certificate | SHA-256 | Not after | SANs |",
    "|---|---|---|---|",
  ];
  let left = budget - head.join("\n").length - 200;
  const rows: string[] = [];
  for (const c of certs) {
    const sha = c.after.sha256.slice(0, SHA256_PREFIX);
    const notAfter = dateCell(c.after.notAfter);
    const cells = c.renewed
      ? [
          `${c.name} ✱`,
          `${c.before === undefined ? "(none)" : c.before.sha256.slice(0, SHA256_PREFIX)} → ${sha}`,
          `${c.before === undefined ? "(none)" : dateCell(c.before.notAfter)} → ${notAfter}`,
        ]
      : [c.name, `${sha} (unchanged)`, notAfter];
    const line = `| ${[...cells, c.after.dnsNames.join(", ")].map(escapeMarkdownCell).join(" | ")} |`;
    if (line.length + 1 > left) break;
    rows.push(line);
    left -= line.length + 1;
  }
  const omitted = certs.length - rows.length;
  return [
    ...head,
    ...rows,
    ...(omitted > 0 ? ["", `…and ${omitted} more certificates.`] : []),
    "",
    "✱ renewed by this change (SHA-256 prefixes). Every rendered SealedSecret (and the Secret it unseals to) carries " +
      "the annotation `wildseal.dev/cert-sha256`; compare it with the fingerprint of its tenant's certificate above.",
  ];
}

function certRows(before: CertFacts | undefined, after: CertFacts): string[] {
  const fields: readonly [string, (c: CertFacts) => string][] = [
    ["Serial", (c) => c.serial],
    ["SHA-256 fingerprint", (c) => c.sha256],
    ["Not before", (c) => dateCell(c.notBefore)],
    ["Not after", (c) => dateCell(c.notAfter)],
    ["SANs", (c) => c.dnsNames.join(", ")],
    ["Subject", (c) => c.subject],
    ["Issuer", (c) => c.issuer],
  ];
  return fields.map(([label, get]) => {
    const old = before === undefined ? "(none)" : get(before);
    const now = get(after);
    const mark = before !== undefined && old === now ? "" : " ✱";
    return `| ${label}${mark} | ${escapeMarkdownCell(old)} | ${escapeMarkdownCell(now)} |`;
  });
}

/** Renders the PR body; tenants are sorted by cluster then name, and cut (with a count) past MAX_BODY_CHARS. */
export function renderPullRequestBody(input: PullRequestBodyInput): string {
  const rows = [...input.tenants].sort(compareRows);
  const several = input.certificates !== undefined;
  // the certificates' share of the body is capped, so the tenant table keeps room however many there are
  const certSection = several ? certificatesSection(input.certificates ?? [], MAX_BODY_CHARS / 4) : [
    "### Certificate",
    "",
    "| Field | Before | After |",
    "|---|---|---|",
    ...certRows(input.certBefore, input.certAfter),
    "",
    "✱ changed. Every rendered SealedSecret (and the Secret it unseals to) carries the annotation " +
      "`wildseal.dev/cert-sha256`; compare it with the fingerprint above.",
  ];
  const footer = ["", "<sub>Opened by wildseal. Edits to this description are overwritten on the next sync.</sub>", input.marker, ""];
  const head = [escapeMarkdownCell(input.summary), "", `### Tenants (${rows.length})`, ""];
  const tableHead = several
    ? ["| Tenant | Cluster | Namespace | Hosts | Scope | Certificate | Change |", "|---|---|---|---|---|---|---|"]
    : ["| Tenant | Cluster | Namespace | Hosts | Scope | Change |", "|---|---|---|---|---|---|"];
  const fixed = [...head, ...tableHead, "", ...certSection, ...footer].join("\n").length;

  let budget = MAX_BODY_CHARS - fixed - 100;
  const shown: string[] = [];
  for (const r of rows) {
    const line = tenantRow(r, several);
    if (line.length + 1 > budget) break;
    shown.push(line);
    budget -= line.length + 1;
  }
  const omitted = rows.length - shown.length;
  const table =
    rows.length === 0
      ? ["No tenant manifests change."]
      : [...tableHead, ...shown, ...(omitted > 0 ? ["", `…and ${omitted} more tenants (see the diff).`] : [])];
  return [...head, ...table, "", ...certSection, ...footer].join("\n");
}
