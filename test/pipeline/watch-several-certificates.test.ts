import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTrailers } from "../../src/git/trailers.ts";
import type { WatchSource } from "../../src/pipeline/certificate-feed.ts";
import { startWatch, type Watcher } from "../../src/pipeline/watch.ts";
import { FakeApiServer } from "../helpers/fake-apiserver.ts";
import { remoteLog } from "../helpers/git-fixtures.ts";
import { makeCertificatesRemote } from "../helpers/several-certificates.ts";
import { assertNoKeyMaterial, captureLog, commitCount, FAST_KUBE, filesOf, waitUntil, watchOptions } from "./watch-world.ts";

describe("wildseal watch with several certificates", () => {
  it("watches each source Secret on its own, and a renewal of one re-seals only its tenants", { timeout: 120_000 }, async () => {
    const world = await makeCertificatesRemote([{ name: "acme", hosts: ["acme.example.com"] }, { name: "orga", hosts: ["orga.example.org"] }, { name: "orgb", hosts: ["orgb.example.org"] }]);
    const { remote, issue } = world;
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
      watcher = await startWatch(watchOptions(world, secret("wildcard-example-com"), captured, { certificateSources: sources }));
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
      world.cleanup();
    }
  });
});
