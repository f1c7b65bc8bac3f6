import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decideRemovals, defaultMaxRemovals, type Removal } from "../../src/render/removal-policy.ts";

const folders = (n: number): Removal[] => Array.from({ length: n }, (_, i) => ({ cluster: "prod", tenant: `t${i}` }));

describe("removal policy", () => {
  test("the default limit is 2, or 10% of the committed tenant folders when that is more", () => {
    assert.deepEqual([0, 1, 19, 29, 30, 100, 10_000].map(defaultMaxRemovals), [2, 2, 2, 2, 3, 10, 1000]);
  });

  test("nothing to remove, or --allow-removals, always goes ahead", () => {
    assert.equal(decideRemovals([], { kind: "held" }, 5).kind, "remove");
    assert.equal(decideRemovals(folders(500), { kind: "any" }, 500).kind, "remove");
  });

  test("an incomplete tenant set holds even a single removal, naming it", () => {
    const d = decideRemovals(folders(1), { kind: "held" }, 40);
    assert.equal(d.kind, "hold");
    if (d.kind !== "hold") return;
    assert.deepEqual({ path: d.diagnostic.path, line: d.diagnostic.line, col: d.diagnostic.col }, { path: "tenants", line: 1, col: 1 });
    assert.equal(d.diagnostic.reason, "removal-held");
    assert.match(d.diagnostic.message, /^removal of 1 tenant folder held \(t0 \(prod\)\): tenants\/ has problems/);
  });

  test("up to the limit goes ahead; one more holds them all and says how to confirm", () => {
    assert.equal(decideRemovals(folders(3), { kind: "limited", max: "default" }, 30).kind, "remove");
    const over = decideRemovals(folders(4), { kind: "limited", max: "default" }, 30);
    assert.equal(over.kind, "hold");
    if (over.kind === "hold") {
      assert.equal(over.diagnostic.reason, "removal-held");
      assert.match(over.diagnostic.message, /^4 tenant folders would be removed \(t0 \(prod\), t1 \(prod\), t2 \(prod\), t3 \(prod\)\), more than the default limit of 3 \(2, or 10% of the 30 tenant folders committed\).*--allow-removals/);
    }
    assert.equal(decideRemovals(folders(4), { kind: "limited", max: 4 }, 30).kind, "remove");
    const zero = decideRemovals(folders(1), { kind: "limited", max: 0 }, 30);
    assert.ok(zero.kind === "hold" && /more than --max-removals 0/.test(zero.diagnostic.message));
  });

  test("a long list of names is cut after ten, with a count of the rest", () => {
    const d = decideRemovals(folders(25), { kind: "held" }, 25);
    assert.ok(d.kind === "hold");
    if (d.kind === "hold") assert.match(d.diagnostic.message, /t9 \(prod\) and 15 more\)/);
  });
});
