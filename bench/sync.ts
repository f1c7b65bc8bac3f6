/**
 * Renewal benchmark (not part of npm test): the real sync path (src/pipeline/sync.ts: private clone,
 * render, `git add`, commit, push) against a local bare remote holding N tenants over 3 clusters.
 * The first sync renders the repository for the first time; the second brings a renewed certificate,
 * so every tenant is sealed again (per-tenant layout) or every cluster's shared base is (shared
 * layout). Reports the renewal's time and peak RSS, the Git growth it caused (packed bytes of the
 * bare repository after `git gc`, before and after) and, with --trace, every git command it ran
 * with its wall time (a `git` wrapper first on PATH: the sync passes git only PATH, HOME and a few
 * more variables, so GIT_TRACE2 cannot be used).
 *
 *   node --import tsx bench/sync.ts [tenants] [per-tenant|shared] [--trace]
 *   node --import tsx bench/sync.ts --child BARE SOURCE     # one sync, one JSON line (bench/run.ts)
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Layout, makeBareRepo, makeKeys, packedBytes, writeRepo } from "./world.ts";

const self = fileURLToPath(import.meta.url);

/** What one sync child reports. */
export interface SyncMeasurement {
  readonly ms: number;
  readonly peakRssMiB: number;
  readonly outcome: string;
  /** tenants (and clusters) the render changed */
  readonly changes: number;
  readonly diagnostics: readonly string[];
  /** ms since the sync started at which each narrated step was logged */
  readonly steps: readonly { readonly at: number; readonly msg: string }[];
}

export interface RenewalMeasurement {
  readonly first: SyncMeasurement;
  readonly renewal: SyncMeasurement;
  /** bytes the renewal added to the fully packed bare repository */
  readonly growthBytes: number;
  readonly packedBytes: number;
}

async function child(): Promise<void> {
  const [, , , bare, source] = process.argv;
  const { sync } = await import("../src/pipeline/sync.ts");
  const { NO_CREDENTIALS } = await import("../src/git/credentials.ts");
  const steps: { at: number; msg: string }[] = [];
  let started = performance.now();
  const note = (a: unknown, b?: unknown): void => {
    steps.push({ at: Math.round(performance.now() - started), msg: typeof a === "string" ? a : String(b ?? "") });
  };
  const log = { debug: note, info: note, warn: note, error: note, child: () => log };
  started = performance.now();
  const r = await sync({
    repo: bare as string,
    branch: "main",
    source: { kind: "file", path: source as string },
    delivery: { kind: "push" },
    credentials: NO_CREDENTIALS,
    log,
  });
  const ms = performance.now() - started;
  const out: SyncMeasurement = {
    ms,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    outcome: r.kind,
    changes: r.changes.length,
    diagnostics: r.diagnostics.map((d) => `${d.path}: ${d.message}`),
    steps,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/**
 * Whether this checkout's wildseal.yaml accepts `layout` (the shared layout is being built alongside
 * this benchmark): a child loads the config of a bench repository in that layout. Undefined: it does;
 * else why not, in the config loader's words.
 */
export function layoutProblem(layout: Layout, certs: readonly string[]): string | undefined {
  const root = mkdtempSync(join(tmpdir(), "wildseal-bench-layout-"));
  try {
    writeRepo(root, 1, certs, layout);
    const r = spawnSync(process.execPath, ["--import", "tsx", self, "--check-layout", root, layout], { encoding: "utf8" });
    if (r.status !== 0) return `cannot check: ${r.stderr.trim().split("\n").pop() ?? ""}`;
    const answer = JSON.parse(r.stdout.trim() || "{}") as { problem?: string };
    return answer.problem;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function checkLayout(): Promise<void> {
  const [, , , repo, layout] = process.argv;
  const { loadConfig } = await import("../src/model/load-config.ts");
  const loaded = await loadConfig(repo as string);
  const first = loaded.diagnostics[0];
  const clusters = (loaded.config?.clusters ?? []) as readonly { layout?: string }[];
  const problem =
    first !== undefined
      ? `${first.path}: ${first.message}`
      : layout === "shared" && !clusters.every((c) => c.layout === "shared")
        ? "wildseal.yaml accepts the config but records no shared layout"
        : undefined;
  process.stdout.write(`${JSON.stringify(problem === undefined ? {} : { problem })}\n`);
}

/** One sync in a process of its own (peak RSS is that sync's); `path` puts a tracing git first on PATH. */
export function runSync(bare: string, source: string, path?: string): SyncMeasurement {
  const env = { ...process.env, ...(path === undefined ? {} : { PATH: `${path}:${process.env["PATH"] ?? ""}` }) };
  const r = spawnSync(process.execPath, ["--import", "tsx", self, "--child", bare, source], { encoding: "utf8", maxBuffer: 1 << 26, env, timeout: 20 * 60_000 });
  if (r.error !== undefined) throw new Error(`bench: sync: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`bench: sync failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as SyncMeasurement;
}

/**
 * A bare remote of `n` tenants in `layout`; a first sync renders it, `git gc` packs it, a second
 * sync with the renewed certificate is measured, and `git gc` packs it again.
 */
export function measureRenewal(n: number, layout: Layout, keys: { certs: readonly string[]; source: string; renewed: string }, tracePath?: string): RenewalMeasurement {
  const root = mkdtempSync(join(tmpdir(), `wildseal-bench-sync-${n}-`));
  try {
    const bare = makeBareRepo(root, n, keys.certs, layout);
    const first = runSync(bare, keys.source);
    const before = packedBytes(bare);
    const renewal = runSync(bare, keys.renewed, tracePath);
    const after = packedBytes(bare);
    return { first, renewal, growthBytes: after - before, packedBytes: after };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** A `git` that logs "<start ns> <end ns> <args…>" for every call to `log`, then behaves as git. */
function tracingGit(dir: string, log: string): void {
  const real = spawnSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).stdout.trim();
  const script = `#!/bin/sh\ns=$(date +%s%N)\n${real} "$@"\nrc=$?\necho "$s $(date +%s%N) $1 $2 $3 $4" >> ${log}\nexit $rc\n`;
  writeFileSync(join(dir, "git"), script);
  chmodSync(join(dir, "git"), 0o755);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 10000);
  const layout: Layout = args.includes("shared") ? "shared" : "per-tenant";
  const keys = await makeKeys();
  const problem = layoutProblem(layout, keys.certs);
  if (problem !== undefined) {
    keys.cleanup();
    throw new Error(`bench: the ${layout} layout is not available here: ${problem}`);
  }
  const traceDir = args.includes("--trace") ? mkdtempSync(join(tmpdir(), "wildseal-bench-trace-")) : undefined;
  try {
    const log = traceDir === undefined ? undefined : join(traceDir, "calls.log");
    if (traceDir !== undefined && log !== undefined) tracingGit(traceDir, log);
    const m = measureRenewal(n, layout, keys, traceDir);
    console.log(`sync benchmark: ${n} tenants, ${layout} layout, node ${process.version}`);
    for (const [name, s] of [["first sync", m.first], ["renewal", m.renewal]] as const) {
      console.log(`${name}: ${s.ms.toFixed(0)} ms, peak RSS ${s.peakRssMiB.toFixed(0)} MiB, ${s.outcome}, ${s.diagnostics.length} diagnostics`);
      for (const st of s.steps) console.log(`  ${String(st.at).padStart(7)} ms  ${st.msg.slice(0, 100)}`);
    }
    console.log(`git growth of the renewal: ${m.growthBytes} bytes packed (repository ${m.packedBytes} bytes)`);
    if (log !== undefined) {
      console.log("git calls of the renewal (wall ms):");
      for (const line of readFileSync(log, "utf8").trim().split("\n")) {
        const [s, e, ...rest] = line.split(" ");
        console.log(`  ${((Number(e) - Number(s)) / 1e6).toFixed(0).padStart(7)}  git ${rest.join(" ").slice(0, 110)}`);
      }
    }
  } finally {
    keys.cleanup();
    if (traceDir !== undefined) rmSync(traceDir, { recursive: true, force: true });
  }
}

// run as a script (not imported by bench/run.ts)
if (process.argv[1] !== undefined && resolve(process.argv[1]) === self) {
  if (process.argv[2] === "--child") await child();
  else if (process.argv[2] === "--check-layout") await checkLayout();
  else await main();
}
