import { z } from "zod";
import { isValidHostname } from "../tls/hosts.ts";
import { DNS_LABEL_HINT, DNS_SUBDOMAIN_HINT, isDnsLabel, isDnsSubdomain } from "./names.ts";

/** zod string checks whose messages say what is wrong, where (`spec.namespace`) and what to do. */

export function dnsLabel(what: string): z.ZodString {
  return z.string().check((ctx) => {
    if (!isDnsLabel(ctx.value)) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `${what} ${JSON.stringify(ctx.value)} is not a valid DNS-1123 label (${DNS_LABEL_HINT}): rename it`,
      });
    }
  });
}

export function dnsSubdomain(what: string): z.ZodString {
  return z.string().check((ctx) => {
    if (!isDnsSubdomain(ctx.value)) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `${what} ${JSON.stringify(ctx.value)} is not a valid DNS-1123 subdomain (${DNS_SUBDOMAIN_HINT}): rename it`,
      });
    }
  });
}

export function hostname(): z.ZodString {
  return z.string().check((ctx) => {
    const h = ctx.value;
    if (isValidHostname(h)) return;
    const why = h.startsWith("*.")
      ? "is a wildcard, which tenant hosts can not be: list each host name"
      : /[^\x00-\x7f]/.test(h)
        ? "is not ASCII: write internationalised names in punycode (xn--...)"
        : "is not a valid host name (RFC 1123: letters, digits and \"-\" in dot-separated labels of at most 63 characters, 253 in total)";
    ctx.issues.push({ code: "custom", input: h, message: `host ${JSON.stringify(h)} ${why}` });
  });
}
