import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, beforeEach, describe, it } from "node:test";
import { sign } from "@octokit/webhooks-methods";
import { startOpsServer, type OpsServer } from "../../src/ops/http-server.ts";
import { createLogger } from "../../src/ops/logger.ts";
import { createMetrics } from "../../src/ops/metrics.ts";
import type { Trigger } from "../../src/trigger.ts";
import { createLogThrottle, createWebhookHandler } from "../../src/sources/webhook.ts";

const SECRET = "webhook-secret-for-tests";

describe("GitHub push webhook", () => {
  const triggers: Trigger[] = [];
  const logLines: string[] = [];
  let server: OpsServer;

  before(async () => {
    const log = createLogger({
      destination: new Writable({
        write(c, _e, cb) {
          logLines.push(String(c));
          cb();
        },
      }),
    });
    const webhook = createWebhookHandler({ secret: SECRET, branch: "main", onTrigger: (t) => triggers.push(t), log, maxBodyBytes: 64 * 1024 });
    server = await startOpsServer({ listen: "127.0.0.1:0", metrics: createMetrics({ defaultMetrics: false }), ready: () => true, webhook });
  });
  after(async () => server.close());
  beforeEach(() => {
    triggers.length = 0;
  });

  async function deliver(event: string, body: string, signature: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { "content-type": "application/json", "x-github-event": event, "x-github-delivery": "d-1" };
    if (signature !== undefined) headers["x-hub-signature-256"] = signature;
    return fetch(`${server.url}/webhook`, { method: "POST", headers, body });
  }

  const push = (ref: string) => JSON.stringify({ ref, after: "0123456789abcdef0123456789abcdef01234567", commits: [] });

  it("a validly signed push to the branch triggers a reconcile", async () => {
    const body = push("refs/heads/main");
    const res = await deliver("push", body, await sign(SECRET, body));
    assert.equal(res.status, 202);
    assert.equal(triggers.length, 1);
    assert.equal(triggers[0]?.kind, "webhook");
    assert.match(triggers[0]?.detail ?? "", /0123456789abcdef/);
  });

  it("an invalid signature gets 401 and no reconcile", async () => {
    const body = push("refs/heads/main");
    const res = await deliver("push", body, await sign("wrong-secret", body));
    assert.equal(res.status, 401);
    const tampered = await deliver("push", body.replace("main", "mainx"), await sign(SECRET, body));
    assert.equal(tampered.status, 401);
    const garbage = await deliver("push", body, "sha256=zz");
    assert.equal(garbage.status, 401);
    assert.equal(triggers.length, 0);
  });

  it("a missing signature gets 401 and no reconcile", async () => {
    const res = await deliver("push", push("refs/heads/main"), undefined);
    assert.equal(res.status, 401);
    assert.equal(triggers.length, 0);
  });

  it("ping answers 200 without a reconcile; other events and other branches are ignored", async () => {
    const ping = JSON.stringify({ zen: "Keep it logically awesome." });
    assert.equal((await deliver("ping", ping, await sign(SECRET, ping))).status, 200);
    const issue = JSON.stringify({ action: "opened" });
    assert.equal((await deliver("issues", issue, await sign(SECRET, issue))).status, 200);
    const other = push("refs/heads/feature");
    assert.equal((await deliver("push", other, await sign(SECRET, other))).status, 200);
    const tag = push("refs/tags/main");
    assert.equal((await deliver("push", tag, await sign(SECRET, tag))).status, 200);
    assert.equal(triggers.length, 0);
  });

  it("refuses a body over the size limit with 413 and no reconcile", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main", pad: "x".repeat(70 * 1024) });
    const res = await deliver("push", body, await sign(SECRET, body));
    assert.equal(res.status, 413);
    assert.equal(triggers.length, 0);
  });

  it("refuses GET and a signed body that is not JSON", async () => {
    assert.equal((await fetch(`${server.url}/webhook`)).status, 405);
    const body = "not json";
    assert.equal((await deliver("push", body, await sign(SECRET, body))).status, 400);
    assert.equal(triggers.length, 0);
  });

  it("never logs the secret", () => {
    assert.ok(logLines.length > 0);
    assert.ok(!logLines.join("").includes(SECRET));
  });

  it("refuses an empty secret at construction", () => {
    assert.throws(() =>
      createWebhookHandler({ secret: "", branch: "main", onTrigger: () => undefined, log: createLogger({ level: "silent" }) }),
    );
  });
});

describe("webhook log throttle", () => {
  it("logs a key the first time, then once per interval with the count held back", () => {
    let t = 0;
    const throttle = createLogThrottle(60_000, () => t);
    assert.deepEqual(throttle("401"), { log: true, suppressed: 0 });
    t = 1_000;
    assert.deepEqual(throttle("401"), { log: false, suppressed: 0 });
    assert.deepEqual(throttle("401"), { log: false, suppressed: 0 });
    assert.deepEqual(throttle("413"), { log: true, suppressed: 0 }, "each key has its own window");
    t = 60_000;
    assert.deepEqual(throttle("401"), { log: true, suppressed: 2 });
    t = 60_001;
    assert.deepEqual(throttle("401"), { log: false, suppressed: 0 });
  });

  it("a flood of unsigned requests to the webhook port writes one warn line per interval, not one per request", async () => {
    const lines: string[] = [];
    let t = 0;
    const log = createLogger({
      destination: new Writable({
        write(c, _e, cb) {
          lines.push(String(c));
          cb();
        },
      }),
    });
    const triggers: Trigger[] = [];
    const webhook = createWebhookHandler({ secret: SECRET, branch: "main", onTrigger: (x) => triggers.push(x), log, now: () => t });
    const server = await startOpsServer({ listen: "127.0.0.1:0", metrics: createMetrics({ defaultMetrics: false }), ready: () => true, webhook });
    try {
      const post = (signature: string) =>
        fetch(`${server.url}/webhook`, { method: "POST", headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": signature }, body: "{}" });
      for (let i = 0; i < 50; i++) assert.equal((await post(`sha256=${"0".repeat(64)}`)).status, 401);
      const refused = () => lines.filter((l) => l.includes("invalid signature")).map((l) => JSON.parse(l) as { level: unknown; suppressed?: number });
      assert.equal(refused().length, 1, "the first refusal is logged, the next 49 are held back");
      t = 60_000;
      assert.equal((await post(`sha256=${"1".repeat(64)}`)).status, 401);
      assert.equal(refused().length, 2);
      assert.equal(refused()[1]?.suppressed, 49, "the next line says how many were held back");
      // accepted deliveries are never held back: each is logged and triggers
      const body = JSON.stringify({ ref: "refs/heads/main", after: "a".repeat(40) });
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${server.url}/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": await sign(SECRET, body) },
          body,
        });
        assert.equal(res.status, 202);
      }
      assert.equal(lines.filter((l) => l.includes("reconcile scheduled")).length, 3);
      assert.equal(triggers.length, 3);
    } finally {
      await server.close();
    }
  });
});
