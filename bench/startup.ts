/**
 * Start-up benchmark (not part of npm test): whole-process wall time and peak RSS of the built CLI
 * against the floor of `node -e 0` measured in the same run, the first row of issue 12's table
 * (target ≤ 3× the floor). Builds dist/ first (scripts/build.mjs) so it measures what users run.
 * Median of N runs each; peak RSS from /usr/bin/time when present.
 *
 *   node --import tsx bench/startup.ts        # N = 15
 *   node --import tsx bench/startup.ts 40
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSealingKeyPair } from "../src/tls/generate.ts";

const N = Number(process.argv[2] ?? 15);
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

function row(name: string, args: readonly string[], input?: string): Row {
  once(args, input); // warm the page cache
  const runs = Array.from({ length: N }, () => once(args, input));
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
  const rss = runs.map((r) => r.rssKiB).filter((x): x is number => x !== undefined);
  return { name, medianMs: ms[Math.floor(ms.length / 2)] ?? NaN, peakRssMiB: rss.length > 0 ? Math.max(...rss) / 1024 : undefined };
}

const built = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { encoding: "utf8" });
if (built.status !== 0) throw new Error(`bench: build failed: ${built.stderr}`);

const scratch = mkdtempSync(join(tmpdir(), "wildseal-bench-startup-"));
try {
  const cert = join(scratch, "cert.pem");
  writeFileSync(cert, (await generateSealingKeyPair({ bits: 4096 })).certPem);
  const secret = JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "n" }, stringData: { k: "v" } });

  const floor = row("node -e 0 (floor)", ["-e", "0"]);
  const rows = [floor, row("wildseal --version", [cli, "--version"]), row("wildseal seal (one Secret, RSA-4096)", [cli, "seal", "--cert", cert, "-f", "-", "-o", "yaml"], secret)];
  console.log(`start-up benchmark: node ${process.version}, median of ${N} whole-process runs, target ≤ 3.0× the floor`);
  console.log("scenario                                  median (ms)  × floor  peak RSS (MiB)  target");
  for (const r of rows) {
    const ratio = r.medianMs / floor.medianMs;
    const verdict = r === floor ? "" : ratio <= 3 ? "met" : "missed";
    console.log(`${r.name.padEnd(40)} ${r.medianMs.toFixed(0).padStart(12)}  ${ratio.toFixed(1).padStart(7)}  ${(r.peakRssMiB?.toFixed(0) ?? "-").padStart(14)}  ${verdict}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
