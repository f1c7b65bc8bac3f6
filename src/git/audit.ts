import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { makeOwnedTempDir, sweepDeadOwners } from "./temp-clones.ts";
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { validateBranchName } from "./branch-name.ts";
import { authConfig, type GitCredentials, NO_CREDENTIALS } from "./credentials.ts";
import { createGitRunner, dependencyError, GitFailure, type GitRunner } from "./git-process.ts";
import { classifyRemote, redactUrl, splitUserinfo } from "./remote-url.ts";
import { rfc3339 } from "../rfc3339.ts";
import { parseTrailers, TRAILER_KEYS, type WildsealAction } from "./trailers.ts";
import { formatRows } from "../text-table.ts";

const AUDIT_PREFIX = "wildseal-audit-";

/** One wildseal commit, as `wildseal audit` shows it. */
export interface AuditEntry {
  /** author date, RFC 3339 UTC */
  readonly date: string;
  readonly commit: string;
  /** `Name <email>` */
  readonly author: string;
  readonly subject: string;
  readonly actions: readonly WildsealAction[];
  readonly tenants: readonly string[];
  /** leaf fingerprint (hex SHA-256 of the DER); null when the trailer is missing */
  readonly certSha256: string | null;
  /** RFC 3339 UTC; null when the trailer is missing */
  readonly certNotAfter: string | null;
  /** Wildseal-Certificate trailers: the certificates renewed (several certificates only); empty otherwise */
  readonly certificates: readonly string[];
  /**
   * add, remove and update only: the people's commits that asked for the change, i.e. for each
   * tenant, the newest commit by someone other than wildseal that touched tenants/<tenant>.yaml (or
   * .yml) in this commit's first-parent history since wildseal last published that tenant. Empty
   * when nobody's commit did (a template change, a renewal).
   */
  readonly requestedBy: readonly TenantRequest[];
}

/** A person's commit behind a tenant change. */
export interface TenantRequest {
  /** `Name <email>` of the commit's author */
  readonly author: string;
  readonly commit: string;
  /** the tenants of the wildseal commit this commit asked for, sorted */
  readonly tenants: readonly string[];
}

export interface AuditOptions {
  /** only commits whose Wildseal-Tenants name this tenant */
  readonly tenant?: string;
  /** default: the repository's HEAD (a local path) or the remote's default branch (a URL) */
  readonly branch?: string;
  /** for http(s) URLs */
  readonly credentials?: GitCredentials;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const TENANT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const FIELD = "\x1f";
const RECORD = "\x1e";

/**
 * wildseal's commits in the history of `repo` (a local repository, bare or not, or a URL), newest
 * first, read from their trailers; other commits are skipped. A URL is cloned bare and blobless
 * into a private temporary folder first (commits only: trailers are all audit needs), which is
 * removed afterwards. A local repository is only read.
 */
export async function auditLog(repo: string, opts: AuditOptions = {}): Promise<AuditEntry[]> {
  if (opts.tenant !== undefined && !TENANT_NAME.test(opts.tenant)) {
    throw new UsageError(`--tenant ${JSON.stringify(opts.tenant)} is not a tenant name (a DNS label such as acme)`);
  }
  if (opts.branch !== undefined) validateBranchName(opts.branch);
  const split = splitUserinfo(classifyRemote(repo));
  const credentials = opts.credentials ?? NO_CREDENTIALS;
  const env = opts.env ?? process.env;
  if (split.remote.kind === "path") {
    const runner = createGitRunner({ baseDir: split.remote.url, credentials, env });
    await assertRepository(runner, split.remote.url);
    return readLog(runner, opts.branch ?? "HEAD", opts.tenant, split.remote.url);
  }
  // owned like sync's clones, so a killed audit's clone is removed by the next one
  await sweepDeadOwners(tmpdir(), AUDIT_PREFIX);
  const dir = await makeOwnedTempDir(tmpdir(), AUDIT_PREFIX);
  try {
    const runner = createGitRunner({ baseDir: dir, credentials, env, auth: authConfig(credentials, split.remote) });
    const branchArgs = opts.branch === undefined ? [] : ["--branch", opts.branch];
    const cloneArgs = ["clone", "--quiet", "--bare", "--filter=blob:none", "--single-branch", "--no-tags"];
    try {
      await runner.run([...cloneArgs, ...branchArgs, "--", split.remote.url, "repo.git"]);
    } catch (e) {
      if (e instanceof GitFailure && /not found in upstream/.test(e.output)) {
        throw new UsageError(`branch ${opts.branch ?? ""} does not exist in ${redactUrl(split.remote.url)}`);
      }
      throw dependencyError(`git: cannot clone ${redactUrl(split.remote.url)} for the audit`, e, credentials);
    }
    const repoRunner = createGitRunner({ baseDir: join(dir, "repo.git"), credentials, env });
    return await readLog(repoRunner, "HEAD", opts.tenant, redactUrl(split.remote.url));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function assertRepository(runner: GitRunner, path: string): Promise<void> {
  try {
    await runner.run(["rev-parse", "--git-dir"]);
  } catch (e) {
    if (e instanceof GitFailure) throw new UsageError(`--repo ${path} is not a Git repository; give a repository folder or a Git URL`);
    throw new UsageError(`--repo ${path} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function readLog(runner: GitRunner, rev: string, tenant: string | undefined, shown: string): Promise<AuditEntry[]> {
  try {
    await runner.run(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
  } catch {
    if (rev === "HEAD") return []; // no commits yet
    throw new UsageError(`branch ${rev} does not exist in ${shown}`);
  }
  const format = ["%H", "%aI", "%an <%ae>", "%s", "%(trailers:only,unfold)"].join("%x1f");
  let out: string;
  try {
    out = await runner.run([
      "log",
      `--format=${format}%x1e`,
      "--regexp-ignore-case",
      `--grep=^${TRAILER_KEYS.action}:`,
      rev,
      "--",
    ]);
  } catch (e) {
    throw dependencyError(`git: cannot read the history of ${shown}`, e, NO_CREDENTIALS);
  }
  const all = out
    .split(RECORD)
    .map((r) => r.replace(/^\n/, ""))
    .filter((r) => r !== "")
    .map(toEntry)
    .filter((e): e is AuditEntry => e !== undefined);
  const entries = await withRequesters(runner, rev, all, shown);
  if (tenant === undefined) return entries;
  return entries
    .filter((e) => e.tenants.includes(tenant))
    .map((e) => ({ ...e, requestedBy: e.requestedBy.filter((r) => r.tenants.includes(tenant)).map((r) => ({ ...r, tenants: [tenant] })) }));
}

/** Actions a person asks for by editing tenants/: the ones whose requester audit looks up. */
const REQUESTED_ACTIONS: ReadonlySet<WildsealAction> = new Set<WildsealAction>(["add", "remove", "update"]);

/** One commit of a first-parent history, with the tenant files it touched. */
export interface ChainCommit {
  readonly commit: string;
  readonly author: string;
  /** true for wildseal's own commits (they carry the action trailer) */
  readonly wildseal: boolean;
  /** tenant names whose tenants/<name>.yaml|.yml this commit changed (against its first parent) */
  readonly tenantFiles: ReadonlySet<string>;
}

/**
 * Fills in requestedBy. The first-parent history of the branch is read once (the commit list, and
 * the commits touching tenants/ with their file names); a wildseal commit off that line (say, the
 * second parent of a merged pull request) gets its own first-parent history read.
 */
async function withRequesters(runner: GitRunner, rev: string, entries: readonly AuditEntry[], shown: string): Promise<AuditEntry[]> {
  const published = new Map(entries.map((e) => [e.commit, new Set(e.tenants)]));
  const histories = new Map<string, ChainCommit[]>();
  const history = async (start: string): Promise<ChainCommit[]> => {
    let h = histories.get(start);
    if (h === undefined) {
      h = await firstParentHistory(runner, start, shown);
      histories.set(start, h);
    }
    return h;
  };
  const out: AuditEntry[] = [];
  for (const e of entries) {
    if (!e.actions.some((a) => REQUESTED_ACTIONS.has(a))) {
      out.push(e);
      continue;
    }
    let chain = await history(rev);
    let at = chain.findIndex((c) => c.commit === e.commit);
    if (at < 0) {
      chain = await history(e.commit);
      at = 0;
    }
    out.push({ ...e, requestedBy: requestsFor(e.tenants, chain.slice(at + 1), published) });
  }
  return out;
}

/**
 * For each tenant, the newest commit in `older` (newest first) by a person that touched its file,
 * stopping at the wildseal commit that last published the tenant: a change from before that was
 * already published then. Newest request first. Pure.
 */
export function requestsFor(
  tenants: readonly string[],
  older: readonly ChainCommit[],
  published: ReadonlyMap<string, ReadonlySet<string>>,
): TenantRequest[] {
  const byCommit = new Map<string, { author: string; tenants: string[] }>();
  for (const tenant of tenants) {
    for (const c of older) {
      if (c.wildseal || published.has(c.commit)) {
        if (published.get(c.commit)?.has(tenant) === true) break;
        continue;
      }
      if (!c.tenantFiles.has(tenant)) continue;
      const r = byCommit.get(c.commit) ?? { author: c.author, tenants: [] };
      r.tenants.push(tenant);
      byCommit.set(c.commit, r);
      break;
    }
  }
  const age = new Map(older.map((c, i) => [c.commit, i]));
  return [...byCommit]
    .sort(([a], [b]) => (age.get(a) ?? 0) - (age.get(b) ?? 0))
    .map(([commit, r]) => ({ author: r.author, commit, tenants: [...r.tenants].sort() }));
}

const TENANT_FILE = /^tenants\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.ya?ml$/;

/**
 * `start`'s first-parent history, newest first, each commit with the tenant files it changed. Only
 * names are compared (no rename detection), so a blobless clone needs no blob from the remote.
 */
async function firstParentHistory(runner: GitRunner, start: string, shown: string): Promise<ChainCommit[]> {
  let list: string;
  let touching: string;
  try {
    list = await runner.run(["rev-list", "--first-parent", start, "--"]);
    touching = await runner.run([
      "log",
      "--first-parent",
      "--no-renames",
      "--name-only",
      `--format=${RECORD}%H${FIELD}%an <%ae>${FIELD}%(trailers:only,unfold)${FIELD}`,
      start,
      "--",
      "tenants/",
    ]);
  } catch (e) {
    throw dependencyError(`git: cannot read the history of ${shown}`, e, NO_CREDENTIALS);
  }
  const touched = new Map<string, ChainCommit>();
  for (const record of touching.split(RECORD)) {
    const [commit = "", author = "", trailers = "", names = ""] = record.split(FIELD);
    if (commit.trim() === "") continue;
    const tenantFiles = new Set<string>();
    for (const line of names.split("\n")) {
      const name = TENANT_FILE.exec(line.trim())?.[1];
      if (name !== undefined) tenantFiles.add(name);
    }
    const wildseal = (parseTrailers(trailers).actions?.length ?? 0) > 0;
    touched.set(commit.trim(), { commit: commit.trim(), author, wildseal, tenantFiles });
  }
  const none: ReadonlySet<string> = new Set();
  return list
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .map((commit) => touched.get(commit) ?? { commit, author: "", wildseal: false, tenantFiles: none });
}

function toEntry(record: string): AuditEntry | undefined {
  const [commit = "", date = "", author = "", subject = "", trailers = ""] = record.split(FIELD);
  const t = parseTrailers(trailers);
  if (t.actions === undefined || t.actions.length === 0) return undefined;
  return {
    date: rfc3339(new Date(date)),
    commit,
    author,
    subject,
    actions: t.actions,
    tenants: t.tenants ?? [],
    certSha256: t.certSha256 ?? null,
    certNotAfter: t.certNotAfter === undefined ? null : rfc3339(t.certNotAfter),
    certificates: t.certificates ?? [],
    requestedBy: [],
  };
}

const TABLE_COLUMNS = ["DATE", "COMMIT", "AUTHOR", "ACTION", "CERT-SHA256", "NOT-AFTER", "TENANTS"] as const;

/**
 * Aligned columns, tenants last (the one column of unbounded width). Commit and fingerprint are
 * shortened (12 and 16 hex digits); `--json` has them in full.
 */
export function formatAuditTable(entries: readonly AuditEntry[]): string {
  // the CERTIFICATE column (Wildseal-Certificate) only in a history that has one: several certificates
  const named = entries.some((e) => e.certificates.length > 0);
  const columns: readonly string[] = named ? [...TABLE_COLUMNS.slice(0, 4), "CERTIFICATE", ...TABLE_COLUMNS.slice(4)] : TABLE_COLUMNS;
  const rows = entries.map((e) => [
    e.date,
    e.commit.slice(0, 12),
    e.author,
    e.actions.join(","),
    ...(named ? [e.certificates.length === 0 ? "-" : e.certificates.join(",")] : []),
    e.certSha256 === null ? "-" : e.certSha256.slice(0, 16),
    e.certNotAfter ?? "-",
    e.tenants.join(","),
  ]);
  const [head = "", ...lines] = formatRows([[...columns], ...rows]);
  // who asked goes on lines of its own under the commit: names and addresses have no width bound
  const requests = (e: AuditEntry): string =>
    e.requestedBy.map((r) => `  requested by ${r.author} (commit ${r.commit.slice(0, 12)}): ${r.tenants.join(", ")}\n`).join("");
  return `${head}\n` + entries.map((e, i) => `${lines[i] ?? ""}\n` + requests(e)).join("");
}
