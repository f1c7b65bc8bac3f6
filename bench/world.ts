/**
 * What the benchmarks of issue 12's table share: throw-away keys (RSA-4096 sealing certificates like
 * the controller's, a CA and two wildcard leaves: the second is the renewal), the TLS Secret files
 * they are read from, and bench repositories of N tenants over 3 clusters, as a folder or on a bare
 * remote. Nothing here is measured; every measurement runs in a child process of its own.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CLUSTERS = ["prod-east", "prod-west", "prod-north"] as const;
export const SECRET_NAME = "wildcard-tls";

/** `per-tenant`: the default strict layout; `shared`: one cluster-wide sealed base per cluster (spec.layout: shared). */
export type Layout = "per-tenant" | "shared";

export interface BenchKeys {
  /** the sealing certificates' PEM, one per cluster, in CLUSTERS order */
  readonly certs: readonly string[];
  /** TLS Secret manifests (0600, in a private temp folder): the first certificate and its renewal */
  readonly source: string;
  readonly renewed: string;
  cleanup(): void;
}

export function tenantName(i: number): string {
  return `t${String(i).padStart(5, "0")}`;
}

export function clusterOf(i: number): string {
  return CLUSTERS[i % CLUSTERS.length] as string;
}

export function tenantYaml(i: number, name = tenantName(i)): string {
  return `apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  cluster: ${clusterOf(i)}\n  hosts: [${name}.example.com]\n  values: {team: team-${i % 17}}\n`;
}

export async function makeKeys(): Promise<BenchKeys> {
  const { generateCa, generateLeaf, generateSealingKeyPair } = await import("../src/tls/generate.ts");
  const ca = await generateCa();
  const day = 86_400_000;
  const leafAt = (daysAgo: number) =>
    generateLeaf(ca, { dnsNames: ["*.example.com"], notBefore: new Date(Date.now() - daysAgo * day), notAfter: new Date(Date.now() + (90 - daysAgo) * day) });
  const [first, second, ...pairs] = await Promise.all([
    leafAt(60),
    leafAt(1),
    ...CLUSTERS.map(() => generateSealingKeyPair({ bits: 4096 })),
  ]);
  // generated throw-away keys, in a private temp folder removed at the end
  const dir = mkdtempSync(join(tmpdir(), "wildseal-bench-src-"));
  const b64 = (s: string | Buffer): string => Buffer.from(s).toString("base64");
  const write = (file: string, leaf: NonNullable<typeof first>): string => {
    const path = join(dir, file);
    writeFileSync(
      path,
      `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {name: wildcard, namespace: cert-manager}\ndata:\n  tls.crt: ${b64(leaf.certPem)}\n  tls.key: ${b64(leaf.keyPem.reveal())}\n`,
      { mode: 0o600 },
    );
    return path;
  };
  if (first === undefined || second === undefined) throw new Error("bench: leaf generation failed");
  return {
    certs: pairs.map((p) => (p as { certPem: string }).certPem),
    source: write("source.yaml", first),
    renewed: write("renewed.yaml", second),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function configYaml(layout: Layout): string {
  const clusters = CLUSTERS.map((c) => `    - name: ${c}\n      sealingCert: clusters/${c}/sealed-secrets.pem`).join("\n");
  // the shared layout is cluster-wide by nature: one ciphertext must open in every tenant's namespace
  const extra = layout === "shared" ? "  layout: shared\n  defaults: {scope: cluster-wide}\n" : "";
  return `apiVersion: wildseal.dev/v1alpha1\nkind: Config\nmetadata: {name: bench}\nspec:\n  source: {namespace: cert-manager, name: wildcard}\n  clusters:\n${clusters}\n${extra}`;
}

/** wildseal.yaml, the clusters' certificates and `n` tenant files (no rendered/) into `dir`. */
export function writeRepo(dir: string, n: number, certs: readonly string[], layout: Layout = "per-tenant"): void {
  writeFileSync(join(dir, "wildseal.yaml"), configYaml(layout));
  CLUSTERS.forEach((c, i) => {
    mkdirSync(join(dir, "clusters", c), { recursive: true });
    writeFileSync(join(dir, "clusters", c, "sealed-secrets.pem"), certs[i] as string);
  });
  mkdirSync(join(dir, "tenants"), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, "tenants", `${tenantName(i)}.yaml`), tenantYaml(i));
}

/** git with no user or system config and gc off, so every machine measures the same git. */
export function git(cwd: string, args: readonly string[]): string {
  return execFileSync("git", ["-c", "gc.auto=0", "-c", "maintenance.auto=false", ...args], {
    cwd,
    env: gitEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 1 << 26,
  }).toString("utf8");
}

export function gitEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: "/nonexistent",
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "Bench",
    GIT_AUTHOR_EMAIL: "bench@example.com",
    GIT_COMMITTER_NAME: "Bench",
    GIT_COMMITTER_EMAIL: "bench@example.com",
  };
}

/** A bare remote (gc off) in `root`/remote.git whose main branch holds one commit: the repository of `n` tenants, unrendered. */
export function makeBareRepo(root: string, n: number, certs: readonly string[], layout: Layout): string {
  const bare = join(root, "remote.git");
  const work = join(root, "seed");
  mkdirSync(bare);
  mkdirSync(work);
  git(bare, ["init", "--quiet", "--bare", "--initial-branch=main"]);
  for (const [k, v] of [["gc.auto", "0"], ["receive.autogc", "false"], ["maintenance.auto", "false"]]) git(bare, ["config", k as string, v as string]);
  git(work, ["init", "--quiet", "--initial-branch=main"]);
  writeRepo(work, n, certs, layout);
  git(work, ["add", "-A"]);
  git(work, ["commit", "--quiet", "--no-verify", "-m", "seed"]);
  git(work, ["push", "--quiet", bare, "HEAD:refs/heads/main"]);
  rmSync(work, { recursive: true, force: true });
  return bare;
}

/**
 * Packs the bare repository completely (`git gc`) and returns the size of its packs in bytes: what
 * `git count-objects -v` calls size-pack, to the byte rather than in KiB.
 */
export function packedBytes(bare: string): number {
  git(bare, ["gc", "--quiet", "--prune=now"]);
  const packs = join(bare, "objects", "pack");
  return readdirSync(packs)
    .filter((f) => f.endsWith(".pack"))
    .reduce((sum, f) => sum + statSync(join(packs, f)).size, 0);
}
