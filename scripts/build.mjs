#!/usr/bin/env node
// Bundles the CLI with esbuild: dist/wildseal.mjs (the `wildseal` bin), dist/seal-worker.mjs (the
// worker_threads entry of src/render/seal-batch.ts) and the chunks they share, dist/chunk-*.mjs. Why a
// bundle rather than tsc's one-file-per-module output: Node's ESM loader opens a module graph
// concurrently, and @kubernetes/client-node alone is ~970 files, so under `ulimit -n 256` (macOS's
// default) every command died with EMFILE before running. A few dozen files bound the descriptors and
// also make start-up much faster.
//
// Why chunks (code splitting) rather than one file: every command paid for compiling the whole 4.5 MB
// bundle (~120 ms, most of `wildseal --version`) and for evaluating the Kubernetes client, Octokit,
// zod… whatever it ran. Each command's action imports its work with a dynamic import(), which esbuild
// turns into a chunk loaded only then; `wildseal --version` reads the entry and commander only.
// The chunks sit in dist/ itself, next to the entries, with the .mjs extension: seal-batch.ts finds the
// worker as new URL("./seal-worker.mjs", import.meta.url) from whichever chunk it lands in, and
// package-info.ts finds package.json one folder up from any of them.
//
//   node scripts/build.mjs                 # into dist/ (emptied first: no stale tsc output ships)
//   node scripts/build.mjs --outdir DIR    # into DIR (tests build into a temp folder)
//
// Typechecking is not esbuild's job: `npm run typecheck` (part of `npm test`) does it.
import { readFile, rm, writeFile } from "node:fs/promises";
import { readdirSync, realpathSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * Packages a dependency require()s inside try/catch and works without (ws: bufferutil, utf-8-validate;
 * node-fetch: encoding; debug: supports-color). esbuild leaves them as runtime requires; they are not
 * installed, so at run time they are simply absent, as before.
 */
const OPTIONAL_REQUIRES = new Set(["bufferutil", "utf-8-validate", "encoding", "supports-color"]);

/**
 * Imports esbuild left for run time that are neither Node built-ins nor the optional ones above. The
 * Docker runtime stage ships no node_modules, so any such import would only fail there, at run time:
 * fail the build instead.
 */
export function unbundledImports(metafile) {
  const found = new Set();
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imp of input.imports) {
      // "<runtime>" is esbuild's own helper module, not a file
      if (imp.external && imp.path !== "<runtime>" && !isBuiltin(imp.path) && !OPTIONAL_REQUIRES.has(imp.path)) found.add(`${imp.path} (imported by ${file})`);
    }
  }
  return [...found].sort();
}

/**
 * The node_modules packages whose files went into the bundle, as their folders ("node_modules/@scope/name",
 * nested ones included), sorted. The package declares no runtime dependencies, so this is the only
 * place a user (or an SBOM tool reading THIRD-PARTY-LICENSES.txt) learns what the bundle is made of.
 */
export function bundledPackages(metafile) {
  const found = new Set();
  for (const file of Object.keys(metafile.inputs)) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (m !== null) found.add(m[1]);
  }
  return [...found].sort();
}

/** name@version, licence and licence text of every bundled package, in one file next to the bundle. */
async function writeThirdPartyLicenses(metafile, outdir) {
  const sections = [];
  for (const dir of bundledPackages(metafile)) {
    const pkg = JSON.parse(await readFile(resolve(root, dir, "package.json"), "utf8"));
    const licenceFile = readdirSync(resolve(root, dir)).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = licenceFile === undefined ? "(no licence file in the package)" : (await readFile(resolve(root, dir, licenceFile), "utf8")).trim();
    sections.push(`${pkg.name}@${pkg.version} — ${typeof pkg.license === "string" ? pkg.license : "see text"}\n\n${text}\n`);
  }
  const header = `wildseal's bundle (dist/wildseal.mjs, dist/seal-worker.mjs and their dist/chunk-*.mjs) contains these ${sections.length} packages.\n`;
  await writeFile(join(outdir, "THIRD-PARTY-LICENSES.txt"), [header, ...sections].join(`\n${"-".repeat(78)}\n\n`));
}

/**
 * Builds both entry points and their chunks into `outdir`. They must stay side by side: seal-batch.ts
 * finds the worker as ./seal-worker.mjs next to the module (chunk) it runs in, and packageRoot()/
 * wildsealVersion() find package.json by walking up from it, so `outdir` belongs directly under the
 * package root when shipped (dist/).
 */
export async function build({ outdir = resolve(root, "dist"), clean = outdir === resolve(root, "dist"), logLevel = "warning" } = {}) {
  if (clean) await rm(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    // named, not discovered: how TypeScript compiles (verbatimModuleSyntax keeps side-effect imports,
    // ES2022 class fields) must not silently change when a build context lacks the file
    tsconfig: resolve(root, "tsconfig.json"),
    entryPoints: { wildseal: "src/cli/main.ts", "seal-worker": "src/render/seal-worker.ts" },
    outdir,
    outExtension: { ".js": ".mjs" },
    // flat: every chunk directly in outdir (see the header), named by content so caches never mix builds
    chunkNames: "chunk-[hash]",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Bundled CommonJS dependencies call require() for Node built-ins; ESM output has no `require`,
    // so give them one (esbuild's __require shim falls back to a global `require`).
    banner: { js: 'import { createRequire as __wildsealCreateRequire } from "node:module"; const require = __wildsealCreateRequire(import.meta.url);' },
    sourcemap: "linked",
    // Smaller sources compile faster and take less heap (V8 keeps every module's source text for the
    // life of the process). Whitespace and syntax only: identifiers and so class and function names
    // stay as written (error names, stack traces); the linked source maps lead back to src/.
    minifyWhitespace: true,
    minifySyntax: true,
    // dynamic import() → a chunk loaded on first use; modules both entries need are shared chunks
    splitting: true,
    legalComments: "linked",
    logLevel,
    metafile: true,
  });
  const missing = unbundledImports(result.metafile);
  if (missing.length > 0) throw new Error(`build: left outside the bundle, would fail at run time without node_modules:\n  ${missing.join("\n  ")}`);
  await writeThirdPartyLicenses(result.metafile, outdir);
  return result;
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--outdir");
  if (at !== -1 && args[at + 1] === undefined) {
    console.error("usage: node scripts/build.mjs [--outdir DIR]");
    process.exit(2);
  }
  const result = await build(at === -1 ? {} : { outdir: resolve(args[at + 1]) });
  for (const [file, out] of Object.entries(result.metafile.outputs)) {
    if (out.entryPoint !== undefined) console.log(`${file}  ${(out.bytes / 1024).toFixed(0)} KiB`);
  }
}
