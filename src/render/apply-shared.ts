import type { SealingCertificate } from "../seal/sealing-cert.ts";
import { mapLimit } from "../map-limit.ts";
import { sharedFilesAfterSealing } from "./plan.ts";
import type { ExistingTree, Plan, SharedPlan, TenantPlan } from "./plan.ts";
import { writeTenantFolder, type WriteCounts } from "./rendered-files.ts";
import { sealJobsInline } from "./seal-batch.ts";
import { removeSharedBase, removeSharedFolder, writeSharedFolder } from "./shared-files.ts";
import { committedSharedBase } from "./shared-layout.ts";

/**
 * The shared layout's part of applying a plan (render-repository.ts calls it): each shared base
 * (`_shared/`, or `_shared/<certificate>/` with several certificates) is sealed (one job per base: on
 * this thread, workers would cost more than they save) and written before the tenant folders that
 * reference it; bases no tenant uses any more are removed after the tenant folders are pruned.
 * With several certificates the caller applies each certificate's bases with that certificate's
 * `items`, and the removals once, after every certificate.
 */

/** Tenant folders written at once (as render-repository.ts writes its own). */
const WRITE_CONCURRENCY = 16;

export async function writeSharedPlans(
  repoDir: string,
  output: string,
  plan: Plan,
  existing: ExistingTree,
  certs: ReadonlyMap<string, SealingCertificate>,
  items: ReadonlyMap<string, Buffer>,
  now: Date,
  files: WriteCounts,
): Promise<void> {
  const toSeal = plan.shared.filter((s): s is Extract<SharedPlan, { kind: "seal" }> => s.kind === "seal");
  const sealed = toSeal.length === 0 ? [] : sealJobsInline({ jobs: toSeal.map((s) => ({ cluster: s.cluster, target: s.target })), certs, items, now });
  for (const [i, s] of toSeal.entries()) {
    await writeSharedFolder(repoDir, output, s.cluster, s.certificate, sharedFilesAfterSealing(s, sealed[i] ?? {}), committedSharedBase(existing.get(s.cluster), s.certificate), files);
  }
  for (const s of plan.shared) {
    if (s.kind === "rewrite") await writeSharedFolder(repoDir, output, s.cluster, s.certificate, s.files, committedSharedBase(existing.get(s.cluster), s.certificate), files);
  }

  const folders = plan.tenants.flatMap((p) => (p.kind === "shared" && p.write !== undefined ? [{ p, write: p.write }] : []));
  const counts = await mapLimit(folders, WRITE_CONCURRENCY, async ({ p, write }: { p: Extract<TenantPlan, { kind: "shared" }>; write: ReadonlyMap<string, string> }) => {
    const mine: WriteCounts = { written: [], removed: [] };
    await writeTenantFolder(repoDir, output, p.cluster, p.tenant.name, write, existing.get(p.cluster)?.tenants.get(p.tenant.name), mine);
    return mine;
  });
  // merged in plan order, so `files` does not depend on which write finished first
  for (const c of counts) {
    files.written.push(...c.written);
    files.removed.push(...c.removed);
  }
}

export async function removeUnusedShared(repoDir: string, output: string, plan: Plan, existing: ExistingTree, files: WriteCounts): Promise<void> {
  for (const s of plan.shared) {
    if (s.kind === "remove-all") await removeSharedFolder(repoDir, output, s.cluster, files);
    else if (s.kind === "remove") await removeSharedBase(repoDir, output, s.cluster, s.certificate, committedSharedBase(existing.get(s.cluster), s.certificate), files);
  }
}
