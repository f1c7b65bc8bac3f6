import { lstat, realpath } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import type { Diagnostic, Reason } from "../errors.ts";
import { InvalidInputError, withReason } from "../errors.ts";
import type { ClusterConfig } from "./types.ts";

/**
 * Paths taken from repository files (`sealingCert`, `output`) are user input: they must name
 * something inside the repository, both as written (no `..`, not absolute) and once symlinks are
 * resolved (a committed symlink can point anywhere).
 */

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Why a repo-relative path as written is unsafe, or undefined when it is fine. */
export function unsafeRelativePathReason(p: string): string | undefined {
  if (p.length === 0) return "is empty";
  if (isAbsolute(p) || p.startsWith("/") || /^[A-Za-z]:/.test(p)) return "is absolute: write a path relative to the repository root";
  if (p.includes("\\")) return 'contains "\\": use "/" as separator';
  const segments = p.split("/");
  if (segments.includes("..")) return 'contains "..": it must stay inside the repository';
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined) {
    return `has the part "${bad}": use letters, digits, ".", "_" and "-" only, not starting with "." or "-", and no empty parts`;
  }
  return undefined;
}

/** Whether `child` is `parent` or below it (both absolute, normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/**
 * What a folder wildseal reads or owns (tenants/, templates/, the output folder, a sealing
 * certificate's folder) turned out to be. Only a real folder counts: a committed symlink, even one
 * pointing inside the repository, is refused, because a link is how a commit reaches outside the
 * clone (an absolute target) or swaps a whole folder for an empty one (a dangling target) — either
 * would make wildseal publish host files or prune every tenant.
 */
export type RepoFolder =
  | { readonly kind: "folder" }
  | { readonly kind: "missing" }
  | { readonly kind: "refused"; readonly diagnostic: Diagnostic };

/**
 * Checks every part of `relPath` (a validated repo-relative folder path, "/"-separated) with lstat,
 * from the repository root down: each must be a real folder, not a symlink, not a file.
 */
export async function checkRepoFolder(repoDir: string, relPath: string): Promise<RepoFolder> {
  const parts = relPath.split("/").filter((p) => p !== "" && p !== ".");
  for (let i = 0; i < parts.length; i++) {
    const rel = parts.slice(0, i + 1).join("/");
    let st;
    try {
      st = await lstat(join(repoDir, rel));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return { kind: "missing" };
      throw e;
    }
    const refuse = (message: string): RepoFolder => ({ kind: "refused", diagnostic: { path: rel, line: 1, col: 1, message } });
    if (st.isSymbolicLink()) {
      return refuse(
        `is a symbolic link; wildseal reads and writes ${relPath}/ only as a real folder inside the repository (a link can point outside it, or nowhere): replace the link with the folder itself`,
      );
    }
    if (!st.isDirectory()) return refuse(`is not a folder, but ${relPath}/ must be one: remove or rename this file`);
  }
  return { kind: "folder" };
}

/** checkRepoFolder for the folder holding the repo-relative file `relPath` (the root itself: a folder). */
export function checkParentFolder(repoDir: string, relPath: string): Promise<RepoFolder> {
  const parent = relPath.split("/").slice(0, -1).join("/");
  return parent === "" ? Promise.resolve({ kind: "folder" }) : checkRepoFolder(repoDir, parent);
}

/**
 * Resolves a repo-relative path to an absolute one whose real location (symlinks followed) is
 * inside the repository. Throws InvalidInputError otherwise, with `gate` as its reason (the caller
 * knows what the file is for); ENOENT propagates as a Node error.
 */
export async function resolveInsideRepo(repoDir: string, relPath: string, gate?: Reason): Promise<string> {
  const options = gate === undefined ? {} : { reason: gate };
  const reason = unsafeRelativePathReason(relPath);
  if (reason !== undefined) throw new InvalidInputError(`path "${relPath}" ${reason}`, [], options);
  const root = await realpath(repoDir);
  const target = resolve(root, relPath);
  const folder = await checkParentFolder(root, relPath);
  if (folder.kind === "refused") {
    throw new InvalidInputError("", gate === undefined ? [folder.diagnostic] : withReason([folder.diagnostic], gate), options);
  }
  const real = await realpath(target);
  if (!isInside(root, real)) {
    throw new InvalidInputError(`path "${relPath}" resolves outside the repository (symlink): replace it with a regular file`, [], options);
  }
  return real;
}

/** The absolute, checked path of a cluster's `sealingCert`; refuses clusters that fetch from a controller. */
export async function readSealingCertPath(repoDir: string, cluster: ClusterConfig): Promise<string> {
  if (cluster.sealing.kind !== "file") {
    throw new InvalidInputError(
      `cluster ${cluster.name} has no sealingCert file (it fetches from controller ${cluster.sealing.namespace}/${cluster.sealing.name})`,
      [],
      { reason: "sealing-certificate" },
    );
  }
  return resolveInsideRepo(repoDir, cluster.sealing.path, "sealing-certificate");
}
