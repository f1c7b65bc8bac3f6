import type { Command } from "commander";
import { ExitCode, formatDiagnostic } from "../errors.ts";
import { allProbedCurrent } from "../rollout/classify.ts";
import { parseProbeAddresses } from "../rollout/probe-address.ts";
import { formatStatusTable, rolloutStatus } from "../rollout/status.ts";
import { dumpJson } from "../yaml/dump.ts";
import { cliContext } from "./io.ts";
import type { StatusFlags } from "./status.ts";
import { parseDuration } from "./watch.ts";

/** `wildseal status`: flags in, the table or JSON out, exit 4 when a probed tenant is not current. */
export async function statusAction(o: StatusFlags, command: Command): Promise<void> {
  const ctx = cliContext(command);
  const flagRules = parseProbeAddresses(o.probeAddress ?? []);
  const timeoutMs = parseDuration(o.probeTimeout, "--probe-timeout");
  // wildseal.yaml's probe rules come below these (rollout/status.ts)
  const report = await rolloutStatus(o.repo, { probeAddresses: flagRules, timeoutMs, env: { ...process.env, ...ctx.io.env } });
  ctx.io.stdout(o.json === true ? dumpJson(report.rows) : formatStatusTable(report.rows));
  for (const d of report.problems) ctx.io.stderr(`${formatDiagnostic(d)}\n`);
  if (report.problems.length > 0) ctx.io.stderr(`note: ${report.problems.length} problem(s) above; tenants with problems are not listed (wildseal validate)\n`);
  for (const n of report.notes) ctx.io.stderr(`note: ${n}\n`);
  if (!allProbedCurrent(report.rows)) ctx.exitCode = ExitCode.notCurrent;
}
