import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { commitAndPush, type Rendered, withWorkspace } from "../../src/git/workspace.ts";
import { type BareRemote, git, makeBareRemote, writeFiles } from "../helpers/git-fixtures.ts";

/**
 * What a sync pushes is mostly sealed ciphertext, which deltas against nothing, so the workspace
 * pushes without delta search (clone.ts CLONE_CONFIG, pack.window=0): at 10,000 tenants that search
 * was most of the push's time and saved no bytes (bench/sync.ts --trace).
 */

const remotes: BareRemote[] = [];
after(() => {
  for (const r of remotes) r.cleanup();
});

/** Files git would gladly deltify against each other: one long shared body, one line apart. */
const BODY = Array.from({ length: 200 }, (_, i) => `line ${i} of a long shared manifest body\n`).join("");
const TENANTS = Array.from({ length: 30 }, (_, i) => `t${i}`);

function render(dir: string): Promise<Rendered<undefined>> {
  writeFiles(dir, Object.fromEntries(TENANTS.map((t) => [`rendered/prod/${t}/sealed-secret.yaml`, `name: ${t}\n${BODY}`])));
  const summary = { changes: [{ action: "add" as const, tenants: TENANTS }], certSha256: "c0ffee".padEnd(64, "0"), certNotAfter: new Date("2026-06-01T00:00:00Z"), domain: "*.example.com" };
  return Promise.resolve({ summary, value: undefined });
}

/** Objects stored as deltas in the packs of `bare` (`git verify-pack -v` gives them a depth and a base). */
function deltasIn(bare: string): number {
  const packs = readdirSync(join(bare, "objects", "pack")).filter((f) => f.endsWith(".idx"));
  assert.ok(packs.length > 0, "the remote kept the pushed pack");
  return packs
    .map((p) => git(bare, ["verify-pack", "-v", join("objects", "pack", p)]))
    .join("")
    .split("\n")
    .filter((l) => /^[0-9a-f]{40,64} (blob|tree|commit|tag) +\d+ \d+ \d+ \d+ [0-9a-f]{40,64}$/.test(l)).length;
}

describe("the workspace's push", () => {
  it("sends the rendered files whole, without searching for deltas", async () => {
    const r = makeBareRemote({ files: { "wildseal.yaml": "kind: Config\n" } });
    remotes.push(r);
    // keep every received pack as it came (no unpacking into loose objects) so that it can be inspected
    git(r.path, ["config", "receive.unpackLimit", "1"]);
    const pushed = await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) => commitAndPush(ws, { render }));
    assert.equal(pushed.kind, "pushed");
    assert.equal(deltasIn(r.path), 0);
    // the files are deltifiable: git's default packing of the same commit stores most of them as deltas
    const repacked = git(r.path, ["-c", "pack.window=10", "repack", "-a", "-d", "-f", "-q"]);
    assert.equal(repacked, "");
    assert.ok(deltasIn(r.path) >= TENANTS.length - 1, "git deltifies these files by default");
  });
});
