/**
 * Label values for the safety gates, as `wildseal_gate_failures_total{reason}` counts them. The gates
 * live where the facts are, and each names its reason where it refuses (src/errors.ts `Reason`): TLS
 * validation refuses the whole certificate (InvalidInputError.reason); the renderer holds a single
 * tenant (Diagnostic.reason: hosts not covered, older than the committed certificate, invalid tenant
 * file, removals held). Messages are never read here, so rewording one cannot move its metric.
 */
import type { Diagnostic, InvalidInputError, Reason } from "../errors.ts";

/** Why validation refused the source certificate as a whole (validateTlsSecret's error). */
export function certificateGate(e: InvalidInputError): Reason {
  return e.reason ?? "invalid-certificate";
}

/** Why the renderer held something back (one diagnostic of a render). */
export function diagnosticGate(d: Diagnostic): Reason {
  return d.reason ?? reasonOfPath(d.path);
}

/**
 * For a diagnostic raised without a reason: decided by WHERE it points (the input the user must fix),
 * never by its wording.
 */
export function reasonOfPath(path: string): Reason {
  if (path === "tenants" || path.startsWith("tenants/")) return "invalid-tenant";
  if (path === "templates" || path.startsWith("templates/")) return "invalid-template";
  if (path.startsWith("clusters/")) return "sealing-certificate";
  if (path === "wildseal.yaml") return "invalid-config";
  return "invalid-input";
}
