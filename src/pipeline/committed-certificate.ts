import type { ExistingTree } from "../render/plan.ts";
import { recordedCertificates } from "../render/sealed-secret-document.ts";
import { SHARED_FOLDER } from "../render/shared-layout.ts";
import type { CertFacts } from "../tls/types.ts";

const NOT_RECORDED = "(not recorded in the repository)";

/**
 * The certificate a branch holds now, as far as its rendered SealedSecrets' public annotations
 * tell: the fingerprint and notAfter (the newest, when tenants differ). Serial, issuer and SANs
 * are not recorded in Git, so a pull request shows them for the new certificate only. Pure: the
 * render step hands in the committed tree it read before writing (`output` names its folder).
 */
export function committedCertificate(tree: ExistingTree, output: string): CertFacts | undefined {
  let best: CommittedCertificateFacts | undefined;
  for (const c of committedCertificateFacts(tree, output)) if (best === undefined || c.notAfter > best.notAfter) best = c;
  if (best === undefined) return undefined;
  return {
    sha256: best.sha256,
    notAfter: best.notAfter,
    serial: NOT_RECORDED,
    subject: NOT_RECORDED,
    issuer: NOT_RECORDED,
    notBefore: new Date(Number.NaN),
    dnsNames: [],
  };
}

/**
 * The earliest notAfter among the branch's SealedSecrets: what expires first of what is deployed,
 * the number an escalation must watch. Not `committedCertificate`'s newest: with several
 * certificates (or tenants held on an older one) the newest would hide the one about to expire.
 */
export function earliestCommittedNotAfter(tree: ExistingTree, output: string): Date | undefined {
  let earliest: Date | undefined;
  for (const c of committedCertificateFacts(tree, output)) if (earliest === undefined || c.notAfter < earliest) earliest = c.notAfter;
  return earliest;
}

interface CommittedCertificateFacts {
  readonly sha256: string;
  readonly notAfter: Date;
}

/** Every rendered SealedSecret's recorded fingerprint and notAfter, tenant folders and shared bases alike. */
function* committedCertificateFacts(tree: ExistingTree, output: string): Generator<CommittedCertificateFacts> {
  for (const [cluster, out] of tree) {
    // the shared layout's sealed bases (render/shared-layout.ts) count like tenants: `_shared/`, and
    // with several certificates `_shared/<certificate>/`, whose tenant folders hold no SealedSecret
    const folders = new Map(out.tenants);
    if (out.shared !== undefined) folders.set(SHARED_FOLDER, out.shared);
    for (const [certificate, base] of out.sharedCertificates ?? []) folders.set(`${SHARED_FOLDER}/${certificate}`, base);
    for (const [tenant, t] of folders) yield* recordedCertificates(t.files, `${output}/${cluster}/${tenant}`);
  }
}
