/**
 * Finding 6's reproduction: several `wildseal sync` runs racing against one bare remote. Each push
 * loses either as a non-fast-forward or, when two receive-packs overlap, on the branch's ref lock;
 * both must end in a re-render on the new tip, never in exit 3 or a lost commit.
 */
import assert from "node:assert/strict";
import { lineLog } from "../../src/line-log.ts";
import { test } from "node:test";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { sync, type SyncOutcome } from "../../src/pipeline/sync.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";
import { isAncestor, remoteLog } from "../helpers/git-fixtures.ts";
import { makeSyncWorld, sourceOf } from "../pipeline/sync-world.ts";

const SYNCS = 3;
const ROUNDS = 3;

test(`${SYNCS} concurrent syncs x ${ROUNDS} rounds all succeed; the history is linear and keeps every pushed commit`, { timeout: 60_000 }, async (t) => {
  const world = await makeSyncWorld(["acme", "beta"]);
  try {
    // each round's certificates are newer than the last round's, and the last sync's is the newest:
    // every sync has something to commit, so every round has pushes racing each other
    const certs: TlsMaterial[][] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const row: TlsMaterial[] = [];
      for (let i = 0; i < SYNCS; i++) row.push(await world.issue(60 - (round * SYNCS + i)));
      certs.push(row);
    }
    const lines: string[] = [];
    const pushed: string[] = [];
    const started = performance.now();
    for (const [round, row] of certs.entries()) {
      const outcomes = await Promise.allSettled(
        row.map((cert, i) =>
          sync({
            repo: world.remote.path,
            branch: "main",
            delivery: { kind: "push" },
            credentials: NO_CREDENTIALS,
            source: sourceOf(cert),
            log: lineLog((l) => lines.push(`round ${round} sync ${i}: ${l}`)),
          }),
        ),
      );
      const failed = outcomes.flatMap((o) => (o.status === "rejected" ? [String(o.reason)] : []));
      assert.deepEqual(failed, [], `round ${round}: every sync succeeds`);
      const done = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : [])) as SyncOutcome[];
      for (const o of done) if (o.kind === "pushed") pushed.push(o.commit);
      assert.ok(done.some((o) => o.kind === "pushed"), `round ${round}: something was pushed`);
      // whoever pushed last, the branch ends with the newest certificate of the round
      const newest = row[SYNCS - 1]?.secret.data.get("tls.crt")?.reveal() ?? Buffer.alloc(1);
      for (const [tenant, s] of world.unsealAll()) assert.ok(s.crt.equals(newest), `round ${round}: ${tenant} holds the newest certificate`);
    }
    const elapsed = performance.now() - started;

    const log = remoteLog(world.remote.path, "main");
    assert.ok(log.every((c) => c.parents.length <= 1), "no merge commits");
    for (let i = 0; i + 1 < log.length; i++) assert.equal(log[i]?.parents[0], log[i + 1]?.sha, "one first-parent chain");
    assert.equal(log.length, 1 + pushed.length, "the seed plus exactly the commits the syncs reported");
    for (const c of pushed) assert.ok(isAncestor(world.remote.path, c, "refs/heads/main"), `${c} is kept`);

    const lockRaces = lines.filter((l) => /got there first/.test(l)).length;
    const moved = lines.filter((l) => /moved on/.test(l)).length;
    t.diagnostic(
      `${SYNCS * ROUNDS} syncs in ${Math.round(elapsed)} ms: ${pushed.length} pushed, ${moved} non-fast-forward retries, ${lockRaces} ref-update race retries (each of those exited 3 before the fix)`,
    );
  } finally {
    world.cleanup();
  }
});
