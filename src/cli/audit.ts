import type { Command } from "commander";

export interface AuditFlags {
  readonly repo: string;
  readonly tenant?: string;
  readonly branch?: string;
  readonly json?: boolean;
}

/**
 * `wildseal audit [--repo DIR|URL] [--tenant NAME] [--branch B] [--json]`: wildseal's commits from
 * the Git history (their trailers): date, commit, author, action, tenants, leaf fingerprint and
 * notAfter, newest first; under each add, remove or update, the person's commit that asked for it
 * ("requested by …", `requestedBy` in JSON). A URL is read through a private bare clone (token from
 * WILDSEAL_GIT_TOKEN / WILDSEAL_GIT_TOKEN_FILE / GITHUB_TOKEN). The work is in audit-action.ts,
 * imported when the command runs.
 */
export function register(program: Command): void {
  program
    .command("audit")
    .description("list wildseal's commits (renewals, tenant changes) from the Git history, with the person's commit that requested each tenant change")
    .option("--repo <dir|url>", "repository folder or Git URL", ".")
    .option("--tenant <name>", "only commits that touched this tenant")
    .option("--branch <name>", "branch to read (default: the repository's HEAD)")
    .option("--json", "print JSON instead of a table")
    .action(async (flags: AuditFlags, command: Command) => (await import("./audit-action.ts")).auditAction(flags, command));
}
