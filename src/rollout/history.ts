import { NO_CREDENTIALS } from "../git/credentials.ts";
import { createGitRunner, GitFailure } from "../git/git-process.ts";
import { ANNOTATION } from "../render/sealed-secret-document.ts";
import { SHARED_FOLDER } from "../render/shared-layout.ts";
import { rfc3339 } from "../rfc3339.ts";

/**
 * Which certificates each tenant's SealedSecret carried in recent commits, read from Git with two
 * processes whatever the number of tenants: `git log --first-parent` lists the last commits that
 * changed the output folder (first parent: the time a change landed on the branch, a merge for a
 * pull request), and one `git grep` over those commits prints only the `wildseal.dev/cert-sha256`
 * lines, never the ciphertext. Bounded to HISTORY_COMMITS commits: a certificate older than that
 * is not recognised as ours (it shows as `foreign`), and a certificate committed before it shows
 * the oldest of those commits as the one that brought it.
 */

export const HISTORY_COMMITS = 100;

export interface CommitRef {
  readonly commit: string;
  /** committer date, RFC 3339 UTC */
  readonly date: string;
}

/** One commit's view of one tenant: the cert-sha256 values of its SealedSecrets then. */
export interface CertVersion extends CommitRef {
  readonly sha256s: ReadonlySet<string>;
}

export type CertificateHistory =
  | {
      readonly kind: "git";
      /** folder (`cluster/tenant`, `cluster/_shared[/<certificate>]`) → versions, newest first; only commits in which it had output */
      readonly tenants: ReadonlyMap<string, readonly CertVersion[]>;
    }
  | { readonly kind: "none"; readonly reason: string };

const SHA256_LINE = new RegExp(`${ANNOTATION.certSha256.replace(/[./]/g, "\\$&")}:\\s*["']?([0-9a-fA-F]{64})["']?\\s*$`);

/** `git log --format=%H%x1f%cI` lines → commits, newest first. Pure. */
export function parseCommitList(out: string): CommitRef[] {
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [commit = "", date = ""] = l.split("\x1f");
      return { commit, date: rfc3339(new Date(date)) };
    });
}

/**
 * `git grep -z` output (`<commit>:<path>\0<line>\n`) → commit → folder → cert-sha256s, for files
 * `<output>/<cluster>/<tenant>/<file>` (folder `cluster/tenant`, `cluster/_shared` for the shared
 * layout's one-certificate base) and `<output>/<cluster>/_shared/<certificate>/<file>` (folder
 * `cluster/_shared/<certificate>`): each certificate's base has a history of its own, or a tenant of
 * one certificate would count the other certificates as its earlier ones. Pure.
 */
export function parseGrepOutput(out: string, output: string): Map<string, Map<string, Set<string>>> {
  const byCommit = new Map<string, Map<string, Set<string>>>();
  const prefix = `${output.replace(/\/+$/, "")}/`;
  for (const record of out.split("\n")) {
    const nul = record.indexOf("\0");
    if (nul === -1) continue;
    const head = record.slice(0, nul);
    const colon = head.indexOf(":");
    const commit = head.slice(0, colon);
    const path = head.slice(colon + 1);
    const m = SHA256_LINE.exec(record.slice(nul + 1));
    if (colon === -1 || m === null || !path.startsWith(prefix)) continue;
    const key = folderOf(path.slice(prefix.length));
    if (key === undefined) continue;
    const tenants = byCommit.get(commit) ?? new Map<string, Set<string>>();
    byCommit.set(commit, tenants);
    const set = tenants.get(key) ?? new Set<string>();
    tenants.set(key, set);
    set.add((m[1] ?? "").toLowerCase());
  }
  return byCommit;
}

/** `cluster/tenant/file` → `cluster/tenant`; `cluster/_shared/<certificate>/file` → `cluster/_shared/<certificate>`. */
function folderOf(relative: string): string | undefined {
  const [cluster, tenant, file, inBase] = relative.split("/");
  if (cluster === undefined || tenant === undefined || file === undefined) return undefined;
  return tenant === SHARED_FOLDER && inBase !== undefined ? `${cluster}/${tenant}/${file}` : `${cluster}/${tenant}`;
}

/** Commits (newest first) and the grep of them → per tenant versions, newest first. Pure. */
export function tenantVersions(commits: readonly CommitRef[], grep: ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>): Map<string, CertVersion[]> {
  const out = new Map<string, CertVersion[]>();
  for (const c of commits) {
    for (const [key, sha256s] of grep.get(c.commit) ?? []) {
      const list = out.get(key) ?? [];
      out.set(key, list);
      list.push({ ...c, sha256s });
    }
  }
  return out;
}

/**
 * For a tenant whose output now carries `current`: the commit that brought it (the oldest of the
 * newest run of commits that carry it; null when the newest commit does not, i.e. it is not
 * committed) and every other fingerprint the tenant carried in the window (its earlier certificates).
 * Pure.
 */
export function sinceAndEarlier(versions: readonly CertVersion[], current: string): { since: CommitRef | null; earlier: string[] } {
  let since: CommitRef | null = null;
  for (const v of versions) {
    if (!v.sha256s.has(current)) break;
    since = { commit: v.commit, date: v.date };
  }
  const earlier = new Set<string>();
  for (const v of versions) for (const s of v.sha256s) if (s !== current) earlier.add(s);
  return { since, earlier: [...earlier].sort() };
}

/** Reads the history of `<repoDir>/<output>`; `none` outside a Git work tree or before the first commit. */
export async function readCertificateHistory(
  repoDir: string,
  output: string,
  opts: { readonly env: Readonly<Record<string, string | undefined>>; readonly maxCommits?: number },
): Promise<CertificateHistory> {
  const git = createGitRunner({ baseDir: repoDir, credentials: NO_CREDENTIALS, env: opts.env });
  try {
    if ((await git.run(["rev-parse", "--is-inside-work-tree"])).trim() !== "true") return { kind: "none", reason: `${repoDir} is not a Git work tree` };
  } catch (e) {
    if (e instanceof GitFailure) return { kind: "none", reason: `${repoDir} is not in a Git repository` };
    throw e;
  }
  let commits: CommitRef[];
  try {
    const max = opts.maxCommits ?? HISTORY_COMMITS;
    commits = parseCommitList(await git.run(["log", "--first-parent", `-n${max}`, "--format=%H%x1f%cI", "HEAD", "--", output]));
  } catch (e) {
    if (e instanceof GitFailure) return { kind: "none", reason: "the repository has no commits yet" };
    throw e;
  }
  if (commits.length === 0) return { kind: "git", tenants: new Map() };
  let grep: string;
  try {
    grep = await git.run(["grep", "-z", "-F", "-e", `${ANNOTATION.certSha256}:`, ...commits.map((c) => c.commit), "--", output]);
  } catch (e) {
    // git grep exits 1 when nothing matches
    if (!(e instanceof GitFailure)) throw e;
    if (e.output.trim() !== "") return { kind: "none", reason: `git grep failed: ${e.output.trim().split("\n")[0] ?? ""}` };
    grep = "";
  }
  return { kind: "git", tenants: tenantVersions(commits, parseGrepOutput(grep, output)) };
}
