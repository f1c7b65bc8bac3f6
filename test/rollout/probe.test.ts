import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyProbeError, probeAll, type ProbeResult } from "../../src/rollout/probe.ts";
import { dialTarget, parseProbeAddresses } from "../../src/rollout/probe-address.ts";

const err = (code: string, message = `boom ${code}`): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

describe("probe", () => {
  it("classifies connection errors by code", () => {
    assert.equal(classifyProbeError(err("ENOTFOUND", "getaddrinfo ENOTFOUND acme.example.com")).kind, "dns");
    assert.equal(classifyProbeError(err("EAI_AGAIN")).kind, "dns");
    assert.equal(classifyProbeError(err("ECONNREFUSED")).kind, "refused");
    assert.equal(classifyProbeError(err("ECONNRESET")).kind, "closed");
    assert.equal(classifyProbeError(err("EHOSTUNREACH")).kind, "network");
    assert.equal(classifyProbeError(err("ERR_SSL_WRONG_VERSION_NUMBER")).kind, "tls");
    assert.equal(classifyProbeError(err("EWHATEVER")).kind, "other");
  });

  it("dials each host and address once per run, however many tenants name it, at most `concurrency` at a time", async () => {
    const rules = parseProbeAddresses(["*.example.com=127.0.0.1:1"]);
    const targets = ["a.example.com", "b.example.com", "a.example.com", "c.example.com", "d.example.com"].map((h) => dialTarget(h, rules));
    const dialled: string[] = [];
    let inFlight = 0;
    let peak = 0;
    const results = await probeAll(targets, {
      timeoutMs: 1000,
      concurrency: 2,
      probeOne: async (t): Promise<ProbeResult> => {
        dialled.push(t.servername);
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight -= 1;
        return { kind: "unreachable", error: { kind: "refused", message: t.servername } };
      },
    });
    assert.deepEqual(dialled.sort(), ["a.example.com", "b.example.com", "c.example.com", "d.example.com"]);
    assert.equal(peak, 2);
    assert.equal(results.size, 4);
  });
});
