/**
 * Hand-run measurement of the BUILT `wildseal watch` (not a test; nothing is asserted):
 * idle RSS after the first reconcile, and event → commit latency for a volume swap and an API
 * MODIFIED event with the default 1 s debounce. Build first, outside the work tree:
 *   npx tsc -p tsconfig.build.json --outDir /tmp/ws-build/dist
 *   ln -sfn "$PWD/node_modules" /tmp/ws-build/node_modules; echo '{"type":"module"}' > /tmp/ws-build/package.json
 *   node --import tsx bench/watch.ts [tenants]
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { readFileSync, writeFileSync } from "node:fs";
import { makeSyncWorld } from "../test/pipeline/sync-world.ts";
import { commitCount, filesOf, KubeletVolume } from "../test/pipeline/watch-world.ts";
import { FakeApiServer } from "../test/helpers/fake-apiserver.ts";
import { tempDir, fixtureEnv } from "../test/helpers/git-fixtures.ts";

const n = Number(process.argv[2] ?? "2");
const world = await makeSyncWorld(Array.from({ length: n }, (_, i) => `t${i}`));
const dir = tempDir("ws-measure-");
const volume = new KubeletVolume(`${dir.path}/secret`);
await volume.create(filesOf(await world.issue(30)));
const api = await FakeApiServer.start();
api.putSecret("cert-manager", "wildcard-example-com", { data: filesOf(await world.issue(30)) });
const kc = `${dir.path}/kubeconfig`;
writeFileSync(kc, api.kubeConfig().exportConfig());
const rss = (pid: number) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitCommits(remote: string, k: number) { while (commitCount(remote) < k) await sleep(5); }

async function run(label: string, args: string[], renew: () => Promise<void>) {
  const w = await makeSyncWorld(Array.from({ length: n }, (_, i) => `t${i}`));
  const child = spawn(process.execPath, ["/tmp/ws-build/dist/cli/main.js", "watch", "--repo", w.remote.path, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...fixtureEnv(), KUBECONFIG: kc } });
  const msgs: string[] = [];
  createInterface(child.stderr!).on("line", (l) => msgs.push(JSON.parse(l).msg));
  await waitCommits(w.remote.path, 2);
  await sleep(5000);
  console.log(`${label}: idle RSS after first reconcile ${rss(child.pid!)} KiB (${n} tenants)`);
  const lat: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    await renew();
    await waitCommits(w.remote.path, 3 + i);
    lat.push(Date.now() - t0);
    await sleep(1500);
  }
  console.log(`${label}: event → commit on the remote (debounce 1s default): ${lat.join(", ")} ms`);
  console.log(`${label}: RSS after 3 renewals ${rss(child.pid!)} KiB`);
  child.kill("SIGTERM");
  await new Promise((r) => child.on("exit", (c) => { console.log(`${label}: exit ${c}`); r(null); }));
  w.cleanup();
}
let day = 20;
// both sources renew the same way: a fresh leaf each time
await run("volume", ["--source-file", volume.dir], async () => { await volume.swap(filesOf(await world.issue(day--))); });
await run("secret", ["--source-secret", "cert-manager/wildcard-example-com"], async () => { api.putSecret("cert-manager", "wildcard-example-com", { data: filesOf(await world.issue(day--)) }); });
await api.close();
dir.cleanup();
world.cleanup();
