/**
 * What the webhook decides from the headers alone, before reading a body byte, and how it bounds the
 * bodies it does read (per request, all requests together, in time). Raw sockets on 127.0.0.1, so a
 * test can send headers and then nothing: a prompt answer proves the body was never waited for.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { connect, type Socket } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { startOpsServer, type OpsServer } from "../../src/ops/http-server.ts";
import { createLogger } from "../../src/ops/logger.ts";
import { createMetrics } from "../../src/ops/metrics.ts";
import type { Trigger } from "../../src/trigger.ts";
import { admitWebhookRequest, bodyEncoding, createByteBudget, createWebhookHandler } from "../../src/sources/webhook.ts";

const SECRET = "admission-test-secret";
const MAX_BODY = 64 * 1024;
/** long enough that a test which waited for the body would time out instead of passing */
const BODY_TIMEOUT_MS = 60_000;
const PROMPT_MS = 2_000;
const sig = (body: string | Buffer, secret = SECRET) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
const WELL_FORMED_WRONG = `sha256=${"ab".repeat(32)}`;

interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly ms: number;
  /** the server closed the connection after answering */
  readonly closed: boolean;
}

/** Send `head` (and `body` if given), then wait for a response and for the server to hang up (or not). */
function raw(port: number, head: string, body?: string | Buffer, waitCloseMs = PROMPT_MS): Promise<RawResponse> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: "127.0.0.1", port });
    let data = "";
    let answeredAt: number | undefined;
    const give = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]);
      resolve({ status, head: data.split("\r\n\r\n", 1)[0] ?? "", ms: (answeredAt ?? performance.now()) - started, closed });
    };
    const timer = setTimeout(() => (answeredAt === undefined ? (socket.destroy(), reject(new Error(`no answer within ${PROMPT_MS * 2} ms`))) : give(false)), PROMPT_MS * 2);
    socket.on("error", () => undefined);
    socket.on("data", (d: Buffer) => {
      data += String(d);
      if (answeredAt === undefined && data.includes("\r\n\r\n")) {
        answeredAt = performance.now();
        clearTimeout(timer);
        setTimeout(() => give(false), waitCloseMs);
      }
    });
    socket.once("close", () => (answeredAt !== undefined ? give(true) : undefined));
    socket.once("connect", () => {
      socket.write(head);
      if (body !== undefined) socket.write(body);
    });
  });
}

function requestHead(headers: Record<string, string | undefined>, method = "POST"): string {
  const lines = Object.entries({ host: "127.0.0.1", ...headers })
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}: ${v}\r\n`);
  return `${method} /webhook HTTP/1.1\r\n${lines.join("")}\r\n`;
}

const pushBody = JSON.stringify({ ref: "refs/heads/main", after: "fedcba9876543210fedcba9876543210fedcba98" });

describe("webhook admission from the headers alone", () => {
  const base = { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": WELL_FORMED_WRONG, "content-length": "1048576" };

  it("admits GitHub's shape and nothing else", () => {
    const ok = admitWebhookRequest("POST", { ...base, "content-length": "100" }, MAX_BODY);
    assert.equal(ok.kind, "read");
    assert.equal(ok.kind === "read" && ok.bytes, 100);
    const cases: Array<[Record<string, string | undefined>, number]> = [
      [{ "x-hub-signature-256": undefined }, 401],
      [{ "x-hub-signature-256": "sha256=zz" }, 401],
      [{ "x-hub-signature-256": `sha256=${"AB".repeat(32)}` }, 401], // GitHub sends lowercase hex
      [{ "x-hub-signature-256": `sha256=${"ab".repeat(31)}` }, 401],
      [{ "x-hub-signature-256": `sha1=${"ab".repeat(20)}` }, 401],
      [{ "x-hub-signature-256": ` ${WELL_FORMED_WRONG}` }, 401],
      [{ "x-github-event": undefined }, 400],
      [{ "content-type": "text/plain" }, 415],
      [{ "content-type": undefined }, 415],
      [{ "content-length": undefined }, 411],
      [{ "content-length": undefined, "transfer-encoding": "chunked" }, 411],
      [{ "content-length": "-1" }, 400],
      [{ "content-length": "1e3" }, 400],
      [{ "content-length": String(MAX_BODY + 1) }, 413],
    ];
    for (const [change, status] of cases) {
      const headers = Object.fromEntries(Object.entries({ ...base, "content-length": "100", ...change }).filter(([, v]) => v !== undefined));
      const a = admitWebhookRequest("POST", headers, MAX_BODY);
      assert.equal(a.kind === "refuse" && a.status, status, JSON.stringify(change));
    }
    assert.equal(admitWebhookRequest("GET", base, MAX_BODY).kind, "refuse");
  });

  it("recognises GitHub's two content types, parameters and case aside", () => {
    assert.equal(bodyEncoding("application/json"), "json");
    assert.equal(bodyEncoding("Application/JSON; charset=utf-8"), "json");
    assert.equal(bodyEncoding("application/x-www-form-urlencoded"), "form");
    assert.equal(bodyEncoding("application/jsonx"), undefined);
    assert.equal(bodyEncoding(undefined), undefined);
  });

  it("a byte budget admits whole reservations only and frees each once", () => {
    const budget = createByteBudget(10);
    const a = budget.reserve(6);
    assert.ok(a);
    assert.equal(budget.reserve(5), undefined);
    const b = budget.reserve(4);
    assert.ok(b);
    a();
    a();
    assert.equal(budget.inUse, 4, "a double release does not free someone else's bytes");
    assert.ok(budget.reserve(6));
  });
});

describe("webhook on a real socket", () => {
  const triggers: Trigger[] = [];
  let server: OpsServer;
  let port: number;

  before(async () => {
    const log = createLogger({ level: "silent" });
    const webhook = createWebhookHandler({
      secret: SECRET,
      branch: "main",
      onTrigger: (t) => triggers.push(t),
      log,
      maxBodyBytes: MAX_BODY,
      bufferBudgetBytes: 2 * MAX_BODY,
      bodyTimeoutMs: BODY_TIMEOUT_MS,
    });
    server = await startOpsServer({ listen: "127.0.0.1:0", metrics: createMetrics({ defaultMetrics: false }), ready: () => true, webhook });
    port = Number(new URL(server.url).port);
  });
  after(async () => server.close());
  beforeEach(() => {
    triggers.length = 0;
  });

  const headersOnly = { "content-type": "application/json", "x-github-event": "push", "content-length": String(MAX_BODY) };

  it("a missing or malformed signature gets 401 without the body being read, and the connection is closed", async () => {
    for (const signature of [undefined, "sha256=zz", `sha256=${"AB".repeat(32)}`, "sha1=0123"]) {
      const res = await raw(port, requestHead({ ...headersOnly, "x-hub-signature-256": signature }));
      assert.equal(res.status, 401, String(signature));
      assert.ok(res.ms < PROMPT_MS, `answered in ${res.ms.toFixed(0)} ms, without waiting for the body`);
      assert.ok(res.closed, "an unread body is not drained for another request");
    }
    assert.equal(triggers.length, 0);
  });

  it("no event, a non-JSON content type, no length or a length over the limit are refused unread", async () => {
    const signed = { ...headersOnly, "x-hub-signature-256": WELL_FORMED_WRONG };
    const cases: Array<[Record<string, string | undefined>, number]> = [
      [{ "x-github-event": undefined }, 400],
      [{ "content-type": "text/plain" }, 415],
      [{ "content-length": undefined }, 411],
      [{ "content-length": undefined, "transfer-encoding": "chunked" }, 411],
      [{ "content-length": String(MAX_BODY + 1) }, 413],
    ];
    for (const [change, status] of cases) {
      const res = await raw(port, requestHead({ ...signed, ...change }));
      assert.equal(res.status, status, JSON.stringify(change));
      assert.ok(res.ms < PROMPT_MS, `${JSON.stringify(change)} answered in ${res.ms.toFixed(0)} ms`);
      assert.ok(res.closed, JSON.stringify(change));
    }
  });

  it("bodies that would overrun the shared budget get 503 with Retry-After, unread; the budget frees when they go", async () => {
    // Two senders hold the whole budget (2 × 64 KiB) by declaring the maximum and sending nothing.
    const holders = [connect({ host: "127.0.0.1", port }), connect({ host: "127.0.0.1", port })];
    try {
      for (const h of holders) {
        h.on("error", () => undefined);
        h.write(requestHead({ ...headersOnly, "x-hub-signature-256": WELL_FORMED_WRONG }));
      }
      await new Promise((r) => setTimeout(r, 200));
      const refused = await raw(port, requestHead({ ...headersOnly, "content-length": "10", "x-hub-signature-256": WELL_FORMED_WRONG }));
      assert.equal(refused.status, 503);
      assert.match(refused.head, /^retry-after: \d+$/im);
      assert.ok(refused.closed);
    } finally {
      for (const h of holders) h.destroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    const res = await fetch(`${server.url}/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": sig(pushBody) },
      body: pushBody,
    });
    assert.equal(res.status, 202, "senders that hang up give their reservation back");
    assert.equal(triggers.length, 1);
  });

  it("a well-formed wrong signature is read, then refused with 401 and no trigger", async () => {
    const res = await raw(port, requestHead({ ...headersOnly, "content-length": String(Buffer.byteLength(pushBody)), "x-hub-signature-256": sig(pushBody, "not-the-secret") }), pushBody, 0);
    assert.equal(res.status, 401);
    assert.equal(triggers.length, 0);
  });

  it("a form-encoded delivery (payload=…) is verified over its raw bytes and triggers once", async () => {
    const form = new URLSearchParams({ payload: pushBody }).toString();
    const res = await fetch(`${server.url}/webhook`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-github-event": "push", "x-github-delivery": "form-1", "x-hub-signature-256": sig(form) },
      body: form,
    });
    assert.equal(res.status, 202);
    assert.equal(triggers.length, 1);
    assert.match(triggers[0]?.detail ?? "", /fedcba98.*delivery form-1/);
  });

  it("an attacker-sized delivery id is clipped in the trigger detail", async () => {
    const res = await fetch(`${server.url}/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": "d".repeat(4_000), "x-hub-signature-256": sig(pushBody) },
      body: pushBody,
    });
    assert.equal(res.status, 202);
    assert.ok((triggers[0]?.detail?.length ?? 0) < 200);
  });
});

describe("webhook body deadline", () => {
  it("a body still trickling in at the deadline is cut off with 408, and its connection closed", async () => {
    const triggers: Trigger[] = [];
    const webhook = createWebhookHandler({ secret: SECRET, branch: "main", onTrigger: (t) => triggers.push(t), log: createLogger({ level: "silent" }), bodyTimeoutMs: 300 });
    const server = await startOpsServer({ listen: "127.0.0.1:0", metrics: createMetrics({ defaultMetrics: false }), ready: () => true, webhook });
    try {
      const port = Number(new URL(server.url).port);
      const head = requestHead({ "content-type": "application/json", "x-github-event": "push", "x-hub-signature-256": sig(pushBody), "content-length": String(Buffer.byteLength(pushBody)) });
      // all but the last byte: the rest never comes
      const res = await raw(port, head, pushBody.slice(0, -1));
      assert.equal(res.status, 408);
      assert.ok(res.ms >= 250 && res.ms < 300 + PROMPT_MS, `cut off after ${res.ms.toFixed(0)} ms`);
      assert.ok(res.closed);
      assert.equal(triggers.length, 0);
    } finally {
      await server.close();
    }
  });
});
