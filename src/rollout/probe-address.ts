import { isIP } from "node:net";
import { UsageError } from "../errors.ts";
import { DEFAULT_TLS_PORT, normaliseHost, parseProbeHostRule } from "../model/probe-addresses.ts";
import type { DialAddress, ProbeHostRule, WildsealConfig } from "../model/types.ts";

/**
 * Where a tenant host is dialled. By default the host itself on port 443 (the system resolver: what
 * a visitor's browser would reach). For split-horizon setups (e.g. the ingress controller's Service
 * inside the cluster) three kinds of rule send it elsewhere, keeping the host as the TLS server name,
 * in this order: `--probe-address HOST=ADDR:PORT`, wildseal.yaml's `spec.probe.addresses` (same
 * syntax), then the tenant's cluster's `spec.clusters[].probe.address`. The flag comes first so that
 * one run (a laptop outside the cluster) can override what the file says for the in-cluster watch.
 * Pure: parsing and matching only; the syntax itself is model/probe-addresses.ts.
 */

export type { DialAddress } from "../model/types.ts";
export { DEFAULT_TLS_PORT, normaliseHost } from "../model/probe-addresses.ts";

export interface ProbeAddressRule extends ProbeHostRule {
  /**
   * Where the rule was written, which decides its precedence: absent, `--probe-address`; `config`,
   * `spec.probe.addresses`; `cluster`, a `spec.clusters[].probe.address` (pattern `*`: every host).
   */
  readonly from?: "config" | "cluster";
  /** only hosts of this cluster's tenants: the rule of a cluster's probe.address */
  readonly cluster?: string;
}

/** One connection to make: the name sent as SNI and the address dialled. */
export interface DialTarget {
  readonly servername: string;
  readonly address: DialAddress;
  /** the pattern of the rule that chose the address (`*`: the cluster's probe.address); undefined: the host's own DNS */
  readonly rule: string | undefined;
}

/** Every host, for a cluster's probe.address rule. */
export const EVERY_HOST = "*";

const FLAG = "--probe-address";

/** `HOST=ADDR[:PORT]`; HOST is a host name or `*.` and a domain. Throws UsageError saying what is wrong. */
export function parseProbeAddress(text: string): ProbeAddressRule {
  const r = parseProbeHostRule(text);
  if (r.ok) return r.value;
  throw new UsageError(`${FLAG} ${JSON.stringify(text)}: ${r.problem} (e.g. ${FLAG} '*.example.com=10.0.0.7:443')`);
}

/** Every `--probe-address`; the same HOST twice is refused (which one was meant?). */
export function parseProbeAddresses(texts: readonly string[]): ProbeAddressRule[] {
  const rules = texts.map(parseProbeAddress);
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(r.pattern)) throw new UsageError(`${FLAG}: ${r.pattern} is given more than once; give each host or *.domain once`);
    seen.add(r.pattern);
  }
  return rules;
}

/** wildseal.yaml's rules, to follow the flag's: `spec.probe.addresses`, then one per cluster with a probe.address. */
export function configProbeRules(config: WildsealConfig): ProbeAddressRule[] {
  return [
    ...(config.probe?.addresses ?? []).map((r): ProbeAddressRule => ({ ...r, from: "config" })),
    ...config.clusters.flatMap((c): ProbeAddressRule[] => (c.probe === undefined ? [] : [{ pattern: EVERY_HOST, address: c.probe.address, from: "cluster", cluster: c.name }])),
  ];
}

export function isWildcardHost(host: string): boolean {
  return host.startsWith("*.");
}

const PRECEDENCE: readonly (ProbeAddressRule["from"] | undefined)[] = [undefined, "config", "cluster"];

/**
 * The connection for `host` of a tenant of `cluster`: the first kind of rule (flag, config, cluster)
 * with one that matches, and within it an exact rule, else the longest `*.domain` the host is under,
 * else `*`; with no rule, its own DNS on 443. Without `cluster`, cluster rules match nothing.
 */
export function dialTarget(host: string, rules: readonly ProbeAddressRule[], cluster?: string): DialTarget {
  const servername = normaliseHost(host);
  for (const from of PRECEDENCE) {
    const candidates = rules.filter((r) => r.from === from && (r.cluster === undefined || r.cluster === cluster));
    const exact = candidates.find((r) => r.pattern === servername);
    const under = candidates
      .filter((r) => isWildcardHost(r.pattern) && servername.endsWith(r.pattern.slice(1)))
      .sort((a, b) => b.pattern.length - a.pattern.length)[0];
    const rule = exact ?? under ?? candidates.find((r) => r.pattern === EVERY_HOST);
    if (rule !== undefined) return { servername, address: rule.address, rule: rule.pattern };
  }
  return { servername, address: { host: servername, port: DEFAULT_TLS_PORT }, rule: undefined };
}

/** `10.0.0.7:443`, `[::1]:8443` */
export function formatAddress(a: DialAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
