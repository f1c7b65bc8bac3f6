/**
 * Start-up benchmark (not part of npm test): whole-process wall time and peak RSS of the built CLI
 * against the floor of `node -e 0` measured in the same run, the first row of issue 12's table
 * (target ≤ 3× the floor). Builds dist/ first (scripts/build.mjs) so it measures what users run.
 * Median of N runs each, the scenarios interleaved; peak RSS from /usr/bin/time when present.
 *
 *   node --import tsx bench/startup.ts           # N = 15
 *   node --import tsx bench/startup.ts 40
 *   node --import tsx bench/startup.ts --json    # one JSON object per row (bench/run.ts's combined table)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSealingKeyPair } from "../src/tls/generate.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 15);
const TARGET_RATIO = 3;
const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist", "wildseal.mjs");
const TIME = "/usr/bin/time";

interface Row {
  readonly name: string;
  readonly medianMs: number;
  readonly peakRssMiB: number | undefined;
}

function once(args: readonly string[], input?: string): { ms: number; rssKiB: number | undefined } {
  const withTime = existsSync(TIME);
  const argv = withTime ? ["-f", "%M", process.execPath, ...args] : [...args];
  const started = process.hrtime.bigint();
  const r = spawnSync(withTime ? TIME : process.execPath, argv, { input, encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: "/nonexistent" } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`bench: ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  const rss = withTime ? Number(r.stderr.trim().split("\n").pop()) : NaN;
  return { ms, rssKiB: Number.isFinite(rss) ? rss : undefined };
}

interface Scenario {
  readonly name: string;
  readonly args: readonly string[];
  readonly input?: string;
}

/**
 * Every scenario N times, interleaved (floor, --version, seal, floor, …): on a busy machine the load
 * then weighs on the floor and the CLI alike, and the ratio stays meaningful.
 */
function measure(scenarios: readonly Scenario[]): Row[] {
  for (const s of scenarios) once(s.args, s.input); // warm the page cache
  const runs = scenarios.map(() => [] as Array<{ ms: number; rssKiB: number | undefined }>);
  for (let i = 0; i < N; i++) scenarios.forEach((s, k) => runs[k]!.push(once(s.args, s.input)));
  return scenarios.map((s, k) => {
    const ms = runs[k]!.map((r) => r.ms).sort((a, b) => a - b);
    const rss = runs[k]!.map((r) => r.rssKiB).filter((x): x is number => x !== undefined);
    return { name: s.name, medianMs: ms[Math.floor(ms.length / 2)] ?? NaN, peakRssMiB: rss.length > 0 ? Math.max(...rss) / 1024 : undefined };
  });
}

const built = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { encoding: "utf8" });
if (built.status !== 0) throw new Error(`bench: build failed: ${built.stderr}`);

const scratch = mkdtempSync(join(tmpdir(), "wildseal-bench-startup-"));
try {
  const cert = join(scratch, "cert.pem");
  writeFileSync(cert, (await generateSealingKeyPair({ bits: 4096 })).certPem);
  const secret = JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "n" }, stringData: { k: "v" } });

  const [floor, ...rows] = measure([
    { name: "node -e 0 (floor)", args: ["-e", "0"] },
    { name: "wildseal --version", args: [cli, "--version"] },
    { name: "wildseal seal (one Secret, RSA-4096)", args: [cli, "seal", "--cert", cert, "-f", "-", "-o", "yaml"], input: secret },
  ]) as [Row, ...Row[]];
  if (json) {
    const rss = (r: Row) => (r.peakRssMiB === undefined ? {} : { peakRssMiB: Number(r.peakRssMiB.toFixed(1)) });
    console.log(JSON.stringify({ scenario: floor.name, ms: Number(floor.medianMs.toFixed(1)), ...rss(floor) }));
    for (const r of rows) {
      const ratio = r.medianMs / floor.medianMs;
      console.log(
        JSON.stringify({
          scenario: r.name,
          ms: Number(r.medianMs.toFixed(1)),
          floorName: "node -e 0",
          floorMs: Number(floor.medianMs.toFixed(1)),
          ratio: Number(ratio.toFixed(2)),
          target: `≤ ${TARGET_RATIO}× the floor`,
          met: ratio <= TARGET_RATIO,
          ...rss(r),
        }),
      );
    }
  } else {
    console.log(`start-up benchmark: node ${process.version}, median of ${N} whole-process runs, target ≤ ${TARGET_RATIO.toFixed(1)}× the floor`);
    console.log("scenario                                  median (ms)  × floor  peak RSS (MiB)  target");
    for (const r of [floor, ...rows]) {
      const ratio = r.medianMs / floor.medianMs;
      const verdict = r === floor ? "" : ratio <= TARGET_RATIO ? "met" : "missed";
      console.log(`${r.name.padEnd(40)} ${r.medianMs.toFixed(0).padStart(12)}  ${ratio.toFixed(1).padStart(7)}  ${(r.peakRssMiB?.toFixed(0) ?? "-").padStart(14)}  ${verdict}`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
