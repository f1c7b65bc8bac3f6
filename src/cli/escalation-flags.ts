import { collect } from "./repeatable.ts";
import type { Command } from "commander";
import { UsageError } from "../errors.ts";
import { DEFAULT_ESCALATION_LABEL, isMention } from "../pipeline/escalation.ts";
import type { EscalationSettings } from "../pipeline/escalator.ts";

/** `watch`'s escalation flags (pipeline/escalation.ts decides, pipeline/escalator.ts acts). */
export interface EscalationFlags {
  readonly warnBefore: string;
  readonly escalateAfter: string;
  readonly escalateMention?: readonly string[];
  readonly escalationLabel: string;
}

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };
const MAX_MS = 366 * 86_400_000;

/**
 * Durations measured in days as well: `21d`, `72h`, `1d12h`, `90m`; units in decreasing order, each at
 * most once; at most 366d. `0` turns the check off. Anything else is a usage error.
 */
export function parseLongDuration(text: string, flag: string): number {
  const t = text.trim();
  if (t === "0") return 0;
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
  const bad = (why: string): never => {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: ${why} (e.g. 21d, 72h, 1d12h; 0 turns it off)`);
  };
  if (m === null || t === "") return bad("not a duration");
  const units = ["d", "h", "m", "s"];
  const ms = units.reduce((sum, unit, i) => sum + (m[i + 1] === undefined ? 0 : Number(m[i + 1]) * (UNIT_MS[unit] ?? 0)), 0);
  if (ms <= 0) bad("must be longer than zero");
  if (ms > MAX_MS) bad("must be at most 366d");
  return ms;
}

export function addEscalationOptions(command: Command): Command {
  return command
    .option("--warn-before <duration>", "escalate when the earliest served certificate expires within this long (0: never)", "21d")
    .option("--escalate-after <duration>", "pull-request mode: escalate when wildseal's pull request is still open after this long (0: never)", "72h")
    .option(
      "--escalate-mention <handle>",
      "pull-request mode: mention @user or @org/team in the escalation comment (repeat for more)",
      collect,
    )
    .option("--escalation-label <name>", "pull-request mode: label added to an escalated pull request", DEFAULT_ESCALATION_LABEL);
}

export function escalationFromFlags(f: EscalationFlags): EscalationSettings {
  const mentions = (f.escalateMention ?? []).map((m) => m.trim());
  for (const m of mentions) {
    if (!isMention(m)) throw new UsageError(`--escalate-mention ${JSON.stringify(m)}: not a GitHub handle; give @user or @org/team`);
  }
  const label = f.escalationLabel.trim();
  // GitHub's limit for a label name is 50 characters
  if (label === "" || label.length > 50) throw new UsageError(`--escalation-label ${JSON.stringify(f.escalationLabel)}: give a label name of 1 to 50 characters`);
  return {
    warnBeforeMs: parseLongDuration(f.warnBefore ?? "21d", "--warn-before"),
    escalateAfterMs: parseLongDuration(f.escalateAfter ?? "72h", "--escalate-after"),
    label,
    mentions,
  };
}

