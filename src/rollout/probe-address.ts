import { isIP } from "node:net";
import { UsageError } from "../errors.ts";
import { isValidHostname } from "../tls/hosts.ts";

/**
 * Where a tenant host is dialled. By default the host itself on port 443 (the system resolver: what
 * a visitor's browser would reach); `--probe-address HOST=ADDR:PORT` sends it elsewhere for
 * split-horizon setups (e.g. the ingress controller's Service inside the cluster), keeping the host
 * as the TLS server name. Pure: parsing and matching only.
 */

export interface DialAddress {
  /** an IP address or a DNS name */
  readonly host: string;
  readonly port: number;
}

export interface ProbeAddressRule {
  /** `acme.example.com` (that host) or `*.example.com` (every host under example.com, at any depth) */
  readonly pattern: string;
  readonly address: DialAddress;
}

/** One connection to make: the name sent as SNI and the address dialled. */
export interface DialTarget {
  readonly servername: string;
  readonly address: DialAddress;
  /** the rule that chose the address; undefined: the host's own DNS */
  readonly rule: string | undefined;
}

export const DEFAULT_TLS_PORT = 443;

const FLAG = "--probe-address";

/** `[::1]:8443`, `10.0.0.7:443`, `ingress.svc:443`, `10.0.0.7` (port 443). */
function parseAddress(text: string, whole: string): DialAddress {
  const bad = (why: string): never => {
    throw new UsageError(`${FLAG} ${JSON.stringify(whole)}: ${why} (e.g. ${FLAG} '*.example.com=10.0.0.7:443')`);
  };
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1] ?? "";
    portText = bracketed[2];
    if (isIP(host) !== 6) bad(`${JSON.stringify(host)} in brackets is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon !== text.indexOf(":")) bad("an IPv6 address must be written in brackets, [::1]:443");
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
    if (isIP(host) === 0 && !isValidHostname(host)) bad(`${JSON.stringify(host)} is neither an IP address nor a host name`);
  }
  let port = DEFAULT_TLS_PORT;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) bad(`port ${JSON.stringify(portText)} is not a number from 1 to 65535`);
  }
  return { host: host.toLowerCase(), port };
}

/** `HOST=ADDR[:PORT]`; HOST is a host name or `*.` and a domain. Throws UsageError saying what is wrong. */
export function parseProbeAddress(text: string): ProbeAddressRule {
  const eq = text.indexOf("=");
  if (eq === -1) throw new UsageError(`${FLAG} ${JSON.stringify(text)}: expected HOST=ADDRESS:PORT (e.g. ${FLAG} 'acme.example.com=10.0.0.7:443')`);
  const pattern = normaliseHost(text.slice(0, eq));
  const name = pattern.startsWith("*.") ? pattern.slice(2) : pattern;
  if (!isValidHostname(name)) {
    throw new UsageError(`${FLAG} ${JSON.stringify(text)}: ${JSON.stringify(text.slice(0, eq))} is not a host name or *.domain`);
  }
  return { pattern, address: parseAddress(text.slice(eq + 1), text) };
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

/** Lower case, trailing dot dropped (SNI carries no trailing dot). */
export function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, "");
}

export function isWildcardHost(host: string): boolean {
  return host.startsWith("*.");
}

/** The connection for `host`: an exact rule, else the longest `*.domain` it is under, else its own DNS on 443. */
export function dialTarget(host: string, rules: readonly ProbeAddressRule[]): DialTarget {
  const servername = normaliseHost(host);
  const exact = rules.find((r) => r.pattern === servername);
  const under = rules
    .filter((r) => isWildcardHost(r.pattern) && servername.endsWith(r.pattern.slice(1)))
    .sort((a, b) => b.pattern.length - a.pattern.length)[0];
  const rule = exact ?? under;
  if (rule !== undefined) return { servername, address: rule.address, rule: rule.pattern };
  return { servername, address: { host: servername, port: DEFAULT_TLS_PORT }, rule: undefined };
}

/** `10.0.0.7:443`, `[::1]:8443` */
export function formatAddress(a: DialAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
