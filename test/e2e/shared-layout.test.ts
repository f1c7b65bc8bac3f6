import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { renderRepository } from "../../src/render/render-repository.ts";
import { generateCa, generateLeaf, tlsSecretOf } from "../../src/tls/generate.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";
import { tempDir } from "../helpers/git-fixtures.ts";
import { startCluster, type Cluster } from "./cluster.ts";

// The shared layout against the real sealed-secrets controller: wildseal seals the certificate ONCE for the
// cluster (cluster-wide), kustomize (kubectl's, v5) turns rendered/<cluster> into one SealedSecret per tenant
// — the same ciphertext renamed into two namespaces — and the controller unseals both. Not part of `npm test`
// (scripts/run-tests.mjs skips folders named e2e); run with `node --import tsx --test test/e2e/shared-layout.test.ts`.

const CLUSTER = "e2e";
const TENANTS = [
  { name: "alpha", namespace: "shared-alpha", secretName: "wildcard-tls" },
  { name: "bravo", namespace: "shared-bravo", secretName: "bravo-tls" },
] as const;

interface SecretJson {
  type: string;
  data: Record<string, string>;
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString("utf8")) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    })
      .on("timeout", function (this: { destroy(e: Error): void }) {
        this.destroy(new Error(`${url}: timeout`));
      })
      .on("error", reject)
      .end();
  });
}

async function waitForSecret(cluster: Cluster, ns: string, name: string, timeoutMs = 90_000): Promise<SecretJson> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      return JSON.parse(await cluster.kubectl(["get", "secret", name, "-n", ns, "-o", "json"])) as SecretJson;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(500);
  }
  throw new Error(`secret ${ns}/${name} did not appear within ${timeoutMs} ms: ${last}`);
}

function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

describe("e2e shared layout: one cluster-wide ciphertext, kustomized into two namespaces, unsealed by the real controller", { timeout: 100 * 60_000 }, () => {
  let cluster: Cluster | undefined;
  let repo: { path: string; cleanup(): void } | undefined;
  let tls: TlsMaterial;

  before(async () => {
    cluster = await startCluster();
    const leaf = await generateLeaf(await generateCa(), { dnsNames: ["*.apps.example.test"] });
    tls = validateTlsSecret(tlsSecretOf(leaf), { source: "e2e source" });
    repo = tempDir("wildseal-e2e-shared-");
    const sealingCert = await httpGet(`${cluster.controllerUrl}/v1/cert.pem`);
    assert.match(sealingCert, /BEGIN CERTIFICATE/);
    writeFiles(repo.path, {
      "wildseal.yaml": `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: e2e-shared}
spec:
  source: {namespace: cert-manager, name: wildcard-apps-example-test}
  layout: shared
  clusters:
    - name: ${CLUSTER}
      sealingCert: clusters/${CLUSTER}/sealed-secrets.pem
`,
      [`clusters/${CLUSTER}/sealed-secrets.pem`]: sealingCert,
      ...Object.fromEntries(
        TENANTS.map((t) => [
          `tenants/${t.name}.yaml`,
          `apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nmetadata: {name: ${t.name}}\nspec:\n  namespace: ${t.namespace}\n  secretName: ${t.secretName}\n  hosts: [${t.name}.apps.example.test]\n`,
        ]),
      ),
    });
  });

  after(async () => {
    try {
      await cluster?.stop();
    } finally {
      repo?.cleanup();
    }
  });

  test("wildseal renders one _shared/ SealedSecret; kustomize yields one per tenant from the same ciphertext; the controller unseals both to the source", async () => {
    assert.ok(cluster && repo, "cluster did not start");
    const r = await renderRepository({ repoDir: repo.path, tls });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.changes.map((c) => `${c.kind} ${c.tenant}`), ["add alpha", "add bravo"]);
    const sharedText = readFileSync(join(repo.path, "rendered", CLUSTER, "_shared", "sealed-secret.yaml"), "utf8");
    assert.match(sharedText, /sealedsecrets\.bitnami\.com\/cluster-wide: "true"/);

    // kubectl's kustomize, as Flux's kustomize-controller and Argo CD build rendered/<cluster>
    const built = await cluster.kubectl(["kustomize", join(repo.path, "rendered", CLUSTER)]);
    const docs = built.split(/^---\n/m).filter((d) => /^kind: SealedSecret$/m.test(d));
    assert.equal(docs.length, 2, built);
    const ciphertexts = new Set(docs.map((d) => /encryptedData:\n((?: {4}.*\n)+)/.exec(d)?.[1]));
    assert.equal(ciphertexts.size, 1, "both SealedSecrets carry the one shared ciphertext");
    assert.ok(!built.includes(tls.secret.data.get("tls.key")!.reveal().toString("base64")), "the built manifests must not carry the plaintext key");

    for (const t of TENANTS) await cluster.kubectl(["create", "namespace", t.namespace]);
    await cluster.kubectl(["apply", "-f", "-"], built);

    const source = Object.fromEntries([...tls.secret.data].map(([k, v]) => [k, v.reveal().toString("base64")]));
    for (const t of TENANTS) {
      const secret = await waitForSecret(cluster, t.namespace, t.secretName);
      assert.equal(secret.type, "kubernetes.io/tls");
      assert.deepEqual(secret.data, source, `${t.namespace}/${t.secretName} equals the source`);
      assert.equal(secret.metadata.annotations?.["wildseal.dev/tenant"], t.name);
      assert.equal(secret.metadata.annotations?.["wildseal.dev/cert-sha256"], tls.leaf.sha256);
      assert.deepEqual(secret.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`), [`SealedSecret/${t.secretName}`]);
    }
  });
});
