import { lstat } from "node:fs/promises";
import type { Stats } from "node:fs";

/**
 * lstat, with "not there" as undefined instead of an error: ENOENT, and ENOTDIR (a path component
 * is a file, so nothing can exist below it). Never follows a symbolic link, so callers see links as
 * links and can refuse them. Other errors (EACCES, ELOOP…) are real problems and are thrown.
 */
export async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}
