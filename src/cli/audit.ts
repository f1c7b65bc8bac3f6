import type { Command } from "commander";
import { auditLog, formatAuditTable } from "../git/audit.ts";
import { credentialsFromEnv } from "../git/credentials.ts";
import { dumpJson } from "../yaml/dump.ts";
import { cliContext } from "./io.ts";

interface AuditFlags {
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
 * WILDSEAL_GIT_TOKEN / WILDSEAL_GIT_TOKEN_FILE / GITHUB_TOKEN).
 */
export function register(program: Command): void {
  program
    .command("audit")
    .description("list wildseal's commits (renewals, tenant changes) from the Git history, with the person's commit that requested each tenant change")
    .option("--repo <dir|url>", "repository folder or Git URL", ".")
    .option("--tenant <name>", "only commits that touched this tenant")
    .option("--branch <name>", "branch to read (default: the repository's HEAD)")
    .option("--json", "print JSON instead of a table")
    .action(async (flags: AuditFlags, command: Command) => {
      const ctx = cliContext(command);
      const entries = await auditLog(flags.repo, {
        ...(flags.tenant === undefined ? {} : { tenant: flags.tenant }),
        ...(flags.branch === undefined ? {} : { branch: flags.branch }),
        credentials: credentialsFromEnv(ctx.io.env),
        env: { ...process.env, ...ctx.io.env },
      });
      ctx.io.stdout(flags.json === true ? dumpJson(entries) : formatAuditTable(entries));
    });
}
