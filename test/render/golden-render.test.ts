import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { renderRepository } from "../../src/render/render-repository.ts";
import { rfc3339 } from "../../src/rfc3339.ts";
import { parseSealedSecrets, unsealSealedSecret } from "../../src/seal/sealed-secret.ts";
import { hashTree, makeLeaf, sealingPair, tempDir } from "./render-fixture.ts";

/**
 * Golden files: test/fixtures/render/input is a repository (without its sealing certificates,
 * generated here); test/fixtures/render/expected is what wildseal renders from it, with the values
 * that change per run (certificate hashes and dates, ciphertext) replaced by <markers>. The
 * ciphertext is checked separately: unsealed with the cluster's key, it must equal the source.
 * Set UPDATE_GOLDEN=1 to rewrite the expected files (then review the diff).
 */

const fixtures = new URL("../fixtures/render/", import.meta.url).pathname;
const CLUSTERS = ["prod-east", "prod-west"];

async function renderFixture() {
  const dir = tempDir();
  cpSync(join(fixtures, "input"), dir, { recursive: true });
  for (const c of CLUSTERS) {
    mkdirSync(join(dir, "clusters", c), { recursive: true });
    writeFileSync(join(dir, "clusters", c, "sealed-secrets.pem"), (await sealingPair(c)).certPem);
  }
  const leaf = await makeLeaf();
  const result = await renderRepository({ repoDir: dir, tls: leaf.tls });
  return { dir, leaf, result };
}

describe("golden rendering", () => {
  test("the rendered tree equals the golden files, and the ciphertext unseals to the source", async () => {
    const { dir, leaf, result } = await renderFixture();
    assert.deepEqual(result.diagnostics, []);
    const sealingSha = new Map<string, string>();
    for (const c of CLUSTERS) {
      const der = Buffer.from((await sealingPair(c)).certPem.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
      sealingSha.set(c, (await import("node:crypto")).createHash("sha256").update(der).digest("hex"));
    }
    const normalize = (text: string): string => {
      let t = text.replaceAll(leaf.tls.leaf.sha256, "<leaf-sha256>").replaceAll(rfc3339(leaf.tls.leaf.notAfter), "<leaf-not-after>");
      for (const [c, sha] of sealingSha) t = t.replaceAll(sha, `<sealing-cert-sha256 ${c}>`);
      return t.replace(/(sealed-inputs-sha256: )[0-9a-f]{64}/g, "$1<sealed-inputs-sha256>").replace(/(tls\.(crt|key): )[A-Za-z0-9+/=]+/g, "$1<sealed>");
    };
    const files = [...hashTree(dir).keys()];
    const expectedDir = join(fixtures, "expected");
    if (process.env["UPDATE_GOLDEN"] === "1") {
      for (const p of files) {
        const out = join(expectedDir, p);
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, normalize(readFileSync(join(dir, p), "utf8")));
      }
    }
    assert.deepEqual(files, [...hashTree(expectedDir, "rendered").keys()]);
    for (const p of files) assert.equal(normalize(readFileSync(join(dir, p), "utf8")), readFileSync(join(expectedDir, p), "utf8"), p);

    const src = leaf.tls.secret.data;
    for (const [cluster, tenant] of [["prod-east", "acme"], ["prod-east", "beta"], ["prod-west", "gamma"]] as const) {
      const path = join(dir, "rendered", cluster, tenant, "sealed-secret.yaml");
      const [obj] = parseSealedSecrets(readFileSync(path, "utf8"), path);
      assert.ok(obj);
      const secret = unsealSealedSecret(obj, [(await sealingPair(cluster)).privateKey], path);
      assert.ok(secret.data.get("tls.crt")?.equals(src.get("tls.crt")!), `${tenant} tls.crt`);
      assert.ok(secret.data.get("tls.key")?.equals(src.get("tls.key")!), `${tenant} tls.key`);
      // sealed for another cluster's key it must not open
      const other = CLUSTERS.find((c) => c !== cluster)!;
      const otherKey = (await sealingPair(other)).privateKey;
      assert.throws(() => unsealSealedSecret(obj, [otherKey], path));
    }
  });

  test("kubectl kustomize builds every cluster folder (fails, not skips, without kubectl)", async () => {
    const { dir } = await renderFixture();
    for (const c of CLUSTERS) {
      const r = spawnSync("kubectl", ["kustomize", join(dir, "rendered", c)], { encoding: "utf8", timeout: 60_000 });
      assert.equal(r.error, undefined, `kubectl could not run: ${String(r.error)}; install kubectl (it is required by this test)`);
      assert.equal(r.status, 0, r.stderr);
      const kinds = [...r.stdout.matchAll(/^kind: (\S+)$/gm)].map((m) => m[1]);
      assert.deepEqual(kinds.sort(), c === "prod-east" ? ["Ingress", "Ingress", "SealedSecret", "SealedSecret"] : ["Ingress", "SealedSecret"]);
    }
  });
});
