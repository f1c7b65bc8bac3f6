import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  commentedReasons,
  decideEscalation,
  escalationComment,
  escalationMarker,
  humanDuration,
  isMention,
  pullRequestEffects,
  type EscalationFacts,
  type EscalationPolicy,
  type PendingPullRequest,
} from "../../src/pipeline/escalation.ts";
import { parseLongDuration } from "../../src/cli/escalation-flags.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = new Date("2026-12-01T12:00:00Z");
const POLICY: EscalationPolicy = { warnBeforeMs: 21 * DAY, escalateAfterMs: 72 * HOUR };
const at = (ms: number): Date => new Date(NOW.getTime() + ms);
const pr = (ageMs: number, more: Partial<PendingPullRequest> = {}): PendingPullRequest => ({
  number: 7,
  createdAt: at(-ageMs),
  state: "open",
  labels: ["wildseal"],
  ...more,
});

describe("the escalation decision", () => {
  const cases: Array<{ name: string; facts: Omit<EscalationFacts, "now">; policy?: EscalationPolicy; expiry: boolean; pullRequest: boolean; says?: RegExp }> = [
    { name: "nothing known: quiet", facts: { notAfter: undefined, pullRequest: undefined }, expiry: false, pullRequest: false },
    { name: "served notAfter 30 days away: quiet", facts: { notAfter: { at: at(30 * DAY), source: "served" }, pullRequest: undefined }, expiry: false, pullRequest: false },
    { name: "served notAfter exactly 21 days away: warns (the window includes its edge)", facts: { notAfter: { at: at(21 * DAY), source: "served" }, pullRequest: undefined }, expiry: true, pullRequest: false, says: /earliest certificate served to tenants .* expires in 21d/ },
    { name: "served notAfter 20 days away: warns", facts: { notAfter: { at: at(20 * DAY), source: "served" }, pullRequest: undefined }, expiry: true, pullRequest: false },
    { name: "already expired: warns and says so", facts: { notAfter: { at: at(-2 * DAY), source: "committed" }, pullRequest: undefined }, expiry: true, pullRequest: false, says: /branch holds .* expired 2d ago/ },
    { name: "warning disabled with 0", facts: { notAfter: { at: at(DAY), source: "served" }, pullRequest: undefined }, policy: { ...POLICY, warnBeforeMs: 0 }, expiry: false, pullRequest: false },
    { name: "open PR 71h old: quiet", facts: { notAfter: undefined, pullRequest: pr(71 * HOUR) }, expiry: false, pullRequest: false },
    { name: "open PR exactly 72h old: quiet (older than, not as old as)", facts: { notAfter: undefined, pullRequest: pr(72 * HOUR) }, expiry: false, pullRequest: false },
    { name: "open PR 73h old: escalates", facts: { notAfter: undefined, pullRequest: pr(73 * HOUR) }, expiry: false, pullRequest: true, says: /#7 is unmerged after 3d 1h/ },
    { name: "merged PR, however old: quiet", facts: { notAfter: undefined, pullRequest: pr(30 * DAY, { state: "merged" }) }, expiry: false, pullRequest: false },
    { name: "closed PR, however old: quiet", facts: { notAfter: undefined, pullRequest: pr(30 * DAY, { state: "closed" }) }, expiry: false, pullRequest: false },
    { name: "PR escalation disabled with 0", facts: { notAfter: undefined, pullRequest: pr(30 * DAY) }, policy: { ...POLICY, escalateAfterMs: 0 }, expiry: false, pullRequest: false },
    { name: "both at once", facts: { notAfter: { at: at(5 * DAY), source: "source" }, pullRequest: pr(4 * DAY) }, expiry: true, pullRequest: true },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const d = decideEscalation({ now: NOW, ...c.facts }, c.policy ?? POLICY);
      assert.equal(d.expiry.kind === "active", c.expiry, d.expiry.message);
      assert.equal(d.pullRequest.kind === "active", c.pullRequest, d.pullRequest.message);
      if (c.says !== undefined) {
        const active = [d.expiry, d.pullRequest].filter((v) => v.kind === "active").map((v) => v.message);
        assert.ok(active.some((m) => c.says?.test(m) === true), active.join(" | "));
      }
    });
  }
});

describe("what is owed on the pull request", () => {
  const label = "wildseal-escalated";
  test("a first escalation owes a comment for each active reason and the label", () => {
    const p = pr(4 * DAY);
    const d = decideEscalation({ now: NOW, notAfter: { at: at(DAY), source: "served" }, pullRequest: p }, POLICY);
    assert.deepEqual(pullRequestEffects(d, p, new Set(), label), { comment: ["expiry", "pull-request"], addLabel: true });
  });

  test("reasons already commented and a label already on (any case) owe nothing", () => {
    const p = pr(4 * DAY, { labels: ["Wildseal-Escalated"] });
    const d = decideEscalation({ now: NOW, notAfter: undefined, pullRequest: p }, POLICY);
    assert.deepEqual(pullRequestEffects(d, p, new Set(["pull-request"]), label), { comment: [], addLabel: false });
  });

  test("an expiry warning after the PR escalation owes only the expiry comment", () => {
    const p = pr(4 * DAY, { labels: [label] });
    const d = decideEscalation({ now: NOW, notAfter: { at: at(DAY), source: "served" }, pullRequest: p }, POLICY);
    assert.deepEqual(pullRequestEffects(d, p, new Set(["pull-request"]), label), { comment: ["expiry"], addLabel: false });
  });

  test("a merged PR is owed nothing even while the certificate expires", () => {
    const p = pr(4 * DAY, { state: "merged" });
    const d = decideEscalation({ now: NOW, notAfter: { at: at(DAY), source: "served" }, pullRequest: p }, POLICY);
    assert.equal(d.expiry.kind, "active");
    assert.deepEqual(pullRequestEffects(d, p, new Set(), label), { comment: [], addLabel: false });
  });

  test("nothing active owes nothing", () => {
    const p = pr(HOUR);
    const d = decideEscalation({ now: NOW, notAfter: { at: at(60 * DAY), source: "served" }, pullRequest: p }, POLICY);
    assert.deepEqual(pullRequestEffects(d, p, new Set(), label), { comment: [], addLabel: false });
  });
});

describe("the escalation comment", () => {
  test("carries each reason's hidden marker, its message and the mentions; the markers are found again", () => {
    const p = pr(4 * DAY);
    const d = decideEscalation({ now: NOW, notAfter: { at: at(DAY), source: "served" }, pullRequest: p }, POLICY);
    const body = escalationComment(d, ["expiry", "pull-request"], ["@acme/platform", "@alice"]);
    assert.ok(body.includes(escalationMarker("expiry")) && body.includes(escalationMarker("pull-request")));
    assert.ok(body.includes(d.expiry.message) && body.includes(d.pullRequest.message));
    assert.match(body, /^cc @acme\/platform @alice$/m);
    assert.deepEqual([...commentedReasons(["unrelated", body])].sort(), ["expiry", "pull-request"]);
    assert.deepEqual([...commentedReasons([escalationComment(d, ["pull-request"], [])])], ["pull-request"]);
    assert.doesNotMatch(escalationComment(d, ["pull-request"], []), /cc /);
  });

  test("mentions are GitHub handles", () => {
    for (const ok of ["@alice", "@acme/platform-team", "@a-b/c.d_e"]) assert.ok(isMention(ok), ok);
    for (const bad of ["alice", "@", "@-x", "@acme/", "@a/b/c", "@alice bob"]) assert.ok(!isMention(bad), bad);
  });
});

describe("durations", () => {
  test("human durations for log lines", () => {
    assert.equal(humanDuration(21 * DAY), "21d");
    assert.equal(humanDuration(3 * DAY + 5 * HOUR + 59_000), "3d 5h");
    assert.equal(humanDuration(5 * HOUR), "5h");
    assert.equal(humanDuration(12_000), "1m");
  });

  test("--warn-before and --escalate-after take days, 0 turns them off, nonsense is refused with an example", () => {
    assert.equal(parseLongDuration("21d", "--warn-before"), 21 * DAY);
    assert.equal(parseLongDuration("72h", "--escalate-after"), 72 * HOUR);
    assert.equal(parseLongDuration("1d12h30m", "--escalate-after"), 36.5 * HOUR);
    assert.equal(parseLongDuration("0", "--warn-before"), 0);
    for (const bad of ["", "21", "3w", "12h1d", "0d", "400d", "-1d"]) {
      assert.throws(() => parseLongDuration(bad, "--warn-before"), /--warn-before .*e\.g\. 21d/, bad);
    }
  });
});
