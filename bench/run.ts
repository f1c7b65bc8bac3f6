/**
 * `npm run bench`: the benchmarks, one after the other (bench/startup.ts, bench/render.ts, bench/seal.ts
 * when present). The watch-side measurements are run by hand, one at a time, because each needs
 * something set up or minutes of quiet: bench/watch.ts (the built CLI: idle RSS, event → commit
 * latency), bench/sources.ts (change → trigger latency of the Secret and volume sources) and
 * bench/ops-flood.ts (the ops endpoint under connection and body floods); each header says how.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const benches = ["startup.ts", "render.ts", "seal.ts"].map((f) => fileURLToPath(new URL(`./${f}`, import.meta.url))).filter((p) => existsSync(p));
let failed = 0;
for (const b of benches) {
  const r = spawnSync(process.execPath, ["--import", "tsx", b, ...process.argv.slice(2)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
