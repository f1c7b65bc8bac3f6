/**
 * The several-certificates fixture the tests share: wildseal.yaml listing com (*.example.com, Secret
 * cert-manager/wildcard-example-com) and org (*.example.org, cert-manager/wildcard-example-org) in
 * spec.certificates, leaves issued for either, and a bare remote seeded with that config.
 */
import { generateCa, generateLeaf, generateSealingKeyPair, tlsSecretOf, type GeneratedCertificate } from "../../src/tls/generate.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";
import { makeBareRemote, type BareRemote } from "./git-fixtures.ts";
import { tenantYaml, type TenantSpec } from "./tenant-yaml.ts";

const DAY = 86_400_000;

/** One entry of spec.certificates: its name and the name of its source Secret in cert-manager. */
export interface CertificateEntry {
  readonly name: string;
  readonly source: string;
}

export const COM: CertificateEntry = { name: "com", source: "wildcard-example-com" };
export const ORG: CertificateEntry = { name: "org", source: "wildcard-example-org" };

export interface CertificatesConfigOptions {
  /** spec.certificates (default com, org); "source" writes the one-certificate spec.source form instead */
  readonly certificates?: readonly CertificateEntry[] | "source";
  /** metadata.name (default test) */
  readonly name?: string;
  /** spec.layout; left out by default */
  readonly layout?: "shared" | "per-tenant";
  /** cluster names, each sealed with clusters/<name>/sealed-secrets.pem (default prod-east) */
  readonly clusters?: readonly string[];
  /** spec.defaults as flow YAML, e.g. "{secretName: wildcard-tls}"; left out by default */
  readonly defaults?: string;
  /** spec.output; left out by default */
  readonly output?: string;
}

/** spec.certificates as wildseal.yaml indents it: the block a test can splice into another config. */
export function certificatesBlock(certificates: readonly CertificateEntry[] = [COM, ORG]): string {
  return `  certificates:\n${certificates.map((c) => `    - name: ${c.name}\n      source: {namespace: cert-manager, name: ${c.source}}\n`).join("")}`;
}

/**
 * wildseal.yaml with several certificates. Fields come in a fixed order (certificates, layout,
 * clusters, defaults, output) so tests that compare bytes or diagnostic positions see one text.
 */
export function certificatesConfig(opts: CertificatesConfigOptions = {}): string {
  const certificates = opts.certificates === "source" ? "  source: {namespace: cert-manager, name: wildcard-example-com}\n" : certificatesBlock(opts.certificates);
  const clusters = (opts.clusters ?? ["prod-east"]).map((c) => `    - name: ${c}\n      sealingCert: clusters/${c}/sealed-secrets.pem\n`).join("");
  return (
    `apiVersion: wildseal.dev/v1alpha1\nkind: Config\nmetadata: {name: ${opts.name ?? "test"}}\nspec:\n${certificates}` +
    (opts.layout === undefined ? "" : `  layout: ${opts.layout}\n`) +
    `  clusters:\n${clusters}` +
    (opts.defaults === undefined ? "" : `  defaults: ${opts.defaults}\n`) +
    (opts.output === undefined ? "" : `  output: ${opts.output}\n`)
  );
}

/** acme (acme.example.com, so com's) and beta (beta.example.org, so org's) on `cluster`. */
export function comAndOrgTenants(cluster: string): TenantSpec[] {
  return [
    { name: "acme", cluster, hosts: ["acme.example.com"] },
    { name: "beta", cluster, hosts: ["beta.example.org"] },
  ];
}

/** A leaf for `dnsNames` from `ca`, valid from `daysAgo` days ago for 90 days, validated as a source would be. */
export async function issueLeaf(ca: GeneratedCertificate, dnsNames: readonly string[], daysAgo: number): Promise<TlsMaterial> {
  const notBefore = new Date(Date.now() - daysAgo * DAY);
  const leaf = await generateLeaf(ca, { dnsNames, notBefore, notAfter: new Date(notBefore.getTime() + 90 * DAY) });
  return validateTlsSecret(tlsSecretOf(leaf), { source: "test certificate" });
}

/** renderRepository's `certificates`: each named leaf, labelled <name>.yaml as its --source-file would be. */
export function certificateSources(leaves: Readonly<Record<string, { readonly tls: TlsMaterial }>>): Map<string, { tls: TlsMaterial; label: string }> {
  return new Map(Object.entries(leaves).map(([name, leaf]) => [name, { tls: leaf.tls, label: `${name}.yaml` }]));
}

/** A bare remote holding the two-certificate wildseal.yaml, prod-east's sealing certificate and the tenants; a CA to issue for it. */
export interface CertificatesRemote {
  readonly remote: BareRemote;
  readonly ca: GeneratedCertificate;
  /** issueLeaf with this remote's CA */
  issue(dnsNames: readonly string[], daysAgo: number): Promise<TlsMaterial>;
  cleanup(): void;
}

export async function makeCertificatesRemote(tenants: readonly TenantSpec[]): Promise<CertificatesRemote> {
  const ca = await generateCa();
  const sealing = await generateSealingKeyPair({ bits: 2048 });
  const files: Record<string, string> = { "wildseal.yaml": certificatesConfig(), "clusters/prod-east/sealed-secrets.pem": sealing.certPem };
  for (const t of tenants) files[`tenants/${t.name}.yaml`] = tenantYaml(t);
  const remote = makeBareRemote({ files });
  return { remote, ca, issue: (dnsNames, daysAgo) => issueLeaf(ca, dnsNames, daysAgo), cleanup: () => remote.cleanup() };
}
