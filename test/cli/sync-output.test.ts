/**
 * What `wildseal sync` prints on stdout says what happened: counts in words ("1 tenant",
 * "2 tenants"), held tenants as held, and a sync that exits 1 never calls itself "unchanged".
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { git, pushAsPerson, remoteLog, tempDir } from "../helpers/git-fixtures.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { makeSyncWorld, tenantYaml, type SyncWorld } from "../pipeline/sync-world.ts";
import { runCli } from "./run-cli.ts";

describe("sync's summary on stdout", () => {
  let world: SyncWorld;
  let scratch: { path: string; cleanup(): void };
  let source: string;
  let baseline: string;
  const sync = () => runCli(["sync", "--repo", world.remote.path, "--source-file", source]);
  const resetToBaseline = () => git(world.remote.path, ["update-ref", "refs/heads/main", baseline]);

  before(async () => {
    world = await makeSyncWorld(["acme", "beta"]);
    scratch = tempDir("wildseal-sync-output-");
    const m = await world.issue(10);
    const item = (name: string) => m.secret.data.get(name)?.reveal() ?? Buffer.alloc(0);
    source = writeSourceSecret(scratch.path, item("tls.crt"), item("tls.key"));
    const first = await sync();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^pushed [0-9a-f]{40} to main: add tenants acme, beta \(2 tenants changed\)\n$/);
    baseline = remoteLog(world.remote.path, "main")[0]?.sha ?? "";
  });
  after(() => {
    world.cleanup();
    scratch.cleanup();
  });

  test("one tenant added says '1 tenant changed'; nothing to do says 'unchanged' with the tenant count", async () => {
    resetToBaseline();
    pushAsPerson(world.remote.path, "main", { "tenants/gamma.yaml": tenantYaml("gamma") }, "onboard gamma");
    const added = await sync();
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^pushed [0-9a-f]{40} to main: add tenant gamma \(1 tenant changed\)\n$/);
    const again = await sync();
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, "unchanged: the branch already holds this rendered tree (3 tenants)\n");
  });

  test("an invalid tenant file: exit 1, stdout says not published and how many tenants are held, never 'unchanged'", async () => {
    resetToBaseline();
    pushAsPerson(world.remote.path, "main", { "tenants/beta.yaml": tenantYaml("beta", "bogus: 1\n") }, "break beta");
    const r = await sync();
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "not published: 1 problem (on stderr) held changes back; 1 of 2 tenants held\n");
    assert.match(r.stderr, /^tenants\/beta\.yaml:7:1: unknown field bogus/m);
    assert.equal(remoteLog(world.remote.path, "main")[0]?.author.startsWith("Pat Person"), true, "nothing was committed");
  });

  test("a held removal: exit 1 and stdout never says 'unchanged'", async () => {
    resetToBaseline();
    pushAsPerson(world.remote.path, "main", { "tenants/acme.yaml": null, "tenants/Bad.yaml": "x: 1\n" }, "remove acme, add a bad file");
    const r = await sync();
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stdout, /unchanged/);
    assert.match(r.stdout, /^not published: \d+ problems \(on stderr\) held changes back/);
    assert.match(r.stderr, /^tenants:1:1: removal of 1 tenant folder held \(acme \(prod-east\)\)/m);
  });

  test("a push beside a held tenant counts both: '1 tenant changed, 1 held', exit 1", async () => {
    resetToBaseline();
    pushAsPerson(
      world.remote.path,
      "main",
      { "tenants/gamma.yaml": tenantYaml("gamma"), "tenants/beta.yaml": tenantYaml("beta", "bogus: 1\n") },
      "onboard gamma, break beta",
    );
    const r = await sync();
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^pushed [0-9a-f]{40} to main: add tenant gamma \(1 tenant changed, 1 held\)\n$/);
  });
});
