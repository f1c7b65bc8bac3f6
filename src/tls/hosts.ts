/**
 * Host names against certificate SANs (RFC 6125 §6.4.3, as browsers apply it): a wildcard is only a
 * whole left-most label and covers exactly one label. Comparison is ASCII case-insensitive; IDNs must
 * be written in punycode (`xn--…`), so a non-ASCII host is never covered (validate hosts with
 * `isValidHostname` to tell the user why).
 */

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Lower-cases and drops one trailing dot (`Example.COM.` → `example.com`). */
function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** RFC 1123 host name: ≤253 characters, labels of 1–63 `[a-z0-9-]` not starting/ending with `-`; no wildcard. */
export function isValidHostname(host: string): boolean {
  const name = normalize(host);
  if (name.length === 0 || name.length > 253) return false;
  return name.split(".").every((label) => LABEL.test(label));
}

/** Whether `host` is one of `dnsNames` or matched by a `*.rest` entry covering exactly its first label. */
export function hostCoveredBy(host: string, dnsNames: readonly string[]): boolean {
  if (!isValidHostname(host)) return false;
  const name = normalize(host);
  const dot = name.indexOf(".");
  const parent = dot === -1 ? undefined : name.slice(dot + 1);
  return dnsNames.some((san) => {
    const pattern = normalize(san);
    if (pattern === name) return true;
    if (!pattern.startsWith("*.") || parent === undefined) return false;
    return pattern.slice(2) === parent;
  });
}
