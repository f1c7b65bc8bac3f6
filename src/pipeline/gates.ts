/**
 * Names for the safety gates, as `wildseal_gate_failures_total{reason}` counts them. The gates live
 * where the facts are: TLS validation (key matches the leaf, inside its validity window) refuses the
 * whole certificate; the renderer holds a single tenant (hosts not covered, older than the committed
 * certificate, invalid tenant file). Both report in words; this module maps those words to a small,
 * stable set of label values, so that a reworded message at worst lands in a generic reason.
 */
import type { Diagnostic } from "../errors.ts";

export const GATE_REASONS = [
  "expired",
  "not-yet-valid",
  "key-mismatch",
  "invalid-certificate",
  "uncovered-host",
  "downgrade",
  "invalid-tenant",
  "removal-held",
  "invalid-template",
  "sealing-certificate",
  "invalid-config",
  "invalid-input",
] as const;
export type GateReason = (typeof GATE_REASONS)[number];

/** Why validation refused the source certificate as a whole (validateTlsSecret's message). */
export function certificateGate(message: string): GateReason {
  if (/does not match the leaf/.test(message)) return "key-mismatch";
  if (/expired at/.test(message)) return "expired";
  if (/not valid before/.test(message)) return "not-yet-valid";
  return "invalid-certificate";
}

/** Why the renderer held something back (one diagnostic of a render). */
export function diagnosticGate(d: Diagnostic): GateReason {
  if (/with an older one/.test(d.message)) return "downgrade";
  if (/is not covered by the certificate/.test(d.message)) return "uncovered-host";
  if (d.path === "tenants" && /^(removal of .* held|\d+ tenant folders? would be removed)/.test(d.message)) return "removal-held";
  if (d.path === "tenants" || d.path.startsWith("tenants/")) return "invalid-tenant";
  if (d.path === "templates" || d.path.startsWith("templates/")) return "invalid-template";
  if (d.path.startsWith("clusters/") || /sealing certificate/.test(d.message)) return "sealing-certificate";
  if (d.path === "wildseal.yaml") return "invalid-config";
  if (/expired at/.test(d.message)) return "expired";
  return "invalid-input";
}
