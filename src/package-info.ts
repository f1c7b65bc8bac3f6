import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * wildseal's own package: found by walking up from this module to the first package.json named
 * wildseal, which works from src/ (tsx), from the dist/ bundle and from an npm install alike.
 */
interface PackageInfo {
  readonly root: string;
  readonly version: string;
}

let cached: PackageInfo | undefined | null;

function findPackage(): PackageInfo | undefined {
  if (cached !== undefined) return cached ?? undefined;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "wildseal" && typeof pkg.version === "string") return (cached = { root: dir, version: pkg.version });
    }
    const up = dirname(dir);
    if (up === dir) {
      cached = null;
      return undefined;
    }
    dir = up;
  }
}

/** The package root (where wildseal's package.json is); throws when wildseal runs outside its package. */
export function packageRoot(): string {
  const found = findPackage();
  if (found === undefined) throw new Error(`wildseal's package.json not found above ${fileURLToPath(import.meta.url)}`);
  return found.root;
}

/** wildseal's version from its package.json ("0.0.0-unknown" outside its package). */
export function wildsealVersion(): string {
  return findPackage()?.version ?? "0.0.0-unknown";
}
