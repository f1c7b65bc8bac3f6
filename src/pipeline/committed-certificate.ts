import type { ExistingTree } from "../render/plan.ts";
import { ANNOTATION, readCommittedSealedSecret } from "../render/sealed-secret-document.ts";
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
  let best: { sha256: string; notAfter: Date } | undefined;
  for (const [cluster, out] of tree) {
    // the shared layout's one SealedSecret per cluster (render/shared-layout.ts) counts like a tenant's
    const folders = out.shared === undefined ? out.tenants : new Map([...out.tenants, [SHARED_FOLDER, out.shared]]);
    for (const [tenant, t] of folders) {
      for (const [file, bytes] of t.files) {
        const ss = readCommittedSealedSecret(bytes, `${output}/${cluster}/${tenant}/${file}`);
        const sha256 = ss?.annotations[ANNOTATION.certSha256];
        const notAfter = new Date(ss?.annotations[ANNOTATION.certNotAfter] ?? Number.NaN);
        if (sha256 === undefined || Number.isNaN(notAfter.getTime())) continue;
        if (best === undefined || notAfter > best.notAfter) best = { sha256, notAfter };
      }
    }
  }
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
