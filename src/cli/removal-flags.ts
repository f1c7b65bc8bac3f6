import type { Command } from "commander";
import { UsageError } from "../errors.ts";
import { DEFAULT_REMOVAL_LIMIT, type RemovalLimit } from "../render/removal-policy.ts";

/** `--max-removals N` and `--allow-removals`: shared by render, sync and watch. */
export interface RemovalFlags {
  readonly maxRemovals?: string;
  readonly allowRemovals?: boolean;
}

export function addRemovalOptions(command: Command): Command {
  return command
    .option(
      "--max-removals <n>",
      "remove at most N tenant folders in one run; more are all kept and reported (exit 1) (default: 2, or 10% of the committed tenant folders, whichever is more)",
    )
    .option("--allow-removals", "remove every tenant folder whose tenant file is gone, however many (tenants/ must still be free of problems)");
}

export function removalsFromFlags(f: RemovalFlags): RemovalLimit {
  if (f.allowRemovals === true) {
    if (f.maxRemovals !== undefined) throw new UsageError("give --max-removals or --allow-removals, not both");
    return { kind: "any" };
  }
  if (f.maxRemovals === undefined) return DEFAULT_REMOVAL_LIMIT;
  const n = Number(f.maxRemovals);
  if (!/^\d+$/.test(f.maxRemovals) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--max-removals must be a whole number (0 or more), got "${f.maxRemovals}"`);
  }
  return { kind: "limited", max: n };
}
