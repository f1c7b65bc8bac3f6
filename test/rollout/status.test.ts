import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateCa, generateLeaf } from "../../src/tls/generate.ts";
import { parseProbeAddresses } from "../../src/rollout/probe-address.ts";
import { rolloutStatus, type StatusOptions } from "../../src/rollout/status.ts";
import type { StatusRow } from "../../src/rollout/classify.ts";
import { fingerprint, makeRolloutWorld, rolloutWorldAndIngress } from "./rollout-world.ts";
import { closedPort, startLoopbackIngress, startSilentServer } from "./loopback-ingress.ts";
import { git, tempDir } from "../helpers/git-fixtures.ts";
import { cpSync, existsSync } from "node:fs";
import { CONFIG } from "../pipeline/sync-world.ts";
import { join } from "node:path";

/** Rollout verification end to end: a real Git repository rendered by the CLI, a TLS server on 127.0.0.1 for an ingress. */

const fixture = rolloutWorldAndIngress();

function opts(rules: readonly string[], extra: Partial<StatusOptions> = {}): StatusOptions {
  return { probeAddresses: parseProbeAddresses(rules), timeoutMs: 5000, env: process.env, ...extra };
}
const viaIngress = (): StatusOptions => opts([`*.example.com=${fixture.ingress.address}`]);
const row = (rows: readonly StatusRow[], tenant: string): StatusRow => {
  const r = rows.find((x) => x.tenant === tenant);
  assert.ok(r, `no row for ${tenant}`);
  return r;
};

describe("rolloutStatus against a loopback ingress", () => {
  it("goes current → stale → current across a renewal, with the lag since the renewal's commit while stale", async () => {
    const first = await fixture.world.issue();
    const c1 = await fixture.world.publish(first);
    for (const h of ["acme.example.com", "globex.example.com", "shop.example.com"]) fixture.ingress.serve(h, first);

    let report = await rolloutStatus(fixture.world.dir, viaIngress());
    assert.deepEqual(report.notes, []);
    const acme1 = row(report.rows, "acme");
    assert.equal(acme1.state, "current");
    assert.equal(acme1.committed?.sha256, fingerprint(first));
    assert.equal(acme1.served?.sha256, fingerprint(first));
    assert.deepEqual(acme1.since, c1);
    assert.equal(acme1.lagSeconds, null, "a current tenant has no lag");
    assert.equal(row(report.rows, "globex").state, "current");

    // renewed and committed; the ingress still serves the first certificate
    const second = await fixture.world.issue();
    const c2 = await fixture.world.publish(second);
    const now = new Date(Date.parse(c2.date) + 125_000);
    report = await rolloutStatus(fixture.world.dir, { ...viaIngress(), now: () => now });
    const acme2 = row(report.rows, "acme");
    assert.equal(acme2.state, "stale");
    assert.equal(acme2.committed?.sha256, fingerprint(second));
    assert.equal(acme2.served?.sha256, fingerprint(first));
    assert.deepEqual(acme2.since, c2, "the commit that brought the renewed certificate");
    assert.equal(acme2.lagSeconds, 125);
    assert.match(acme2.detail, /acme\.example\.com .*still serves an earlier certificate/);

    // the ingress reloads the Secret
    for (const h of ["acme.example.com", "globex.example.com", "shop.example.com"]) fixture.ingress.serve(h, second);
    report = await rolloutStatus(fixture.world.dir, viaIngress());
    assert.deepEqual(
      report.rows.map((r) => [r.tenant, r.state]),
      [
        ["acme", "current"],
        ["globex", "current"],
      ],
    );
  });

  it("calls a certificate the tenant never had foreign, naming its issuer", async () => {
    const other = await generateLeaf(await generateCa({ commonName: "Fake Ingress CA" }), { dnsNames: ["*.example.com"] });
    const committed = await fixture.world.issue();
    await fixture.world.publish(committed);
    fixture.ingress.serve("acme.example.com", other);
    const report = await rolloutStatus(fixture.world.dir, viaIngress());
    const acme = row(report.rows, "acme");
    assert.equal(acme.state, "foreign");
    assert.equal(acme.served?.sha256, fingerprint(other));
    assert.match(acme.detail, /never had \(issuer CN=Fake Ingress CA\)/);
  });

  it("reports unreachable hosts with the error: a closed port (refused), a server that drops an SNI it has no certificate for (closed)", async () => {
    const leaf = await fixture.world.issue();
    await fixture.world.publish(leaf);
    fixture.ingress.serve("globex.example.com", leaf);
    fixture.ingress.forget("shop.example.com");
    const closed = await closedPort();
    const report = await rolloutStatus(fixture.world.dir, opts([`acme.example.com=${closed}`, `*.example.com=${fixture.ingress.address}`]));
    const acme = row(report.rows, "acme");
    assert.equal(acme.state, "unreachable");
    assert.equal(acme.hosts[0]?.error?.kind, "refused");
    assert.equal(acme.hosts[0]?.address, closed);
    assert.match(acme.detail, new RegExp(`^acme\\.example\\.com \\(${closed}\\): refused: .*ECONNREFUSED`));
    const globex = row(report.rows, "globex");
    assert.equal(globex.state, "unreachable", "one host unreachable, one current: the tenant is unreachable");
    assert.deepEqual(
      globex.hosts.map((h) => [h.host, h.state, h.error?.kind ?? null]),
      [
        ["globex.example.com", "current", null],
        ["shop.example.com", "unreachable", "closed"],
      ],
    );
    assert.match(globex.detail, /^shop\.example\.com \(127\.0\.0\.1:\d+\): closed: Client network socket disconnected before secure TLS connection was established$/);
  });

  it("reports a TLS alert as tls, with OpenSSL's reason and no more", async () => {
    const leaf = await fixture.world.issue();
    await fixture.world.publish(leaf);
    const old = await startLoopbackIngress({ minVersion: "TLSv1", maxVersion: "TLSv1.1" });
    try {
      old.serve("acme.example.com", leaf);
      const acme = row((await rolloutStatus(fixture.world.dir, opts([`*.example.com=${old.address}`]))).rows, "acme");
      assert.equal(acme.state, "unreachable");
      assert.equal(acme.hosts[0]?.error?.kind, "tls");
      assert.match(acme.hosts[0]?.error?.message ?? "", /^tlsv1 alert protocol version \(SSL alert number 70\)$/);
    } finally {
      await old.close();
    }
  });

  it("gives up on a server that accepts and never answers after --probe-timeout (one attempt, no retry)", async () => {
    const silent = await startSilentServer();
    try {
      const report = await rolloutStatus(fixture.world.dir, opts([`*.example.com=${silent.address}`], { timeoutMs: 200 }));
      for (const r of report.rows) {
        assert.equal(r.state, "unreachable");
        for (const h of r.hosts) assert.deepEqual(h.error, { kind: "timeout", message: "no TLS handshake within 200 ms" });
      }
      assert.equal(silent.accepted(), 3, "each of the three hosts dialled once");
    } finally {
      await silent.close();
    }
  });

  it("takes the worst host for the tenant: foreign over stale over unreachable over current", async () => {
    const old = await fixture.world.issue();
    await fixture.world.publish(old);
    const now = await fixture.world.issue();
    await fixture.world.publish(now);
    const other = await generateLeaf(await generateCa(), { dnsNames: ["*.example.com"] });
    fixture.ingress.serve("globex.example.com", now);
    fixture.ingress.serve("shop.example.com", old);
    let globex = row((await rolloutStatus(fixture.world.dir, viaIngress())).rows, "globex");
    assert.equal(globex.state, "stale");
    assert.equal(globex.served?.sha256, fingerprint(old), "the served certificate shown is the worst host's");
    assert.match(globex.detail, /^shop\.example\.com /);

    fixture.ingress.serve("globex.example.com", other);
    globex = row((await rolloutStatus(fixture.world.dir, viaIngress())).rows, "globex");
    assert.equal(globex.state, "foreign");
    assert.match(globex.detail, /^globex\.example\.com .*; 1 more host not current$/);
  });

  it("dials a mapped address with the host as SNI: an exact rule wins over *.domain, the rest go to *.domain", async () => {
    const leaf = await fixture.world.issue();
    await fixture.world.publish(leaf);
    const second = await startLoopbackIngress();
    try {
      second.serve("shop.example.com", leaf);
      fixture.ingress.serve("acme.example.com", leaf);
      fixture.ingress.serve("globex.example.com", leaf);
      fixture.ingress.forget("shop.example.com");
      const before = fixture.ingress.seen.length;
      const report = await rolloutStatus(fixture.world.dir, opts([`*.example.com=${fixture.ingress.address}`, `shop.example.com=${second.address}`]));
      assert.deepEqual(
        report.rows.flatMap((r) => r.hosts.map((h) => [h.host, h.address, h.state])),
        [
          ["acme.example.com", fixture.ingress.address, "current"],
          ["globex.example.com", fixture.ingress.address, "current"],
          ["shop.example.com", second.address, "current"],
        ],
      );
      assert.deepEqual([...fixture.ingress.seen.slice(before)].sort(), ["acme.example.com", "globex.example.com"]);
      assert.deepEqual([...second.seen], ["shop.example.com"]);
    } finally {
      await second.close();
    }
  });
});

describe("rolloutStatus in the shared layout", () => {
  it("compares each tenant with its cluster's _shared SealedSecret and tells an earlier one from its history", async () => {
    const shared = await makeRolloutWorld(undefined, CONFIG.replace("  defaults: {secretName: wildcard-tls, scope: strict}", "  layout: shared\n  defaults: {secretName: wildcard-tls}"));
    try {
      const first = await shared.issue();
      await shared.publish(first);
      const renewed = await shared.issue();
      const commit = await shared.publish(renewed);
      assert.ok(existsSync(join(shared.dir, "rendered/prod-east/_shared/sealed-secret.yaml")), "the world renders the shared layout");
      fixture.ingress.serve("acme.example.com", first);
      fixture.ingress.serve("globex.example.com", renewed);
      fixture.ingress.serve("shop.example.com", renewed);
      const report = await rolloutStatus(shared.dir, viaIngress());
      assert.deepEqual(
        report.rows.map((r) => [r.tenant, r.state, r.committed?.sha256, r.since?.commit]),
        [
          ["acme", "stale", fingerprint(renewed), commit.commit],
          ["globex", "current", fingerprint(renewed), commit.commit],
        ],
      );
    } finally {
      shared.cleanup();
    }
  });
});

describe("rolloutStatus without history", () => {
  it("a rendered but uncommitted certificate has no commit and no lag", async () => {
    const w = await makeRolloutWorld([{ name: "acme", hosts: ["acme.example.com"] }]);
    try {
      const committed = await w.issue();
      await w.publish(committed);
      const renewed = await w.issue();
      await w.publish(renewed);
      git(w.dir, ["reset", "--quiet", "--soft", "HEAD~1"]); // the renewal is rendered, not committed
      fixture.ingress.serve("acme.example.com", committed);
      const acme = row((await rolloutStatus(w.dir, viaIngress())).rows, "acme");
      assert.equal(acme.state, "stale", "the committed certificate is still an earlier one of the tenant");
      assert.equal(acme.since, null);
      assert.equal(acme.lagSeconds, null);
    } finally {
      w.cleanup();
    }
  });

  it("outside Git says why an earlier certificate shows as foreign", async () => {
    const w = await makeRolloutWorld([{ name: "acme", hosts: ["acme.example.com"] }]);
    const copy = tempDir("wildseal-nogit-");
    try {
      const first = await w.issue();
      await w.publish(first);
      await w.publish(await w.issue());
      for (const p of ["wildseal.yaml", "tenants", "clusters", "rendered"]) cpSync(join(w.dir, p), join(copy.path, p), { recursive: true });
      fixture.ingress.serve("acme.example.com", first);
      const report = await rolloutStatus(copy.path, viaIngress());
      assert.equal(row(report.rows, "acme").state, "foreign");
      assert.equal(report.notes.length, 1);
      assert.match(report.notes[0] ?? "", /not in a Git repository: an earlier certificate cannot be told from a foreign one, and the lag is unknown/);
    } finally {
      copy.cleanup();
      w.cleanup();
    }
  });
});
