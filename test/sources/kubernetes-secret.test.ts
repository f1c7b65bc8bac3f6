import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Trigger } from "../../src/trigger.ts";
import { startKubernetesSecretSource, type KubernetesSecretSource, type KubernetesSecretTiming } from "../../src/sources/kubernetes-secret.ts";
import { FakeApiServer } from "../helpers/fake-apiserver.ts";
import { captureLog } from "../helpers/capture-log.ts";
import { until as untilWithin } from "../helpers/wait.ts";

const NS = "cert-manager";
const NAME = "wildcard-example-com";
/** Every wait in this file is bounded by this; nothing asserts on elapsed time. */
const WAIT_MS = 10_000;

const FAST: Partial<KubernetesSecretTiming> = {
  watchTimeoutSeconds: 60,
  stallTimeoutMs: 400,
  watchdogIntervalMs: 50,
  resyncIntervalMs: 0,
  requestTimeoutMs: 2_000,
  backoff: { initialMs: 20, maxMs: 200 },
};

function tls(version: number) {
  return {
    "tls.crt": `-----BEGIN CERTIFICATE-----\nleaf v${version}\n-----END CERTIFICATE-----\n`,
    "tls.key": `key v${version}: stands in for a PRIVATE KEY (the sources only hash it)\n`,
  };
}


/** Triggers as they arrive, plus a bounded wait for the n-th one. */
function recorder() {
  const triggers: Trigger[] = [];
  let wake: (() => void) | undefined;
  return {
    triggers,
    sink: (t: Trigger) => {
      triggers.push(t);
      wake?.();
    },
    async waitFor(n: number, what: string): Promise<void> {
      const deadline = Date.now() + WAIT_MS;
      while (triggers.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) assert.fail(`timed out waiting for trigger #${n} (${what}); got ${JSON.stringify(triggers)}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 100));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
  };
}


function crtOf(source: KubernetesSecretSource): string | undefined {
  return source.current()?.data.get("tls.crt")?.reveal().toString("utf8");
}

const until = (cond: () => boolean, what: string) => untilWithin(cond, what, WAIT_MS);

describe("Kubernetes Secret source (real client-node against a fake apiserver)", () => {
  let api: FakeApiServer;
  let source: KubernetesSecretSource | undefined;

  beforeEach(async () => {
    api = await FakeApiServer.start();
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await api.close();
  });

  function start(rec: ReturnType<typeof recorder>, timing: Partial<KubernetesSecretTiming> = FAST) {
    const { log, lines } = captureLog();
    source = startKubernetesSecretSource({
      namespace: NS,
      name: NAME,
      kubeConfig: api.kubeConfig(),
      onTrigger: rec.sink,
      log,
      timing,
    });
    return { source, lines };
  }

  it("reports the initial Secret once, as bytes, with annotations but without last-applied", async () => {
    api.putSecret(NS, NAME, {
      data: tls(1),
      annotations: { "cert-manager.io/issuer-name": "le", "kubectl.kubernetes.io/last-applied-configuration": "{}" },
    });
    api.putSecret(NS, "other-secret", { data: tls(99) });
    const rec = recorder();
    const { source } = start(rec);
    await rec.waitFor(1, "initial list");
    await source.synced();
    assert.equal(rec.triggers[0]?.kind, "secret-changed");
    const s = source.current();
    assert.ok(s);
    assert.equal(s.name, NAME);
    assert.equal(s.namespace, NS);
    assert.equal(s.type, "kubernetes.io/tls");
    assert.equal(crtOf(source), tls(1)["tls.crt"]);
    assert.deepEqual(s.annotations, { "cert-manager.io/issuer-name": "le" });
  });

  it("triggers on a content change but not on an annotation-only update", async () => {
    api.putSecret(NS, NAME, { data: tls(1) });
    const rec = recorder();
    const { source } = start(rec);
    await rec.waitFor(1, "initial list");
    await until(() => api.openWatchCount === 1, "the watch to open");
    api.putSecret(NS, NAME, { data: tls(1), annotations: { "cert-manager.io/certificate-revision": "2" } });
    api.putSecret(NS, NAME, { data: tls(2), annotations: { "cert-manager.io/certificate-revision": "2" } });
    await rec.waitFor(2, "renewal");
    // The annotation-only update came first on the same ordered stream: had it triggered, the renewal
    // would be the third trigger. Exactly two means it did not.
    assert.equal(rec.triggers.length, 2);
    assert.equal(crtOf(source), tls(2)["tls.crt"]);
    assert.equal(source.current()?.annotations["cert-manager.io/certificate-revision"], "2");
  });

  it("misses no renewal across a 410 Gone: relists with the field selector and sees the new content", async () => {
    api.putSecret(NS, NAME, { data: tls(1) });
    const rec = recorder();
    start(rec);
    await rec.waitFor(1, "initial list");
    await until(() => api.openWatchCount === 1, "the watch to open");
    const listsBefore = api.listRequests().length;
    api.stallWatches(); // the renewal happens while this watcher is not listening...
    api.putSecret(NS, NAME, { data: tls(2) });
    api.expireWatches(); // ...then its window is compacted away: ERROR 410, resume impossible
    await rec.waitFor(2, "renewal after 410");
    assert.equal(crtOf(source!), tls(2)["tls.crt"]);
    assert.ok(api.listRequests().length > listsBefore, "a 410 is followed by a relist");
  });

  it("misses no renewal across a dropped connection", async () => {
    api.putSecret(NS, NAME, { data: tls(1) });
    const rec = recorder();
    start(rec);
    await rec.waitFor(1, "initial list");
    await until(() => api.openWatchCount === 1, "the watch to open");
    api.dropWatches();
    api.putSecret(NS, NAME, { data: tls(2) });
    await rec.waitFor(2, "renewal after drop");
    assert.equal(crtOf(source!), tls(2)["tls.crt"]);
    await until(() => api.openWatchCount === 1, "the watch to reopen");
    api.putSecret(NS, NAME, { data: tls(3) });
    await rec.waitFor(3, "renewal on the new watch");
    assert.equal(crtOf(source!), tls(3)["tls.crt"]);
  });

  it("misses no renewal across a stalled connection: the watchdog restarts the watch", async () => {
    api.putSecret(NS, NAME, { data: tls(1) });
    const rec = recorder();
    start(rec);
    await rec.waitFor(1, "initial list");
    await until(() => api.openWatchCount === 1, "the watch to open");
    api.stallWatches();
    api.putSecret(NS, NAME, { data: tls(2) });
    await rec.waitFor(2, "renewal after stall");
    assert.equal(crtOf(source!), tls(2)["tls.crt"]);
    assert.ok(source!.stats().restarts >= 1, "the stall was detected by the watchdog");
  });

  it("recovers from a connect that never gets response headers and from failing LISTs", async () => {
    api.putSecret(NS, NAME, { data: tls(1) });
    api.failReads(500);
    const rec = recorder();
    start(rec);
    await until(() => source!.stats().restarts >= 2, "restarts while LIST fails");
    api.failReads(undefined);
    api.stallNewWatches(true);
    await rec.waitFor(1, "list after LIST recovers");
    await until(() => source!.stats().restarts >= 4, "watchdog restarts of hung connects");
    api.stallNewWatches(false);
    api.putSecret(NS, NAME, { data: tls(2) });
    await rec.waitFor(2, "renewal once watches answer again");
    assert.equal(crtOf(source!), tls(2)["tls.crt"]);
  });

  it("asks for bookmarks and resumes from the bookmark's resourceVersion", async () => {
    api.putSecret(NS, NAME, { data: tls(1) });
    api.putSecret(NS, "unrelated", { data: tls(5) });
    const rec = recorder();
    start(rec);
    await rec.waitFor(1, "initial list");
    await until(() => api.openWatchCount === 1, "the watch to open");
    api.putSecret(NS, "unrelated", { data: tls(6) }); // filtered out server-side: the client's RV lags
    api.bookmark();
    const bookmarkRv = api.resourceVersion;
    await new Promise((r) => setTimeout(r, 50));
    api.dropWatches();
    await until(() => api.watchRequests().length >= 2, "the watch to resume");
    const resumed = api.watchRequests().at(-1);
    assert.equal(resumed?.query["resourceVersion"], bookmarkRv);
  });

  it("sends only namespaced requests with the field selector, bookmarks and a timeout on every watch", async () => {
    api.putSecret(NS, NAME, { data: tls(1) });
    const rec = recorder();
    start(rec);
    await rec.waitFor(1, "initial list");
    await until(() => api.openWatchCount === 1, "the watch to open");
    api.dropWatches();
    api.putSecret(NS, NAME, { data: tls(2) });
    await rec.waitFor(2, "renewal after drop");
    await until(() => api.watchRequests().length >= 2, "the watch to reopen");
    assert.ok(api.requests.length >= 3);
    for (const r of api.requests) {
      assert.equal(r.method, "GET");
      assert.ok(r.path.startsWith(`/api/v1/namespaces/${NS}/secrets`), `namespaced: ${r.path}`);
      assert.equal(r.query["fieldSelector"], `metadata.name=${NAME}`, `selector on ${r.path}?${JSON.stringify(r.query)}`);
    }
    const watches = api.watchRequests();
    assert.ok(watches.length >= 2);
    for (const w of watches) {
      assert.equal(w.query["allowWatchBookmarks"], "true");
      assert.equal(w.query["timeoutSeconds"], "60");
      assert.match(w.query["resourceVersion"] ?? "", /^\d+$/);
    }
  });

  it("the safety-net GET notices a change the watch never delivered, and deletion", async () => {
    api.putSecret(NS, NAME, { data: tls(1) });
    const rec = recorder();
    // The watchdog is kept out of the way: only the periodic GET can notice.
    start(rec, { ...FAST, stallTimeoutMs: 3_600_000, resyncIntervalMs: 100 });
    await rec.waitFor(1, "initial list");
    await until(() => api.openWatchCount === 1, "the watch to open");
    api.stallWatches();
    api.putSecret(NS, NAME, { data: tls(2) });
    await rec.waitFor(2, "renewal seen by the GET");
    assert.equal(crtOf(source!), tls(2)["tls.crt"]);
    api.deleteSecret(NS, NAME);
    await rec.waitFor(3, "deletion seen by the GET");
    assert.equal(source!.current(), undefined);
    assert.match(rec.triggers[2]?.detail ?? "", /deleted/);
  });

  it("never logs secret material", async () => {
    api.putSecret(NS, NAME, { data: tls(1) });
    const rec = recorder();
    const { lines } = start(rec);
    await rec.waitFor(1, "initial list");
    api.dropWatches();
    api.putSecret(NS, NAME, { data: tls(2) });
    await rec.waitFor(2, "renewal");
    await source!.stop();
    const all = lines.join("");
    assert.ok(lines.length > 0);
    assert.doesNotMatch(all, /key v\d|PRIVATE KEY|a2V5IHY/);
  });
});
