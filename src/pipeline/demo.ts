import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import type { KeyObject } from "node:crypto";
import { addTenant } from "../render/tenant-file.ts";
import { auditLog, formatAuditTable } from "../git/audit.ts";
import { NO_CREDENTIALS } from "../git/credentials.ts";
import { createGitRunner, type GitRunner } from "../git/git-process.ts";
import { loadConfig, type WildsealConfig } from "../model/index.ts";
import { formatDiagnostic } from "../errors.ts";
import { packageRoot } from "../package-info.ts";
import { parseSealedSecrets, unsealSealedSecret } from "../seal/sealed-secret.ts";
import { generateCa, generateLeaf, generateSealingKeyPair, tlsSecretOf, type GeneratedCertificate } from "../tls/generate.ts";
import { validateTlsSecret } from "../tls/tls-material.ts";
import type { TlsMaterial } from "../tls/types.ts";
import { sync, type SyncOutcome } from "./sync.ts";

/**
 * `wildseal demo`: the whole pipeline on an embedded default, with no cluster and no GitHub.
 * A throwaway CA issues a wildcard certificate as cert-manager would store it; each cluster of the
 * project's own wildseal.yaml gets a sealing key pair; a bare Git remote is seeded from the
 * project's wildseal.yaml, tenants/ and templates/. Then: a first sync, an idle sync, a renewal
 * and a tenant onboarding, and a check that every SealedSecret opens to the source certificate.
 * Private keys stay in memory; only public certificates are written (into the throwaway remote).
 */

export interface DemoOptions {
  /** keep the remote and a checkout here instead of deleting everything */
  readonly keep?: string;
  readonly out: (line: string) => void;
  /** where wildseal.yaml, tenants/ and templates/ come from; default: this package */
  readonly projectDir?: string;
}

const DAY = 86_400_000;
const DEMO_AUTHOR = ["-c", "user.name=Dana Developer", "-c", "user.email=dana@example.com"];

async function issue(ca: GeneratedCertificate, notBefore: Date): Promise<TlsMaterial> {
  const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com", "example.com"], notBefore, notAfter: new Date(notBefore.getTime() + 90 * DAY) });
  const secret = tlsSecretOf(leaf, {
    labels: { "controller.cert-manager.io/fao": "true" },
    annotations: { "cert-manager.io/certificate-name": "wildcard-example-com", "cert-manager.io/issuer-name": "letsencrypt-demo" },
  });
  return validateTlsSecret(secret, { source: "demo certificate" });
}

async function git(dir: string, args: readonly string[]): Promise<string> {
  const runner: GitRunner = createGitRunner({ baseDir: dir, credentials: NO_CREDENTIALS });
  return runner.run(args);
}

async function seedRemote(world: string, project: string, config: WildsealConfig, sealing: ReadonlyMap<string, GeneratedCertificate>): Promise<string> {
  const seed = join(world, "seed");
  const remote = join(world, "remote.git");
  await mkdir(seed, { recursive: true });
  for (const entry of ["wildseal.yaml", "tenants", "templates"]) {
    if (existsSync(join(project, entry))) await cp(join(project, entry), join(seed, entry), { recursive: true });
  }
  for (const c of config.clusters) {
    const cert = sealing.get(c.name);
    if (cert === undefined || c.sealing.kind !== "file") continue;
    await mkdir(dirname(join(seed, c.sealing.path)), { recursive: true });
    await writeFile(join(seed, c.sealing.path), cert.certPem);
  }
  await git(world, ["init", "--quiet", "--bare", "--initial-branch=main", remote]);
  await git(seed, ["init", "--quiet", "--initial-branch=main"]);
  await git(seed, ["add", "-A"]);
  await git(seed, [...DEMO_AUTHOR, "commit", "--quiet", "-m", "Seed the GitOps repository"]);
  await git(seed, ["push", "--quiet", remote, "main"]);
  return remote;
}

function describe(o: SyncOutcome): string {
  // The demo's input is all generated: any diagnostic is a bug in the demo or the project files.
  if (o.diagnostics.length > 0) throw new Error(`the demo repository has problems:\n${o.diagnostics.map(formatDiagnostic).join("\n")}`);
  switch (o.kind) {
    case "unchanged":
      return "no commit: the branch already holds this rendered tree";
    case "pushed":
      return `commit ${o.commit.slice(0, 12)}: ${o.message.split("\n")[0]}`;
    case "pull-request":
      return `pull request #${o.pullRequest.number}`;
  }
}

async function listFiles(root: string, under: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, under), { withFileTypes: true })) {
    const rel = join(under, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(root, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/** Opens every rendered SealedSecret with its cluster's demo key and compares it with the source. */
async function verifyUnseal(checkout: string, tls: TlsMaterial, keys: ReadonlyMap<string, KeyObject>, out: (l: string) => void): Promise<number> {
  const files = (await listFiles(checkout, "rendered")).filter((f) => f.endsWith("sealed-secret.yaml"));
  let bad = 0;
  for (const f of files) {
    const cluster = f.split("/")[1] ?? "";
    const key = keys.get(cluster);
    const [ss] = parseSealedSecrets(await readFile(join(checkout, f), "utf8"), f);
    if (key === undefined || ss === undefined) {
      bad++;
      out(`  ✗ ${f}: no demo key for cluster ${cluster}`);
      continue;
    }
    const secret = unsealSealedSecret(ss, [key], f);
    const same = ["tls.crt", "tls.key"].every((k) => {
      const a = secret.data.get(k);
      const b = tls.secret.data.get(k);
      return a !== undefined && b !== undefined && a.equals(b);
    });
    if (!same) bad++;
    out(`  ${same ? "✓" : "✗"} ${f} → Secret ${secret.namespace}/${secret.name}: tls.crt and tls.key ${same ? "equal" : "DIFFER FROM"} the source`);
  }
  return bad;
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const { out } = opts;
  const project = opts.projectDir ?? packageRoot();
  const world = await mkdtemp(join(tmpdir(), "wildseal-demo-"));
  try {
    out(`▶ building a throwaway world in ${world}`);
    const ca = await generateCa({ commonName: "Demo Let's Encrypt" });
    const { config, diagnostics } = await loadConfig(project);
    if (config === undefined) throw new Error(`the project's wildseal.yaml is invalid: ${diagnostics.map((d) => d.message).join("; ")}`);
    const sealing = new Map<string, GeneratedCertificate>();
    for (const c of config.clusters) sealing.set(c.name, await generateSealingKeyPair({ bits: 4096, commonName: "sealed-secret" }));
    out(`  CA "${ca.subject}", a sealing key pair (RSA-4096) for each cluster: ${[...sealing.keys()].join(", ")}`);
    const remote = await seedRemote(world, project, config, sealing);
    out(`  bare Git remote ${relative(world, remote)} seeded from ${project} (wildseal.yaml, tenants/, templates/, clusters/*/sealed-secrets.pem)`);

    const first = await issue(ca, new Date(Date.now() - 30 * DAY));
    out(`▶ cert-manager issued ${first.leaf.dnsNames.join(", ")} (sha256 ${first.leaf.sha256.slice(0, 16)}…, not after ${first.leaf.notAfter.toISOString()})`);
    const run = (material: TlsMaterial) =>
      sync({ repo: remote, branch: "main", source: { kind: "material", material, label: "secret cert-manager/wildcard-example-com" }, delivery: { kind: "push" }, credentials: NO_CREDENTIALS });
    out(`▶ sync: ${describe(await run(first))}`);
    out(`▶ sync again with nothing changed: ${describe(await run(first))}`);

    const renewed = await issue(ca, new Date());
    out(`▶ renewal: cert-manager issued a new certificate (sha256 ${renewed.leaf.sha256.slice(0, 16)}…, not after ${renewed.leaf.notAfter.toISOString()})`);
    out(`▶ sync: ${describe(await run(renewed))}`);

    const person = join(world, "person");
    await git(world, ["clone", "--quiet", remote, person]);
    await addTenant(person, { name: "umbrella", hosts: ["umbrella.example.com"], cluster: config.clusters[0]?.name });
    await git(person, ["add", "tenants/umbrella.yaml"]);
    await git(person, [...DEMO_AUTHOR, "commit", "--quiet", "-m", "Onboard tenant umbrella"]);
    await git(person, ["push", "--quiet", "origin", "main"]);
    out("▶ onboarding: a person added tenants/umbrella.yaml (wildseal tenant add) and pushed");
    out(`▶ sync: ${describe(await run(renewed))}`);

    out("▶ the last commit, with its trailers:");
    out((await git(remote, ["log", "-1", "--format=%B", "main"])).trimEnd().replace(/^/gm, "  "));
    out("▶ the audit trail (wildseal audit):");
    out(formatAuditTable(await auditLog(remote)).trimEnd().replace(/^/gm, "  "));
    const checkout = join(world, "checkout");
    await git(world, ["clone", "--quiet", remote, checkout]);
    out("▶ the rendered tree Flux/Argo CD apply (rendered/<cluster>):");
    for (const f of await listFiles(checkout, "rendered")) out(`  ${f}`);
    out("▶ every SealedSecret unsealed with its cluster's demo key:");
    const keys = new Map([...sealing].map(([c, s]) => [c, s.privateKey]));
    const bad = await verifyUnseal(checkout, renewed, keys, out);
    if (opts.keep !== undefined) {
      await mkdir(opts.keep, { recursive: true });
      await cp(remote, join(opts.keep, "remote.git"), { recursive: true });
      await cp(checkout, join(opts.keep, "checkout"), { recursive: true });
      out(`▶ kept the remote and a checkout in ${opts.keep} (public data only: no private key was written)`);
    }
    out(bad === 0 ? "✔ demo finished: every tenant holds the renewed certificate" : `✘ ${bad} SealedSecret(s) did not open to the source`);
    return bad === 0 ? 0 : 1;
  } finally {
    await rm(world, { recursive: true, force: true });
  }
}
