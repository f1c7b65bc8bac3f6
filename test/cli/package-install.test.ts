/**
 * The npm package as a user gets it. A copy of the project (no node_modules, no dist/) is built with
 * the real build script, `npm pack`ed (so package.json's `files` decides what ships), and the tarball
 * is installed into an empty prefix with production dependencies only — what `npm install wildseal`
 * does. Then `node_modules/.bin/wildseal` (package.json's `bin`, run through its shebang) must print
 * package.json's version and run the whole demo on the example repository inside the package. Nothing
 * is written to the working tree: dist/ and the .tgz live in a temp folder removed afterwards.
 *
 * Also here, because `npm test` is what CI runs on every Node version in its matrix: every package
 * in package-lock.json must admit every Node version package.json's `engines` admits, or `npm ci`
 * warns EBADENGINE (and the package may really not work there).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fixtureEnv } from "../helpers/git-fixtures.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  files: string[];
  engines: { node: string };
};

const show = (r: SpawnSyncReturns<string>): string => `exit ${r.status} ${r.signal ?? ""}${r.error ? ` ${r.error.message}` : ""}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

// ---------------------------------------------------------------------------------------------
// engines: a small exact range check (no semver package in the tree). Release versions only.

type Version = readonly [number, number, number];
type Op = "<" | "<=" | ">" | ">=" | "=";
type Comparator = { op: Op; v: Version };

const cmp = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
const holds = (v: Version, c: Comparator): boolean => {
  const d = cmp(v, c.v);
  return c.op === "<" ? d < 0 : c.op === "<=" ? d <= 0 : c.op === ">" ? d > 0 : c.op === ">=" ? d >= 0 : d === 0;
};

/** "20", "20.19", "20.x", "1.2.3", "*" -> the numeric parts given (wildcards end the list). */
function partial(text: string, range: string): number[] {
  if (text === "" || /^[xX*]$/.test(text)) return [];
  const parts: number[] = [];
  for (const p of text.replace(/^v/, "").split(".")) {
    if (/^[xX*]$/.test(p)) break;
    if (!/^\d+$/.test(p)) throw new Error(`engines range ${JSON.stringify(range)}: cannot read version ${JSON.stringify(text)}`);
    parts.push(Number(p));
  }
  if (parts.length > 3) throw new Error(`engines range ${JSON.stringify(range)}: ${JSON.stringify(text)} has more than three parts`);
  return parts;
}
const fill = (p: number[]): Version => [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0];
/** The first version above every version matching the partial p (p non-empty and not full). */
const above = (p: number[]): Version => (p.length === 1 ? [p[0]! + 1, 0, 0] : [p[0]!, p[1]! + 1, 0]);

/** One comparator of a node-semver range, as primitive comparators (empty: any version). */
function comparators(token: string, range: string): Comparator[] {
  const m = /^(<=|>=|<|>|=|\^|~>?|)\s*(.*)$/.exec(token);
  if (m === null) throw new Error(`engines range ${JSON.stringify(range)}: cannot read ${JSON.stringify(token)}`);
  const op = m[1] ?? "";
  const p = partial(m[2] ?? "", range);
  const full = p.length === 3;
  const lo = fill(p);
  if (p.length === 0) return op === "<" || op === ">" ? [{ op: "<", v: [0, 0, 0] }] : [];
  switch (op) {
    case "":
    case "=":
      return full ? [{ op: "=", v: lo }] : [{ op: ">=", v: lo }, { op: "<", v: above(p) }];
    case ">=":
      return [{ op: ">=", v: lo }];
    case ">":
      return full ? [{ op: ">", v: lo }] : [{ op: ">=", v: above(p) }];
    case "<":
      return [{ op: "<", v: lo }];
    case "<=":
      return full ? [{ op: "<=", v: lo }] : [{ op: "<", v: above(p) }];
    case "^": {
      const [a, b, c] = lo;
      const hi: Version = a > 0 || p.length === 1 ? [a + 1, 0, 0] : b > 0 || p.length === 2 ? [0, b + 1, 0] : [0, 0, c + 1];
      return [{ op: ">=", v: lo }, { op: "<", v: hi }];
    }
    default: // ~ and ~>
      return [{ op: ">=", v: lo }, { op: "<", v: p.length === 1 ? [lo[0] + 1, 0, 0] : [lo[0], lo[1] + 1, 0] }];
  }
}

/** A node-semver range ("^16 || ^18 || >=20", ">= 10.x", "1.2 - 3") as a list of comparator sets. */
function parseRange(range: string): Comparator[][] {
  return range.split("||").map((alt) => {
    const s = alt.trim().replace(/(<=|>=|<|>|=|\^|~>?)\s+/g, "$1");
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(s);
    if (hyphen !== null) {
      const hi = partial(hyphen[2]!, range);
      return [...comparators(`>=${hyphen[1]}`, range), ...(hi.length === 0 ? [] : comparators(`<=${hyphen[2]}`, range))];
    }
    return s === "" ? [] : s.split(/\s+/).flatMap((t) => comparators(t, range));
  });
}

const satisfies = (v: Version, r: Comparator[][]): boolean => r.some((set) => set.every((c) => holds(v, c)));

/**
 * A version `outer` admits that `inner` does not, or undefined if `inner` admits all of `outer`.
 * Exact for release versions: both ranges change their answer only at versions they name, so
 * checking every named version, the next patch after it, 0.0.0 and a huge one covers every interval.
 */
function uncovered(outer: string, inner: string): string | undefined {
  const o = parseRange(outer);
  const i = parseRange(inner);
  const named = [...o, ...i].flat().map((c) => c.v);
  const points: Version[] = [[0, 0, 0], [1_000_000, 0, 0], ...named, ...named.map((v): Version => [v[0], v[1], v[2] + 1])];
  const bad = points.filter((v) => satisfies(v, o) && !satisfies(v, i)).sort(cmp)[0];
  return bad === undefined ? undefined : bad.join(".");
}

describe("engines: the locked dependency tree runs on every Node version package.json admits", () => {
  test("the range check itself", () => {
    assert.equal(uncovered(">=20.19", ">=22"), "20.19.0");
    assert.equal(uncovered(">=20.19", ">=20.19.0 <21"), "21.0.0");
    assert.equal(uncovered(">=20.19", "^20.19 || ^22"), "21.0.0");
    assert.equal(uncovered(">=20.19", ">= 20.20"), "20.19.0");
    for (const ok of [">= 20", ">=20.0.0", "^16 || ^18 || >=20", "4.x || >=6.0.0", ">= 10.x", ">= 20.16.0", "*", "", ">=18", "^8.16.0 || ^10.6.0 || >=11.0.0"]) {
      assert.equal(uncovered(">=20.19", ok), undefined, ok);
    }
    assert.equal(uncovered("^20.19 || >=22.12", ">=20.19 <21 || >=22"), undefined);
    assert.equal(uncovered(">=20", "1.2 - 3"), "20.0.0");
    assert.equal(uncovered("1.2 - 3", ">=1.2 <4"), undefined);
    assert.throws(() => parseRange(">=lts"), /cannot read/);
  });

  test(`every package in package-lock.json admits node ${PKG.engines.node}`, () => {
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string; engines?: Record<string, string> | string[] }>;
    };
    const excluded: string[] = [];
    let checked = 0;
    for (const [path, entry] of Object.entries(lock.packages)) {
      const node = Array.isArray(entry.engines) ? undefined : entry.engines?.node; // ancient array form: not enforced by npm
      if (path === "" || node === undefined) continue;
      checked++;
      const missed = uncovered(PKG.engines.node, node);
      if (missed !== undefined) excluded.push(`${path}@${entry.version}: engines.node ${JSON.stringify(node)} excludes node ${missed}`);
    }
    assert.ok(checked > 10, `read ${checked} engines fields`);
    assert.deepEqual(excluded, [], "npm ci warns EBADENGINE for these: pin a version that supports them (package.json overrides) or raise engines");
  });
});

// ---------------------------------------------------------------------------------------------
// the packed, installed package

/** The environment for npm: the user's (registry, cache, proxy config), minus what `npm test` injects. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    const lifecycle = /^npm_(lifecycle_|package_|node_execpath|execpath|command)/.test(k) || /^npm_config_(prefix|global|local_prefix|omit|include|production|dry_run|workspaces?)$/i.test(k);
    if (!lifecycle) env[k] = v;
  }
  return env;
}

describe("the npm package, installed with production dependencies only", { timeout: 600_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), "wildseal-package-install-"));
  const prefix = join(scratch, "prefix");
  const bin = join(prefix, "node_modules", ".bin", Object.keys(PKG.bin)[0] ?? "wildseal");
  let tarball = "";
  let entries: string[] = [];
  let installLog = "";
  after(() => rmSync(scratch, { recursive: true, force: true }));

  before(() => {
    // a copy of the project as a fresh clone has it: no node_modules, no build output
    const project = join(scratch, "project");
    const skip = new Set(["node_modules", ".git", "dist", "tmp", ".test-count"]);
    for (const name of readdirSync(ROOT)) {
      if (!skip.has(name) && !name.endsWith(".tgz")) cpSync(join(ROOT, name), join(project, name), { recursive: true });
    }
    const built = spawnSync(process.execPath, [join(ROOT, "scripts/build.mjs"), "--outdir", join(project, "dist")], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    assert.equal(built.status, 0, show(built));

    const out = join(scratch, "out");
    mkdirSync(out);
    const packed = spawnSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: project, env: npmEnv(), encoding: "utf8", timeout: 120_000 });
    assert.equal(packed.status, 0, show(packed));
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    assert.ok(info !== undefined, show(packed));
    tarball = join(out, info.filename);
    entries = info.files.map((f) => f.path).sort();

    mkdirSync(prefix);
    const installed = spawnSync("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--no-save", "--prefix", prefix, tarball], {
      cwd: scratch,
      env: npmEnv(),
      encoding: "utf8",
      timeout: 300_000,
    });
    assert.equal(installed.status, 0, `npm install of the tarball (needs the npm registry): ${show(installed)}`);
    installLog = installed.stderr;
  });

  test("the tarball holds the bundle, the example repository and package.json, and no sources, tests or node_modules", () => {
    for (const f of ["package.json", PKG.bin.wildseal ?? "", "dist/seal-worker.mjs", "dist/THIRD-PARTY-LICENSES.txt", "wildseal.yaml", "README.md"]) assert.ok(entries.includes(f), `${f} is packed: ${entries.join(", ")}`);
    for (const dir of ["templates/", "tenants/", "clusters/"]) assert.ok(entries.some((e) => e.startsWith(dir)), `${dir} is packed`);
    assert.deepEqual(entries.filter((e) => /^(src|test|scripts|node_modules|deploy|bench)\//.test(e) || e.endsWith(".ts") || e.endsWith(".tgz")), []);
  });

  test("no development dependency was installed", () => {
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    const dev = Object.entries(lock.packages).filter(([p, e]) => e.dev === true && p.startsWith("node_modules/")).map(([p]) => p.slice("node_modules/".length));
    const present = dev.filter((name) => existsSync(join(prefix, "node_modules", name)));
    // a dev-only package could also be a production dependency's dependency in a newer resolution; today none is
    assert.deepEqual(present, []);
    assert.ok(existsSync(join(prefix, "node_modules", PKG.name, PKG.bin.wildseal ?? "")));
  });

  // The bundle carries every library (scripts/build.mjs fails if one is left outside), so the package
  // declares no runtime dependencies at all: a user's install resolves nothing, and package.json's
  // `overrides` (which apply to this project's own installs only) are not needed there. Before, a
  // user's install resolved content-type 3.x through @octokit/request and warned EBADENGINE on Node 20.
  test("a user's install resolves no dependency and warns no EBADENGINE", () => {
    assert.deepEqual(installLog.split("\n").filter((l) => /EBADENGINE/.test(l)), [], installLog);
    const installed = readdirSync(join(prefix, "node_modules")).filter((n) => !n.startsWith("."));
    assert.deepEqual(installed, [PKG.name], `only wildseal itself is installed: ${installed.join(", ")}`);
  });

  test("the installed package names every library inside its bundle, with its licence text", () => {
    const notices = readFileSync(join(prefix, "node_modules", PKG.name, "dist", "THIRD-PARTY-LICENSES.txt"), "utf8");
    const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
    for (const name of ["@kubernetes/client-node", "@octokit/rest", "js-yaml", "simple-git", "zod", "pino", "commander"]) {
      const version = lock.packages[`node_modules/${name}`]?.version;
      assert.ok(notices.includes(`${name}@${version} — `), `${name}@${version} is listed`);
    }
    assert.match(notices, /Permission is hereby granted, free of charge/, "MIT texts are carried");
    assert.match(notices, /Apache License\s+Version 2\.0/, "Apache texts are carried");
  });

  test("wildseal --version prints package.json's version", () => {
    const r = spawnSync(bin, ["--version"], { cwd: scratch, env: fixtureEnv(), encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, show(r));
    assert.equal(r.stdout, `${PKG.version}\n`);
  });

  test("wildseal demo runs the whole pipeline on the repository inside the installed package", () => {
    const r = spawnSync(bin, ["demo"], { cwd: scratch, env: fixtureEnv(), encoding: "utf8", timeout: 240_000 });
    assert.equal(r.status, 0, show(r));
    const installedAt = realpathSync(join(prefix, "node_modules", PKG.name));
    assert.ok(r.stdout.includes(` seeded from ${installedAt} `), `seeded from the installed package ${installedAt}:\n${r.stdout}`);
    assert.match(r.stdout, /▶ sync: commit [0-9a-f]{12}: add tenants acme, globex, initech/);
    assert.match(r.stdout, /▶ sync: commit [0-9a-f]{12}: renew \*\.example\.com for 3 tenants/);
    assert.equal((r.stdout.match(/✓ rendered\//g) ?? []).length, 4, "every tenant's SealedSecret opened to the source");
    assert.match(r.stdout, /✔ demo finished/);
  });
});
