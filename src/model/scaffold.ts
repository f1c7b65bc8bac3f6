import { dumpYaml } from "../yaml/dump.ts";
import { API_VERSION, CONFIG_FILE, DEFAULT_OUTPUT, DEFAULT_SCOPE, DEFAULT_SECRET_NAME } from "./config-schema.ts";
import { schemaComment } from "./schema-url.ts";
import { TENANTS_DIR } from "./tenant-schema.ts";

/**
 * The GitOps repository `wildseal init` writes, as data: file paths and their text, nothing read or
 * written here. Every name given has been checked (DNS-1123) by the caller; values are still written
 * through the YAML dumper so that a cluster called `123` or `null` stays a string.
 */

export type ScaffoldSealing =
  /** the controller's public certificate, as canonical PEM (certificate only) */
  | { readonly kind: "file"; readonly pem: string }
  | { readonly kind: "controller"; readonly namespace: string; readonly name: string };

export interface ScaffoldCluster {
  readonly name: string;
  readonly sealing: ScaffoldSealing;
}

export interface ScaffoldInput {
  /** the kubernetes.io/tls Secret cert-manager writes */
  readonly source: { readonly namespace: string; readonly name: string };
  readonly clusters: readonly ScaffoldCluster[];
  /** wildseal's version: pins the schema URL and the GitHub Action */
  readonly version: string;
  /** the built-in SealedSecret template's text (render/default-template.ts; model/ does not import render/) */
  readonly sealedSecretTemplate: string;
}

export interface ScaffoldFile {
  /** repository-relative, `/`-separated */
  readonly path: string;
  readonly text: string;
}

export const SEALED_SECRET_TEMPLATE_FILE = "templates/sealed-secret.yaml";
export const EXAMPLE_INGRESS_FILE = "templates/examples/ingress.yaml";
export const VALIDATE_WORKFLOW_FILE = ".github/workflows/wildseal-validate.yaml";
export const GITKEEP_FILE = `${TENANTS_DIR}/.gitkeep`;

export function sealingCertFile(cluster: string): string {
  return `clusters/${cluster}/sealed-secrets.pem`;
}

/**
 * The example Ingress. The project's own templates/examples/ingress.yaml is this exact text (a test
 * pins that). It lives in a sub-folder because only templates/*.yaml at the top level are rendered.
 */
export const EXAMPLE_INGRESS_TEMPLATE = `# An example Ingress for every tenant, serving the tenant's hosts with the sealed wildcard certificate.
# Disabled: only templates/*.yaml at the top level are rendered. To use it, move it to
# templates/ingress.yaml and give every tenant the values it needs, e.g. in tenants/acme.yaml:
#   spec:
#     values:
#       service: {name: web, port: 80}
#       ingressClass: nginx
# Placeholders are substituted inside values only, so a tenant's values can never add YAML structure.
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: \${tenant.name}
  namespace: \${tenant.namespace}
  labels:
    app.kubernetes.io/managed-by: wildseal
    wildseal.dev/tenant: \${tenant.name}
spec:
  ingressClassName: \${values.ingressClass}
  tls:
    - hosts: \${tenant.hosts}
      secretName: \${tenant.secretName}
  defaultBackend:
    service:
      name: \${values.service.name}
      port:
        number: \${values.service.port}
`;

/** A line with its comment in the column the `source:` comment uses. */
function commented(line: string, comment: string): string {
  return `${line.padEnd(31)} # ${comment}`;
}

/** A string as a YAML scalar that reads back as that string. */
function scalar(s: string): string {
  return dumpYaml(s).trimEnd();
}

export function configText(input: ScaffoldInput): string {
  const clusters = input.clusters.map((c) =>
    c.sealing.kind === "file"
      ? `    - name: ${scalar(c.name)}\n      sealingCert: ${scalar(sealingCertFile(c.name))}   # the controller's public certificate (kubeseal --fetch-cert)\n`
      : `    - name: ${scalar(c.name)}\n      # fetched from the controller by sync and watch, and committed to ${sealingCertFile(c.name)}\n      controller: {namespace: ${scalar(c.sealing.namespace)}, name: ${scalar(c.sealing.name)}}\n`,
  );
  return `${schemaComment("config", input.version)}# wildseal's pipeline config: which certificate to seal, and for which clusters.
# Check the repository with \`wildseal validate\`; add tenants with \`wildseal tenant add NAME --host HOST\`.
apiVersion: ${API_VERSION}
kind: Config
metadata:
  name: ${scalar(input.source.name)}
spec:
  source:                       # the kubernetes.io/tls Secret cert-manager writes (the Certificate's spec.secretName)
    namespace: ${scalar(input.source.namespace)}
    name: ${scalar(input.source.name)}
  clusters:
${clusters.join("")}  defaults:
${commented(`    secretName: ${DEFAULT_SECRET_NAME}`, "the Secret created in each tenant's namespace")}
${commented(`    scope: ${DEFAULT_SCOPE}`, "strict | namespace-wide | cluster-wide")}
${commented(`  output: ${DEFAULT_OUTPUT}`, `generated: point Flux or Argo CD at ${DEFAULT_OUTPUT}/<cluster>`)}
`;
}

export function workflowText(version: string): string {
  return `# Checks every pull request that changes wildseal's inputs: config, tenants, templates and the
# sealing certificates, with \`wildseal validate\` (every problem reported as path:line:col).
name: wildseal validate
on:
  pull_request:
    paths:
      - "tenants/**"
      - "templates/**"
      - "clusters/**"
      - "${CONFIG_FILE}"
permissions:
  contents: read
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: wildseal/wildseal@v${version}
        with:
          repo: .
`;
}

/** Keeps key material out of the repository; rendered/ is committed on purpose (Flux/Argo CD read it). */
export const GITIGNORE_TEXT = `# Private keys never belong in a GitOps repository. Keep the source Secret you pass to
# \`wildseal render --source-file\`, and any backup of a sealing key, outside it (or under these names).
*.key
*-key.pem
*.secret.yaml
# rendered/ is generated, and committed: Flux or Argo CD apply it.
`;

/** Every file of a new repository, in the order they are listed to the user. */
export function scaffoldFiles(input: ScaffoldInput): ScaffoldFile[] {
  const files: ScaffoldFile[] = [
    { path: CONFIG_FILE, text: configText(input) },
    { path: GITKEEP_FILE, text: "" },
    { path: SEALED_SECRET_TEMPLATE_FILE, text: input.sealedSecretTemplate },
    { path: EXAMPLE_INGRESS_FILE, text: EXAMPLE_INGRESS_TEMPLATE },
  ];
  for (const c of input.clusters) {
    if (c.sealing.kind === "file") files.push({ path: sealingCertFile(c.name), text: c.sealing.pem });
  }
  files.push({ path: ".gitignore", text: GITIGNORE_TEXT }, { path: VALIDATE_WORKFLOW_FILE, text: workflowText(input.version) });
  return files;
}
