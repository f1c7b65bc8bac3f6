import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sign } from "@octokit/webhooks-methods";
import { parseTrailers } from "../../src/git/trailers.ts";
import type { WatchSource } from "../../src/pipeline/certificate-feed.ts";
import { startWatch, type Watcher } from "../../src/pipeline/watch.ts";
import { FakeApiServer } from "../helpers/fake-apiserver.ts";
import { pushAsPerson, remoteFile, remoteLog, tempDir } from "../helpers/git-fixtures.ts";
import { makeSyncWorld, tenantYaml, type SyncWorld } from "./sync-world.ts";
import {
  assertNoKeyMaterial,
  captureLog,
  watchOptions,
  commitCount,
  FAST_KUBE,
  filesOf,
  KubeletVolume,
  reconciles,
  sleep,
  waitUntil,
} from "./watch-world.ts";

/** Reports an event → commit latency (measured, never asserted). */
function report(what: string, ms: number): void {
  console.log(`# latency ${what}: ${ms} ms`);
}

function tipAction(world: SyncWorld): string | undefined {
  return parseTrailers(remoteLog(world.remote.path, "main")[0]?.message ?? "").actions?.[0];
}

describe("wildseal watch: event sources", () => {
  it("kubelet volume: a renewal by ..data symlink swap is pushed; an identical swap makes no commit", { timeout: 120_000 }, async () => {
    const world = await makeSyncWorld(["acme", "beta"]);
    const dir = tempDir("wildseal-volume-");
    const captured = captureLog();
    let watcher: Watcher | undefined;
    try {
      const first = await world.issue(30);
      const volume = new KubeletVolume(`${dir.path}/secret`);
      await volume.create(filesOf(first));
      watcher = await startWatch(watchOptions(world, { kind: "volume", dir: volume.dir, settleMs: 50, rereadIntervalMs: 5_000 }, captured));
      await waitUntil(() => commitCount(world.remote.path) === 2, "the startup reconcile's commit");
      assert.equal(tipAction(world), "add");

      const renewed = await world.issue(0);
      const t0 = Date.now();
      await volume.swap(filesOf(renewed));
      await waitUntil(() => commitCount(world.remote.path) === 3, "the renewal commit");
      report("volume swap → commit on the remote", Date.now() - t0);
      assert.equal(tipAction(world), "renew");
      for (const [tenant, s] of world.unsealAll()) {
        assert.ok(s.crt.equals(renewed.secret.data.get("tls.crt")?.reveal() ?? Buffer.alloc(1)), `${tenant} holds the renewed tls.crt`);
      }

      await watcher.idle();
      const before = await reconciles(watcher.metrics);
      await volume.swap(filesOf(renewed)); // kubelet rewrote the same bytes (e.g. a label changed)
      await sleep(1_000); // settle + debounce, several times over
      await watcher.idle();
      assert.equal(commitCount(world.remote.path), 3, "no commit for an identical swap");
      assert.equal(await reconciles(watcher.metrics), before, "identical content does not even trigger a reconcile");
      assertNoKeyMaterial(captured.lines, filesOf(first)["tls.key"], filesOf(renewed)["tls.key"]);
    } finally {
      await watcher?.stop();
      dir.cleanup();
      world.cleanup();
    }
  });

  it("Kubernetes Secret: a renewal (MODIFIED with a new cert) is pushed; an annotation-only update makes no commit", { timeout: 120_000 }, async () => {
    const world = await makeSyncWorld(["acme"]);
    const api = await FakeApiServer.start();
    const captured = captureLog();
    let watcher: Watcher | undefined;
    try {
      const first = await world.issue(30);
      api.putSecret("cert-manager", "wildcard-example-com", { data: filesOf(first) });
      const source: WatchSource = { kind: "secret", namespace: "cert-manager", name: "wildcard-example-com", kubeConfig: api.kubeConfig(), timing: FAST_KUBE };
      watcher = await startWatch(watchOptions(world, source, captured));
      await waitUntil(() => commitCount(world.remote.path) === 2, "the startup reconcile's commit");
      await waitUntil(() => api.openWatchCount > 0, "an open watch");

      const renewed = await world.issue(0);
      const t0 = Date.now();
      api.putSecret("cert-manager", "wildcard-example-com", { data: filesOf(renewed) });
      await waitUntil(() => commitCount(world.remote.path) === 3, "the renewal commit");
      report("API MODIFIED event → commit on the remote", Date.now() - t0);
      assert.equal(tipAction(world), "renew");
      assert.ok(world.unsealAll().get("acme")?.crt.equals(renewed.secret.data.get("tls.crt")?.reveal() ?? Buffer.alloc(1)));

      await watcher.idle();
      const before = await reconciles(watcher.metrics);
      api.putSecret("cert-manager", "wildcard-example-com", {
        data: filesOf(renewed),
        annotations: { "cert-manager.io/certificate-revision": "7" },
      });
      await sleep(1_000);
      await watcher.idle();
      assert.equal(commitCount(world.remote.path), 3, "no commit for an annotation-only update");
      assert.equal(await reconciles(watcher.metrics), before, "an annotation-only update does not trigger a reconcile");
      const watches = api.watchRequests();
      assert.ok(watches.every((r) => r.query["fieldSelector"] === "metadata.name=wildcard-example-com"), "the watch is scoped to the one Secret");
      assert.ok(watches.every((r) => r.path === "/api/v1/namespaces/cert-manager/secrets"), "the watch stays in the source namespace");
      assertNoKeyMaterial(captured.lines, filesOf(first)["tls.key"], filesOf(renewed)["tls.key"]);
    } finally {
      await watcher?.stop();
      await api.close();
      world.cleanup();
    }
  });

  it("Git poll: a tenant a person added is rendered and committed; no commits over several idle intervals", { timeout: 120_000 }, async () => {
    const world = await makeSyncWorld(["acme"]);
    const dir = tempDir("wildseal-volume-");
    const captured = captureLog();
    let watcher: Watcher | undefined;
    try {
      const volume = new KubeletVolume(`${dir.path}/secret`);
      await volume.create(filesOf(await world.issue(10)));
      const interval = 200;
      watcher = await startWatch(watchOptions(world, { kind: "volume", dir: volume.dir, rereadIntervalMs: 60_000 }, captured, { pollIntervalMs: interval }));
      await waitUntil(() => commitCount(world.remote.path) === 2, "the startup reconcile's commit");

      const t0 = Date.now();
      pushAsPerson(world.remote.path, "main", { "tenants/gamma.yaml": tenantYaml("gamma") }, "onboard gamma");
      await waitUntil(() => remoteFile(world.remote.path, "main", "rendered/prod-east/gamma/sealed-secret.yaml") !== undefined, "gamma rendered");
      report(`tenant pushed to Git → rendered commit (poll interval ${interval} ms)`, Date.now() - t0);
      assert.equal(commitCount(world.remote.path), 4, "seed, first render, person, gamma's render");
      assert.equal(tipAction(world), "add");

      await sleep(2 * interval);
      await watcher.idle();
      const before = await reconciles(watcher.metrics);
      await sleep(6 * interval);
      await watcher.idle();
      assert.equal(commitCount(world.remote.path), 4, "no idle commits");
      assert.equal(await reconciles(watcher.metrics), before, "wildseal's own push does not wake the poll");
    } finally {
      await watcher?.stop();
      dir.cleanup();
      world.cleanup();
    }
  });

  it("webhook: a validly signed push triggers a reconcile; a bad signature gets 401 and no reconcile", { timeout: 120_000 }, async () => {
    const world = await makeSyncWorld(["acme"]);
    const dir = tempDir("wildseal-volume-");
    const captured = captureLog();
    const secret = "webhook-shared-secret-for-tests";
    let watcher: Watcher | undefined;
    try {
      const volume = new KubeletVolume(`${dir.path}/secret`);
      await volume.create(filesOf(await world.issue(10)));
      watcher = await startWatch(
        watchOptions(world, { kind: "volume", dir: volume.dir, rereadIntervalMs: 60_000 }, captured, { listen: "127.0.0.1:0", webhookSecret: secret }),
      );
      await waitUntil(() => commitCount(world.remote.path) === 2, "the startup reconcile's commit");
      await watcher.idle();
      const url = `${watcher.url}/webhook`;

      const tip = pushAsPerson(world.remote.path, "main", { "tenants/gamma.yaml": tenantYaml("gamma") }, "onboard gamma");
      const body = JSON.stringify({ ref: "refs/heads/main", after: tip });
      const before = await reconciles(watcher.metrics);
      const bad = await fetch(url, {
        method: "POST",
        headers: { "x-github-event": "push", "x-hub-signature-256": await sign("not-the-secret", body), "content-type": "application/json" },
        body,
      });
      assert.equal(bad.status, 401);
      await sleep(500);
      await watcher.idle();
      assert.equal(await reconciles(watcher.metrics), before, "no reconcile after an invalid signature");
      assert.equal(remoteFile(world.remote.path, "main", "rendered/prod-east/gamma/sealed-secret.yaml"), undefined);

      const good = await fetch(url, {
        method: "POST",
        headers: { "x-github-event": "push", "x-hub-signature-256": await sign(secret, body), "content-type": "application/json" },
        body,
      });
      assert.equal(good.status, 202);
      await waitUntil(() => remoteFile(world.remote.path, "main", "rendered/prod-east/gamma/sealed-secret.yaml") !== undefined, "gamma rendered after the webhook");
      await watcher.idle(); // the counter moves when the reconcile returns, just after its push
      assert.ok((await reconciles(watcher.metrics)) > before);
      assert.ok(!captured.lines.some((l) => l.includes(secret)), "the webhook secret is never logged");
    } finally {
      await watcher?.stop();
      dir.cleanup();
      world.cleanup();
    }
  });
});
