import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readBranchSnapshot } from "../../src/pipeline/rollout-verifier.ts";
import type { StatusRow } from "../../src/rollout/classify.ts";
import { parseGrepOutput } from "../../src/rollout/history.ts";
import { parseProbeAddresses } from "../../src/rollout/probe-address.ts";
import { rolloutStatus, type StatusOptions } from "../../src/rollout/status.ts";
import { generateCa, generateLeaf, generateSealingKeyPair, type GeneratedCertificate } from "../../src/tls/generate.ts";
import { runCli } from "../cli/run-cli.ts";
import { git, tempDir, writeFiles } from "../helpers/git-fixtures.ts";
import { certificatesConfig } from "../helpers/several-certificates.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { tenantYaml } from "../helpers/tenant-yaml.ts";
import { startLoopbackIngress, type LoopbackIngress } from "./loopback-ingress.ts";
import { fingerprint } from "./rollout-world.ts";

/**
 * Status in the shared layout with several certificates: each shared tenant's certificate is in its
 * certificate's base, rendered/<cluster>/_shared/<certificate>/, and its history is that base's
 * alone. A real Git repository rendered by the CLI, a TLS server on 127.0.0.1 for an ingress.
 */

const CONFIG = certificatesConfig({ layout: "shared", defaults: "{secretName: wildcard-tls}" });

const TENANTS = [
  { name: "acme", hosts: ["acme.example.com"] },
  { name: "beta", hosts: ["beta.example.org"] },
  { name: "globex", hosts: ["globex.example.com", "shop.example.com"] },
];
const COM_HOSTS = ["acme.example.com", "globex.example.com", "shop.example.com"];

let tmp: { path: string; cleanup(): void };
let dir: string;
let ca: GeneratedCertificate;
let ingress: LoopbackIngress;
let published = 0;

before(async () => {
  tmp = tempDir("wildseal-rollout-several-");
  dir = join(tmp.path, "repo");
  mkdirSync(dir);
  mkdirSync(join(tmp.path, "sources"));
  let sealing: GeneratedCertificate;
  [ca, sealing, ingress] = await Promise.all([generateCa(), generateSealingKeyPair({ bits: 2048 }), startLoopbackIngress()]);
  const files: Record<string, string> = { "wildseal.yaml": CONFIG, "clusters/prod-east/sealed-secrets.pem": sealing.certPem };
  for (const t of TENANTS) files[`tenants/${t.name}.yaml`] = tenantYaml({ cluster: "prod-east", ...t });
  writeFiles(dir, files);
  git(dir, ["init", "--quiet", "--initial-branch=main"]);
  git(dir, ["add", "--all"]);
  git(dir, ["commit", "--quiet", "-m", "seed the repository"]);
});
after(async () => {
  await ingress.close();
  tmp.cleanup();
});

/** Renders both certificates through the CLI and commits, as a sync would; the commit and its committer date. */
async function publish(com: GeneratedCertificate, org: GeneratedCertificate): Promise<{ commit: string; date: string }> {
  const n = published++;
  const source = (leaf: GeneratedCertificate, name: string) => writeSourceSecret(join(tmp.path, "sources"), leaf.certPem, leaf.keyPem.reveal(), `${name}-${n}.yaml`);
  const r = await runCli(["render", "--repo", dir, "--source-file", `com=${source(com, "com")}`, "--source-file", `org=${source(org, "org")}`]);
  assert.equal(r.code, 0, r.stderr);
  git(dir, ["add", "--all"]);
  git(dir, ["commit", "--quiet", "-m", `render ${n}`]);
  const [commit = "", date = ""] = git(dir, ["log", "-1", "--format=%H%x1f%cI"]).trim().split("\x1f");
  return { commit, date: new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z") };
}

const viaIngress = (extra: Partial<StatusOptions> = {}): StatusOptions => ({
  probeAddresses: parseProbeAddresses([`*.example.com=${ingress.address}`, `*.example.org=${ingress.address}`]),
  timeoutMs: 5000,
  env: process.env,
  ...extra,
});
const table = (rows: readonly StatusRow[]) => rows.map((r) => [r.tenant, r.state, r.committed?.sha256, r.since?.commit ?? null]);

describe("certificate history in the shared layout with several certificates", () => {
  it("keys _shared/<certificate>/ files by their base, _shared/ files by _shared, tenant files by the tenant", () => {
    const [a, b, c] = ["a", "b", "c"].map((x) => x.repeat(64));
    const commit = "1".repeat(40);
    const out = [
      `${commit}:rendered/prod/_shared/com/sealed-secret.yaml\0    wildseal.dev/cert-sha256: ${a}`,
      `${commit}:rendered/prod/_shared/org/sealed-secret.yaml\0    wildseal.dev/cert-sha256: ${b}`,
      `${commit}:rendered/prod/_shared/sealed-secret.yaml\0    wildseal.dev/cert-sha256: ${c}`,
      `${commit}:rendered/prod/acme/sealed-secret.yaml\0    wildseal.dev/cert-sha256: ${c}`,
      "",
    ].join("\n");
    assert.deepEqual(
      [...(parseGrepOutput(out, "rendered").get(commit) ?? [])].map(([k, s]) => [k, [...s]]),
      [
        ["prod/_shared/com", [a]],
        ["prod/_shared/org", [b]],
        ["prod/_shared", [c]],
        ["prod/acme", [c]],
      ],
    );
  });
});

describe("rolloutStatus in the shared layout with several certificates", () => {
  it("compares each shared tenant with its certificate's base: current, then stale across a renewal of one certificate, then current; the other certificate's earlier leaf stays foreign", async () => {
    const com1 = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
    const org1 = await generateLeaf(ca, { dnsNames: ["*.example.org"] });
    const c1 = await publish(com1, org1);
    assert.deepEqual(
      git(dir, ["ls-files", "rendered/prod-east/_shared"]).trim().split("\n"),
      ["com/kustomization.yaml", "com/sealed-secret.yaml", "org/kustomization.yaml", "org/sealed-secret.yaml"].map((f) => `rendered/prod-east/_shared/${f}`),
      "the repository has one base per certificate",
    );
    for (const h of COM_HOSTS) ingress.serve(h, com1);
    ingress.serve("beta.example.org", org1);

    let report = await rolloutStatus(dir, viaIngress());
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.notes, []);
    assert.deepEqual(table(report.rows), [
      ["acme", "current", fingerprint(com1), c1.commit],
      ["beta", "current", fingerprint(org1), c1.commit],
      ["globex", "current", fingerprint(com1), c1.commit],
    ]);

    // com renewed and committed; the ingress still serves the first com certificate
    const com2 = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
    const c2 = await publish(com2, org1);
    assert.deepEqual(git(dir, ["diff", "--name-only", c1.commit, c2.commit]).trim().split("\n"), ["rendered/prod-east/_shared/com/sealed-secret.yaml"]);
    const now = new Date(Date.parse(c2.date) + 125_000);
    report = await rolloutStatus(dir, viaIngress({ now: () => now }));
    assert.deepEqual(table(report.rows), [
      ["acme", "stale", fingerprint(com2), c2.commit],
      ["beta", "current", fingerprint(org1), c1.commit],
      ["globex", "stale", fingerprint(com2), c2.commit],
    ]);
    const acme = report.rows[0];
    assert.equal(acme?.served?.sha256, fingerprint(com1));
    assert.equal(acme?.lagSeconds, 125);
    assert.match(acme?.detail ?? "", /acme\.example\.com .*still serves an earlier certificate/);

    // com1 was the com base's, never the org base's: a beta host serving it is foreign, not stale
    ingress.serve("beta.example.org", com1);
    const beta = (await rolloutStatus(dir, viaIngress())).rows.find((r) => r.tenant === "beta");
    assert.equal(beta?.state, "foreign");
    ingress.serve("beta.example.org", org1);

    // the ingress reloads the renewed Secret
    for (const h of COM_HOSTS) ingress.serve(h, com2);
    report = await rolloutStatus(dir, viaIngress());
    assert.deepEqual(table(report.rows), [
      ["acme", "current", fingerprint(com2), c2.commit],
      ["beta", "current", fingerprint(org1), c1.commit],
      ["globex", "current", fingerprint(com2), c2.commit],
    ]);

    // watch --verify-rollout reads the branch the same way
    const snapshot = await readBranchSnapshot(dir);
    assert.deepEqual(
      snapshot.tenants.map((t) => [t.name, t.folder, t.committed?.sha256]),
      [
        ["acme", "prod-east/_shared/com", fingerprint(com2)],
        ["beta", "prod-east/_shared/org", fingerprint(org1)],
        ["globex", "prod-east/_shared/com", fingerprint(com2)],
      ],
    );
  });
});
