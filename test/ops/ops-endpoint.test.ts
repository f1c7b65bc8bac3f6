import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { UsageError } from "../../src/errors.ts";
import { parseListenAddress, startOpsServer } from "../../src/ops/http-server.ts";
import { createLogger } from "../../src/ops/logger.ts";
import {
  createMetrics,
  recordCertificateNotAfter,
  recordGateFailure,
  recordReconcile,
  recordTenantCounts,
} from "../../src/ops/metrics.ts";

describe("--listen address parsing", () => {
  it("accepts :PORT, IPv4:PORT, [IPv6]:PORT and host:PORT", () => {
    assert.deepEqual(parseListenAddress(":8080"), { host: undefined, port: 8080 });
    assert.deepEqual(parseListenAddress("127.0.0.1:8080"), { host: "127.0.0.1", port: 8080 });
    assert.deepEqual(parseListenAddress("[::1]:9090"), { host: "::1", port: 9090 });
    assert.deepEqual(parseListenAddress("[::]:0"), { host: "::", port: 0 });
    assert.deepEqual(parseListenAddress("localhost:8080"), { host: "localhost", port: 8080 });
  });

  it("rejects malformed addresses as usage errors", () => {
    for (const bad of ["8080", "::1:8080", "[127.0.0.1]:80", "host:", ":99999", "[::1]", "a b:80", "http://x:80", "-x:80"]) {
      assert.throws(() => parseListenAddress(bad), UsageError, bad);
    }
  });
});

describe("ops endpoint", () => {
  it("answers /healthz while alive, /readyz 503 until the first success then 200, 404 elsewhere", async () => {
    let ready = false;
    let alive = true;
    const server = await startOpsServer({
      listen: "127.0.0.1:0",
      metrics: createMetrics({ defaultMetrics: false }),
      ready: () => ready,
      alive: () => alive,
    });
    try {
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
      ready = true;
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      alive = false;
      assert.equal((await fetch(`${server.url}/healthz`)).status, 503);
      assert.equal((await fetch(`${server.url}/nope`)).status, 404);
      assert.equal((await fetch(`${server.url}/webhook`, { method: "POST", body: "{}" })).status, 405, "no webhook configured");
    } finally {
      await server.close();
    }
  });

  it("serves the wildseal metrics and the process metrics in Prometheus text format", async () => {
    const metrics = createMetrics();
    recordReconcile(metrics, { kind: "published", commit: "abc" }, new Date("2026-11-28T12:00:00Z"));
    recordReconcile(metrics, { kind: "failed", error: new Error("x") }, new Date("2026-11-28T12:01:00Z"));
    recordCertificateNotAfter(metrics, new Date("2027-02-26T00:00:00Z"));
    recordTenantCounts(metrics, new Map([["prod-east", 12], ["prod-west", 3]]));
    recordGateFailure(metrics, "hosts-not-covered");
    const server = await startOpsServer({ listen: "127.0.0.1:0", metrics, ready: () => true });
    try {
      const res = await fetch(`${server.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const body = await res.text();
      const notAfter = Date.parse("2027-02-26T00:00:00Z") / 1000;
      assert.match(body, new RegExp(`^wildseal_certificate_not_after_seconds ${notAfter}$`, "m"));
      assert.match(body, /^wildseal_reconcile_total\{result="published"\} 1$/m);
      assert.match(body, /^wildseal_reconcile_total\{result="unchanged"\} 0$/m);
      assert.match(body, /^wildseal_reconcile_total\{result="failed"\} 1$/m);
      const success = Date.parse("2026-11-28T12:00:00Z") / 1000;
      assert.match(body, new RegExp(`^wildseal_last_success_timestamp_seconds ${success}$`, "m"), "a failure does not move it");
      assert.match(body, /^wildseal_tenants\{cluster="prod-east"\} 12$/m);
      assert.match(body, /^wildseal_tenants\{cluster="prod-west"\} 3$/m);
      assert.match(body, /^wildseal_gate_failures_total\{reason="hosts-not-covered"\} 1$/m);
      assert.match(body, /^process_resident_memory_bytes \d+/m);
      assert.match(body, /^nodejs_eventloop_lag_seconds /m);
    } finally {
      await server.close();
    }
  });

  it("keeps separate registries for separate instances", async () => {
    const a = createMetrics();
    const b = createMetrics();
    recordGateFailure(a, "expired");
    assert.match(await a.registry.metrics(), /wildseal_gate_failures_total\{reason="expired"\} 1/);
    assert.doesNotMatch(await b.registry.metrics(), /reason="expired"/);
  });

  it("listens on IPv6 loopback", async () => {
    const server = await startOpsServer({ listen: "[::1]:0", metrics: createMetrics({ defaultMetrics: false }), ready: () => true });
    try {
      assert.match(server.url, /^http:\/\/\[::1\]:\d+$/);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it("reports a port in use as a usage error", async () => {
    const first = await startOpsServer({ listen: "127.0.0.1:0", metrics: createMetrics({ defaultMetrics: false }), ready: () => true });
    try {
      const port = new URL(first.url).port;
      await assert.rejects(
        startOpsServer({ listen: `127.0.0.1:${port}`, metrics: createMetrics({ defaultMetrics: false }), ready: () => true }),
        (e: unknown) => e instanceof UsageError && /cannot listen on 127\.0\.0\.1:\d+/.test(e.message),
      );
    } finally {
      await first.close();
    }
  });
});

describe("JSON logger", () => {
  it("writes one JSON object per line and censors credential-like fields at any of three depths", () => {
    const lines: string[] = [];
    const log = createLogger({
      destination: new Writable({
        write(c, _e, cb) {
          lines.push(String(c));
          cb();
        },
      }),
    });
    log.info(
      { token: "ghs_top", git: { password: "hunter2", url: "https://example.com/x.git" }, a: { b: { privateKey: "PK" } }, "tls.key": "K1", s: { "tls.key": "K2" }, headers: { authorization: "Bearer z" } },
      "message",
    );
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0] ?? "") as Record<string, unknown>;
    assert.equal(entry["level"], "info");
    assert.equal(entry["msg"], "message");
    const text = lines[0] ?? "";
    for (const secret of ["ghs_top", "hunter2", "PK", "K1", "K2", "Bearer z"]) assert.ok(!text.includes(secret), secret);
    assert.ok(text.includes("https://example.com/x.git"), "non-secret fields survive");
  });
});
