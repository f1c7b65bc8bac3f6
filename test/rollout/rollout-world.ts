import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { generateCa, generateLeaf, generateSealingKeyPair, type GeneratedCertificate } from "../../src/tls/generate.ts";
import { runCli } from "../cli/run-cli.ts";
import { git, tempDir, writeFiles } from "../helpers/git-fixtures.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { tenantYaml, type TenantSpec } from "../helpers/tenant-yaml.ts";
import { CONFIG } from "../pipeline/sync-world.ts";
import { startLoopbackIngress, type LoopbackIngress } from "./loopback-ingress.ts";

/**
 * A GitOps repository (a Git work tree, one cluster) whose certificate a test renews: each
 * `publish(leaf)` renders the tenants with `leaf` through the CLI and commits, as a sync would.
 */
export interface RolloutWorld {
  readonly dir: string;
  readonly ca: GeneratedCertificate;
  issue(): Promise<GeneratedCertificate>;
  /** render with `leaf` and commit; the commit and its committer date */
  publish(leaf: GeneratedCertificate): Promise<{ commit: string; date: string }>;
  cleanup(): void;
}

export const DEFAULT_TENANTS: readonly TenantSpec[] = [
  { name: "acme", hosts: ["acme.example.com"] },
  { name: "globex", hosts: ["globex.example.com", "shop.example.com"] },
];

/** `config`: wildseal.yaml (default: one cluster, prod-east, per-tenant layout). */
export async function makeRolloutWorld(tenants: readonly TenantSpec[] = DEFAULT_TENANTS, config = CONFIG): Promise<RolloutWorld> {
  const tmp = tempDir("wildseal-rollout-");
  const dir = join(tmp.path, "repo");
  const sources = join(tmp.path, "sources");
  mkdirSync(dir);
  mkdirSync(sources);
  const [ca, sealing] = await Promise.all([generateCa(), generateSealingKeyPair({ bits: 2048 })]);
  const files: Record<string, string> = { "wildseal.yaml": config, "clusters/prod-east/sealed-secrets.pem": sealing.certPem };
  for (const t of tenants) files[`tenants/${t.name}.yaml`] = tenantYaml({ cluster: "prod-east", ...t });
  writeFiles(dir, files);
  git(dir, ["init", "--quiet", "--initial-branch=main"]);
  git(dir, ["add", "--all"]);
  git(dir, ["commit", "--quiet", "-m", "seed the repository"]);
  let n = 0;
  return {
    dir,
    ca,
    issue: () => generateLeaf(ca, { dnsNames: ["*.example.com"] }),
    async publish(leaf) {
      const source = writeSourceSecret(sources, leaf.certPem, leaf.keyPem.reveal(), `source-${n++}.yaml`);
      const r = await runCli(["render", "--repo", dir, "--source-file", source]);
      assert.equal(r.code, 0, r.stderr);
      git(dir, ["add", "--all"]);
      git(dir, ["commit", "--quiet", "-m", `render ${fingerprint(leaf)}`]);
      const [commit = "", date = ""] = git(dir, ["log", "-1", "--format=%H%x1f%cI"]).trim().split("\x1f");
      return { commit, date: new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z") };
    },
    cleanup: tmp.cleanup,
  };
}

/**
 * One RolloutWorld (the default tenants) and one loopback ingress for every test of the file that
 * calls this: made in before(), closed in after(). Read them inside tests, once before() has run.
 */
export function rolloutWorldAndIngress(): { readonly world: RolloutWorld; readonly ingress: LoopbackIngress } {
  let world: RolloutWorld | undefined;
  let ingress: LoopbackIngress | undefined;
  before(async () => {
    [world, ingress] = await Promise.all([makeRolloutWorld(), startLoopbackIngress()]);
  });
  after(async () => {
    await ingress?.close();
    world?.cleanup();
  });
  return {
    get world() {
      assert.ok(world, "the rollout world is made in before(): read it inside a test");
      return world;
    },
    get ingress() {
      assert.ok(ingress, "the loopback ingress is started in before(): read it inside a test");
      return ingress;
    },
  };
}

/** The hex SHA-256 of a generated certificate's leaf DER: what `wildseal.dev/cert-sha256` holds. */
export function fingerprint(cert: GeneratedCertificate): string {
  return createHash("sha256").update(new X509Certificate(cert.certPem).raw).digest("hex");
}
