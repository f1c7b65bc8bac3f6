import { isIP } from "node:net";
import { isValidHostname } from "../tls/hosts.ts";
import type { DialAddress, ProbeHostRule } from "./types.ts";

/**
 * The syntax of probe addresses, shared by `--probe-address HOST=ADDR[:PORT]` (rollout/probe-address.ts
 * wraps it into usage errors) and wildseal.yaml's `spec.probe.addresses` / `spec.clusters[].probe.address`
 * (config-schema.ts reports at the field): one parser, so a rule copied from the command line into
 * the file means the same. Pure; it returns what is wrong instead of throwing, and each caller words
 * where.
 */

export const DEFAULT_TLS_PORT = 443;

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

const fail = (problem: string): { readonly ok: false; readonly problem: string } => ({ ok: false, problem });

/** Lower case, surrounding space and one trailing dot dropped (SNI carries no trailing dot). */
export function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, "");
}

/** `[::1]:8443`, `10.0.0.7:443`, `ingress.svc:443`, `10.0.0.7` (port 443). */
export function parseDialAddress(text: string): Parsed<DialAddress> {
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1] ?? "";
    portText = bracketed[2];
    if (isIP(host) !== 6) return fail(`${JSON.stringify(host)} in brackets is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon !== text.indexOf(":")) return fail("an IPv6 address must be written in brackets, [::1]:443");
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
    if (isIP(host) === 0 && !isValidHostname(host)) return fail(`${JSON.stringify(host)} is neither an IP address nor a host name`);
  }
  let port = DEFAULT_TLS_PORT;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) return fail(`port ${JSON.stringify(portText)} is not a number from 1 to 65535`);
  }
  return { ok: true, value: { host: host.toLowerCase(), port } };
}

/** `HOST=ADDR[:PORT]`; HOST is a host name or `*.` and a domain. */
export function parseProbeHostRule(text: string): Parsed<ProbeHostRule> {
  const eq = text.indexOf("=");
  if (eq === -1) return fail("expected HOST=ADDRESS:PORT");
  const pattern = normaliseHost(text.slice(0, eq));
  const name = pattern.startsWith("*.") ? pattern.slice(2) : pattern;
  // a second trailing dot would survive normaliseHost and the rule would match no host
  if (!isValidHostname(name) || name.endsWith(".")) return fail(`${JSON.stringify(text.slice(0, eq))} is not a host name or *.domain`);
  const address = parseDialAddress(text.slice(eq + 1));
  return address.ok ? { ok: true, value: { pattern, address: address.value } } : address;
}

/**
 * JSON Schema patterns for the two forms (json-schema.ts), so that an editor flags a malformed entry.
 * Exact for host names and ports; an address in brackets is only checked to be bracketed (whether it
 * is IPv6 is left to the loader).
 */
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const NAME = `${LABEL}(?:\\.${LABEL})*`;
const PORT = "(?=[0-9]{1,5}$)0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
const ADDRESS = `(?:\\[[^\\]]+\\]|(?=[^:]{1,253}\\.?(?::|$))${NAME}\\.?)(?::${PORT})?$`;
export const DIAL_ADDRESS_PATTERN = `^${ADDRESS}`;
export const PROBE_HOST_RULE_PATTERN = `^\\s*(?:\\*\\.)?(?=[^=\\s]{1,253}\\.?\\s*=)${NAME}\\.?\\s*=${ADDRESS}`;
