import { randomBytes } from "node:crypto";
import { lstat, mkdir, open, readdir, realpath, rename, rm, unlink } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { InvalidInputError } from "../errors.ts";
import type { Diagnostic } from "../errors.ts";
import type { ExistingClusterOutput, ExistingTenantOutput, ExistingTree } from "./plan.ts";
import { KUSTOMIZATION, assertInside, isDnsLabel, outputPath, outputRoot } from "./tree.ts";
import { mapLimit, READ_CONCURRENCY } from "../map-limit.ts";

/**
 * The rendered tree on disk: read once before planning, written file by file afterwards.
 * wildseal owns `<output>/`; still, it only ever touches real files and folders it can name: a
 * symlink anywhere below the output folder is refused before anything is written, so a committed
 * link can never redirect a write outside the repository.
 */

/** Generated files are small; a bigger one is not ours to keep (it will be rewritten). */
const MAX_RENDERED_FILE_BYTES = 1024 * 1024;
const OVERSIZE = Buffer.alloc(0);

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

async function readSmallFile(path: string): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    if (size > MAX_RENDERED_FILE_BYTES) return OVERSIZE;
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function symlinkRefused(repoDir: string, path: string): Diagnostic {
  return {
    path: relative(repoDir, path),
    line: 1,
    col: 1,
    message: "is a symbolic link inside the rendered output; wildseal writes only real files and folders there: remove the link",
  };
}

/** Checks that the output folder and its parents inside the repository are real folders, not links. */
async function checkOutputRoot(repoDir: string, output: string): Promise<string> {
  const root = outputRoot(repoDir, output);
  const repoReal = await realpath(repoDir);
  let cur = root;
  while (cur !== repoDir && relative(repoDir, cur) !== "") {
    const st = await lstatOrUndefined(cur);
    if (st?.isSymbolicLink()) throw new InvalidInputError("", [symlinkRefused(repoDir, cur)]);
    cur = dirname(cur);
  }
  const st = await lstatOrUndefined(root);
  if (st !== undefined) assertInside(repoReal, await realpath(root));
  return root;
}

/**
 * Every cluster folder, its index and every tenant folder's files, read once. Folders whose names
 * are not DNS-1123 labels are not wildseal's and are left alone.
 */
export async function readExistingTree(repoDir: string, output: string): Promise<ExistingTree> {
  const root = await checkOutputRoot(repoDir, output);
  const tree = new Map<string, ExistingClusterOutput>();
  const refused: Diagnostic[] = [];
  const entries = await readdirOrEmpty(root);
  for (const c of entries) {
    const cdir = join(root, c.name);
    if (c.isSymbolicLink()) {
      if (isDnsLabel(c.name)) refused.push(symlinkRefused(repoDir, cdir));
      continue;
    }
    if (!c.isDirectory() || !isDnsLabel(c.name)) continue;
    let index: Buffer | undefined;
    const tenants = new Map<string, ExistingTenantOutput>();
    const tenantDirs: string[] = [];
    for (const t of await readdirOrEmpty(cdir)) {
      const tpath = join(cdir, t.name);
      if (t.isSymbolicLink()) refused.push(symlinkRefused(repoDir, tpath));
      else if (t.isFile() && t.name === KUSTOMIZATION) index = await readSmallFile(tpath);
      else if (t.isDirectory() && isDnsLabel(t.name)) tenantDirs.push(t.name);
    }
    // Many small files: read a bounded number of folders at a time instead of one by one.
    const read = await mapLimit(tenantDirs, READ_CONCURRENCY, async (name) => {
      const tpath = join(cdir, name);
      const files = new Map<string, Buffer>();
      for (const f of await readdirOrEmpty(tpath)) {
        const fpath = join(tpath, f.name);
        if (f.isSymbolicLink()) refused.push(symlinkRefused(repoDir, fpath));
        else if (f.isFile()) files.set(f.name, await readSmallFile(fpath));
        else files.set(f.name, OVERSIZE); // a stray folder: not ours; makes the tenant differ, so it is cleaned
      }
      return [name, { files }] as const;
    });
    for (const [name, t] of read) tenants.set(name, t);
    tree.set(c.name, { index, tenants });
  }
  if (refused.length > 0) throw new InvalidInputError("", refused);
  return tree;
}



async function readdirOrEmpty(dir: string) {
  try {
    return (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw e;
  }
}

/** Write-then-rename in the same folder: a reader (or a crash) never sees half a file. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = join(dirname(path), `.${randomBytes(6).toString("hex")}.wildseal-tmp`);
  const handle = await open(tmp, "wx", 0o644);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

export interface WriteCounts {
  /** repository-relative paths */
  readonly written: string[];
  readonly removed: string[];
}

/** Makes one tenant folder hold exactly `files`, writing only what differs. */
export async function writeTenantFolder(
  repoDir: string,
  output: string,
  cluster: string,
  tenant: string,
  files: ReadonlyMap<string, string>,
  existing: ExistingTenantOutput | undefined,
  counts: WriteCounts,
): Promise<void> {
  const dir = outputPath(repoDir, output, cluster, tenant);
  await mkdir(dir, { recursive: true });
  for (const [name, text] of files) {
    const have = existing?.files.get(name);
    if (have !== undefined && have.equals(Buffer.from(text, "utf8"))) continue;
    const path = outputPath(repoDir, output, cluster, tenant, name);
    await writeFileAtomic(path, text);
    counts.written.push(relative(repoDir, path));
  }
  for (const name of existing?.files.keys() ?? []) {
    if (files.has(name)) continue;
    // not a generated name (e.g. a stray temp file): still inside this tenant folder, checked below
    const path = join(dir, name);
    assertInside(dir, path);
    await rm(path, { recursive: true, force: true });
    counts.removed.push(relative(repoDir, path));
  }
}

export async function writeClusterIndex(repoDir: string, output: string, cluster: string, text: string, counts: WriteCounts): Promise<void> {
  const path = outputPath(repoDir, output, cluster, undefined, KUSTOMIZATION);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, text);
  counts.written.push(relative(repoDir, path));
}

/** Deletes a tenant folder (tenant === undefined: a whole cluster folder). */
export async function removeFolder(repoDir: string, output: string, cluster: string, tenant: string | undefined, counts: WriteCounts): Promise<void> {
  const path = outputPath(repoDir, output, cluster, tenant);
  const st = await lstatOrUndefined(path);
  if (st === undefined) return;
  if (!st.isDirectory()) throw new InvalidInputError("", [symlinkRefused(repoDir, path)]);
  await rm(path, { recursive: true });
  counts.removed.push(relative(repoDir, path));
}
