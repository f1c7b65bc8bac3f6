import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { parseTrailers } from "../../src/git/trailers.ts";
import type { WatchSource } from "../../src/pipeline/certificate-feed.ts";
import { startWatch, type Watcher } from "../../src/pipeline/watch.ts";
import type { KubernetesSecretTiming } from "../../src/sources/kubernetes-secret.ts";
import { generateCa, generateLeaf, generateSealingKeyPair, tlsSecretOf } from "../../src/tls/generate.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import { FakeApiServer } from "../helpers/fake-apiserver.ts";
import { makeBareRemote, remoteLog } from "../helpers/git-fixtures.ts";
import { tenantYaml } from "../helpers/tenant-yaml.ts";
import { assertNoKeyMaterial, captureLog, commitCount, filesOf, waitUntil } from "./watch-world.ts";

const FAST_KUBE: Partial<KubernetesSecretTiming> = {
  watchTimeoutSeconds: 60,
  stallTimeoutMs: 2_000,
  watchdogIntervalMs: 100,
  resyncIntervalMs: 0,
  requestTimeoutMs: 2_000,
  backoff: { initialMs: 20, maxMs: 200 },
};

const CONFIG = `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: test}
spec:
  certificates:
    - name: com
      source: {namespace: cert-manager, name: wildcard-example-com}
    - name: org
      source: {namespace: cert-manager, name: wildcard-example-org}
  clusters:
    - name: prod-east
      sealingCert: clusters/prod-east/sealed-secrets.pem
`;

const DAY = 86_400_000;

describe("wildseal watch with several certificates", () => {
  it("watches each source Secret on its own, and a renewal of one re-seals only its tenants", { timeout: 120_000 }, async () => {
    const ca = await generateCa();
    const sealing = await generateSealingKeyPair({ bits: 2048 });
    const remote = makeBareRemote({
      files: {
        "wildseal.yaml": CONFIG,
        "clusters/prod-east/sealed-secrets.pem": sealing.certPem,
        "tenants/acme.yaml": tenantYaml({ name: "acme", hosts: ["acme.example.com"] }),
        "tenants/orga.yaml": tenantYaml({ name: "orga", hosts: ["orga.example.org"] }),
        "tenants/orgb.yaml": tenantYaml({ name: "orgb", hosts: ["orgb.example.org"] }),
      },
    });
    const issue = async (dnsNames: string[], daysAgo: number) => {
      const notBefore = new Date(Date.now() - daysAgo * DAY);
      const leaf = await generateLeaf(ca, { dnsNames, notBefore, notAfter: new Date(notBefore.getTime() + 90 * DAY) });
      return validateTlsSecret(tlsSecretOf(leaf), { source: "test certificate" });
    };
    const api = await FakeApiServer.start();
    const captured = captureLog();
    let watcher: Watcher | undefined;
    try {
      const com = await issue(["*.example.com"], 30);
      const org = await issue(["*.example.org"], 30);
      api.putSecret("cert-manager", "wildcard-example-com", { data: filesOf(com) });
      api.putSecret("cert-manager", "wildcard-example-org", { data: filesOf(org) });
      const secret = (name: string): WatchSource => ({ kind: "secret", namespace: "cert-manager", name, kubeConfig: api.kubeConfig(), timing: FAST_KUBE });
      const sources = new Map([
        ["com", secret("wildcard-example-com")],
        ["org", secret("wildcard-example-org")],
      ]);
      watcher = await startWatch({
        repo: remote.path,
        branch: "main",
        source: secret("wildcard-example-com"),
        certificateSources: sources,
        delivery: { kind: "push" },
        credentials: NO_CREDENTIALS,
        log: captured.log,
        pollIntervalMs: 3_600_000,
        debounceMs: 100,
        resyncIntervalMs: 0,
        retry: { initialMs: 50, maxMs: 200, maxRetries: 1 },
      });
      await waitUntil(() => commitCount(remote.path) === 2, "the startup reconcile's commit");
      await waitUntil(() => api.openWatchCount >= 2, "a watch per source Secret");
      await watcher.idle();
      assert.deepEqual(watcher.lastSync()?.changes.map((c) => `${c.kind} ${c.tenant} ${c.certificate}`), ["add acme com", "add orga org", "add orgb org"]);

      const renewed = await issue(["*.example.org"], 0);
      api.putSecret("cert-manager", "wildcard-example-org", { data: filesOf(renewed) });
      await waitUntil(() => commitCount(remote.path) === 3, "the renewal commit");
      await watcher.idle();
      const message = remoteLog(remote.path, "main")[0]?.message ?? "";
      const trailers = parseTrailers(message);
      assert.deepEqual(trailers.actions, ["renew"]);
      assert.deepEqual(trailers.tenants, ["orga", "orgb"], "only the renewed certificate's tenants");
      assert.deepEqual(trailers.certificates, ["org"]);
      assert.deepEqual(watcher.lastSync()?.changes.map((c) => `${c.kind} ${c.tenant}`), ["keep acme", "renew orga", "renew orgb"]);

      // one watch per Secret, each scoped to its own name (what a resourceNames rule allows)
      const selectors = new Set(api.watchRequests().map((r) => r.query["fieldSelector"]));
      assert.deepEqual([...selectors].sort(), ["metadata.name=wildcard-example-com", "metadata.name=wildcard-example-org"]);
      assertNoKeyMaterial(captured.lines, filesOf(com)["tls.key"], filesOf(org)["tls.key"], filesOf(renewed)["tls.key"]);
    } finally {
      await watcher?.stop();
      await api.close();
      remote.cleanup();
    }
  });
});
