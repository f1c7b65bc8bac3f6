import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCommitList, parseGrepOutput, sinceAndEarlier, tenantVersions } from "../../src/rollout/history.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);
const c = (n: number): string => String(n).repeat(40);

describe("certificate history", () => {
  it("reads git grep -z lines per commit and tenant, quoted or not, ignoring files outside <output>/<cluster>/<tenant>/", () => {
    const out = [
      `${c(1)}:rendered/prod/acme/sealed-secret.yaml\0    wildseal.dev/cert-sha256: ${A}`,
      `${c(1)}:rendered/prod/acme/sealed-secret.yaml\0        wildseal.dev/cert-sha256: "${A.toUpperCase()}"`,
      `${c(1)}:rendered/prod/beta/sealed-secret.yaml\0    wildseal.dev/cert-sha256: '${B}'`,
      `${c(1)}:rendered/kustomization.yaml\0    wildseal.dev/cert-sha256: ${C}`,
      `${c(2)}:other/prod/acme/x.yaml\0    wildseal.dev/cert-sha256: ${C}`,
      `${c(2)}:rendered/prod/acme/x.yaml\0    wildseal.dev/cert-sha256: not-a-hash`,
      "",
    ].join("\n");
    const got = parseGrepOutput(out, "rendered");
    assert.deepEqual(
      [...got].map(([k, v]) => [k, [...v].map(([t, s]) => [t, [...s]])]),
      [[c(1), [["prod/acme", [A]], ["prod/beta", [B]]]]],
    );
  });

  it("finds the commit that brought the current certificate and the tenant's earlier ones", () => {
    const commits = parseCommitList(`${c(3)}\x1f2026-12-03T10:00:00+01:00\n${c(2)}\x1f2026-12-02T09:00:00Z\n${c(1)}\x1f2026-12-01T09:00:00Z\n`);
    assert.deepEqual(commits[0], { commit: c(3), date: "2026-12-03T09:00:00Z" });
    const grep = new Map([
      [c(3), new Map([["prod/acme", new Set([B])]])], // a reseal: same certificate
      [c(2), new Map([["prod/acme", new Set([B])]])], // the renewal
      [c(1), new Map([["prod/acme", new Set([A])]])],
    ]);
    const versions = tenantVersions(commits, grep).get("prod/acme") ?? [];
    assert.deepEqual(sinceAndEarlier(versions, B), { since: { commit: c(2), date: "2026-12-02T09:00:00Z" }, earlier: [A] });
    assert.deepEqual(sinceAndEarlier(versions, C), { since: null, earlier: [A, B] }, "not committed yet");
    assert.deepEqual(sinceAndEarlier([], A), { since: null, earlier: [] });
  });
});
