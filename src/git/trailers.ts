import { InvalidInputError } from "../errors.ts";
import { rfc3339 } from "../rfc3339.ts";

/** What a wildseal commit did (docs/commits.md), in the documented order. */
export const WILDSEAL_ACTIONS = ["renew", "add", "update", "remove", "reseal"] as const;
export type WildsealAction = (typeof WILDSEAL_ACTIONS)[number];

export function isWildsealAction(s: string): s is WildsealAction {
  return (WILDSEAL_ACTIONS as readonly string[]).includes(s);
}

/** One kind of change and the tenants it touched. */
export interface ActionChange {
  readonly action: WildsealAction;
  readonly tenants: readonly string[];
}

/** What one sync changed: enough for the subject line and the trailers. */
export interface CommitSummary {
  /** one entry per action; an action listed twice is merged */
  readonly changes: readonly ActionChange[];
  /** hex SHA-256 of the leaf certificate now committed */
  readonly certSha256: string;
  readonly certNotAfter: Date;
  /** how the certificate is named in subjects, e.g. `*.example.com` */
  readonly domain: string;
  /**
   * Several certificates (spec.certificates): the names of those whose tenants this commit renews,
   * one `Wildseal-Certificate` trailer each; then certSha256/certNotAfter/domain are the first
   * one's. Absent or empty: no such trailer (one certificate, or nothing renewed).
   */
  readonly certificates?: readonly string[];
}

export const TRAILER_KEYS = {
  action: "Wildseal-Action",
  certSha256: "Wildseal-Cert-Sha256",
  certNotAfter: "Wildseal-Cert-Not-After",
  tenants: "Wildseal-Tenants",
  certificate: "Wildseal-Certificate",
} as const;

/** Tenant names listed in a subject before it switches to a count. */
const SUBJECT_NAMES_MAX = 3;
const TENANT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;


/** Actions present in `s`, in the contract's order, each once. */
export function summaryActions(s: CommitSummary): WildsealAction[] {
  return WILDSEAL_ACTIONS.filter((a) => s.changes.some((c) => c.action === a));
}

/** Every tenant named by any change, sorted, each once. */
export function summaryTenants(s: CommitSummary): string[] {
  return [...new Set(s.changes.flatMap((c) => c.tenants))].sort();
}

/**
 * The commit message: a subject that says what happened (`renew *.example.com for 12 tenants;
 * add tenant acme`), a blank line, and the contract's trailers in a block that
 * `git interpret-trailers --parse` reads back unchanged.
 */
export function commitMessage(s: CommitSummary): string {
  checkSummary(s);
  const actions = summaryActions(s);
  const subject = actions.map((a) => subjectPart(a, tenantsOf(s, a), s.domain)).join("; ");
  const trailers = [
    `${TRAILER_KEYS.action}: ${actions.join(", ")}`,
    `${TRAILER_KEYS.certSha256}: ${s.certSha256.toLowerCase()}`,
    `${TRAILER_KEYS.certNotAfter}: ${rfc3339(s.certNotAfter)}`,
    `${TRAILER_KEYS.tenants}: ${summaryTenants(s).join(", ")}`,
    ...[...new Set(s.certificates ?? [])].map((c) => `${TRAILER_KEYS.certificate}: ${c}`),
  ];
  return `${subject}\n\n${trailers.join("\n")}\n`;
}

function tenantsOf(s: CommitSummary, action: WildsealAction): string[] {
  return [...new Set(s.changes.filter((c) => c.action === action).flatMap((c) => c.tenants))].sort();
}

function subjectPart(action: WildsealAction, tenants: readonly string[], domain: string): string {
  const n = tenants.length;
  const count = `${n} tenant${n === 1 ? "" : "s"}`;
  if (action === "renew" || action === "reseal") return `${action} ${domain} for ${count}`;
  if (n <= SUBJECT_NAMES_MAX) return `${action} tenant${n === 1 ? "" : "s"} ${tenants.join(", ")}`;
  return `${action} ${count}`;
}

function checkSummary(s: CommitSummary): void {
  const problems: string[] = [];
  if (s.changes.length === 0) problems.push("no changes");
  for (const c of s.changes) {
    if (!isWildsealAction(c.action)) problems.push(`unknown action ${JSON.stringify(c.action)}`);
    if (c.tenants.length === 0) problems.push(`action ${c.action} names no tenant`);
    for (const t of c.tenants) if (!TENANT_NAME.test(t)) problems.push(`tenant name ${JSON.stringify(t)} is not a DNS label`);
  }
  if (!/^[0-9a-fA-F]{64}$/.test(s.certSha256)) problems.push("certSha256 is not 64 hex digits");
  if (Number.isNaN(s.certNotAfter.getTime())) problems.push("certNotAfter is not a valid date");
  for (const c of s.certificates ?? []) if (!TENANT_NAME.test(c)) problems.push(`certificate name ${JSON.stringify(c)} is not a DNS label`);
  if (s.domain === "" || /[\s;]/.test(s.domain)) problems.push(`domain ${JSON.stringify(s.domain)} is empty or has spaces`);
  if (problems.length > 0) throw new InvalidInputError(`cannot write the commit message: ${problems.join("; ")}`);
}

/** The wildseal trailers read back from a commit message; absent or malformed ones are left out. */
export interface ParsedTrailers {
  readonly actions?: readonly WildsealAction[];
  readonly tenants?: readonly string[];
  readonly certSha256?: string;
  readonly certNotAfter?: Date;
  /** every Wildseal-Certificate trailer, in order (one per renewed certificate) */
  readonly certificates?: readonly string[];
}

/**
 * Reads the trailer block (the message's last paragraph, as git defines it: `Key: value` lines,
 * continuation lines indented) and picks out wildseal's keys, case-insensitively as git does.
 * Also accepts the output of `%(trailers:only)`, which is just that block.
 */
export function parseTrailers(message: string): ParsedTrailers {
  const pairs = trailerPairs(message);
  const fields = new Map(pairs);
  const get = (key: string): string | undefined => fields.get(key.toLowerCase());
  const out: { -readonly [K in keyof ParsedTrailers]: ParsedTrailers[K] } = {};
  const actions = get(TRAILER_KEYS.action);
  if (actions !== undefined) {
    const list = splitList(actions);
    if (list.every(isWildsealAction)) out.actions = list;
  }
  const tenants = get(TRAILER_KEYS.tenants);
  if (tenants !== undefined) out.tenants = splitList(tenants);
  const sha = get(TRAILER_KEYS.certSha256);
  if (sha !== undefined && /^[0-9a-fA-F]{64}$/.test(sha)) out.certSha256 = sha.toLowerCase();
  const notAfter = get(TRAILER_KEYS.certNotAfter);
  if (notAfter !== undefined && !Number.isNaN(Date.parse(notAfter))) out.certNotAfter = new Date(notAfter);
  const certificates = pairs.filter(([k, v]) => k === TRAILER_KEYS.certificate.toLowerCase() && TENANT_NAME.test(v)).map(([, v]) => v);
  if (certificates.length > 0) out.certificates = certificates;
  return out;
}

/**
 * Last paragraph's `Key: value` pairs in order (lower-cased keys; as a Map a later duplicate wins;
 * Wildseal-Certificate is read as a list), or none.
 */
function trailerPairs(message: string): [string, string][] {
  const paragraphs = message.replace(/\r\n/g, "\n").trimEnd().split(/\n[ \t]*\n/);
  const last = paragraphs.length > 1 || /^[A-Za-z0-9-]+:/.test(paragraphs[0] ?? "") ? paragraphs.at(-1) : undefined;
  const pairs: [string, string][] = [];
  if (last === undefined) return pairs;
  for (const line of last.split("\n")) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$/.exec(line);
    const current = pairs.at(-1);
    if (m?.[1] !== undefined) {
      pairs.push([m[1].toLowerCase(), (m[2] ?? "").trim()]);
    } else if (/^[ \t]/.test(line) && current !== undefined) {
      current[1] = `${current[1]} ${line.trim()}`.trim();
    } else {
      return []; // not a trailer block: a body paragraph
    }
  }
  return pairs;
}

function splitList(v: string): string[] {
  return v
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
}
