import { test } from "node:test";
import assert from "node:assert/strict";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { parseTrailers } from "../../src/git/trailers.ts";
import { sync } from "../../src/pipeline/sync.ts";
import { pushAsPerson, remoteFile, remoteLog } from "../helpers/git-fixtures.ts";
import { makeSyncWorld, sourceOf, tenantYaml } from "./sync-world.ts";
import { captureLog } from "../helpers/capture-log.ts";

test("push mode: first sync commits with trailers, an idle sync commits nothing, a renewal reaches every tenant, a removal prunes", async () => {
  const world = await makeSyncWorld(["acme", "beta"]);
  try {
    const base = { repo: world.remote.path, branch: "main", delivery: { kind: "push" } as const, credentials: NO_CREDENTIALS };
    const first = await world.issue(30);

    const r1 = await sync({ ...base, source: sourceOf(first) });
    assert.equal(r1.kind, "pushed");
    const [tip] = remoteLog(world.remote.path, "main");
    assert.equal(tip?.message.split("\n")[0], "add tenants acme, beta");
    const trailers = parseTrailers(tip?.message ?? "");
    assert.deepEqual(trailers.actions, ["add"]);
    assert.deepEqual(trailers.tenants, ["acme", "beta"]);
    assert.equal(trailers.certSha256, first.leaf.sha256);

    const r2 = await sync({ ...base, source: sourceOf(first) });
    assert.equal(r2.kind, "unchanged");
    assert.equal(remoteLog(world.remote.path, "main").length, 2, "seed + one sync commit");

    const renewed = await world.issue(0);
    const r3 = await sync({ ...base, source: sourceOf(renewed) });
    assert.equal(r3.kind, "pushed");
    assert.deepEqual(parseTrailers(remoteLog(world.remote.path, "main")[0]?.message ?? "").actions, ["renew"]);
    const unsealed = world.unsealAll();
    assert.deepEqual([...unsealed.keys()].sort(), ["acme", "beta"]);
    for (const [tenant, s] of unsealed) {
      assert.ok(s.crt.equals(renewed.secret.data.get("tls.crt")?.reveal() ?? Buffer.alloc(1)), `${tenant} holds the renewed tls.crt`);
      assert.ok(s.key.equals(renewed.secret.data.get("tls.key")?.reveal() ?? Buffer.alloc(1)), `${tenant} holds the renewed tls.key`);
      assert.equal(s.namespace, tenant);
    }

    pushAsPerson(world.remote.path, "main", { "tenants/beta.yaml": null }, "offboard beta");
    const r4 = await sync({ ...base, source: sourceOf(renewed) });
    assert.equal(r4.kind, "pushed");
    assert.deepEqual(parseTrailers(remoteLog(world.remote.path, "main")[0]?.message ?? "").actions, ["remove"]);
    assert.equal(remoteFile(world.remote.path, "main", "rendered/prod-east/beta/sealed-secret.yaml"), undefined);
    assert.match(remoteFile(world.remote.path, "main", "rendered/prod-east/kustomization.yaml") ?? "", /- acme/);
    assert.doesNotMatch(remoteFile(world.remote.path, "main", "rendered/prod-east/kustomization.yaml") ?? "", /^\s+- beta$/m);
  } finally {
    world.cleanup();
  }
});

test("an invalid tenant is reported, the valid ones are still published, and its committed output is kept", async () => {
  const world = await makeSyncWorld(["acme", "beta"]);
  try {
    const base = { repo: world.remote.path, branch: "main", delivery: { kind: "push" } as const, credentials: NO_CREDENTIALS };
    const cert = await world.issue(10);
    await sync({ ...base, source: sourceOf(cert) });
    const betaBefore = remoteFile(world.remote.path, "main", "rendered/prod-east/beta/sealed-secret.yaml");
    pushAsPerson(
      world.remote.path,
      "main",
      { "tenants/beta.yaml": tenantYaml("beta", "  colour: blue\n"), "tenants/gamma.yaml": tenantYaml("gamma") },
      "onboard gamma, break beta",
    );
    const r = await sync({ ...base, source: sourceOf(cert) });
    assert.equal(r.kind, "pushed");
    assert.deepEqual(r.diagnostics.map((d) => `${d.path}:${d.line}`), ["tenants/beta.yaml:7"]);
    assert.ok(remoteFile(world.remote.path, "main", "rendered/prod-east/gamma/sealed-secret.yaml") !== undefined, "gamma published");
    assert.equal(remoteFile(world.remote.path, "main", "rendered/prod-east/beta/sealed-secret.yaml"), betaBefore, "beta untouched");
  } finally {
    world.cleanup();
  }
});

test("a certificate older than the committed one is not published", async () => {
  const world = await makeSyncWorld(["acme"]);
  try {
    const base = { repo: world.remote.path, branch: "main", delivery: { kind: "push" } as const, credentials: NO_CREDENTIALS };
    const newer = await world.issue(1);
    const older = await world.issue(20);
    await sync({ ...base, source: sourceOf(newer) });
    const before = remoteLog(world.remote.path, "main").length;
    const r = await sync({ ...base, source: sourceOf(older) });
    assert.equal(r.kind, "unchanged");
    assert.equal(remoteLog(world.remote.path, "main").length, before);
    assert.ok(r.diagnostics.some((d) => /older|downgrade/i.test(d.message)), JSON.stringify(r.diagnostics));
    for (const s of world.unsealAll().values()) assert.ok(s.crt.equals(newer.secret.data.get("tls.crt")?.reveal() ?? Buffer.alloc(1)));
  } finally {
    world.cleanup();
  }
});

test("a hand edit of a generated cluster index is repaired and the repair is committed", async () => {
  const world = await makeSyncWorld(["acme"]);
  try {
    const base = { repo: world.remote.path, branch: "main", delivery: { kind: "push" } as const, credentials: NO_CREDENTIALS };
    const cert = await world.issue(5);
    await sync({ ...base, source: sourceOf(cert) });
    const generated = remoteFile(world.remote.path, "main", "rendered/prod-east/kustomization.yaml");
    pushAsPerson(world.remote.path, "main", { "rendered/prod-east/kustomization.yaml": `${generated}  - rogue\n` }, "hand edit");
    const r = await sync({ ...base, source: sourceOf(cert) });
    assert.equal(r.kind, "pushed");
    assert.equal(remoteFile(world.remote.path, "main", "rendered/prod-east/kustomization.yaml"), generated);
    const tip = remoteLog(world.remote.path, "main")[0]?.message ?? "";
    assert.deepEqual(parseTrailers(tip).actions, ["update"]);
    assert.deepEqual(parseTrailers(tip).tenants, ["acme"]);
  } finally {
    world.cleanup();
  }
});

test("sync narrates through the one Log shape: its own lines, and the clone's and push's on a { component: \"git\" } child", async () => {
  const world = await makeSyncWorld(["acme"]);
  try {
    const { log, lines: json } = captureLog();
    const r = await sync({ repo: world.remote.path, branch: "main", delivery: { kind: "push" }, credentials: NO_CREDENTIALS, source: sourceOf(await world.issue(5)), log });
    assert.equal(r.kind, "pushed");
    // level, message and the binding that says who spoke (pino adds the time)
    const lines = json.map((l) => {
      const { level, msg, component } = JSON.parse(l) as { level: string; msg: string; component?: string };
      return component === undefined ? { level, msg } : { level, msg, component };
    });
    const find = (prefix: string) => lines.find((l) => l.msg.startsWith(prefix));
    assert.deepEqual(find("git: cloning"), { level: "debug", msg: `git: cloning ${world.remote.path} (branch main)`, component: "git" });
    assert.equal(find("git: pushed")?.component, "git");
    assert.equal(find("certificate *.example.com")?.component, undefined, "sync's own lines carry what its caller bound (watch: sync)");
    assert.match(find("pushed ")?.msg ?? "", /^pushed [0-9a-f]{12} to .* main: add tenant acme$/);
  } finally {
    world.cleanup();
  }
});
