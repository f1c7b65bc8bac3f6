/**
 * The workspace API in one import: a private clone (clone.ts) and publishing from it (publish.ts).
 * The commit identity and signing types are here too because every caller of commitAndPush needs them.
 */
export {
  closeWorkspace,
  DEFAULT_RETRY,
  type MissingBranchPolicy,
  openWorkspace,
  type OpenWorkspaceOptions,
  type RetryPolicy,
  withWorkspace,
  type Workspace,
} from "./clone.ts";
export { commitAndPush, type CommitAndPushOptions, type CommitAndPushResult, type PushTarget, type Rendered } from "./publish.ts";
export { type CommitAuthor, DEFAULT_AUTHOR } from "./commit-identity.ts";
/** Commit signing with a checked key file (signing.ts): settings per command, never in .git/config. */
export type { SigningKey as CommitSigning } from "./signing.ts";
