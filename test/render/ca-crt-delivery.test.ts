import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { renderRepository } from "../../src/render/render-repository.ts";
import { SEALED_ITEMS, sealedInputsSha256 } from "../../src/render/sealed-secret-document.ts";
import { parseSealedSecrets, unsealSealedSecret } from "../../src/seal/sealed-secret.ts";
import { generateCa, tlsSecretOf } from "../../src/tls/generate.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import { SecretBytes, type TlsMaterial } from "../../src/tls/types.ts";
import { runCli } from "../cli/run-cli.ts";
import { changedPaths, hashTree, makeLeaf, makeRepo, sealingPair, tempDir, testCa } from "./render-fixture.ts";

/**
 * cert-manager writes `ca.crt` next to tls.crt and tls.key for private issuers. When the source
 * has one it is sealed and delivered with the rest; when it has none, nothing changes.
 */

const CLUSTERS = ["prod-east", "prod-west"];
const TENANTS = [
  { name: "acme", cluster: "prod-east" },
  { name: "initech", cluster: "prod-west" },
];

/** The test leaf's Secret, with `ca.crt` set to `ca` (or without one). */
async function materialWithCa(ca: string | undefined): Promise<TlsMaterial> {
  const { generated } = await makeLeaf();
  const secret = tlsSecretOf(generated);
  const data = new Map(secret.data);
  if (ca !== undefined) data.set("ca.crt", new SecretBytes(Buffer.from(ca)));
  return validateTlsSecret({ ...secret, data: new Map([...data].sort(([a], [b]) => (a < b ? -1 : 1))) }, { source: "test source" });
}

function sealedSecretOf(repo: string, cluster: string, tenant: string) {
  const path = join(repo, "rendered", cluster, tenant, "sealed-secret.yaml");
  const [obj] = parseSealedSecrets(readFileSync(path, "utf8"), path);
  assert.ok(obj, path);
  return { obj, path };
}

async function unsealed(repo: string, cluster: string, tenant: string) {
  const { obj, path } = sealedSecretOf(repo, cluster, tenant);
  return unsealSealedSecret(obj, [(await sealingPair(cluster)).privateKey], path);
}

describe("ca.crt in the source Secret", () => {
  test("is sealed into every tenant's SealedSecret and delivered in the Secret, next to tls.crt and tls.key", async () => {
    const caPem = (await testCa()).certPem;
    const tls = await materialWithCa(caPem);
    assert.equal(tls.ca, caPem);
    const repo = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const r = await renderRepository({ repoDir: repo, tls });
    assert.deepEqual(r.diagnostics, []);
    for (const { name, cluster } of TENANTS) {
      const { obj } = sealedSecretOf(repo, cluster, name);
      assert.deepEqual(Object.keys(obj.spec.encryptedData), ["ca.crt", "tls.crt", "tls.key"]);
      const secret = await unsealed(repo, cluster, name);
      assert.equal(secret.type, "kubernetes.io/tls");
      assert.equal(secret.data.get("ca.crt")?.reveal().toString("utf8"), caPem);
      assert.ok(secret.data.get("tls.key")?.equals(tls.secret.data.get("tls.key")!));
    }
    const again = await renderRepository({ repoDir: repo, tls });
    assert.deepEqual(again.changes.map((c) => c.kind), ["keep", "keep"], "an unchanged ca.crt is not re-sealed");
  });

  test("wildseal unseal shows ca.crt in the delivered Secret", async () => {
    const caPem = (await testCa()).certPem;
    const repo = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    await renderRepository({ repoDir: repo, tls: await materialWithCa(caPem) });
    const keyFile = join(tempDir("wildseal-ca-key-"), "prod-east.key");
    writeFileSync(keyFile, (await sealingPair("prod-east")).keyPem.reveal(), { mode: 0o600 });
    const r = await runCli(["unseal", "--key", keyFile, "-f", join(repo, "rendered/prod-east/acme/sealed-secret.yaml"), "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const secret = JSON.parse(r.stdout) as { type: string; data: Record<string, string> };
    assert.deepEqual(Object.keys(secret.data), ["ca.crt", "tls.crt", "tls.key"]);
    assert.equal(Buffer.from(secret.data["ca.crt"] ?? "", "base64").toString("utf8"), caPem);
  });

  test("a change of ca.crt alone re-seals every tenant; removing it re-seals without it", async () => {
    const first = (await testCa()).certPem;
    const second = (await generateCa({ commonName: "rotated private CA" })).certPem;
    const repo = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    const { generated } = await makeLeaf();
    const withCa = (ca: string | undefined): TlsMaterial => {
      const secret = tlsSecretOf(generated);
      const data = new Map(secret.data);
      if (ca !== undefined) data.set("ca.crt", new SecretBytes(Buffer.from(ca)));
      return validateTlsSecret({ ...secret, data }, { source: "test source" });
    };
    await renderRepository({ repoDir: repo, tls: withCa(first) });
    const before = hashTree(repo);

    const rotated = await renderRepository({ repoDir: repo, tls: withCa(second) });
    assert.deepEqual(rotated.changes.map((c) => `${c.tenant}:${c.kind}`), ["acme:update", "initech:update"]);
    assert.deepEqual(changedPaths(before, hashTree(repo)), ["rendered/prod-east/acme/sealed-secret.yaml", "rendered/prod-west/initech/sealed-secret.yaml"]);
    assert.equal((await unsealed(repo, "prod-west", "initech")).data.get("ca.crt")?.reveal().toString("utf8"), second);

    const dropped = await renderRepository({ repoDir: repo, tls: withCa(undefined) });
    assert.deepEqual(dropped.changes.map((c) => `${c.tenant}:${c.kind}`), ["acme:update", "initech:update"]);
    assert.deepEqual(Object.keys(sealedSecretOf(repo, "prod-east", "acme").obj.spec.encryptedData), ["tls.crt", "tls.key"]);
    assert.equal((await unsealed(repo, "prod-east", "acme")).data.has("ca.crt"), false);
  });

  test("an empty ca.crt (what ACME issuers leave) is no CA: the output is what a Secret without one gives", async () => {
    const tls = await materialWithCa("");
    assert.equal(tls.ca, undefined);
    const repo = await makeRepo({ clusters: CLUSTERS, tenants: TENANTS });
    await renderRepository({ repoDir: repo, tls });
    assert.deepEqual(Object.keys(sealedSecretOf(repo, "prod-east", "acme").obj.spec.encryptedData), ["tls.crt", "tls.key"]);
    // the very Secret without ca.crt keeps the committed ciphertext: same sealed-inputs hash
    const plain = validateTlsSecret({ ...tls.secret, data: new Map([...tls.secret.data].filter(([k]) => k !== "ca.crt")) }, { source: "test source" });
    const again = await renderRepository({ repoDir: repo, tls: plain });
    assert.deepEqual(again.changes.map((c) => c.kind), ["keep", "keep"]);
  });

  test("without ca.crt the sealed-inputs hash is the one earlier versions committed (upgrading re-seals nothing)", () => {
    const f = {
      chainSha256: "a".repeat(64),
      leafSha256: "b".repeat(64),
      sealingCertSha256: "c".repeat(64),
      scope: "strict" as const,
      namespace: "acme",
      secretName: "wildcard-tls",
    };
    const v1 = createHash("sha256")
      .update(JSON.stringify(["wildseal.dev/sealed-inputs/v1", f.chainSha256, f.leafSha256, f.sealingCertSha256, f.scope, f.namespace, f.secretName, ["tls.crt", "tls.key"]]))
      .digest("hex");
    assert.deepEqual([...SEALED_ITEMS], ["tls.crt", "tls.key"]);
    assert.equal(sealedInputsSha256(f), v1);
    assert.notEqual(sealedInputsSha256({ ...f, caSha256: "d".repeat(64) }), v1);
    assert.notEqual(sealedInputsSha256({ ...f, caSha256: "d".repeat(64) }), sealedInputsSha256({ ...f, caSha256: "e".repeat(64) }));
  });
});
