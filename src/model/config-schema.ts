import { z } from "zod";
import { SCOPES } from "../seal/scope.ts";
import { dnsLabel, dnsSubdomain } from "./field-checks.ts";
import { parseDialAddress, parseProbeHostRule, type Parsed } from "./probe-addresses.ts";

/** `wildseal.yaml` as written (docs/configuration.md, schemas/wildseal.schema.json); defaults are applied when converting to WildsealConfig. */

export const API_VERSION = "wildseal.dev/v1alpha1";
export const CONFIG_FILE = "wildseal.yaml";
export const DEFAULT_SECRET_NAME = "wildcard-tls";
export const DEFAULT_SCOPE = "strict";
export const DEFAULT_OUTPUT = "rendered";
/**
 * How a cluster's output is laid out (docs/configuration.md#layouts): `per-tenant` seals the
 * certificate once per tenant (today's output, the default); `shared` seals it once per cluster,
 * cluster-wide, into `<output>/<cluster>/_shared/` (`_shared/<certificate>/` per certificate when
 * spec.certificates lists several), which each tenant's kustomization reuses.
 */
export const LAYOUTS = ["per-tenant", "shared"] as const;
export const DEFAULT_LAYOUT = "per-tenant";
/** kubeseal's defaults for `--controller-namespace` / `--controller-name` */
export const DEFAULT_CONTROLLER = { namespace: "kube-system", name: "sealed-secrets-controller" } as const;

/**
 * A probe address string checked by the parser `--probe-address` uses (probe-addresses.ts), so the
 * file accepts exactly what the flag does; the message says which field, what is wrong and an example.
 */
function probeText(what: string, parse: (text: string) => Parsed<unknown>, form: string): z.ZodString {
  return z.string().check((ctx) => {
    const r = parse(ctx.value);
    if (r.ok) return;
    ctx.issues.push({ code: "custom", input: ctx.value, message: `${what} ${JSON.stringify(ctx.value)}: ${r.problem}; write ${form}` });
  });
}

/** `spec.clusters[].probe`: where rollout probes reach this cluster's ingress. */
const clusterProbeSchema = z.strictObject({
  address: probeText("spec.clusters[].probe.address", parseDialAddress, "ADDRESS[:PORT], e.g. ingress-nginx-controller.ingress-nginx.svc:443, 10.0.0.7 (port 443) or [fd00::7]:8443"),
});

/** `spec.probe`: per-host probe addresses, the `--probe-address` syntax. */
const probeSchema = z.strictObject({
  addresses: z
    .array(probeText("spec.probe.addresses[]", parseProbeHostRule, "HOST=ADDRESS[:PORT], e.g. '*.example.com=10.0.0.7:443' or 'acme.example.com=[fd00::7]:8443'"))
    .optional(),
});

const clusterSchema = z.strictObject({
  name: dnsLabel("cluster name"),
  layout: z.enum(LAYOUTS).optional(),
  sealingCert: z.string().optional(),
  controller: z
    .strictObject({
      namespace: dnsLabel("controller namespace").optional(),
      name: dnsSubdomain("controller name").optional(),
    })
    .optional(),
  probe: clusterProbeSchema.optional(),
});

/** `group/version`, or a core-group `version`, as a manifest's apiVersion is written (`rbac.authorization.k8s.io/v1`, `v1`). */
const API_VERSION_SYNTAX = /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;
/** Kubernetes kinds are UpperCamelCase: `ClusterRoleBinding`. */
const KIND_SYNTAX = /^[A-Z][A-Za-z0-9]{0,62}$/;

/**
 * One kind templates may render without a namespace, written exactly as the template writes it
 * (`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding}`): copying the two lines from
 * the template is the least surprising way to say which objects are meant.
 */
const apiKindSchema = z.strictObject({
  apiVersion: z.string().check((ctx) => {
    if (API_VERSION_SYNTAX.test(ctx.value)) return;
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `apiVersion ${JSON.stringify(ctx.value)} is not group/version or a core version (e.g. rbac.authorization.k8s.io/v1, v1): copy it from the template`,
    });
  }),
  kind: z.string().check((ctx) => {
    if (KIND_SYNTAX.test(ctx.value)) return;
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `kind ${JSON.stringify(ctx.value)} is not a Kubernetes kind (UpperCamelCase letters and digits, e.g. ClusterRoleBinding): copy it from the template`,
    });
  }),
});

/**
 * `spec.policy`: what the platform team allows beyond the safe defaults (tenants only in namespaces
 * of their own, rendered objects only in the tenant's namespace). Every field is an explicit list.
 */
const policySchema = z.strictObject({
  /** protected namespaces (kube-system, the source's, a controller's …) that tenants may target anyway */
  allowNamespaces: z.array(dnsLabel("spec.policy.allowNamespaces: namespace")).optional(),
  /** kinds templates may render without a namespace (cluster-scoped objects) */
  allowKinds: z.array(apiKindSchema).optional(),
  /** namespaces other than the tenant's own that rendered objects may be in */
  allowObjectNamespaces: z.array(dnsLabel("spec.policy.allowObjectNamespaces: namespace")).optional(),
});

/** The certificate name `spec.source` (the one-certificate form) stands for. */
export const DEFAULT_CERTIFICATE = "default";

const sourceSchema = (field: string) =>
  z.strictObject({
    namespace: dnsLabel(`${field}.namespace`),
    name: dnsSubdomain(`${field}.name`),
  });

/** `spec.certificates[]`: one wildcard certificate, named so tenants can choose it (`spec.certificate`). */
const certificateSchema = z.strictObject({
  name: dnsLabel("spec.certificates[].name"),
  source: sourceSchema("spec.certificates[].source"),
});

export const configSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("Config"),
  metadata: z.strictObject({ name: dnsSubdomain("metadata.name") }),
  spec: z.strictObject({
    // exactly one of source / certificates (load-config.ts says so at the field): a schema union
    // would word the problem as "no variant matched"
    source: sourceSchema("spec.source").optional(),
    certificates: z.array(certificateSchema).min(1).optional(),
    clusters: z.array(clusterSchema).min(1),
    defaults: z
      .strictObject({
        secretName: dnsSubdomain("spec.defaults.secretName").optional(),
        scope: z.enum(SCOPES).optional(),
      })
      .optional(),
    output: z.string().optional(),
    layout: z.enum(LAYOUTS).optional(),
    policy: policySchema.optional(),
    probe: probeSchema.optional(),
  }),
});

export type RawConfig = z.infer<typeof configSchema>;
