/**
 * The Markdown body of a wildseal pull request: what changes for whom, and which certificate replaces
 * which, from public facts only, so a reviewer can approve without decrypting anything.
 * Pure and deterministic: the same input renders the same bytes (publishing relies on that to say
 * "unchanged" instead of touching the PR).
 */
import type { Tenant } from "../model/types.ts";
import type { RenderChange } from "../render/render-repository.ts";
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
    };
    return [row];
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

function tenantRow(t: PullRequestTenantRow): string {
  const cells = [t.name, t.cluster, t.namespace, t.hosts.join(", "), t.scope, t.change];
  return `| ${cells.map(escapeMarkdownCell).join(" | ")} |`;
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
  const certSection = [
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
  const tableHead = ["| Tenant | Cluster | Namespace | Hosts | Scope | Change |", "|---|---|---|---|---|---|"];
  const fixed = [...head, ...tableHead, "", ...certSection, ...footer].join("\n").length;

  let budget = MAX_BODY_CHARS - fixed - 100;
  const shown: string[] = [];
  for (const r of rows) {
    const line = tenantRow(r);
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
