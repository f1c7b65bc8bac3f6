import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSealedSecrets, unsealSealedSecret } from "../../src/seal/sealed-secret.ts";
import { generateSealingKeyPair } from "../../src/tls/generate.ts";
import { FakeApiServer } from "../helpers/fake-apiserver.ts";

const MAIN = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
const SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: hunter2}\n";

/** The real CLI as a child: $KUBECONFIG is its only way to the cluster, the Secret comes on stdin. */
function seal(args: readonly string[], kubeconfig: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", MAIN, "seal", "-f", "-", "-o", "yaml", ...args],
      { env: { PATH: process.env["PATH"] ?? "", HOME: tmpdir(), KUBECONFIG: kubeconfig }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: typeof error?.code === "number" ? error.code : error ? -1 : 0, stdout, stderr }),
    );
    child.stdin?.end(SECRET);
  });
}

test("seal without --cert fetches the controller's certificate through the API server, as kubeseal does", async () => {
  const api = await FakeApiServer.start();
  const dir = mkdtempSync(join(tmpdir(), "wildseal-seal-cluster-"));
  try {
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, api.kubeConfig().exportConfig(), { mode: 0o600 });
    const controller = await generateSealingKeyPair({ bits: 2048 });
    api.putService("kube-system", "sealed-secrets-controller", [{ name: "http", port: 8080 }]);
    api.serveBehindService("kube-system", "sealed-secrets-controller", "http", { "/v1/cert.pem": { status: 200, body: controller.certPem } });

    const r = await seal([], kubeconfig);
    assert.equal(r.code, 0, r.stderr);
    const [ss] = parseSealedSecrets(r.stdout, "stdout");
    assert.ok(ss !== undefined);
    assert.equal(unsealSealedSecret(ss, [controller.privateKey]).data.get("password")?.reveal().toString(), "hunter2");
    assert.ok(api.requests.some((q) => q.path === "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem"));

    // a Helm install names the Service differently: the flags say where it is
    api.putService("sealed", "sealed-secrets", [{ name: "http", port: 8080 }]);
    api.serveBehindService("sealed", "sealed-secrets", "http", { "/v1/cert.pem": { status: 200, body: controller.certPem } });
    const helm = await seal(["--controller-namespace", "sealed", "--controller-name", "sealed-secrets"], kubeconfig);
    assert.equal(helm.code, 0, helm.stderr);

    const missing = await seal(["--controller-name", "nope"], kubeconfig);
    assert.equal(missing.code, 3, "a controller that cannot be reached is a dependency failure");
    assert.match(missing.stderr, /nope/);
  } finally {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
