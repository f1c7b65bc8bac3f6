import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import type { Diagnostic } from "../../src/errors.ts";

/** Temporary GitOps repositories for model tests; removed after the test file. */

export const ONE_CLUSTER_CONFIG = `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: example}
spec:
  source: {namespace: cert-manager, name: wildcard-example-com}
  clusters:
    - name: prod-east
      sealingCert: clusters/prod-east/sealed-secrets.pem
`;

export const TWO_CLUSTER_CONFIG = `${ONE_CLUSTER_CONFIG}    - name: prod-west
      controller: {}
`;

/**
 * A tenant file whose spec body is given verbatim (indented lines), for validation tests that need a
 * spec the shared tenantYaml (test/helpers/tenant-yaml.ts) would not write: missing or malformed fields.
 */
export function tenantWithSpec(name: string, spec: string): string {
  return `apiVersion: wildseal.dev/v1alpha1
kind: Tenant
metadata:
  name: ${name}
spec:
${spec}`;
}

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A repository holding `files` (path → content); the sealing certificate file exists unless overridden. */
export function makeRepo(files: Readonly<Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), "wildseal-model-"));
  roots.push(root);
  const all: Record<string, string> = { "clusters/prod-east/sealed-secrets.pem": "public cert placeholder\n", ...files };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  mkdirSync(join(root, "tenants"), { recursive: true });
  return root;
}

export function formatted(ds: readonly Diagnostic[]): string[] {
  return ds.map(formatDiagnostic);
}
