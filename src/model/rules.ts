import type { Diagnostic } from "../errors.ts";
import { hostCoveredBy } from "../tls/hosts.ts";
import type { CertFacts } from "../tls/types.ts";
import type { Position, YamlPath } from "../yaml/load.ts";
import type { Tenant } from "./types.ts";

/** Where a value of a tenant file stands: `locate("tenants/acme.yaml", ["spec", "hosts", 0])`. */
export type LocateInFile = (file: string, path: YamlPath) => Position;

const START: LocateInFile = () => ({ line: 1, col: 1 });

export interface SecretClash {
  /** the tenant that keeps the Secret (the one already delivering it, else the earlier file) */
  readonly kept: Tenant;
  /** the tenant refused because of it */
  readonly refused: Tenant;
}

/**
 * Two tenants may not deliver the same Secret (cluster, namespace, secretName). A tenant that already
 * delivers it (`isLive`: it has rendered output) keeps it, so that adding a clashing tenant never
 * takes the Secret from a live one whatever its file name; between newcomers the earlier file wins.
 * Linear in the number of tenants.
 */
export function findSecretClashes(tenants: readonly Tenant[], isLive: (t: Tenant) => boolean = () => false): SecretClash[] {
  const owner = new Map<string, Tenant>();
  const clashes: SecretClash[] = [];
  const liveFirst = [...tenants.filter(isLive), ...tenants.filter((t) => !isLive(t))];
  for (const t of liveFirst) {
    const key = `${t.cluster}\u0000${t.namespace}\u0000${t.secretName}`;
    const kept = owner.get(key);
    if (kept === undefined) owner.set(key, t);
    else clashes.push({ kept, refused: t });
  }
  return clashes;
}

/** Both sides of a clash, each at the field that decides the namespace (or the tenant name it defaults to). */
export function secretClashDiagnostics(clash: SecretClash, locate: LocateInFile, hasNamespaceField: (file: string) => boolean): Diagnostic[] {
  const { kept, refused } = clash;
  const where = (t: Tenant): Diagnostic & { readonly ref: string } => {
    const pos = locate(t.file, hasNamespaceField(t.file) ? ["spec", "namespace"] : ["metadata", "name"]);
    return { path: t.file, ...pos, message: "", ref: `${t.file}:${pos.line}:${pos.col}` };
  };
  const k = where(kept);
  const r = where(refused);
  const what = `Secret ${kept.secretName} in namespace ${kept.namespace} on cluster ${kept.cluster}`;
  return [
    {
      path: r.path,
      line: r.line,
      col: r.col,
      message: `${what} is already delivered by tenant ${kept.name} (${k.ref}): set another spec.namespace or spec.secretName; this tenant is skipped`,
      reason: "invalid-tenant",
    },
    {
      path: k.path,
      line: k.line,
      col: k.col,
      message: `${what} is also claimed by tenant ${refused.name} (${r.ref}), which is skipped: give one of them another spec.namespace or spec.secretName`,
      reason: "invalid-tenant",
    },
  ];
}

/** The hosts of `tenant` that the certificate does not cover. */
export function uncoveredHosts(tenant: Tenant, leaf: Pick<CertFacts, "dnsNames">): string[] {
  return tenant.hosts.filter((h) => !hostCoveredBy(h, leaf.dnsNames));
}

/** One diagnostic per host not covered by the leaf's SANs, at the host in its tenant file. */
export function checkHostsCovered(
  tenants: readonly Tenant[],
  leaf: Pick<CertFacts, "dnsNames">,
  locate: LocateInFile = START,
): Diagnostic[] {
  const sans = leaf.dnsNames.join(", ");
  const out: Diagnostic[] = [];
  for (const t of tenants) {
    for (const [i, h] of t.hosts.entries()) {
      if (hostCoveredBy(h, leaf.dnsNames)) continue;
      out.push({
        path: t.file,
        ...locate(t.file, ["spec", "hosts", i]),
        message: `host ${h} is not covered by the certificate (DNS names: ${sans}): remove the host or issue a certificate that covers it`,
        reason: "uncovered-host",
      });
    }
  }
  return out;
}
