/**
 * Render benchmark (not part of npm test): 1,000 and 10,000 tenants over 3 clusters, RSA-4096
 * sealing certificates like the controller's. Each measurement runs in its own process so that
 * peak RSS (process.resourceUsage().maxRSS) belongs to that scenario alone.
 *
 *   node --import tsx bench/render.ts            # both sizes
 *   node --import tsx bench/render.ts 1000       # one size
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLUSTERS = ["prod-east", "prod-west", "prod-north"];
const self = fileURLToPath(import.meta.url);

interface Measurement {
  readonly scenario: string;
  readonly ms: number;
  readonly maxRssMiB: number;
  readonly heapUsedMiB: number;
  readonly changes: Record<string, number>;
}

function tenantYaml(i: number): string {
  const name = `t${String(i).padStart(5, "0")}`;
  return `apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  cluster: ${CLUSTERS[i % CLUSTERS.length]}\n  hosts: [${name}.example.com]\n  values: {team: team-${i % 17}}\n`;
}

async function child(): Promise<void> {
  const [, , , repo, source, parallelArg] = process.argv;
  const { readTlsSource } = await import("../src/tls/tls-material.ts");
  const { renderRepository } = await import("../src/render/render-repository.ts");
  const tls = await readTlsSource(source as string);
  const started = performance.now();
  const r = await renderRepository({ repoDir: repo as string, tls, ...(parallelArg === "auto" ? {} : { parallel: parallelArg === "workers" }) });
  const ms = performance.now() - started;
  if (r.diagnostics.length > 0) throw new Error(`bench: unexpected diagnostics: ${r.diagnostics.length}`);
  const changes: Record<string, number> = {};
  for (const c of r.changes) changes[c.kind] = (changes[c.kind] ?? 0) + 1;
  const out = { ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, heapUsedMiB: process.memoryUsage().heapUsed / 1048576, changes };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function run(scenario: string, repo: string, source: string, mode: "single" | "workers" | "auto"): Measurement {
  const r = spawnSync(process.execPath, ["--import", "tsx", self, "--child", repo, source, mode], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench: ${scenario} failed: ${r.stderr}`);
  const line = r.stdout.trim().split("\n").pop() ?? "{}";
  return { scenario, ...(JSON.parse(line) as Omit<Measurement, "scenario">) };
}

async function benchSize(n: number, source: string, certs: readonly string[]): Promise<Measurement[]> {
  const repo = mkdtempSync(join(tmpdir(), `wildseal-bench-${n}-`));
  try {
    const clusters = CLUSTERS.map((c) => `    - name: ${c}\n      sealingCert: clusters/${c}/sealed-secrets.pem`).join("\n");
    writeFileSync(join(repo, "wildseal.yaml"), `apiVersion: wildseal.dev/v1alpha1\nkind: Config\nmetadata: {name: bench}\nspec:\n  source: {namespace: cert-manager, name: wildcard}\n  clusters:\n${clusters}\n`);
    CLUSTERS.forEach((c, i) => {
      mkdirSync(join(repo, "clusters", c), { recursive: true });
      writeFileSync(join(repo, "clusters", c, "sealed-secrets.pem"), certs[i] as string);
    });
    mkdirSync(join(repo, "tenants"));
    for (let i = 0; i < n; i++) writeFileSync(join(repo, "tenants", `t${String(i).padStart(5, "0")}.yaml`), tenantYaml(i));

    const out: Measurement[] = [];
    const cold = (mode: "single" | "workers"): void => {
      rmSync(join(repo, "rendered"), { recursive: true, force: true });
      out.push(run(`${n} cold, ${mode}`, repo, source, mode));
    };
    cold("workers");
    cold("single");
    out.push(run(`${n} incremental (no change)`, repo, source, "auto"));
    writeFileSync(join(repo, "tenants", "zz-new-1.yaml"), tenantYaml(n).replace(/t\d{5}/g, "zz-new-1"));
    out.push(run(`${n} one tenant added, single`, repo, source, "single"));
    writeFileSync(join(repo, "tenants", "zz-new-2.yaml"), tenantYaml(n).replace(/t\d{5}/g, "zz-new-2"));
    out.push(run(`${n} one tenant added, workers`, repo, source, "workers"));
    return out;
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
  const { generateCa, generateLeaf, generateSealingKeyPair } = await import("../src/tls/generate.ts");
  const ca = await generateCa();
  const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
  const certs = await Promise.all(CLUSTERS.map(async () => (await generateSealingKeyPair({ bits: 4096 })).certPem));
  // a generated throw-away key, in a private temp folder removed at the end
  const srcDir = mkdtempSync(join(tmpdir(), "wildseal-bench-src-"));
  const source = join(srcDir, "source.yaml");
  const b64 = (s: string | Buffer): string => Buffer.from(s).toString("base64");
  writeFileSync(source, `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {name: wildcard, namespace: cert-manager}\ndata:\n  tls.crt: ${b64(leaf.certPem)}\n  tls.key: ${b64(leaf.keyPem.reveal())}\n`, { mode: 0o600 });
  try {
    console.log(`render benchmark: ${CLUSTERS.length} clusters, RSA-4096 sealing certificates, node ${process.version}, ${(await import("node:os")).availableParallelism()} cores`);
    console.log("scenario                                  time (ms)  peak RSS (MiB)  heap after (MiB)  changes");
    for (const n of sizes.length > 0 ? sizes : [1000, 10000]) {
      for (const m of await benchSize(n, source, certs)) {
        const changes = Object.entries(m.changes).map(([k, v]) => `${k}=${v}`).join(" ");
        console.log(`${m.scenario.padEnd(40)} ${m.ms.toFixed(0).padStart(10)}  ${m.maxRssMiB.toFixed(0).padStart(14)}  ${m.heapUsedMiB.toFixed(0).padStart(16)}  ${changes}`);
      }
    }
  } finally {
    rmSync(srcDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") await child();
else await main();
