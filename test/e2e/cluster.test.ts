import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { generateCa, generateLeaf } from "../../src/tls/generate.ts";
import { CONTROLLER_NAMESPACE, startCluster, type Cluster } from "./cluster.ts";
import { processesInGroup, run, withFifo } from "./processes.ts";

// The e2e foundation against real upstream parts: etcd, kube-apiserver, the sealed-secrets controller and
// kubeseal, all built from their Go modules by test/e2e/setup. Not part of `npm test` (scripts/run-tests.mjs
// skips folders named e2e); run with `node --import tsx --test test/e2e/*.test.ts`.

const SOURCE_NS = "cert-manager";
const TENANT_NS = "tenant-a";
const NAME = "wildcard-tls";

interface SecretJson {
  type: string;
  data: Record<string, string>;
  metadata: { name: string; namespace: string; ownerReferences?: { kind: string; name: string }[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForSecret(cluster: Cluster, ns: string, name: string, timeoutMs = 60_000): Promise<SecretJson> {
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

/** A Secret for `ns` carrying the same type and data as `source`: what gets sealed per tenant. */
function tenantSecret(source: SecretJson, ns: string, name: string): string {
  return JSON.stringify({ apiVersion: "v1", kind: "Secret", type: source.type, metadata: { name, namespace: ns }, data: source.data });
}

async function seal(cluster: Cluster, secretJson: string): Promise<string> {
  const { stdout } = await run(
    cluster.bin("kubeseal"),
    ["--kubeconfig", cluster.kubeconfigPath, "--cert", `${cluster.controllerUrl}/v1/cert.pem`, "--format", "json"],
    { input: secretJson },
  );
  return stdout;
}

describe("e2e cluster: real etcd, kube-apiserver, sealed-secrets controller and kubeseal", { timeout: 100 * 60_000 }, () => {
  let cluster: Cluster | undefined;
  let source: SecretJson;
  let sealed: string;

  const c = (): Cluster => {
    assert.ok(cluster, "cluster did not start");
    return cluster;
  };

  before(async () => {
    cluster = await startCluster();
    const ca = await generateCa();
    const leaf = await generateLeaf(ca, { dnsNames: ["*.apps.example.test"] });
    await cluster.kubectl(["create", "namespace", SOURCE_NS]);
    await cluster.kubectl(["create", "namespace", TENANT_NS]);
    // key material goes over stdin, never into a file
    await cluster.kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: { name: NAME, namespace: SOURCE_NS },
      data: {
        "tls.crt": Buffer.from(leaf.certPem).toString("base64"),
        "tls.key": leaf.keyPem.reveal().toString("base64"),
      },
    }));
    source = JSON.parse(await cluster.kubectl(["get", "secret", NAME, "-n", SOURCE_NS, "-o", "json"])) as SecretJson;
  });

  after(async () => {
    await cluster?.stop(); // no-op when the last test already stopped it
  });

  test("the controller unseals a SealedSecret that the real kubeseal made from the controller's certificate", async () => {
    const cl = c();
    sealed = await seal(cl, tenantSecret(source, TENANT_NS, NAME));
    const ss = JSON.parse(sealed) as { kind: string; spec: { encryptedData: Record<string, string> } };
    assert.equal(ss.kind, "SealedSecret");
    assert.deepEqual(Object.keys(ss.spec.encryptedData).sort(), ["tls.crt", "tls.key"]);
    assert.ok(!sealed.includes(source.data["tls.key"] ?? "<none>"), "the sealed manifest must not carry the plaintext key");

    await cl.kubectl(["apply", "-f", "-"], sealed);
    const unsealed = await waitForSecret(cl, TENANT_NS, NAME);
    assert.equal(unsealed.type, "kubernetes.io/tls");
    assert.deepEqual(unsealed.data, source.data);
    assert.deepEqual(unsealed.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`), [`SealedSecret/${NAME}`]);
  });

  test("kubeseal --recovery-unseal opens that SealedSecret with the controller's private key", async () => {
    const cl = c();
    const keys = await cl.kubectl(["get", "secret", "-n", CONTROLLER_NAMESPACE, "-l", "sealedsecrets.bitnami.com/sealed-secrets-key", "-o", "yaml"]);
    assert.match(keys, /tls\.key/);
    // the private key reaches kubeseal through a named pipe, not a file
    const { stdout } = await withFifo(join(cl.tmpDir, "keys.fifo"), keys, (path) =>
      run(
        cl.bin("kubeseal"),
        ["--kubeconfig", cl.kubeconfigPath, "--recovery-unseal", "--recovery-private-key", path, "--format", "json"],
        { input: sealed },
      ),
    );
    const opened = JSON.parse(stdout) as SecretJson;
    assert.equal(opened.metadata.namespace, TENANT_NS);
    assert.equal(opened.metadata.name, NAME);
    assert.deepEqual(opened.data, source.data);
  });

  test("after an apiserver restart the controller still unseals new SealedSecrets", async () => {
    const cl = c();
    await cl.restartApiserver();
    await cl.kubectl(["create", "namespace", "tenant-b"]);
    await cl.kubectl(["apply", "-f", "-"], await seal(cl, tenantSecret(source, "tenant-b", NAME)));
    const unsealed = await waitForSecret(cl, "tenant-b", NAME, 90_000);
    assert.deepEqual(unsealed.data, source.data);
  });

  test("stop() ends every process group it started and removes the temp folder", async () => {
    const cl = c();
    const groups = cl.processGroups();
    assert.ok(groups.length >= 4, `expected etcd, apiserver (twice) and controller groups, got ${groups.join(", ")}`);
    await cl.stop();
    assert.deepEqual(groups.flatMap((g) => processesInGroup(g)), []);
    assert.equal(existsSync(cl.tmpDir), false);
  });
});
