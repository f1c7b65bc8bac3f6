/**
 * Kubernetes name rules (k8s.io/apimachinery validation): what a tenant, namespace, cluster or
 * Secret may be called. They end up in object names and in paths under rendered/, so they are
 * checked once, here, and trusted afterwards.
 */

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** RFC 1123 label as Kubernetes uses it (namespaces, tenants, clusters): ≤63 of `a-z0-9-`, alphanumeric ends. */
export function isDnsLabel(s: string): boolean {
  return DNS_LABEL.test(s);
}

/** RFC 1123 subdomain as Kubernetes uses it (Secret names): ≤253, dot-separated DNS labels. */
export function isDnsSubdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split(".").every((l) => DNS_LABEL.test(l));
}

export const DNS_LABEL_HINT = 'lower-case letters, digits and "-", at most 63 characters, starting and ending with a letter or digit';
export const DNS_SUBDOMAIN_HINT =
  'lower-case letters, digits, "-" and ".", at most 253 characters, each dot-separated part starting and ending with a letter or digit';
