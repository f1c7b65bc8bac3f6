import { lstatSync, realpathSync } from "node:fs";
import { readRegularFileSync } from "../regular-file.ts";
import { join } from "node:path";
import type { Diagnostic } from "../errors.ts";
import { DEFAULT_MAX_YAML_BYTES, tooLargeDiagnostic } from "../yaml/load.ts";
import { checkParentFolder, isInside } from "./repo-paths.ts";

export type RepoFileRead =
  | { readonly kind: "ok"; readonly text: string }
  | { readonly kind: "missing" }
  | { readonly kind: "refused"; readonly diagnostic: Diagnostic };

/**
 * Reads a repository file given by its repo-relative path, once, refusing what must not be read:
 * a file inside a folder that is a symlink (see checkRepoFolder), a symlink whose target lies outside
 * the repository, anything that is not a regular file, and files
 * over the size limit (checked on the open handle before reading, so a huge file costs nothing).
 */
export async function readRepoFile(repoRoot: string, relPath: string, maxBytes = DEFAULT_MAX_YAML_BYTES): Promise<RepoFileRead> {
  const folder = await checkParentFolder(repoRoot, relPath);
  if (folder.kind === "refused") return { kind: "refused", diagnostic: folder.diagnostic };
  if (folder.kind === "missing") return { kind: "missing" };
  return readFileInCheckedFolder(repoRoot, relPath, maxBytes);
}

/**
 * readRepoFile for a file whose folder the caller has already checked with checkRepoFolder (the
 * tenants and templates loaders check their folder once, not once per file).
 */
export async function readFileInCheckedFolder(repoRoot: string, relPath: string, maxBytes = DEFAULT_MAX_YAML_BYTES): Promise<RepoFileRead> {
  const abs = join(repoRoot, relPath);
  const at = (message: string): RepoFileRead => ({ kind: "refused", diagnostic: { path: relPath, line: 1, col: 1, message } });
  // synchronous: the tenants are thousands of small files (see regular-file.ts)
  let real = abs;
  try {
    if (lstatSync(abs).isSymbolicLink()) {
      real = realpathSync(abs);
      if (!isInside(realpathSync(repoRoot), real)) {
        return at("symlink points outside the repository: replace it with a regular file");
      }
    }
  } catch (e) {
    if (isNotFound(e)) return { kind: "missing" };
    throw e;
  }
  const r = readRegularFileSync(real, maxBytes);
  switch (r.kind) {
    case "missing":
      return { kind: "missing" };
    case "not-regular":
      return at("not a regular file: remove it or replace it with a YAML file");
    case "too-large":
      return { kind: "refused", diagnostic: tooLargeDiagnostic(relPath, r.size, maxBytes) };
    case "ok":
      return { kind: "ok", text: r.bytes.toString("utf8") };
  }
}

function isNotFound(e: unknown): boolean {
  return typeof e === "object" && e !== null && "code" in e && (e.code === "ENOENT" || e.code === "ENOTDIR");
}
