import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { after } from "node:test";
import { generateCa, generateLeaf, generateSealingKeyPair, tlsSecretOf } from "../../src/tls/generate.ts";
import type { GeneratedCertificate } from "../../src/tls/generate.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";
import { tempDir as scratchDir } from "../helpers/git-fixtures.ts";
import { tenantYaml, type TenantSpec } from "../helpers/tenant-yaml.ts";

/**
 * Temporary GitOps repositories and certificates for renderer tests. Keys are generated per test
 * process and live in memory; the only key written to disk is the CLI test's source Secret, in a
 * temp folder removed after the test file.
 */

const roots: { cleanup(): void }[] = [];
after(() => {
  for (const r of roots) r.cleanup();
});

/** A temporary folder removed when the test file ends (test/helpers' tempDir, cleaned up for you). */
export function tempDir(prefix = "wildseal-render-"): string {
  const d = scratchDir(prefix);
  roots.push(d);
  return d.path;
}

export const DAY = 86_400_000;

let ca: Promise<GeneratedCertificate> | undefined;
export function testCa(): Promise<GeneratedCertificate> {
  ca ??= generateCa();
  return ca;
}

const sealingPairs = new Map<string, Promise<GeneratedCertificate>>();
/** One sealing key pair per label, per test process (RSA-2048 keeps tests fast). */
export function sealingPair(label: string): Promise<GeneratedCertificate> {
  let p = sealingPairs.get(label);
  if (p === undefined) {
    p = generateSealingKeyPair({ bits: 2048, commonName: label });
    sealingPairs.set(label, p);
  }
  return p;
}

export interface Leaf {
  readonly generated: GeneratedCertificate;
  readonly tls: TlsMaterial;
}

/** A wildcard leaf (chain leaf + CA) and its validated TlsMaterial. */
export async function makeLeaf(opts: { dnsNames?: readonly string[]; notBefore?: Date; notAfter?: Date } = {}): Promise<Leaf> {
  const generated = await generateLeaf(await testCa(), {
    dnsNames: opts.dnsNames ?? ["*.example.com", "example.com"],
    ...(opts.notBefore ? { notBefore: opts.notBefore } : {}),
    ...(opts.notAfter ? { notAfter: opts.notAfter } : {}),
  });
  const tls = validateTlsSecret(
    tlsSecretOf(generated),
    { source: "test source", ...(opts.notBefore ? { now: new Date(opts.notBefore.getTime() + 1000) } : {}) },
  );
  return { generated, tls };
}

/** tenants/<name>.yaml: the shared helper (test/helpers/tenant-yaml.ts) */
export { tenantYaml, type TenantSpec };

export function configYaml(clusters: readonly string[]): string {
  return `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: test}
spec:
  source: {namespace: cert-manager, name: wildcard-example-com}
  clusters:
${clusters.map((c) => `    - name: ${c}\n      sealingCert: clusters/${c}/sealed-secrets.pem`).join("\n")}
  defaults: {secretName: wildcard-tls, scope: strict}
  output: rendered
`;
}

/** A repository with wildseal.yaml (`config`, else configYaml of the clusters), a sealing certificate per cluster, the tenants and optional templates. */
export async function makeRepo(opts: {
  clusters: readonly string[];
  tenants: readonly TenantSpec[];
  templates?: Readonly<Record<string, string>>;
  dir?: string;
  config?: string;
}): Promise<string> {
  const dir = opts.dir ?? tempDir();
  const files: Record<string, string> = { "wildseal.yaml": opts.config ?? configYaml(opts.clusters) };
  for (const c of opts.clusters) files[`clusters/${c}/sealed-secrets.pem`] = (await sealingPair(c)).certPem;
  for (const t of opts.tenants) files[`tenants/${t.name}.yaml`] = tenantYaml(t);
  for (const [name, text] of Object.entries(opts.templates ?? {})) files[`templates/${name}`] = text;
  writeFiles(dir, files);
  mkdirSync(join(dir, "tenants"), { recursive: true });
  return dir;
}

export function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** Every file under `dir/sub`, repository-relative path → SHA-256 of its bytes. */
export function hashTree(dir: string, sub = "rendered"): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  try {
    walk(join(dir, sub));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  return out;
}

/** Paths whose content differs, or that exist on one side only. */
export function changedPaths(before: ReadonlyMap<string, string>, after_: ReadonlyMap<string, string>): string[] {
  const all = new Set([...before.keys(), ...after_.keys()]);
  return [...all].filter((p) => before.get(p) !== after_.get(p)).sort();
}
