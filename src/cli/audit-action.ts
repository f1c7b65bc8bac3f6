import type { Command } from "commander";
import { auditLog, formatAuditTable } from "../git/audit.ts";
import { credentialsFromEnv } from "../git/credentials.ts";
import { dumpJson } from "../yaml/dump.ts";
import type { AuditFlags } from "./audit.ts";
import { cliContext } from "./io.ts";

/** The action of `wildseal audit` (registered in audit.ts, loaded when the command runs). */
export async function auditAction(flags: AuditFlags, command: Command): Promise<void> {
  const ctx = cliContext(command);
  const entries = await auditLog(flags.repo, {
    ...(flags.tenant === undefined ? {} : { tenant: flags.tenant }),
    ...(flags.branch === undefined ? {} : { branch: flags.branch }),
    credentials: credentialsFromEnv(ctx.io.env),
    env: { ...process.env, ...ctx.io.env },
  });
  ctx.io.stdout(flags.json === true ? dumpJson(entries) : formatAuditTable(entries));
}
