import type { Diagnostic } from "../errors.ts";
import { InvalidInputError } from "../errors.ts";
import { readExistingTreeOrReport } from "./rendered-files.ts";
import { ANNOTATION, readCommittedSealedSecret } from "./sealed-secret-document.ts";
import { recordedPerTenant } from "./shared-layout.ts";
import { rfc3339 } from "../rfc3339.ts";
import { mapLimit } from "../map-limit.ts";
import { loadRepositoryModel } from "../model/load-repository.ts";
import type { WildsealConfig } from "../model/types.ts";
import { formatTable } from "../text-table.ts";

/**
 * `wildseal tenant list`: each valid tenant with the certificate its committed SealedSecret
 * carries (the public `wildseal.dev/cert-not-after` annotation) and the last commit that changed
 * its file. Git history is asked through `lastChange`, so this module runs no processes.
 */

export interface LastChange {
  readonly commit: string;
  /** `Name <email>` */
  readonly author: string;
  /** RFC 3339 UTC */
  readonly date: string;
}

export interface TenantRow {
  readonly name: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly hosts: readonly string[];
  /** RFC 3339 UTC, from the tenant's rendered SealedSecret; null when it has none (not rendered yet) */
  readonly certificateNotAfter: string | null;
  /** null outside a Git repository, or when the file was never committed */
  readonly lastChange: LastChange | null;
}

export interface TenantListing {
  readonly rows: readonly TenantRow[];
  /** invalid tenant files (not listed) and an unreadable output folder: worth a warning, not a failure */
  readonly problems: readonly Diagnostic[];
}

/** How many `git log` processes may run at once. */
const GIT_CONCURRENCY = 4;

export async function listTenants(repoDir: string, lastChange: (file: string) => Promise<LastChange | null>): Promise<TenantListing> {
  const model = await loadRepositoryModel(repoDir);
  if (model.config === undefined) {
    throw new InvalidInputError("wildseal.yaml is invalid: fix it first (wildseal validate)", model.diagnostics);
  }
  const problems: Diagnostic[] = model.diagnostics.filter((d) => d.path.startsWith("tenants"));
  const notAfter = await committedNotAfter(repoDir, model.config, problems);
  const changes = await mapLimit(model.tenants, GIT_CONCURRENCY, (t) => lastChange(t.file));
  const rows = model.tenants.map((t, i) => ({
    name: t.name,
    cluster: t.cluster,
    namespace: t.namespace,
    hosts: t.hosts,
    certificateNotAfter: notAfter.get(`${t.cluster}/${t.name}`) ?? null,
    lastChange: changes[i] ?? null,
  }));
  return { rows, problems };
}

/** `cluster/tenant` → the cert-not-after of the SealedSecret in that tenant's output folder. */
async function committedNotAfter(repoDir: string, config: WildsealConfig, problems: Diagnostic[]): Promise<Map<string, string>> {
  const tree = await readExistingTreeOrReport(repoDir, config.output, problems);
  if (tree === undefined) return new Map();
  const notAfterIn = (files: ReadonlyMap<string, Buffer>, folder: string): string | undefined => {
    let found: string | undefined;
    for (const [file, bytes] of files) {
      const ss = readCommittedSealedSecret(bytes, `${folder}/${file}`);
      const date = new Date(ss?.annotations[ANNOTATION.certNotAfter] ?? Number.NaN);
      if (!Number.isNaN(date.getTime())) found = rfc3339(date);
    }
    return found;
  };
  // shared layout: a folder that reuses a base (_shared/, _shared/<certificate>/) carries no certificate of its own; the base's is its
  return new Map([...recordedPerTenant(tree, (files, folder) => notAfterIn(files, `${config.output}/${folder}`))].map(([tenant, r]) => [tenant, r.value]));
}

/** The table `tenant list` prints; `-` where nothing is known. */
export function formatTenantTable(rows: readonly TenantRow[]): string {
  const header = ["NAME", "CLUSTER", "NAMESPACE", "HOSTS", "NOT-AFTER", "LAST-CHANGE"];
  const cells = rows.map((r) => [
    r.name,
    r.cluster,
    r.namespace,
    r.hosts.join(","),
    r.certificateNotAfter ?? "-",
    r.lastChange === null ? "-" : `${r.lastChange.date} ${r.lastChange.commit.slice(0, 7)} ${r.lastChange.author}`,
  ]);
  return formatTable(header, cells);
}
