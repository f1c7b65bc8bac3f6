import type { CommitSummary, WildsealAction } from "../git/trailers.ts";
import type { RenderChange } from "../render/render-repository.ts";
import type { CertFacts } from "../tls/types.ts";

/** How a certificate is named in commit subjects: its wildcard name if it has one, else its first DNS name. */
export function certificateDomain(leaf: CertFacts): string {
  return leaf.dnsNames.find((n) => n.startsWith("*.")) ?? leaf.dnsNames[0] ?? leaf.subject;
}

const PUBLISHED: ReadonlySet<string> = new Set<WildsealAction>(["renew", "add", "update", "remove", "reseal"]);

/**
 * The commit a render calls for, or null when it changed nothing (kept and held tenants are not
 * changes). `files` are the paths the render wrote or removed: when no tenant changed but a cluster's
 * files did (its index repaired after a hand edit), that is an `update` of the cluster's tenants —
 * otherwise the repair would sit uncommitted and the hand edit would stay live.
 */
export function commitSummary(
  changes: readonly RenderChange[],
  leaf: CertFacts,
  files: { readonly written: readonly string[]; readonly removed: readonly string[] } = { written: [], removed: [] },
): CommitSummary | null {
  const byAction = new Map<WildsealAction, string[]>();
  for (const c of changes) {
    if (!PUBLISHED.has(c.kind)) continue;
    const action = c.kind as WildsealAction;
    byAction.set(action, [...(byAction.get(action) ?? []), c.tenant]);
  }
  if (byAction.size === 0) {
    const touched = [...files.written, ...files.removed].map((p) => p.split("/"));
    const repaired = changes.filter((c) => c.kind === "keep" && touched.some((segments) => segments.includes(c.cluster)));
    if (repaired.length > 0) byAction.set("update", repaired.map((c) => c.tenant));
  }
  if (byAction.size === 0) return null;
  return {
    changes: [...byAction].map(([action, tenants]) => ({ action, tenants: [...new Set(tenants)].sort() })),
    certSha256: leaf.sha256,
    certNotAfter: leaf.notAfter,
    domain: certificateDomain(leaf),
  };
}
