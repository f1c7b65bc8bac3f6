import { UsageError } from "../errors.ts";
import { type CommitSummary, summaryActions } from "./trailers.ts";

/** Prefix of the branches wildseal owns for pull requests: the only ones it ever force-pushes. */
export const REVIEW_BRANCH_PREFIX = "wildseal/";

const MAX_BRANCH_LENGTH = 200;

/**
 * The reason `name` is not a usable branch name (git check-ref-format rules for `refs/heads/<name>`,
 * plus: no leading `-`, which git would read as an option, and not `HEAD`), or undefined when it is.
 */
export function branchNameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (name.length > MAX_BRANCH_LENGTH) return `is longer than ${MAX_BRANCH_LENGTH} characters`;
  if (name.startsWith("-")) return "starts with '-' (it would be read as an option)";
  if (name === "HEAD" || name === "@") return `is the reserved name ${name}`;
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(name)) return "contains a space, a control character or one of ~ ^ : ? * [ \\";
  if (name.includes("..")) return "contains '..'";
  if (name.includes("@{")) return "contains '@{'";
  if (name.startsWith("/") || name.endsWith("/") || name.includes("//")) return "has an empty path component";
  if (name.endsWith(".")) return "ends with '.'";
  for (const part of name.split("/")) {
    if (part.startsWith(".")) return `has a component starting with '.' (${part})`;
    if (part.endsWith(".lock")) return `has a component ending with '.lock' (${part})`;
  }
  return undefined;
}

/** Throws UsageError unless `name` is a valid branch name. */
export function validateBranchName(name: string, what = "branch"): string {
  const problem = branchNameProblem(name);
  if (problem !== undefined) throw new UsageError(`${what} ${JSON.stringify(name)} ${problem}`);
  return name;
}

/**
 * The pull-request branch for a change: `wildseal/<actions>-<first 12 hex of the leaf's SHA-256>`,
 * e.g. `wildseal/renew-3f2a9c0b71de`. The same change always maps to the same branch, so a rerun
 * updates the open pull request instead of opening another.
 */
export function reviewBranchName(s: CommitSummary): string {
  return `${REVIEW_BRANCH_PREFIX}${summaryActions(s).join("-")}-${s.certSha256.toLowerCase().slice(0, 12)}`;
}

export function isReviewBranch(name: string): boolean {
  return name.startsWith(REVIEW_BRANCH_PREFIX) && name.length > REVIEW_BRANCH_PREFIX.length;
}
