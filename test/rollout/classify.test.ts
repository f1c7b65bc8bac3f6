import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allProbedCurrent, classifyTenant, countByState, type CommittedTenant, type HostProbe } from "../../src/rollout/classify.ts";
import type { ProbeResult } from "../../src/rollout/probe.ts";

const NOW = new Date("2026-12-02T12:00:00Z");
const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);

const tenant = (over: Partial<CommittedTenant> = {}): CommittedTenant => ({
  name: "acme",
  cluster: "prod",
  hosts: ["acme.example.com"],
  committed: { sha256: A, notAfter: "2027-03-01T00:00:00Z" },
  since: { commit: "1".repeat(40), date: "2026-12-02T11:00:00Z" },
  earlier: [B],
  ...over,
});
const served = (sha256: string): ProbeResult => ({ kind: "served", certificate: { sha256, notAfter: null, subject: null, issuer: null } });
const down: ProbeResult = { kind: "unreachable", error: { kind: "refused", message: "connect ECONNREFUSED" } };
const probes =
  (m: Record<string, ProbeResult>) =>
  (host: string): HostProbe | undefined =>
    m[host] === undefined ? undefined : { address: `${host}:443`, result: m[host] };

describe("classifyTenant", () => {
  it("compares the served fingerprint: the committed one is current, an earlier one of the tenant stale, anything else foreign", () => {
    assert.equal(classifyTenant(tenant(), probes({ "acme.example.com": served(A) }), NOW).state, "current");
    assert.equal(classifyTenant(tenant(), probes({ "acme.example.com": served(B) }), NOW).state, "stale");
    assert.equal(classifyTenant(tenant(), probes({ "acme.example.com": served(C) }), NOW).state, "foreign");
    assert.equal(classifyTenant(tenant(), probes({ "acme.example.com": down }), NOW).state, "unreachable");
  });

  it("takes the worst host in the order current < unreachable < stale < foreign", () => {
    const hosts = ["a.example.com", "b.example.com"];
    const cases: Array<[ProbeResult, ProbeResult, string]> = [
      [served(A), served(A), "current"],
      [served(A), down, "unreachable"],
      [down, served(B), "stale"],
      [served(B), served(C), "foreign"],
      [served(C), down, "foreign"],
    ];
    for (const [a, b, want] of cases) {
      const row = classifyTenant(tenant({ hosts }), probes({ "a.example.com": a, "b.example.com": b }), NOW);
      assert.equal(row.state, want, JSON.stringify([a, b]));
      assert.equal(row.hosts.length, 2);
    }
  });

  it("measures the lag from the commit that brought the certificate while the tenant is not current", () => {
    assert.equal(classifyTenant(tenant(), probes({ "acme.example.com": served(B) }), NOW).lagSeconds, 3600);
    assert.equal(classifyTenant(tenant(), probes({ "acme.example.com": served(A) }), NOW).lagSeconds, null);
    assert.equal(classifyTenant(tenant({ since: null }), probes({ "acme.example.com": served(B) }), NOW).lagSeconds, null);
  });

  it("says no-probe-host for a tenant whose hosts are all wildcards, and probes only the named hosts of a mixed one", () => {
    const wild = classifyTenant(tenant({ hosts: ["*.acme.example.com"] }), () => assert.fail("a wildcard host was probed"), NOW);
    assert.equal(wild.state, "no-probe-host");
    assert.match(wild.detail, /every host is a wildcard \(\*\.acme\.example\.com\): there is no name to send/);
    const asked: string[] = [];
    const mixed = classifyTenant(
      tenant({ hosts: ["*.acme.example.com", "www.acme.example.com"] }),
      (h) => {
        asked.push(h);
        return { address: "x:443", result: served(A) };
      },
      NOW,
    );
    assert.equal(mixed.state, "current");
    assert.deepEqual(asked, ["www.acme.example.com"]);
  });

  it("says not-rendered, probing nothing, for a tenant without a committed certificate", () => {
    const row = classifyTenant(tenant({ committed: null }), () => assert.fail("probed"), NOW);
    assert.equal(row.state, "not-rendered");
  });

  it("counts as all current when every probed tenant is current; unprobed tenants do not count", () => {
    const rows = [
      classifyTenant(tenant(), probes({ "acme.example.com": served(A) }), NOW),
      classifyTenant(tenant({ hosts: ["*.x.example.com"] }), () => undefined, NOW),
      classifyTenant(tenant({ committed: null }), () => undefined, NOW),
    ];
    assert.equal(allProbedCurrent(rows), true);
    const stale = classifyTenant(tenant(), probes({ "acme.example.com": served(B) }), NOW);
    assert.equal(allProbedCurrent([...rows, stale]), false);
    assert.deepEqual(countByState([...rows, stale]), { current: 1, unreachable: 0, stale: 1, foreign: 0, "no-probe-host": 1, "not-rendered": 1 });
  });
});
