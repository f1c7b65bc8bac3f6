/**
 * Hand-run measurement of the BUILT `wildseal watch` (dist/wildseal.mjs, the esbuild bundle users run;
 * not a test, nothing is asserted): idle RSS once the first reconcile has pushed and the process has
 * settled, for a volume source and for a Kubernetes source (test/helpers/fake-apiserver.ts), against
 * issue 12's target of ≤ 80 MB each; then event → commit latency for a volume swap and an API MODIFIED
 * event (default 1 s debounce) and the RSS after those renewals.
 *
 *   node --import tsx bench/watch.ts                 # builds dist/ first, 3 tenants
 *   node --import tsx bench/watch.ts 50              # 50 tenants
 *   node --import tsx bench/watch.ts --no-build      # measure the dist/ that is there
 *   node --import tsx bench/watch.ts --no-renewals   # idle RSS only
 *   node --import tsx bench/watch.ts --json          # one JSON object per row (bench/run.ts's table)
 *   MALLOC_ARENA_MAX=2 node --import tsx bench/watch.ts   # MALLOC_* reach the watch process
 *
 * What the RSS is made of: the child runs with a tiny preload (--import, written to a scratch folder)
 * that, on SIGUSR2, writes process.memoryUsage() and V8's heap spaces to a file; the bench prints it.
 */
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeSyncWorld } from "../test/pipeline/sync-world.ts";
import { commitCount, filesOf, KubeletVolume } from "../test/pipeline/watch-world.ts";
import { FakeApiServer } from "../test/helpers/fake-apiserver.ts";
import { tempDir, fixtureEnv } from "../test/helpers/git-fixtures.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const build = !args.includes("--no-build");
const renewals = !args.includes("--no-renewals");
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? "3");
const TARGET_MIB = 80;
const SETTLE_MS = 5_000;

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist", "wildseal.mjs");
if (build) {
  const built = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { encoding: "utf8" });
  if (built.status !== 0) throw new Error(`bench: build failed: ${built.stderr}`);
}
if (!existsSync(cli)) throw new Error(`bench: ${cli} is missing: run node scripts/build.mjs (or drop --no-build)`);

/** One row of the combined table (bench/run.ts reads these with --json). */
interface Row {
  readonly scenario: string;
  readonly ms?: number;
  readonly target?: string;
  readonly met?: boolean;
  readonly peakRssMiB?: number;
  readonly rssMiB?: number;
}
const rows: Row[] = [];
const say = (line: string): void => {
  if (!json) console.log(line);
};

const dir = tempDir("ws-bench-watch-");
const world = await makeSyncWorld(Array.from({ length: n }, (_, i) => `t${i}`));
const volume = new KubeletVolume(join(dir.path, "secret"));
await volume.create(filesOf(await world.issue(30)));
const api = await FakeApiServer.start();
api.putSecret("cert-manager", "wildcard-example-com", { data: filesOf(await world.issue(30)) });
const kc = join(dir.path, "kubeconfig");
writeFileSync(kc, api.kubeConfig().exportConfig());

const memFile = join(dir.path, "mem.json");
const preload = join(dir.path, "mem-preload.mjs");
writeFileSync(
  preload,
  `import { writeFileSync } from "node:fs";
import { getHeapCodeStatistics, getHeapSpaceStatistics } from "node:v8";
process.on("SIGUSR2", () => {
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
  writeFileSync(${JSON.stringify(memFile)}, JSON.stringify({ ...process.memoryUsage(), spaces, code: getHeapCodeStatistics() }));
});
`,
);

const status = (pid: number, field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
async function waitCommits(remote: string, k: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (commitCount(remote) < k) {
    if (Date.now() > deadline) throw new Error(`bench: no commit ${k} on ${remote} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

async function memoryBreakdown(pid: number): Promise<string> {
  process.kill(pid, "SIGUSR2");
  for (let i = 0; i < 200 && !existsSync(memFile); i++) await sleep(10);
  await sleep(20);
  const m = JSON.parse(readFileSync(memFile, "utf8")) as {
    rss: number;
    heapTotal: number;
    heapUsed: number;
    external: number;
    arrayBuffers: number;
    spaces: Record<string, number>;
    code: { code_and_metadata_size: number; bytecode_and_metadata_size: number; external_script_source_size: number };
  };
  rmSync(memFile, { force: true });
  const spaces = Object.entries(m.spaces).filter(([, v]) => v > 512 * 1024).map(([k, v]) => `${k.replace(/_space$/, "")} ${mib(v)}`);
  const code = `machine code ${mib(m.code.code_and_metadata_size)}, bytecode ${mib(m.code.bytecode_and_metadata_size)}`;
  const outside = m.rss - m.heapTotal - m.external;
  return (
    `rss ${mib(m.rss)} = V8 heap ${mib(m.heapTotal)} committed (${mib(m.heapUsed)} used: ${spaces.join(", ")}; of it ${code})` +
    ` + external ${mib(m.external)} (array buffers ${mib(m.arrayBuffers)}) + ${mib(outside)} outside the JS heap (Node itself, ICU, thread stacks, malloc) MiB`
  );
}

async function run(label: string, sourceArgs: string[], renew: () => Promise<void>): Promise<void> {
  const w = await makeSyncWorld(Array.from({ length: n }, (_, i) => `t${i}`));
  const child = spawn(process.execPath, ["--import", preload, cli, "watch", "--repo", w.remote.path, ...sourceArgs], {
    stdio: ["ignore", "ignore", "pipe"],
    // glibc's allocator settings pass through, to measure them: MALLOC_ARENA_MAX=2 node --import tsx bench/watch.ts
    env: { ...fixtureEnv(), ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("MALLOC_"))), KUBECONFIG: kc },
  });
  const messages: string[] = [];
  createInterface(child.stderr!).on("line", (l) => {
    try {
      messages.push((JSON.parse(l) as { msg: string }).msg);
    } catch {
      messages.push(l);
    }
  });
  try {
    await waitCommits(w.remote.path, 2);
    await sleep(SETTLE_MS);
    const idle = status(child.pid!, "VmRSS");
    const peak = status(child.pid!, "VmHWM");
    rows.push({ scenario: `wildseal watch idle RSS, ${label} source (${n} tenants)`, target: `≤ ${TARGET_MIB} MB`, met: idle <= TARGET_MIB, rssMiB: idle, peakRssMiB: peak });
    say(`${label}: idle RSS ${idle.toFixed(1)} MiB ${idle <= TARGET_MIB ? "≤" : ">"} ${TARGET_MIB} (peak so far ${peak.toFixed(1)} MiB; ${n} tenants, ${SETTLE_MS / 1000}s after the first push)`);
    say(`${label}:   ${await memoryBreakdown(child.pid!)}`);
    if (renewals) {
      const lat: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        await renew();
        await waitCommits(w.remote.path, 3 + i);
        lat.push(Date.now() - t0);
        await sleep(1500);
      }
      const after = status(child.pid!, "VmRSS");
      const sorted = [...lat].sort((a, b) => a - b);
      rows.push({ scenario: `wildseal watch event → commit, ${label} source`, ms: sorted[1] ?? NaN, rssMiB: after, peakRssMiB: status(child.pid!, "VmHWM") });
      say(`${label}: event → commit on the remote (debounce 1s default): ${lat.join(", ")} ms; RSS after 3 renewals ${after.toFixed(1)} MiB`);
    }
  } catch (e) {
    console.error(messages.slice(-20).join("\n"));
    throw e;
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.on("exit", r));
    w.cleanup();
  }
}

/** What any Node process holds doing nothing: the part of the watch's RSS no change to wildseal can remove. */
async function idleNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  await sleep(1000);
  const rss = status(child.pid!, "VmRSS");
  child.kill();
  await new Promise((r) => child.on("exit", r));
  return rss;
}

try {
  const floor = await idleNodeRss();
  rows.push({ scenario: "node idle (floor)", rssMiB: floor, peakRssMiB: floor });
  say(`an idle node process (${process.version}): RSS ${floor.toFixed(1)} MiB`);
  let day = 20;
  // both sources renew the same way: a fresh leaf each time
  await run("volume", ["--source-file", volume.dir], async () => {
    await volume.swap(filesOf(await world.issue(day--)));
  });
  await run("kubernetes", ["--source-secret", "cert-manager/wildcard-example-com"], async () => {
    api.putSecret("cert-manager", "wildcard-example-com", { data: filesOf(await world.issue(day--)) });
  });
} finally {
  await api.close();
  dir.cleanup();
  world.cleanup();
}
if (json) for (const r of rows) console.log(JSON.stringify(r));
