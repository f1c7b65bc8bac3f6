import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runCli } from "./run-cli.ts";
import { exampleRepo } from "./tenant-fixtures.ts";
import { fingerprint, rolloutWorldAndIngress } from "../rollout/rollout-world.ts";
import { closedPort } from "../rollout/loopback-ingress.ts";

/** `wildseal status`: flags, the table, --json and the exit code, against a loopback ingress. */

const fixture = rolloutWorldAndIngress();

const HOSTS = ["acme.example.com", "globex.example.com", "shop.example.com"];
const status = (...flags: string[]) => runCli(["status", "--repo", fixture.world.dir, "--probe-address", `*.example.com=${fixture.ingress.address}`, ...flags], { env: { PATH: process.env.PATH } });

describe("wildseal status", () => {
  it("prints one row per tenant and exits 0 when every tenant serves its committed certificate", async () => {
    const leaf = await fixture.world.issue();
    await fixture.world.publish(leaf);
    for (const h of HOSTS) fixture.ingress.serve(h, leaf);
    const r = await status();
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    const [header, ...lines] = r.stdout.trimEnd().split("\n");
    assert.match(header ?? "", /^TENANT +CLUSTER +COMMITTED +COMMITTED-NOT-AFTER +SERVED +SERVED-NOT-AFTER +STATE +LAG +DETAIL$/);
    const short = fingerprint(leaf).slice(0, 12);
    assert.equal(lines.length, 2);
    for (const [line, tenant] of lines.map((l, i) => [l, ["acme", "globex"][i]] as const)) {
      assert.match(line, new RegExp(`^${tenant} +prod-east +${short} +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ +${short} +\\S+Z +current +- +${tenant}\\.example\\.com \\(${fixture.ingress.address}\\) serves the committed certificate$`));
    }
  });

  it("exits 4 when a tenant is stale, and --json prints the rows with hosts and errors", async () => {
    const old = await fixture.world.issue();
    await fixture.world.publish(old);
    const renewed = await fixture.world.issue();
    const commit = await fixture.world.publish(renewed);
    for (const h of HOSTS) fixture.ingress.serve(h, renewed);
    fixture.ingress.serve("acme.example.com", old);
    const r = await status("--json");
    assert.equal(r.code, 4, r.stderr);
    const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      rows.map((x) => [x["tenant"], x["state"]]),
      [
        ["acme", "stale"],
        ["globex", "current"],
      ],
    );
    const acme = rows[0] ?? {};
    assert.deepEqual(Object.keys(acme), ["tenant", "cluster", "state", "committed", "since", "served", "lagSeconds", "hosts", "detail"]);
    assert.deepEqual(acme["since"], commit);
    assert.equal((acme["committed"] as { sha256: string }).sha256, fingerprint(renewed));
    assert.equal((acme["served"] as { sha256: string }).sha256, fingerprint(old));
    assert.equal(typeof acme["lagSeconds"], "number");
    assert.deepEqual(
      (acme["hosts"] as Array<Record<string, unknown>>).map((h) => [h["host"], h["address"], h["state"], h["error"]]),
      [["acme.example.com", fixture.ingress.address, "stale", null]],
    );
  });

  it("exits 4 for an unreachable tenant, and --probe-timeout bounds the attempt", async () => {
    const closed = await closedPort();
    const r = await runCli(["status", "--repo", fixture.world.dir, "--probe-address", `*.example.com=${closed}`, "--probe-timeout", "2s", "--json"], { env: { PATH: process.env.PATH } });
    assert.equal(r.code, 4);
    const rows = JSON.parse(r.stdout) as Array<{ state: string; hosts: Array<{ error: { kind: string } }> }>;
    assert.deepEqual(rows.map((x) => x.state), ["unreachable", "unreachable"]);
    assert.deepEqual(rows.flatMap((x) => x.hosts.map((h) => h.error.kind)), ["refused", "refused", "refused"]);
  });

  it("refuses malformed --probe-address and --probe-timeout values with exit 2 before dialling anything", async () => {
    const before = fixture.ingress.seen.length;
    const bad = await runCli(["status", "--repo", fixture.world.dir, "--probe-address", "acme.example.com"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^wildseal: --probe-address "acme\.example\.com": expected HOST=ADDRESS:PORT/);
    const timeout = await runCli(["status", "--repo", fixture.world.dir, "--probe-timeout", "soon"]);
    assert.equal(timeout.code, 2);
    assert.match(timeout.stderr, /--probe-timeout "soon": not a duration/);
    assert.equal(fixture.ingress.seen.length, before);
  });

  it("says a folder without wildseal.yaml is not a repository (exit 1)", async () => {
    const r = await runCli(["status", "--repo", fixture.world.dir + "/tenants"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tenants is not a wildseal repository \(it has no wildseal.yaml\)/);
  });

  it("outside Git notes that stale cannot be told from foreign; an unrendered tenant is not probed and does not fail the run", async () => {
    const repo = exampleRepo();
    const r = await runCli(["status", "--repo", repo, "--probe-address", `*.example.com=${fixture.ingress.address}`, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (JSON.parse(r.stdout) as Array<{ tenant: string; state: string; hosts: unknown[] }>).map((x) => [x.tenant, x.state, x.hosts.length]),
      [
        ["acme", "not-rendered", 0],
        ["globex", "not-rendered", 0],
        ["initech", "not-rendered", 0],
      ],
    );
    assert.match(r.stderr, /^note: .* is not in a Git repository: an earlier certificate cannot be told from a foreign one, and the lag is unknown\n$/);
  });
});
