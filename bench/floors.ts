/**
 * The floors of issue 12's table, each measured in a process of its own by bench/run.ts and printed
 * as one JSON line `{ "ms", "peakRssMiB", … }`; the time excludes the process's start and module
 * loading, like the render it is compared with (bench/render.ts's child times renderRepository only).
 *
 *   node --import tsx bench/floors.ts crypto REPO SOURCE N   # node:crypto sealing what a cold render of REPO seals
 *   node --import tsx bench/floors.ts io REPO                # read and hash every input and output file of REPO
 *   node --import tsx bench/floors.ts write REPO             # write a copy of REPO's rendered/ tree (not a target's floor)
 *
 * crypto: the same items (every item of the TLS Secret SOURCE, for each of the N tenants), bound to the
 * same strict labels (`<tenant>/wildcard-tls`), for the same RSA-4096 certificates (each tenant's
 * cluster's), with the project's sealValue (RSA-OAEP + AES-256-GCM on node:crypto): one thread, no I/O.
 * io: everything under tenants/, templates/, clusters/ and rendered/, read and SHA-256-hashed file by
 * file in one thread: what deciding "nothing changed" cannot avoid.
 * write: the cold render's output written again into a fresh folder, mkdir and one write per file, no
 * rename, one thread: what writing the tree costs on this file system, which the sealing floor leaves
 * out (printed beside the cold render to explain it, not a target).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { clusterOf, CLUSTERS, SECRET_NAME, tenantName } from "./world.ts";

async function crypto(repo: string, source: string, n: number): Promise<Record<string, number>> {
  const { readTlsSource } = await import("../src/tls/tls-material.ts");
  const { parseSealingCertificate } = await import("../src/seal/sealing-cert.ts");
  const { sealValue } = await import("../src/seal/seal-value.ts");
  const tls = await readTlsSource(source);
  const items = [...tls.secret.data.values()].map((v) => v.reveal());
  const certs = new Map(CLUSTERS.map((c) => [c, parseSealingCertificate(readFileSync(join(repo, "clusters", c, "sealed-secrets.pem"), "utf8"))]));
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const cert = certs.get(clusterOf(i) as (typeof CLUSTERS)[number]);
    if (cert === undefined) throw new Error("bench: no certificate");
    const target = { scope: "strict", namespace: tenantName(i), name: SECRET_NAME } as const;
    for (const item of items) bytes += sealValue(cert, target, item).length;
  }
  const ms = performance.now() - started;
  return { ms, items: n * items.length, bytes };
}

function io(repo: string): Record<string, number> {
  const started = performance.now();
  let files = 0;
  let bytes = 0;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) {
        const data = readFileSync(path);
        createHash("sha256").update(data).digest();
        files++;
        bytes += data.length;
      }
    }
  };
  for (const top of ["tenants", "templates", "clusters", "rendered"]) {
    if (existsSync(join(repo, top))) walk(join(repo, top));
  }
  return { ms: performance.now() - started, files, bytes };
}

function write(repo: string): Record<string, number> {
  const files: [string, Buffer][] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name), join(rel, e.name));
      else if (e.isFile()) files.push([join(rel, e.name), readFileSync(join(dir, e.name))]);
    }
  };
  walk(join(repo, "rendered"), "");
  const target = mkdtempSync(join(tmpdir(), "wildseal-bench-write-"));
  try {
    const started = performance.now();
    const made = new Set<string>();
    for (const [rel, data] of files) {
      const dir = dirname(join(target, rel));
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      writeFileSync(join(target, rel), data);
    }
    return { ms: performance.now() - started, files: files.length };
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}

const [kind, repo, source, n] = process.argv.slice(2);
const result = kind === "crypto" ? await crypto(repo as string, source as string, Number(n)) : kind === "write" ? write(repo as string) : io(repo as string);
process.stdout.write(`${JSON.stringify({ ...result, peakRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
