import { createHash, randomInt } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, readlink, rename, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { type Log, silentLog } from "../log.ts";

/**
 * Temporary folders that say who owns them, so that the leftovers of a process that died without
 * cleaning up (`kill -9`, OOM kill, power loss of a container) can be recognised and removed later
 * by another wildseal, without ever touching a live process's folder.
 *
 * The owner is in the folder's name, written atomically by mkdtemp itself (an owner file written
 * afterwards would leave a window in which a folder has no owner):
 *
 *     <prefix><scope>-<pid>-<start>-XXXXXX        e.g. wildseal-git-3f9a0c1d-4711-123456-Ab3xYz
 *
 * - `pid`: the owner process.
 * - `start`: when that process started (Linux: `starttime` from /proc/<pid>/stat, clock ticks since
 *   boot), so that a recycled pid is not mistaken for the owner; `0` where it cannot be read, and
 *   then only the pid's liveness (process.kill(pid, 0)) decides.
 * - `scope`: which pid numbering the pid belongs to (Linux: boot id and pid namespace; elsewhere the
 *   host name). Containers sharing one TMPDIR volume each have their own pid namespace: pid 7 in one
 *   says nothing about pid 7 in another, so folders of another scope are never judged, never removed.
 *   Nor are those from before a reboot (a new boot id): the system's tmp cleaning handles those.
 */

/** Prefix of workspace clones (workspace.ts). */
export const CLONE_PREFIX = "wildseal-git-";

/** A process as the folder names record it. */
export interface ProcessIdentity {
  readonly scope: string;
  readonly pid: number;
  /** start time in clock ticks since boot; 0: unknown */
  readonly start: number;
}

/** What the sweep decided for one entry of the temporary folder (for logs and tests). */
export type SweepVerdict =
  | { readonly kind: "removed"; readonly path: string; readonly owner: number }
  | { readonly kind: "kept"; readonly path: string; readonly why: "owner alive" | "other scope" | "not a directory" | "other user" }
  | { readonly kind: "failed"; readonly path: string; readonly error: string };

export interface SweepOptions {
  readonly log?: Log;
  /** the identity to sweep as; default the running process's */
  readonly self?: ProcessIdentity;
}

const NAME = /^(?<scope>[0-9a-f]{8})-(?<pid>[1-9][0-9]{0,9})-(?<start>0|[1-9][0-9]{0,19})-[A-Za-z0-9]{6}$/;

/** The recorded owner of `name`, when it is one of our folders with `prefix`; else undefined. */
export function parseOwnedName(prefix: string, name: string): ProcessIdentity | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const g = NAME.exec(name.slice(prefix.length))?.groups;
  if (g?.scope === undefined || g.pid === undefined || g.start === undefined) return undefined;
  const pid = Number(g.pid);
  const start = Number(g.start);
  if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(start)) return undefined;
  return { scope: g.scope, pid, start };
}

export function ownedName(prefix: string, owner: ProcessIdentity, suffix: string): string {
  return `${prefix}${owner.scope}-${owner.pid}-${owner.start}-${suffix}`;
}

/** A fresh 0700 folder under `root` whose name records the running process as its owner. */
export async function makeOwnedTempDir(root: string, prefix: string): Promise<string> {
  const self = await currentProcess();
  return mkdtemp(join(root, `${prefix}${self.scope}-${self.pid}-${self.start}-`));
}

let selfIdentity: Promise<ProcessIdentity> | undefined;

/** The running process's identity (computed once). */
export function currentProcess(): Promise<ProcessIdentity> {
  selfIdentity ??= (async () => ({ scope: await pidScope(), pid: process.pid, start: (await startTime(process.pid)) ?? 0 }))();
  return selfIdentity;
}

/**
 * Removes the folders under `root` named `<prefix>…` whose owner process is gone. Only directories
 * (never a symlink: it is neither followed nor removed), only the current user's, only of our scope,
 * never a live process's. Never throws: a failure is logged and that folder left alone.
 */
export async function sweepDeadOwners(root: string, prefix: string, opts: SweepOptions = {}): Promise<SweepVerdict[]> {
  const log = (line: string): void => (opts.log ?? silentLog).debug(line);
  let names: string[];
  try {
    names = await readdir(root);
  } catch (e) {
    log(`git: cannot look for leftover clones in ${root} (${message(e)}); skipped`);
    return [];
  }
  const self = opts.self ?? (await currentProcess());
  const verdicts: SweepVerdict[] = [];
  for (const name of names) {
    const owner = parseOwnedName(prefix, name);
    if (owner === undefined) continue;
    const path = join(root, name);
    try {
      const verdict = await sweepOne(root, prefix, path, owner, self);
      if (verdict !== undefined) verdicts.push(verdict);
      if (verdict?.kind === "removed") log(`git: removed ${path}, a clone left behind by process ${verdict.owner}, which is gone`);
    } catch (e) {
      verdicts.push({ kind: "failed", path, error: message(e) });
      log(`git: cannot remove the leftover clone ${path} (${message(e)}); left alone`);
    }
  }
  return verdicts;
}

async function sweepOne(
  root: string,
  prefix: string,
  path: string,
  owner: ProcessIdentity,
  self: ProcessIdentity,
): Promise<SweepVerdict | undefined> {
  if (owner.scope !== self.scope) return { kind: "kept", path, why: "other scope" };
  if (owner.pid === self.pid && owner.start === self.start) return { kind: "kept", path, why: "owner alive" };
  const st = await lstat(path).catch((e: unknown) => (isCode(e, "ENOENT") ? undefined : Promise.reject(e)));
  if (st === undefined) return undefined; // removed meanwhile (its owner, or another sweep)
  if (!st.isDirectory()) return { kind: "kept", path, why: "not a directory" };
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return { kind: "kept", path, why: "other user" };
  if (await isAlive(owner)) return { kind: "kept", path, why: "owner alive" };
  // claim it first: a rename is atomic, so of several sweeps only one goes on, and a folder renamed
  // to our own name is collected by the next sweep should we die while removing it
  const claimed = join(root, ownedName(prefix, self, randomSuffix()));
  try {
    await rename(path, claimed);
  } catch (e) {
    if (isCode(e, "ENOENT")) return undefined;
    throw e;
  }
  // rm does not follow symlinks inside the folder: it unlinks them
  await rm(claimed, { recursive: true, force: true });
  return { kind: "removed", path, owner: owner.pid };
}

/** True unless the recorded process is certainly gone (exited, or its pid now names another process). */
export async function isAlive(owner: ProcessIdentity): Promise<boolean> {
  if (owner.start !== 0) {
    const start = await startTime(owner.pid);
    if (start !== undefined) return start === owner.start;
  }
  return pidExists(owner.pid);
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, as another user's process
    return !isCode(e, "ESRCH");
  }
}

/** Field 22 of /proc/<pid>/stat; undefined without /proc or without that process. */
async function startTime(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from its last ")"
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(fields[19]);
    return Number.isSafeInteger(start) && start > 0 ? start : undefined;
  } catch {
    return undefined;
  }
}

async function pidScope(): Promise<string> {
  const [boot, ns] = await Promise.all([
    readFile("/proc/sys/kernel/random/boot_id", "utf8").catch(() => undefined),
    readlink("/proc/self/ns/pid").catch(() => undefined),
  ]);
  const id = boot !== undefined && ns !== undefined ? `linux\0${boot.trim()}\0${ns}` : `host\0${hostname()}`;
  return createHash("sha256").update(id).digest("hex").slice(0, 8);
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function randomSuffix(): string {
  let s = "";
  for (let i = 0; i < 6; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

function isCode(e: unknown, code: string): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === code;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
