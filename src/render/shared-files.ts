import { mkdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { InvalidInputError } from "../errors.ts";
import { lstatOrUndefined } from "../lstat-or-undefined.ts";
import type { ExistingTenantOutput } from "./plan.ts";
import { makeFolderHold, type WriteCounts } from "./rendered-files.ts";
import { SHARED_FILE, sharedBaseFolder, type SharedBase } from "./shared-layout.ts";
import { KUSTOMIZATION, assertInside, outputPath } from "./tree.ts";

/**
 * The shared bases on disk, `<output>/<cluster>/_shared/` and `_shared/<certificate>/`
 * (shared-layout.ts). Kept apart from rendered-files.ts's tenant-folder writers because `_shared` is
 * deliberately not a tenant name (not a DNS label), which outputPath refuses for tenant folders.
 */

function sharedPath(repoDir: string, output: string, cluster: string, certificate: SharedBase, file?: string): string {
  const clusterDir = outputPath(repoDir, output, cluster);
  if (file !== undefined && file !== KUSTOMIZATION && file !== SHARED_FILE) {
    throw new InvalidInputError(`refusing to write ${JSON.stringify(file)} in ${sharedBaseFolder(certificate)}/: wildseal writes only ${KUSTOMIZATION} and ${SHARED_FILE} there`);
  }
  // sharedBaseFolder refuses a certificate name that is not a DNS label; the result must stay inside the cluster folder anyway
  const folder = join(clusterDir, sharedBaseFolder(certificate));
  const full = file === undefined ? folder : join(folder, file);
  assertInside(clusterDir, full);
  return full;
}

/** Makes a base hold exactly `files`, writing only what differs (a base's folder holds nothing else of wildseal's). */
export async function writeSharedFolder(
  repoDir: string,
  output: string,
  cluster: string,
  certificate: SharedBase,
  files: ReadonlyMap<string, string>,
  existing: ExistingTenantOutput | undefined,
  counts: WriteCounts,
): Promise<void> {
  const dir = sharedPath(repoDir, output, cluster, certificate);
  await mkdir(dir, { recursive: true });
  await makeFolderHold(repoDir, dir, (name) => sharedPath(repoDir, output, cluster, certificate, name), files, existing, counts);
}

/** Deletes `_shared/` as a whole (no tenant folder uses any base of the cluster any more). */
export async function removeSharedFolder(repoDir: string, output: string, cluster: string, counts: WriteCounts): Promise<void> {
  await removeFolderAt(repoDir, sharedPath(repoDir, output, cluster, undefined), counts);
}

/**
 * Deletes one base while another base of the cluster stays: `_shared/<certificate>/`, or (certificate
 * undefined) the entries directly in `_shared/` that readExistingTree proved generated (`existing`),
 * leaving the certificates' folders beside them.
 */
export async function removeSharedBase(
  repoDir: string,
  output: string,
  cluster: string,
  certificate: SharedBase,
  existing: ExistingTenantOutput | undefined,
  counts: WriteCounts,
): Promise<void> {
  if (certificate !== undefined) {
    await removeFolderAt(repoDir, sharedPath(repoDir, output, cluster, certificate), counts);
    return;
  }
  const dir = sharedPath(repoDir, output, cluster, undefined);
  for (const name of [...(existing?.files.keys() ?? [])].sort()) {
    const path = join(dir, name);
    assertInside(dir, path);
    if ((await lstatOrUndefined(path)) === undefined) continue;
    await rm(path, { recursive: true });
    counts.removed.push(relative(repoDir, path));
  }
}

async function removeFolderAt(repoDir: string, path: string, counts: WriteCounts): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (st === undefined) return;
  if (!st.isDirectory()) throw new InvalidInputError(`refusing to remove ${relative(repoDir, path)}: it is not a folder`);
  await rm(path, { recursive: true });
  counts.removed.push(relative(repoDir, path));
}
