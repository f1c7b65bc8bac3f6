import { mkdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { InvalidInputError } from "../errors.ts";
import { lstatOrUndefined } from "../lstat-or-undefined.ts";
import type { ExistingTenantOutput } from "./plan.ts";
import { makeFolderHold, type WriteCounts } from "./rendered-files.ts";
import { SHARED_FILE, SHARED_FOLDER } from "./shared-layout.ts";
import { KUSTOMIZATION, assertInside, outputPath } from "./tree.ts";

/**
 * `<output>/<cluster>/_shared/` on disk (shared-layout.ts). Kept apart from rendered-files.ts's
 * tenant-folder writers because `_shared` is deliberately not a tenant name (not a DNS label), which
 * outputPath refuses for tenant folders.
 */

function sharedPath(repoDir: string, output: string, cluster: string, file?: string): string {
  const clusterDir = outputPath(repoDir, output, cluster);
  if (file !== undefined && file !== KUSTOMIZATION && file !== SHARED_FILE) {
    throw new InvalidInputError(`refusing to write ${JSON.stringify(file)} in ${SHARED_FOLDER}/: wildseal writes only ${KUSTOMIZATION} and ${SHARED_FILE} there`);
  }
  const full = file === undefined ? join(clusterDir, SHARED_FOLDER) : join(clusterDir, SHARED_FOLDER, file);
  assertInside(clusterDir, full);
  return full;
}

/** Makes `_shared/` hold exactly `files`, writing only what differs. */
export async function writeSharedFolder(
  repoDir: string,
  output: string,
  cluster: string,
  files: ReadonlyMap<string, string>,
  existing: ExistingTenantOutput | undefined,
  counts: WriteCounts,
): Promise<void> {
  const dir = sharedPath(repoDir, output, cluster);
  await mkdir(dir, { recursive: true });
  await makeFolderHold(repoDir, dir, (name) => sharedPath(repoDir, output, cluster, name), files, existing, counts);
}

/** Deletes `_shared/` (no tenant folder uses it any more). */
export async function removeSharedFolder(repoDir: string, output: string, cluster: string, counts: WriteCounts): Promise<void> {
  const path = sharedPath(repoDir, output, cluster);
  const st = await lstatOrUndefined(path);
  if (st === undefined) return;
  if (!st.isDirectory()) throw new InvalidInputError(`refusing to remove ${relative(repoDir, path)}: it is not a folder`);
  await rm(path, { recursive: true });
  counts.removed.push(relative(repoDir, path));
}
