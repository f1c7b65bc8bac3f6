import type { Diagnostic } from "../errors.ts";
import { hostCoveredBy } from "../tls/hosts.ts";
import { checkHostsCovered, type LocateInFile } from "./rules.ts";
import type { Tenant } from "./types.ts";

/**
 * Which certificate seals each tenant (issue 15, several wildcard certificates). A tenant names one
 * (`spec.certificate`), or uses the one whose DNS names cover all its hosts. With one certificate
 * every tenant uses it and an uncovered host is reported per host (as before there were several);
 * with several, a tenant covered by more than one that names none is ambiguous and one covered by
 * none is uncovered: both refused at the tenant file's `spec.hosts`, since guessing would seal a
 * tenant with a certificate its author did not mean, and a later SAN change would move it silently.
 * Pure: the certificates' DNS names come from the caller (the TLS material it read).
 */

/** A certificate's name and the DNS names of its leaf. */
export interface CertificateSans {
  readonly name: string;
  readonly dnsNames: readonly string[];
}

export type CertificateChoice =
  | { readonly kind: "assigned"; readonly certificate: string }
  /** refused: why, at positions in the tenant file */
  | { readonly kind: "refused"; readonly diagnostics: readonly Diagnostic[] };

const START: LocateInFile = () => ({ line: 1, col: 1 });

/**
 * The certificate of one tenant. `certificates` are all of the config's, in its order, with their
 * DNS names. A `spec.certificate` the config does not list is the tenant rules' to refuse (it
 * never reaches here as a valid tenant); should it, the tenant is refused rather than guessed.
 */
export function chooseCertificate(tenant: Tenant, certificates: readonly CertificateSans[], locate: LocateInFile = START): CertificateChoice {
  const named = tenant.certificate;
  if (named !== undefined) {
    const cert = certificates.find((c) => c.name === named);
    if (cert === undefined) {
      return refused(tenant, locate, ["spec", "certificate"], `unknown certificate "${named}": use one of ${certificates.map((c) => c.name).join(", ")}`, "invalid-tenant");
    }
    const problems = labelled(checkHostsCovered([tenant], cert, locate), cert.name, certificates.length);
    return problems.length > 0 ? { kind: "refused", diagnostics: problems } : { kind: "assigned", certificate: cert.name };
  }
  const [only, ...more] = certificates;
  if (only !== undefined && more.length === 0) {
    const problems = checkHostsCovered([tenant], only, locate);
    return problems.length > 0 ? { kind: "refused", diagnostics: problems } : { kind: "assigned", certificate: only.name };
  }
  const covering = certificates.filter((c) => tenant.hosts.every((h) => hostCoveredBy(h, c.dnsNames)));
  const [first, ...others] = covering;
  if (first !== undefined && others.length === 0) return { kind: "assigned", certificate: first.name };
  if (first !== undefined) {
    const names = covering.map((c) => c.name);
    return refused(
      tenant,
      locate,
      ["spec", "hosts"],
      `the hosts are covered by ${names.length} certificates (${names.join(", ")}): add spec.certificate: ${names[0]} (or ${names.slice(1).join(", ")}) to say which one seals this tenant`,
      "invalid-tenant",
    );
  }
  return uncovered(tenant, certificates, locate);
}

/** No certificate covers all hosts: per host no certificate covers, else the split across certificates. */
function uncovered(tenant: Tenant, certificates: readonly CertificateSans[], locate: LocateInFile): CertificateChoice {
  const all = certificates.map((c) => `${c.name}: ${c.dnsNames.join(", ")}`).join("; ");
  const diagnostics: Diagnostic[] = [];
  for (const [i, h] of tenant.hosts.entries()) {
    if (certificates.some((c) => hostCoveredBy(h, c.dnsNames))) continue;
    diagnostics.push({
      path: tenant.file,
      ...locate(tenant.file, ["spec", "hosts", i]),
      message: `host ${h} is covered by no certificate (${all}): remove the host or add a certificate that covers it to spec.certificates`,
      reason: "uncovered-host",
    });
  }
  if (diagnostics.length > 0) return { kind: "refused", diagnostics };
  const split = certificates
    .map((c) => ({ name: c.name, hosts: tenant.hosts.filter((h) => hostCoveredBy(h, c.dnsNames)) }))
    .filter((c) => c.hosts.length > 0)
    .map((c) => `${c.name} covers ${c.hosts.join(", ")}`)
    .join("; ");
  return refused(
    tenant,
    locate,
    ["spec", "hosts"],
    `no one certificate covers all the hosts (${split}): a tenant's Secret holds one certificate; split the tenant, or issue a certificate that covers them all`,
    "uncovered-host",
  );
}

function refused(tenant: Tenant, locate: LocateInFile, path: readonly (string | number)[], message: string, reason: Diagnostic["reason"]): CertificateChoice {
  return { kind: "refused", diagnostics: [{ path: tenant.file, ...locate(tenant.file, path), message, ...(reason === undefined ? {} : { reason }) }] };
}

/** With several certificates, "the certificate" in checkHostsCovered's wording says which. */
function labelled(ds: readonly Diagnostic[], name: string, count: number): Diagnostic[] {
  if (count === 1) return [...ds];
  return ds.map((d) => ({ ...d, message: d.message.replace("by the certificate (", `by certificate ${name} (`) }));
}

/** Every tenant's choice, by tenant name (names are unique in a repository). */
export function chooseCertificates(
  tenants: readonly Tenant[],
  certificates: readonly CertificateSans[],
  locate: LocateInFile = START,
): Map<string, CertificateChoice> {
  return new Map(tenants.map((t) => [t.name, chooseCertificate(t, certificates, locate)]));
}
