import { test } from "node:test";
import assert from "node:assert/strict";
import { escalationFromFlags } from "../../src/cli/escalation-flags.ts";
import { runCli } from "./run-cli.ts";

const DAY = 86_400_000;

test("watch's escalation flags: defaults 21d, 72h and the wildseal-escalated label; mentions repeat", () => {
  assert.deepEqual(escalationFromFlags({ warnBefore: "21d", escalateAfter: "72h", escalationLabel: "wildseal-escalated" }), {
    warnBeforeMs: 21 * DAY,
    escalateAfterMs: 3 * DAY,
    label: "wildseal-escalated",
    mentions: [],
  });
  const s = escalationFromFlags({ warnBefore: "0", escalateAfter: "1d", escalationLabel: "urgent", escalateMention: ["@acme/platform", "@alice"] });
  assert.deepEqual(s, { warnBeforeMs: 0, escalateAfterMs: DAY, label: "urgent", mentions: ["@acme/platform", "@alice"] });
});

test("bad escalation flags exit 2 before anything starts, saying which flag and what to give", async () => {
  const base = ["watch", "--repo", "/nonexistent/remote.git", "--source-file", "/nonexistent/secret.yaml"];
  const cases: Array<[string[], RegExp]> = [
    [[...base, "--warn-before", "3 weeks"], /--warn-before "3 weeks": not a duration \(e\.g\. 21d, 72h/],
    [[...base, "--escalate-after", "400d"], /--escalate-after "400d": must be at most 366d/],
    [[...base, "--escalate-mention", "platform-team"], /--escalate-mention "platform-team": not a GitHub handle; give @user or @org\/team/],
    [[...base, "--escalation-label", "x".repeat(51)], /--escalation-label .*1 to 50 characters/],
  ];
  for (const [argv, message] of cases) {
    const r = await runCli(argv);
    assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
