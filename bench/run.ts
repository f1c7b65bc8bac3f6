/**
 * `npm run bench`: issue 12's table, one row per scenario with the floor measured IN THE SAME RUN,
 * the ratio to it, the target, met/missed and the scenario's peak RSS. Every measurement (scenario
 * and floor alike) runs in a process of its own, so peak RSS belongs to it alone.
 *
 *   npm run bench                 # 2,000 and 10,000 tenants (10,000 for the incremental and renewal rows)
 *   npm run bench -- --quick      # 1,000 tenants everywhere: a fast look
 *   npm run bench -- --json       # one JSON object per row instead of the table
 *
 * Rows come from: bench/startup.ts --json (start-up), bench/render.ts's child (renders),
 * bench/floors.ts (the sealing and I/O floors), bench/sync.ts (renewals through the real sync path,
 * and the Git growth they cause), bench/watch.ts --json (idle RSS). A row whose benchmark cannot run
 * here yet is printed as pending, with the reason. bench/seal.ts, bench/sources.ts, bench/ops-flood.ts
 * and bench/code-stats.ts are separate measurements, run by hand.
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { layoutProblem, measureRenewal, type RenewalMeasurement } from "./sync.ts";
import { type BenchKeys, makeKeys, tenantYaml, writeRepo } from "./world.ts";

/** One row of the table; the JSON shape bench/startup.ts and bench/watch.ts print with --json. */
export interface Row {
  readonly scenario: string;
  readonly ms?: number;
  readonly floorName?: string;
  readonly floorMs?: number;
  readonly ratio?: number;
  /** the most the ratio may be (a number: ×floor), or the target as the benchmark words it */
  readonly target?: number | string;
  readonly met?: boolean;
  readonly peakRssMiB?: number;
  /** a figure that is neither a time nor a ratio (Git growth), as printed */
  readonly value?: string;
  /** why the row has no measurement */
  readonly pending?: string;
}

const here = (f: string): string => fileURLToPath(new URL(`./${f}`, import.meta.url));
const args = process.argv.slice(2);
const CHILD_TIMEOUT_MS = 20 * 60_000;
const quick = args.includes("--quick");
const asJson = args.includes("--json");

/** Runs a bench script in its own process; stdout's lines. Throws with its stderr's tail when it fails. */
function script(file: string, argv: readonly string[]): string[] {
  // a hung benchmark becomes a pending row instead of a table that never comes
  const r = spawnSync(process.execPath, ["--import", "tsx", here(file), ...argv], { encoding: "utf8", maxBuffer: 1 << 26, timeout: CHILD_TIMEOUT_MS });
  if (r.error !== undefined) throw new Error(`${file}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${file} exited ${r.status ?? r.signal}: ${lastLines(r.stderr)}`);
  return r.stdout.split("\n").filter((l) => l.trim() !== "");
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-2).join(" / ").slice(0, 300);
}

function jsonLine<T>(lines: readonly string[]): T {
  return JSON.parse(lines[lines.length - 1] ?? "{}") as T;
}

function ratioRow(scenario: string, m: { ms: number; peakRssMiB?: number }, floorName: string, floorMs: number, target: number): Row {
  const ratio = m.ms / floorMs;
  return { scenario, ms: m.ms, floorName, floorMs, ratio, target, met: ratio <= target, ...(m.peakRssMiB === undefined ? {} : { peakRssMiB: m.peakRssMiB }) };
}

/** The rows another benchmark prints with --json (objects with a scenario); none: pending rows for `expected`. */
function foreignRows(file: string, expected: readonly string[]): Row[] {
  try {
    const rows = script(file, ["--json"])
      .map((l) => {
        try {
          return JSON.parse(l) as Row;
        } catch {
          return undefined;
        }
      })
      .filter((r): r is Row => r !== undefined && typeof r.scenario === "string");
    if (rows.length > 0) return rows;
    return expected.map((scenario) => ({ scenario, pending: `${file} printed no --json rows yet` }));
  } catch (e) {
    return expected.map((scenario) => ({ scenario, pending: (e as Error).message }));
  }
}

interface RenderChild {
  readonly ms: number;
  readonly maxRssMiB: number;
}

function render(repo: string, source: string): { ms: number; peakRssMiB: number } {
  const r = jsonLine<RenderChild>(script("render.ts", ["--child", repo, source, "auto"]));
  return { ms: r.ms, peakRssMiB: r.maxRssMiB };
}

function floor(kind: "crypto" | "io" | "write", ...argv: string[]): number {
  return jsonLine<{ ms: number }>(script("floors.ts", [kind, ...argv])).ms;
}

/** Cold renders at each size (against the sealing floor); at the largest, the incremental rows (against the I/O floor). */
function renderRows(sizes: readonly number[], keys: BenchKeys, coldMs: Map<number, number>): Row[] {
  const rows: Row[] = [];
  for (const n of sizes) {
    const repo = mkdtempSync(join(tmpdir(), `wildseal-bench-${n}-`));
    try {
      writeRepo(repo, n, keys.certs);
      const sealFloor = floor("crypto", repo, keys.source, String(n));
      const cold = render(repo, keys.source);
      coldMs.set(n, cold.ms);
      rows.push(ratioRow(`cold render, ${n} tenants`, cold, "node:crypto sealing, 1 thread", sealFloor, 1.0));
      // not a target: what the sealing floor leaves out, so the cold row can be read
      rows.push({ scenario: `  (writing that tree alone: mkdir + write per file, 1 thread)`, ms: floor("write", repo) });
      if (n !== sizes[sizes.length - 1]) continue;
      const ioFloor = floor("io", repo);
      rows.push(ratioRow(`render, nothing changed, ${n} tenants`, render(repo, keys.source), "read+hash every file", ioFloor, 1.5));
      writeFileSync(join(repo, "tenants", "zz-new.yaml"), tenantYaml(n, "zz-new"));
      rows.push(ratioRow(`render, one tenant added to ${n}`, render(repo, keys.source), "read+hash every file", ioFloor, 1.5));
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  }
  return rows;
}

function renewalRows(n: number, keys: BenchKeys, coldMs: number | undefined): Row[] {
  const rows: Row[] = [];
  for (const layout of ["per-tenant", "shared"] as const) {
    const scenario = `renewal, ${n} tenants, ${layout} layout (sync: render+commit+push)`;
    const growth = `git growth per renewal, ${n} tenants, ${layout} layout`;
    const problem = layoutProblem(layout, keys.certs);
    if (problem !== undefined) {
      rows.push({ scenario, pending: `layout not available: ${problem}` }, { scenario: growth, pending: `layout not available: ${problem}` });
      continue;
    }
    let m: RenewalMeasurement;
    try {
      m = measureRenewal(n, layout, keys);
    } catch (e) {
      rows.push({ scenario, pending: lastLines((e as Error).message) });
      continue;
    }
    const held = [m.first, m.renewal].flatMap((s) => s.diagnostics);
    if (held.length > 0 || m.renewal.outcome !== "pushed") {
      rows.push({ scenario, pending: `renewal ${m.renewal.outcome}, ${held.length} problems: ${held[0] ?? ""}` });
      continue;
    }
    // the shared layout has no floor of its own in issue 12: it is held to the same one
    rows.push(coldMs === undefined ? { scenario, ms: m.renewal.ms, peakRssMiB: m.renewal.peakRssMiB } : ratioRow(scenario, m.renewal, `cold render, ${n} tenants`, coldMs, 1.5));
    rows.push({ scenario: growth, value: `${(m.growthBytes / 1048576).toFixed(2)} MiB packed (${m.renewal.changes} changes)` });
  }
  return rows;
}

function fmt(x: number | undefined, digits = 0): string {
  return x === undefined || !Number.isFinite(x) ? "" : x.toFixed(digits);
}

function print(rows: readonly Row[]): void {
  if (asJson) {
    for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const w = Math.max(...rows.map((r) => r.scenario.length));
  const fw = Math.max(5, ...rows.map((r) => r.floorName?.length ?? 0));
  const tw = Math.max(6, ...rows.map((r) => (typeof r.target === "string" ? r.target.length : 6)));
  console.log(`${"scenario".padEnd(w)}  ${"ms".padStart(8)}  ${"floor".padEnd(fw)}  ${"floor ms".padStart(8)}  ${"ratio".padStart(6)}  ${"target".padEnd(tw)}  result  ${"peak RSS MiB".padStart(12)}`);
  for (const r of rows) {
    if (r.pending !== undefined) {
      console.log(`${r.scenario.padEnd(w)}  pending: ${r.pending}`);
      continue;
    }
    if (r.value !== undefined) {
      console.log(`${r.scenario.padEnd(w)}  ${r.value}`);
      continue;
    }
    const target = r.target === undefined ? "" : typeof r.target === "string" ? r.target : `≤ ${r.target.toFixed(1)}×`;
    const result = r.met === undefined ? "" : r.met ? "met" : "MISSED";
    console.log(
      `${r.scenario.padEnd(w)}  ${fmt(r.ms).padStart(8)}  ${(r.floorName ?? "").padEnd(fw)}  ${fmt(r.floorMs).padStart(8)}  ${(r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`).padStart(6)}  ${target.padEnd(tw)}  ${result.padEnd(6)}  ${fmt(r.peakRssMiB).padStart(12)}`,
    );
  }
}

const large = quick ? 1000 : 10000;
const sizes = quick ? [1000] : [2000, 10000];
if (!asJson) {
  console.log(`wildseal bench: node ${process.version}, ${availableParallelism()} cores, ${new Date().toISOString()}, ${sizes.join(" and ")} tenants over 3 clusters, RSA-4096`);
}
const rows: Row[] = [...foreignRows("startup.ts", ["wildseal --version", "wildseal seal (one Secret)"])];
const keys = await makeKeys();
try {
  const coldMs = new Map<number, number>();
  rows.push(...renderRows(sizes, keys, coldMs));
  rows.push(...renewalRows(large, keys, coldMs.get(large)));
} finally {
  keys.cleanup();
}
rows.push(...foreignRows("watch.ts", ["wildseal watch idle RSS, volume source", "wildseal watch idle RSS, Kubernetes source"]));
print(rows);
// a missed target is a figure to read, not a failure: npm would bury the table under its error lines
