/** `npm run bench`: every benchmark, one after the other (bench/render.ts, and bench/seal.ts when present). */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const benches = ["render.ts", "seal.ts"].map((f) => fileURLToPath(new URL(`./${f}`, import.meta.url))).filter((p) => existsSync(p));
let failed = 0;
for (const b of benches) {
  const r = spawnSync(process.execPath, ["--import", "tsx", b, ...process.argv.slice(2)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
