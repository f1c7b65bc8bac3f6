import { execFile } from "node:child_process";
import type { Command } from "commander";
import { ExitCode, InvalidInputError, UsageError, formatDiagnostic } from "../errors.ts";
import { addTenant, removeTenant, valuesFromFlags } from "../render/tenant-file.ts";
import { formatTenantTable, listTenants } from "../render/tenant-list.ts";
import type { LastChange } from "../render/tenant-list.ts";
import { SCOPES, isScope } from "../seal/scope.ts";
import type { AddFlags } from "./tenant.ts";
import { readTlsSource } from "../tls/tls-material.ts";
import { dumpJson } from "../yaml/dump.ts";
import { cliContext } from "./io.ts";

/**
 * `wildseal tenant add|remove|list`'s work (registered in tenant.ts): flag parsing and printing; the
 * tenant files themselves are render/tenant-file.ts's and render/tenant-list.ts's.
 */

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;

/**
 * The last commit that changed `file` in the Git work tree `repoDir` (`git log -1`), or null
 * outside a Git repository. git runs from an argument list, never a shell: `file` comes from a
 * folder listing and must not be interpreted.
 */
export function gitLastChange(repoDir: string): (file: string) => Promise<LastChange | null> {
  let inside: Promise<boolean> | undefined;
  const run = (args: readonly string[]): Promise<string | undefined> =>
    new Promise((resolve) => {
      execFile("git", ["-C", repoDir, ...args], { encoding: "utf8", maxBuffer: 1024 * 1024 }, (err, stdout) => resolve(err === null ? stdout : undefined));
    });
  return async (file) => {
    inside ??= run(["rev-parse", "--is-inside-work-tree"]).then((o) => o?.trim() === "true");
    if (!(await inside)) return null;
    const out = await run(["log", "-1", "--format=%H%x1f%an <%ae>%x1f%aI", "--", file]);
    const [commit, author, date] = (out ?? "").trim().split("\x1f");
    if (commit === undefined || commit === "" || author === undefined || date === undefined) return null;
    return { commit, author, date: new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z") };
  };
}

/** `wildseal tenant add`'s action (registered in tenant.ts, loaded when the command runs). */
export async function addAction(name: string, o: AddFlags, command: Command): Promise<void> {
  const ctx = cliContext(command);
  if (o.scope !== undefined && !isScope(o.scope)) throw new UsageError(`--scope must be one of ${SCOPES.join(", ")}`);
  const values = valuesFromFlags(o.value ?? []);
  if (values.problems.length > 0) throw new UsageError(values.problems.join("\n"));
  const tls = o.sourceFile === undefined ? undefined : await readTlsSource(o.sourceFile, { stdin: ctx.io.stdin });
  const added = await addTenant(o.repo, {
    name,
    hosts: o.host,
    ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
    ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
    ...(o.scope !== undefined ? { scope: o.scope } : {}),
    ...(o.value !== undefined ? { values: values.values } : {}),
    ...(tls !== undefined ? { tls } : {}),
  });
  const t = added.tenant;
  ctx.io.stdout(`added tenant ${t.name}: ${t.file} (cluster ${t.cluster}, namespace ${t.namespace}, ${plural(t.hosts.length, "host")})\n`);
  if (!added.hostsChecked) {
    // the repository records the certificate's fingerprint and expiry, not its DNS names
    ctx.io.stderr("note: the hosts were not checked against the certificate; pass --source-file to check them before the next sync does\n");
  }
}

/** `wildseal tenant remove`'s action. */
export async function removeAction(name: string, o: { repo: string }, command: Command): Promise<void> {
  const ctx = cliContext(command);
  const removed = await removeTenant(o.repo, name);
  ctx.io.stdout(
    `removed tenant ${removed.name}: deleted ${removed.files.join(" and ")}; the next sync prunes ${removed.outputs.join(" or ")} (commit and push the deletion, or let sync do it)\n`,
  );
}

/** `wildseal tenant list`'s action. */
export async function listAction(o: { repo: string; json?: boolean }, command: Command): Promise<void> {
  const ctx = cliContext(command);
  let listing;
  try {
    listing = await listTenants(o.repo, gitLastChange(o.repo));
  } catch (e) {
    if (e instanceof InvalidInputError && e.diagnostics.some((d) => d.path === "wildseal.yaml" && /^missing:/.test(d.message))) {
      throw new InvalidInputError(`${o.repo} is not a wildseal repository (it has no wildseal.yaml): run \`wildseal init\` to create one, or pass --repo with the repository's folder`);
    }
    throw e;
  }
  ctx.io.stdout(o.json === true ? dumpJson(listing.rows) : formatTenantTable(listing.rows));
  for (const d of listing.problems) ctx.io.stderr(`${formatDiagnostic(d)}\n`);
  if (listing.problems.length > 0) {
    ctx.io.stderr(`note: ${plural(listing.problems.length, "problem")} above; tenants with problems are not listed (wildseal validate)\n`);
    // a script reading the list must not take a partial list for the whole one
    ctx.exitCode = ExitCode.invalidInput;
  }
}
