#!/usr/bin/env node
// Imports point one way: a file in src/ may import from its own folder and from folders below it in
// LAYERS, never from one above (an upward import makes a cycle between folders, and the lower layer
// can no longer be read, tested or reused without the upper one). docs/architecture.md explains the
// order. Run by `npm test` (test/scripts/check-imports.test.ts) and by hand:
//
//   node scripts/check-imports.mjs            # exit 1 and one line per upward import
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Bottom to top. "." is src/'s own files (errors.ts, package-info.ts, …): the floor everything may use.
 * kube/ (Kubernetes API access) sits below ops/ and sources/: the Secret watch, the Lease and the
 * one-shot commands (seal, sync --source-secret) all use it, and it needs nothing above tls/.
 */
export const LAYERS = [".", "yaml", "tls", "seal", "model", "render", "git", "github", "kube", "rollout", "ops", "sources", "pipeline", "cli"];

/** Every relative import specifier of a TypeScript source, with its line: static, re-export and dynamic. */
export function importsOf(text) {
  const found = [];
  const patterns = [/\b(?:import|export)\s[^;]*?\bfrom\s*["'](\.[^"']+)["']/g, /\bimport\s*["'](\.[^"']+)["']/g, /\bimport\(\s*["'](\.[^"']+)["']\s*\)/g];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) found.push({ specifier: m[1], line: text.slice(0, m.index).split("\n").length });
  }
  return found.sort((a, b) => a.line - b.line);
}

/** The layer of a path relative to src/ ("render/plan.ts" → "render", "errors.ts" → "."). */
export function layerOf(srcRelative) {
  const parts = srcRelative.split(/[\\/]/);
  return parts.length === 1 ? "." : parts[0];
}

/** Upward imports in the tree under `srcDir`, as "src/x/y.ts:12: imports ../z/w.ts (x → z, upward)". */
export function upwardImports(srcDir) {
  const problems = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) check(path);
    }
  };
  const check = (file) => {
    const from = layerOf(relative(srcDir, file));
    const fromRank = LAYERS.indexOf(from);
    const shown = relative(resolve(srcDir, ".."), file).split(sep).join("/");
    if (fromRank === -1) {
      problems.push(`${shown}:1: folder "${from}" is not in LAYERS (scripts/check-imports.mjs): add it where it belongs`);
      return;
    }
    for (const { specifier, line } of importsOf(readFileSync(file, "utf8"))) {
      const target = relative(srcDir, resolve(dirname(file), specifier));
      if (target.startsWith("..")) {
        problems.push(`${shown}:${line}: imports ${specifier}, outside src/`);
        continue;
      }
      const to = layerOf(target);
      const toRank = LAYERS.indexOf(to);
      if (toRank > fromRank) problems.push(`${shown}:${line}: imports ${specifier} (${from} → ${to}, upward): move the shared part down into ${from} or below`);
    }
  };
  walk(srcDir);
  return problems.sort();
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const problems = upwardImports(fileURLToPath(new URL("../src", import.meta.url)));
  for (const p of problems) console.error(p);
  console.log(problems.length === 0 ? `imports: every import points down (${LAYERS.join(" < ")})` : `imports: ${problems.length} upward`);
  process.exit(problems.length === 0 ? 0 : 1);
}
