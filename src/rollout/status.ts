import type { Diagnostic } from "../errors.ts";
import { InvalidInputError } from "../errors.ts";
import { loadRepositoryModel } from "../model/load-repository.ts";
import type { WildsealConfig } from "../model/types.ts";
import { assertRepository } from "../render/check-repository.ts";
import { readExistingTreeOrReport } from "../render/rendered-files.ts";
import { ANNOTATION, readCommittedSealedSecret } from "../render/sealed-secret-document.ts";
import { recordedPerTenant } from "../render/shared-layout.ts";
import { rfc3339 } from "../rfc3339.ts";
import { classifyTenant, probeableHosts, type CommittedCertificate, type CommittedTenant, type StatusRow } from "./classify.ts";
import { readCertificateHistory, sinceAndEarlier, type CertificateHistory } from "./history.ts";
import { probeAll, targetKey, type probe } from "./probe.ts";
import { configProbeRules, dialTarget, formatAddress, type ProbeAddressRule } from "./probe-address.ts";
import { formatTable } from "../text-table.ts";

/**
 * `wildseal status`: the repository's committed certificate per tenant (working tree), its recent
 * history (Git), one handshake per host, and the pure classification (classify.ts) joining them.
 */

export interface StatusOptions {
  /** the `--probe-address` rules; wildseal.yaml's (spec.probe, clusters[].probe) are added here, below them */
  readonly probeAddresses: readonly ProbeAddressRule[];
  readonly timeoutMs: number;
  /** for git (PATH, HOME) */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now?: () => Date;
  readonly concurrency?: number;
  /** tests replace the socket edge */
  readonly probeOne?: typeof probe;
}

export interface StatusReport {
  readonly rows: readonly StatusRow[];
  /** invalid tenant files (not listed), an unreadable output folder */
  readonly problems: readonly Diagnostic[];
  /** why stale and lag may be unknown (no Git history) */
  readonly notes: readonly string[];
}

export async function rolloutStatus(repoDir: string, opts: StatusOptions): Promise<StatusReport> {
  await assertRepository(repoDir);
  const model = await loadRepositoryModel(repoDir);
  if (model.config === undefined) {
    throw new InvalidInputError("wildseal.yaml is invalid: fix it first (wildseal validate)", model.diagnostics);
  }
  const problems: Diagnostic[] = model.diagnostics.filter((d) => d.path.startsWith("tenants"));
  const output = model.config.output;
  const [committed, history] = await Promise.all([committedCertificates(repoDir, model.config, problems), readCertificateHistory(repoDir, output, { env: opts.env })]);
  const notes = history.kind === "none" ? [`${history.reason}: an earlier certificate cannot be told from a foreign one, and the lag is unknown`] : [];

  const tenants: CommittedTenant[] = model.tenants.map((t) => {
    const c = committed.get(`${t.cluster}/${t.name}`);
    if (c === undefined) return { name: t.name, cluster: t.cluster, hosts: t.hosts, committed: null, since: null, earlier: [] };
    // the history of the folder the certificate is in now, and earlier ones from the tenant's own folder too (a layout change)
    const past = sinceAndEarlier(versionsOf(history, c.folder), c.certificate.sha256);
    const own = c.folder === `${t.cluster}/${t.name}` ? [] : sinceAndEarlier(versionsOf(history, `${t.cluster}/${t.name}`), c.certificate.sha256).earlier;
    const earlier = [...new Set([...past.earlier, ...own])].sort();
    return { name: t.name, cluster: t.cluster, hosts: t.hosts, committed: c.certificate, since: past.since, earlier };
  });

  // where each host is dialled depends on its tenant's cluster too (clusters[].probe.address)
  const rules = [...opts.probeAddresses, ...configProbeRules(model.config)];
  // only tenants with something to compare with are dialled
  const targets = tenants.filter((t) => t.committed !== null).flatMap((t) => probeableHosts(t.hosts).map((h) => dialTarget(h, rules, t.cluster)));
  const results = await probeAll(targets, {
    timeoutMs: opts.timeoutMs,
    ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }),
    ...(opts.probeOne === undefined ? {} : { probeOne: opts.probeOne }),
  });
  const now = (opts.now ?? (() => new Date()))();
  const rows = tenants.map((t) =>
    classifyTenant(
      t,
      (host) => {
        const target = dialTarget(host, rules, t.cluster);
        const result = results.get(targetKey(target));
        return result === undefined ? undefined : { address: formatAddress(target.address), result };
      },
      now,
    ),
  );
  return { rows, problems, notes };
}

function versionsOf(history: CertificateHistory, key: string) {
  return history.kind === "git" ? (history.tenants.get(key) ?? []) : [];
}

/**
 * `cluster/tenant` → the certificate its rendered SealedSecret carries (working tree), and the
 * folder it was read from: the tenant's own, or for a tenant of the shared layout
 * (render/shared-layout.ts), whose folder only points at a sealed base, that base's —
 * `cluster/_shared`, or `cluster/_shared/<certificate>` with several certificates. History is keyed
 * by the same folders (history.ts), so a tenant's earlier certificates are its base's.
 */
export async function committedCertificates(
  repoDir: string,
  config: WildsealConfig,
  problems: Diagnostic[],
): Promise<Map<string, { readonly certificate: CommittedCertificate; readonly folder: string }>> {
  const tree = await readExistingTreeOrReport(repoDir, config.output, problems);
  if (tree === undefined) return new Map();
  const certificateIn = (files: ReadonlyMap<string, Buffer>, folder: string): CommittedCertificate | undefined => {
    let found: CommittedCertificate | undefined;
    for (const [file, bytes] of files) {
      const ss = readCommittedSealedSecret(bytes, `${config.output}/${folder}/${file}`);
      const sha256 = ss?.annotations[ANNOTATION.certSha256]?.toLowerCase();
      if (sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) continue;
      const date = new Date(ss?.annotations[ANNOTATION.certNotAfter] ?? Number.NaN);
      found = { sha256, notAfter: Number.isNaN(date.getTime()) ? null : rfc3339(date) };
    }
    return found;
  };
  return new Map([...recordedPerTenant(tree, certificateIn)].map(([tenant, r]) => [tenant, { certificate: r.value, folder: r.folder }]));
}

/** `3d4h`, `2h5m`, `4m10s`, `12s` */
export function formatLag(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Fingerprints are shown by their first 12 hex digits, as in `git log --abbrev`. */
const SHA_PREFIX = 12;

/** The table `wildseal status` prints; `-` where nothing is known. */
export function formatStatusTable(rows: readonly StatusRow[]): string {
  const header = ["TENANT", "CLUSTER", "COMMITTED", "COMMITTED-NOT-AFTER", "SERVED", "SERVED-NOT-AFTER", "STATE", "LAG", "DETAIL"];
  const cells = rows.map((r) => [
    r.tenant,
    r.cluster,
    r.committed?.sha256.slice(0, SHA_PREFIX) ?? "-",
    r.committed?.notAfter ?? "-",
    r.served?.sha256.slice(0, SHA_PREFIX) ?? "-",
    r.served?.notAfter ?? "-",
    r.state,
    r.lagSeconds === null ? "-" : formatLag(r.lagSeconds),
    r.detail,
  ]);
  return formatTable(header, cells);
}
