/**
 * The ops server's connection cap and timeouts, in process, with small limits so each behaviour shows
 * in well under a second. 127.0.0.1 only; every socket is destroyed in `finally`.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { oldestEvictable, startOpsServer, type OpsServerLimits } from "../../src/ops/http-server.ts";
import { createLogger } from "../../src/ops/logger.ts";
import { createMetrics } from "../../src/ops/metrics.ts";
import { createWebhookHandler } from "../../src/sources/webhook.ts";
import { probe } from "./fixtures/flood.ts";
import { until } from "../helpers/wait.ts";

interface Tracked {
  readonly socket: Socket;
  closed: boolean;
  closedAt: number | undefined;
}

async function openIdle(port: number, count: number): Promise<Tracked[]> {
  const out: Tracked[] = [];
  for (let i = 0; i < count; i++) {
    const socket = connect({ host: "127.0.0.1", port });
    const t: Tracked = { socket, closed: false, closedAt: undefined };
    socket.on("error", () => undefined);
    socket.on("data", () => undefined);
    socket.once("close", () => {
      t.closed = true;
      t.closedAt = performance.now();
    });
    await new Promise<void>((resolve) => {
      socket.once("connect", () => resolve());
      socket.once("close", () => resolve());
    });
    // one at a time, with a beat for the server's accept: "oldest" must mean something
    await new Promise((r) => setImmediate(r));
    out.push(t);
  }
  return out;
}


function serverWith(limits: Partial<OpsServerLimits>, extra: Partial<Parameters<typeof startOpsServer>[0]> = {}) {
  return startOpsServer({ listen: "127.0.0.1:0", metrics: createMetrics({ defaultMetrics: false }), ready: () => true, limits, ...extra });
}

describe("ops server connection cap", () => {
  it("picks the oldest connection that is not answering a probe", () => {
    assert.equal(oldestEvictable(["a", "b", "c"], new Set(["a"])), "b");
    assert.equal(oldestEvictable(["a", "b"], new Set(["a", "b"])), undefined);
    assert.equal(oldestEvictable([], new Set()), undefined);
  });

  it("over the cap, the oldest connections are closed to make room and /healthz still answers", async () => {
    const server = await serverWith({ maxConnections: 20 });
    const port = Number(new URL(server.url).port);
    const idle = await openIdle(port, 50);
    try {
      const res = await probe(port, "/healthz", 2_000);
      assert.equal(res.status, 200);
      // 50 idle + the probe over a cap of 20: the 31 oldest went, the 19 newest idle ones stayed
      await until(() => idle.filter((t) => t.closed).length >= 31, "evictions", 2_000);
      assert.ok(idle.slice(0, 31).every((t) => t.closed), "the oldest are evicted first");
      assert.ok(idle.slice(31).every((t) => !t.closed), "the newest stay");
      assert.ok(server.connections().open <= 20);
      assert.equal(server.connections().evicted, 31);
    } finally {
      for (const t of idle) t.socket.destroy();
      await server.close();
    }
  });

  it("a probe being answered is never evicted, however many connections arrive meanwhile", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const original = metrics.registry.metrics.bind(metrics.registry);
    metrics.registry.metrics = async () => {
      await gate;
      return original();
    };
    const server = await serverWith({ maxConnections: 5 }, { metrics });
    const port = Number(new URL(server.url).port);
    let idle: Tracked[] = [];
    try {
      const scrape = probe(port, "/metrics", 5_000);
      await until(() => server.connections().open === 1, "the scrape's connection", 2_000);
      await new Promise((r) => setTimeout(r, 50)); // its request is being answered (held at the gate)
      idle = await openIdle(port, 12);
      release();
      assert.equal((await scrape).status, 200);
      assert.ok(server.connections().evicted >= 8);
    } finally {
      for (const t of idle) t.socket.destroy();
      await server.close();
    }
  });
});

describe("ops server timeouts", () => {
  it("closes a connection that never sends a byte after the idle timeout", async () => {
    const server = await serverWith({ idleTimeoutMs: 300 });
    const [idle] = await openIdle(Number(new URL(server.url).port), 1);
    try {
      const opened = performance.now();
      await until(() => idle?.closed === true, "the idle connection closed", 3_000);
      const after = (idle?.closedAt ?? 0) - opened;
      assert.ok(after >= 200, `closed after ${after.toFixed(0)} ms`);
    } finally {
      idle?.socket.destroy();
      await server.close();
    }
  });

  it("answers headers that trickle in past the headers timeout with 408 and closes (checked every second)", async () => {
    const server = await serverWith({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const socket = connect({ host: "127.0.0.1", port: Number(new URL(server.url).port) });
    try {
      socket.on("error", () => undefined);
      let data = "";
      socket.on("data", (d: Buffer) => (data += String(d)));
      const closed = new Promise<void>((r) => socket.once("close", () => r()));
      await new Promise<void>((r) => socket.once("connect", () => r()));
      const started = performance.now();
      socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
      const drip = setInterval(() => socket.write("x-drip: 1\r\n"), 100);
      await closed;
      clearInterval(drip);
      const ms = performance.now() - started;
      assert.match(data, /^HTTP\/1\.1 408/);
      assert.ok(ms < 300 + 1_000 + 1_000, `cut off after ${ms.toFixed(0)} ms`);
    } finally {
      socket.destroy();
      await server.close();
    }
  });

  it("close() does not wait for a webhook body that is still trickling in", async () => {
    const webhook = createWebhookHandler({ secret: "s", branch: "main", onTrigger: () => undefined, log: createLogger({ level: "silent" }), bodyTimeoutMs: 60_000 });
    const server = await serverWith({}, { webhook });
    const socket = connect({ host: "127.0.0.1", port: Number(new URL(server.url).port) });
    try {
      socket.on("error", () => undefined);
      await new Promise<void>((r) => socket.once("connect", () => r()));
      socket.write(`POST /webhook HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nx-github-event: push\r\nx-hub-signature-256: sha256=${"0".repeat(64)}\r\ncontent-length: 1000\r\n\r\n{`);
      await until(() => server.connections().open === 1, "the webhook connection", 2_000);
      await new Promise((r) => setTimeout(r, 50));
      const started = performance.now();
      await server.close();
      assert.ok(performance.now() - started < 2_000);
    } finally {
      socket.destroy();
    }
  });
});
