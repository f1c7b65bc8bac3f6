import { execFile } from "node:child_process";
import { Option } from "commander";
import type { Command } from "commander";
import { InvalidInputError, UsageError, formatDiagnostic } from "../errors.ts";
import { addTenant, removeTenant, valuesFromFlags } from "../render/tenant-file.ts";
import { formatTenantTable, listTenants } from "../render/tenant-list.ts";
import type { LastChange } from "../render/tenant-list.ts";
import { SCOPES, isScope } from "../seal/scope.ts";
import { readTlsSource } from "../tls/tls-material.ts";
import { dumpJson } from "../yaml/dump.ts";
import { cliContext } from "./io.ts";

/**
 * `wildseal tenant add|remove|list`: flag parsing and printing; the tenant files themselves are
 * render/tenant-file.ts's and render/tenant-list.ts's.
 */

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
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

interface AddFlags {
  host: string[];
  cluster?: string;
  namespace?: string;
  scope?: string;
  value?: string[];
  sourceFile?: string;
  repo: string;
}

export function register(program: Command): void {
  const tenant = program.command("tenant").description("manage tenant files in tenants/");
  tenant
    .command("add")
    .description(
      "write tenants/NAME.yaml after checking it like `wildseal validate` does: refused (nothing written) when a template needs a value it lacks, or, with --source-file, when the certificate does not cover a host",
    )
    .argument("<name>", "tenant name (DNS-1123 label); also the file name and the default namespace")
    .requiredOption("--host <host>", "a host name the tenant serves (repeat for more)", collect)
    .option("--cluster <cluster>", "cluster from wildseal.yaml (may be omitted when there is exactly one)")
    .option("--namespace <ns>", "namespace of the Secret (default: the tenant name)")
    .addOption(new Option("--scope <scope>", "Sealed Secrets scope (default: the config's)").choices(SCOPES))
    .option(
      "--value <key=value>",
      "a spec.values entry for templates' ${values.KEY} placeholders (repeat for more); dotted keys nest (ingress.class=nginx); values are written as strings",
      collect,
    )
    .option("--source-file <path>", "the TLS Secret the tenant will be served from: refuse hosts it does not cover (a manifest, - for stdin, or a folder with tls.crt and tls.key)")
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .action(async (name: string, o: AddFlags, command: Command) => {
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
    });

  tenant
    .command("remove")
    .description("delete tenants/NAME.yaml; the next sync (or render) removes the tenant's rendered output")
    .argument("<name>", "the tenant to remove")
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .action(async (name: string, o: { repo: string }, command: Command) => {
      const ctx = cliContext(command);
      const removed = await removeTenant(o.repo, name);
      ctx.io.stdout(
        `removed tenant ${removed.name}: deleted ${removed.files.join(" and ")}; the next sync prunes ${removed.outputs.join(" or ")} (commit and push the deletion, or let sync do it)\n`,
      );
    });

  tenant
    .command("list")
    .description("list the tenants: cluster, namespace, hosts, the committed certificate's notAfter and the last commit that changed each tenant file")
    .option("--repo <dir>", "the GitOps repository (a local folder)", ".")
    .option("--json", "print a JSON array (name, cluster, namespace, hosts, certificateNotAfter, lastChange {commit, author, date})")
    .action(async (o: { repo: string; json?: boolean }, command: Command) => {
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
      if (listing.problems.length > 0) ctx.io.stderr(`note: ${plural(listing.problems.length, "problem")} above; tenants with problems are not listed (wildseal validate)\n`);
    });
}
