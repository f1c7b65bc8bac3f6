/**
 * Real Git repositories for tests: bare remotes seeded with files, a "person" who pushes to them,
 * and readers for what landed. Every git here runs with the user's and the system's config
 * switched off, gc off, and a fixed identity, so tests see the same git on every machine.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export const PERSON = { name: "Pat Person", email: "pat@example.com" } as const;

export function fixtureEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: "/nonexistent",
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: PERSON.name,
    GIT_AUTHOR_EMAIL: PERSON.email,
    GIT_COMMITTER_NAME: PERSON.name,
    GIT_COMMITTER_EMAIL: PERSON.email,
    ...extra,
  };
}

/** Runs git synchronously in `cwd`; returns stdout. Throws with stderr on failure. */
export function git(cwd: string, args: readonly string[], input?: string): string {
  return execFileSync("git", ["-c", "gc.auto=0", "-c", "maintenance.auto=false", ...args], {
    cwd,
    env: fixtureEnv(),
    input,
    stdio: ["pipe", "pipe", "pipe"],
  }).toString("utf8");
}

export function tempDir(prefix = "wildseal-test-"): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface BareRemote {
  /** path of the bare repository */
  readonly path: string;
  /** the same repository as a file:// URL */
  readonly fileUrl: string;
  readonly branch: string;
  cleanup(): void;
}

export interface BareRemoteOptions {
  /** files of the first commit; none: an empty remote (no commits at all) */
  readonly files?: Readonly<Record<string, string>>;
  readonly branch?: string;
  /** parent folder (e.g. a git-http-backend project root); default: a fresh temp folder */
  readonly root?: string;
  readonly name?: string;
}

/** A bare repository with gc off; seeded with one commit of `files` on `branch` when given. */
export function makeBareRemote(opts: BareRemoteOptions = {}): BareRemote {
  const branch = opts.branch ?? "main";
  const holder = opts.root === undefined ? tempDir("wildseal-remote-") : undefined;
  const root = opts.root ?? holder?.path ?? "";
  const path = join(root, opts.name ?? "remote.git");
  mkdirSync(path, { recursive: true });
  git(path, ["init", "--quiet", "--bare", `--initial-branch=${branch}`]);
  for (const [k, v] of [
    ["gc.auto", "0"],
    ["receive.autogc", "false"],
    ["maintenance.auto", "false"],
    ["uploadpack.allowFilter", "true"],
  ] as const) {
    git(path, ["config", k, v]);
  }
  if (opts.files !== undefined) pushAsPerson(path, branch, opts.files, "seed the repository");
  return {
    path,
    fileUrl: pathToFileURL(path).href,
    branch,
    cleanup: () => (holder === undefined ? rmSync(path, { recursive: true, force: true }) : holder.cleanup()),
  };
}

/**
 * A person's change, made in a clone of their own and pushed (never forced): files set to a string
 * are written, files set to null are deleted. Returns the new commit.
 */
export function pushAsPerson(
  remote: string,
  branch: string,
  files: Readonly<Record<string, string | null>>,
  message: string,
): string {
  const work = tempDir("wildseal-person-");
  try {
    const exists = git(remote, ["for-each-ref", `refs/heads/${branch}`]).trim() !== "";
    if (exists) git(work.path, ["clone", "--quiet", "--branch", branch, remote, "."]);
    else {
      git(work.path, ["init", "--quiet", `--initial-branch=${branch}`]);
      git(work.path, ["remote", "add", "origin", remote]);
    }
    writeFiles(work.path, files);
    git(work.path, ["add", "--all"]);
    git(work.path, ["commit", "--quiet", "--no-verify", "-m", message]);
    git(work.path, ["push", "--quiet", "origin", `HEAD:refs/heads/${branch}`]);
    return git(work.path, ["rev-parse", "HEAD"]).trim();
  } finally {
    work.cleanup();
  }
}

export interface LoggedCommit {
  readonly sha: string;
  readonly parents: readonly string[];
  readonly author: string;
  readonly message: string;
}

/** Commits of `branch` in the bare repository, newest first. */
export function remoteLog(remote: string, branch: string): LoggedCommit[] {
  const out = git(remote, ["log", "--format=%H%x1f%P%x1f%an <%ae>%x1f%B%x1e", `refs/heads/${branch}`]);
  return out
    .split("\x1e")
    .map((r) => r.replace(/^\n/, ""))
    .filter((r) => r !== "")
    .map((r) => {
      const [sha = "", parents = "", author = "", message = ""] = r.split("\x1f");
      return { sha, parents: parents.split(" ").filter((p) => p !== ""), author, message };
    });
}

/** A file at the tip of `branch`, or undefined when absent. */
export function remoteFile(remote: string, branch: string, file: string): string | undefined {
  try {
    return git(remote, ["show", `refs/heads/${branch}:${file}`]);
  } catch {
    return undefined;
  }
}

export function remoteBranches(remote: string): string[] {
  return git(remote, ["for-each-ref", "--format=%(refname:short)", "refs/heads/"])
    .split("\n")
    .filter((l) => l !== "");
}

export function isAncestor(repo: string, ancestor: string, descendant: string): boolean {
  try {
    git(repo, ["merge-base", "--is-ancestor", ancestor, descendant]);
    return true;
  } catch {
    return false;
  }
}

/** Every regular file under `dir`, recursively (the .git folder included). */
export function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const st = statSync(full, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (st.isDirectory()) out.push(...allFiles(full));
    else if (st.isFile()) out.push(full);
  }
  return out;
}

/** Files under `dir` whose bytes contain any of `needles`. */
export function filesContaining(dir: string, needles: readonly string[]): string[] {
  return allFiles(dir).filter((f) => {
    const bytes = readFileSync(f);
    return needles.some((n) => bytes.includes(Buffer.from(n, "utf8")));
  });
}

/** Writes `files` under `dir` (parents created); null deletes. */
export function writeFiles(dir: string, files: Readonly<Record<string, string | null>>): void {
  for (const [file, content] of Object.entries(files)) {
    const full = join(dir, file);
    if (content === null) rmSync(full, { force: true });
    else {
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  }
}
