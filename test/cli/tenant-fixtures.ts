import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after } from "node:test";
import { generateCa, generateLeaf } from "../../src/tls/generate.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";

/** Copies of the example repository and source certificates for the validate and tenant command tests. */

export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/**
 * The example repository (acme, globex on prod-east; initech on prod-west). With `ingress`, the
 * project's example Ingress template is enabled as templates/ingress.yaml: every tenant then needs
 * values.ingressClass, values.service.name and values.service.port.
 */
export function exampleRepo(opts: { ingress?: boolean } = {}): string {
  const dir = tempFolder("wildseal-example-");
  for (const p of ["wildseal.yaml", "tenants", "clusters", "templates"]) cpSync(join(PROJECT_ROOT, p), join(dir, p), { recursive: true });
  if (opts.ingress === true) cpSync(join(PROJECT_ROOT, "templates/examples/ingress.yaml"), join(dir, "templates/ingress.yaml"));
  return dir;
}

/** A cert-manager style Secret manifest for a fresh leaf with `dnsNames`, in its own folder; returns its path. */
export async function sourceSecretFile(
  dnsNames: readonly string[] = ["*.example.com", "example.com"],
  validity: { notBefore?: Date; notAfter?: Date } = {},
): Promise<string> {
  const leaf = await generateLeaf(await generateCa(), { dnsNames, ...validity });
  return writeSourceSecret(tempFolder("wildseal-source-"), leaf.certPem, leaf.keyPem.reveal());
}
