import type { ExistingTree } from "../render/plan.ts";
import { recordedCertificates } from "../render/sealed-secret-document.ts";
import { SHARED_FOLDER } from "../render/shared-layout.ts";
import type { CertFacts } from "../tls/types.ts";

const NOT_RECORDED = "(not recorded in the repository)";

/**
 * What a branch's rendered SealedSecrets' public annotations tell of its certificates, in one pass:
 * - `newest`: the certificate the branch holds now (fingerprint and notAfter; the newest, when
 *   tenants differ). Serial, issuer and SANs are not recorded in Git, so a pull request shows them
 *   for the new certificate only.
 * - `earliestNotAfter`: what expires first of what is deployed, the number an escalation must watch
 *   (the newest would hide, with several certificates or tenants held on an older one, the one about
 *   to expire).
 * Pure: the render step hands in the committed tree it read before writing (`output` names its folder).
 */
export function committedCertificates(tree: ExistingTree, output: string): { readonly newest: CertFacts | undefined; readonly earliestNotAfter: Date | undefined } {
  let newest: CommittedCertificateFacts | undefined;
  let earliest: Date | undefined;
  for (const c of committedCertificateFacts(tree, output)) {
    if (newest === undefined || c.notAfter > newest.notAfter) newest = c;
    if (earliest === undefined || c.notAfter < earliest) earliest = c.notAfter;
  }
  return {
    newest:
      newest === undefined
        ? undefined
        : { sha256: newest.sha256, notAfter: newest.notAfter, serial: NOT_RECORDED, subject: NOT_RECORDED, issuer: NOT_RECORDED, notBefore: new Date(Number.NaN), dnsNames: [] },
    earliestNotAfter: earliest,
  };
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
