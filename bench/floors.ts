/**
 * The floors of issue 12's table, each measured in a process of its own by bench/run.ts and printed
 * as one JSON line `{ "ms", "peakRssMiB", … }`; the time excludes the process's start and module
 * loading, like the render it is compared with (bench/render.ts's child times renderRepository only).
 *
 *   node --import tsx bench/floors.ts crypto REPO SOURCE N   # node:crypto sealing what a cold render of REPO seals
 *   node --import tsx bench/floors.ts io REPO                # read and hash every input and output file of REPO
 *
 * crypto: the same items (every item of the TLS Secret SOURCE, for each of the N tenants), bound to the
 * same strict labels (`<tenant>/wildcard-tls`), for the same RSA-4096 certificates (each tenant's
 * cluster's), with the project's sealValue (RSA-OAEP + AES-256-GCM on node:crypto): one thread, no I/O.
 * io: everything under tenants/, templates/, clusters/ and rendered/, read and SHA-256-hashed file by
 * file in one thread: what deciding "nothing changed" cannot avoid.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
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

const [kind, repo, source, n] = process.argv.slice(2);
const result = kind === "crypto" ? await crypto(repo as string, source as string, Number(n)) : io(repo as string);
process.stdout.write(`${JSON.stringify({ ...result, peakRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
