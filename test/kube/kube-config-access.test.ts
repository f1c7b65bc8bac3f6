import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DependencyError, InvalidInputError } from "../../src/errors.ts";
import { readCertificate } from "../../src/pipeline/certificate-source.ts";
import { findKubeConfig, loadKubeConfig } from "../../src/kube/kubeconfig.ts";
import { generateCa, generateLeaf } from "../../src/tls/generate.ts";
import { FakeApiServer } from "../helpers/fake-apiserver.ts";
import { tempDir } from "../helpers/git-fixtures.ts";
import { thrownBy } from "../helpers/thrown.ts";

const MAIN = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
const KUBECONFIG_TEXT = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;

const dir = tempDir("wildseal-kubeconfig-");
after(() => dir.cleanup());


describe("loading cluster access says what is missing and what to do", () => {
  it("a KUBECONFIG naming a file that does not exist: names the file, exit 3, suggests fixing KUBECONFIG or --source-file", () => {
    const missing = join(dir.path, "nope", "kubeconfig");
    const e = thrownBy(() => loadKubeConfig({ KUBECONFIG: missing, HOME: dir.path }), DependencyError);
    assert.equal(e.exitCode, 3);
    assert.match(e.message, new RegExp(`^\\$KUBECONFIG names ${missing}, which does not exist: point KUBECONFIG at your kubeconfig file`));
    assert.match(e.message, /--source-file/);
    assert.doesNotMatch(e.message, /ENOENT|internal error/);
  });

  it("a KUBECONFIG list where no file exists names them all", () => {
    const e = thrownBy(() => findKubeConfig({ KUBECONFIG: `${dir.path}/a:${dir.path}/b` }), DependencyError);
    assert.match(e.message, new RegExp(`names ${dir.path}/a, ${dir.path}/b, none of which exists`));
    assert.match(e.message, /unset KUBECONFIG to use ~\/\.kube\/config/);
  });

  it("a KUBECONFIG list takes its first file that exists", () => {
    const file = join(dir.path, "present");
    writeFileSync(file, KUBECONFIG_TEXT);
    const kc = loadKubeConfig({ KUBECONFIG: `${dir.path}/absent:${file}` });
    assert.equal(kc.getCurrentCluster()?.server, "https://127.0.0.1:6443");
  });

  it("no Pod, no KUBECONFIG, no ~/.kube/config: says no cluster access is configured and the three ways to give it", () => {
    const home = join(dir.path, "empty-home");
    mkdirSync(home);
    const e = thrownBy(() => loadKubeConfig({ HOME: home }), DependencyError);
    assert.equal(e.exitCode, 3);
    assert.match(e.message, /^no Kubernetes cluster access is configured: not running in a Pod \(KUBERNETES_SERVICE_HOST is not set\), \$KUBECONFIG is not set/);
    assert.ok(e.message.includes(`${join(home, ".kube", "config")} does not exist`), e.message);
    assert.match(e.message, /Set KUBECONFIG to a kubeconfig file/);
    assert.match(e.message, /ServiceAccount/);
    assert.match(e.message, /--source-file/);
    assert.doesNotMatch(e.message, /HTTP protocol is not allowed/);
  });

  it("a kubeconfig that does not parse is named", () => {
    const bad = join(dir.path, "bad-kubeconfig");
    writeFileSync(bad, "clusters: [unclosed\n");
    const e = thrownBy(() => loadKubeConfig({ KUBECONFIG: bad }), DependencyError);
    assert.match(e.message, new RegExp(`^kubeconfig ${bad} cannot be loaded \\(`));
  });

  it("wildseal sync --source-secret with a missing KUBECONFIG exits 3 naming the file, not 'internal error: ENOENT'", async () => {
    const missing = join(dir.path, "gone.yaml");
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", MAIN, "sync", "--repo", join(dir.path, "no-repo.git"), "--source-secret", "cert-manager/wildcard-example-com"],
        { env: { PATH: process.env["PATH"] ?? "", HOME: dir.path, KUBECONFIG: missing }, timeout: 60_000 },
        (error, _stdout, stderr) => resolve({ code: typeof error?.code === "number" ? error.code : error ? -1 : 0, stderr }),
      );
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`^wildseal: \\$KUBECONFIG names ${missing}, which does not exist`));
    assert.doesNotMatch(r.stderr, /internal error/);
  });
});

describe("a source Secret of the wrong type points at the Secret cert-manager writes", () => {
  it("an Opaque Secret read from the API (even with tls.crt and tls.key): names its type and the Certificate's spec.secretName", async () => {
    const api = await FakeApiServer.start();
    try {
      const leaf = await generateLeaf(await generateCa(), { dnsNames: ["*.example.com"] });
      api.putSecret("cert-manager", "wildcard-copy", { type: "Opaque", data: { "tls.crt": leaf.certPem, "tls.key": leaf.keyPem.reveal() } });
      await assert.rejects(
        readCertificate({ kind: "kubernetes", namespace: "cert-manager", name: "wildcard-copy", kubeConfig: api.kubeConfig() }),
        (e: unknown) =>
          e instanceof InvalidInputError &&
          /Secret cert-manager\/wildcard-copy: is of type Opaque, not kubernetes\.io\/tls; cert-manager writes the certificate into a kubernetes\.io\/tls Secret named by the Certificate's spec\.secretName/.test(e.message) &&
          !e.message.includes("PRIVATE KEY"),
      );
    } finally {
      await api.close();
    }
  });
});
