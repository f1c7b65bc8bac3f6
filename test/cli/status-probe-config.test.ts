import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "./run-cli.ts";
import { CONFIG } from "../pipeline/sync-world.ts";
import { closedPort, startLoopbackIngress, type LoopbackIngress } from "../rollout/loopback-ingress.ts";
import { makeRolloutWorld, type RolloutWorld } from "../rollout/rollout-world.ts";

/**
 * `wildseal status` dialling where wildseal.yaml says (spec.probe.addresses, clusters[].probe.address),
 * and `--probe-address` winning over it, against a loopback ingress. The config is rewritten in the
 * work tree between cases: status reads wildseal.yaml from there, as it reads the rendered output.
 */

let world: RolloutWorld;
let ingress: LoopbackIngress;
let closed: string;
before(async () => {
  [world, ingress, closed] = await Promise.all([makeRolloutWorld(), startLoopbackIngress(), closedPort()]);
  const leaf = await world.issue();
  await world.publish(leaf);
  for (const h of ["acme.example.com", "globex.example.com", "shop.example.com"]) ingress.serve(h, leaf);
});
after(async () => {
  await ingress.close();
  world.cleanup();
});

const withCluster = (lines: string): string => CONFIG.replace("      sealingCert: clusters/prod-east/sealed-secrets.pem\n", `      sealingCert: clusters/prod-east/sealed-secrets.pem\n${lines}`);
const withAddresses = (config: string, ...rules: string[]): string => `${config}  probe:\n    addresses:\n${rules.map((r) => `      - "${r}"\n`).join("")}`;
const useConfig = (text: string): void => writeFileSync(join(world.dir, "wildseal.yaml"), text);

interface Row {
  readonly tenant: string;
  readonly state: string;
  readonly hosts: ReadonlyArray<{ readonly host: string; readonly address: string }>;
}
async function status(...flags: string[]): Promise<{ code: number; rows: Row[]; stderr: string }> {
  const r = await runCli(["status", "--repo", world.dir, "--json", "--probe-timeout", "5s", ...flags], { env: { PATH: process.env.PATH } });
  return { code: r.code, rows: r.stdout === "" ? [] : (JSON.parse(r.stdout) as Row[]), stderr: r.stderr };
}
const dialled = (rows: readonly Row[]) => rows.flatMap((r) => r.hosts.map((h) => [r.tenant, r.state, h.host, h.address]));

describe("wildseal status with probe addresses in wildseal.yaml", () => {
  it("dials where spec.probe.addresses says when no --probe-address is given", async () => {
    useConfig(withAddresses(CONFIG, `*.example.com=${ingress.address}`));
    const seen = ingress.seen.length;
    const r = await status();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(dialled(r.rows), [
      ["acme", "current", "acme.example.com", ingress.address],
      ["globex", "current", "globex.example.com", ingress.address],
      ["globex", "current", "shop.example.com", ingress.address],
    ]);
    assert.deepEqual(ingress.seen.slice(seen).sort(), ["acme.example.com", "globex.example.com", "shop.example.com"], "each host once, with itself as SNI");
  });

  it("dials every host of a cluster's tenants at the cluster's probe.address", async () => {
    useConfig(withCluster(`      probe: {address: "${ingress.address}"}\n`));
    const r = await status();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      dialled(r.rows).map(([, state, , address]) => [state, address]),
      [
        ["current", ingress.address],
        ["current", ingress.address],
        ["current", ingress.address],
      ],
    );
  });

  it("a --probe-address flag wins over the file, host by host; an exact file rule wins over the cluster's address", async () => {
    useConfig(withAddresses(withCluster(`      probe: {address: "${closed}"}\n`), `*.example.com=${closed}`, `shop.example.com=${ingress.address}`));
    const r = await status("--probe-address", `acme.example.com=${ingress.address}`);
    assert.equal(r.code, 4, "globex.example.com is dialled at the file's closed port");
    assert.deepEqual(dialled(r.rows), [
      ["acme", "current", "acme.example.com", ingress.address],
      ["globex", "unreachable", "globex.example.com", closed],
      ["globex", "unreachable", "shop.example.com", ingress.address],
    ]);

    const all = await status("--probe-address", `*.example.com=${ingress.address}`);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(new Set(dialled(all.rows).map(([, state, , address]) => `${state} ${address}`)), new Set([`current ${ingress.address}`]));
  });

  it("refuses a malformed entry at its path:line:col before dialling anything (exit 1)", async () => {
    useConfig(withAddresses(CONFIG, "*.example.com=10.0.0.7:99999"));
    const seen = ingress.seen.length;
    const r = await status();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wildseal\.yaml:12:9: spec\.probe\.addresses\[\] "\*\.example\.com=10\.0\.0\.7:99999": port "99999" is not a number from 1 to 65535; write HOST=ADDRESS\[:PORT\]/);
    assert.equal(ingress.seen.length, seen);
  });
});

describe("wildseal status: a host served in two clusters", () => {
  it("is dialled once per cluster, each at its own cluster's probe.address", async () => {
    // the same host name in two clusters (split-horizon: each cluster's ingress serves its own copy)
    const config = withCluster(`      probe: {address: "ADDRESS_EAST"}
    - name: prod-west
      sealingCert: clusters/prod-west/sealed-secrets.pem
      probe: {address: "ADDRESS_WEST"}
`);
    const two = await makeRolloutWorld(
      [
        { name: "acme", hosts: ["acme.example.com"] },
        { name: "hooli", cluster: "prod-west", hosts: ["acme.example.com"] },
      ],
      config.replace("ADDRESS_EAST", ingress.address).replace("ADDRESS_WEST", closed),
    );
    try {
      mkdirSync(join(two.dir, "clusters", "prod-west"));
      writeFileSync(join(two.dir, "clusters", "prod-west", "sealed-secrets.pem"), readFileSync(join(two.dir, "clusters", "prod-east", "sealed-secrets.pem")));
      const leaf = await two.issue();
      ingress.serve("acme.example.com", leaf);
      await two.publish(leaf);
      const r = await runCli(["status", "--repo", two.dir, "--json", "--probe-timeout", "5s"], { env: { PATH: process.env.PATH } });
      assert.equal(r.code, 4, "hooli's cluster address is closed");
      assert.deepEqual(dialled(JSON.parse(r.stdout) as Row[]), [
        ["acme", "current", "acme.example.com", ingress.address],
        ["hooli", "unreachable", "acme.example.com", closed],
      ]);
      assert.doesNotMatch(r.stderr, /different addresses/);
    } finally {
      two.cleanup();
    }
  });
});
