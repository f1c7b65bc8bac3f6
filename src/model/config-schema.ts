import { z } from "zod";
import { SCOPES } from "../seal/scope.ts";
import { dnsLabel, dnsSubdomain } from "./field-checks.ts";

/** `wildseal.yaml` as written (CONTRACT.md); defaults are applied when converting to WildsealConfig. */

export const API_VERSION = "wildseal.dev/v1alpha1";
export const CONFIG_FILE = "wildseal.yaml";
export const DEFAULT_SECRET_NAME = "wildcard-tls";
export const DEFAULT_SCOPE = "strict";
export const DEFAULT_OUTPUT = "rendered";
/** kubeseal's defaults for `--controller-namespace` / `--controller-name` */
export const DEFAULT_CONTROLLER = { namespace: "kube-system", name: "sealed-secrets-controller" } as const;

const clusterSchema = z.strictObject({
  name: dnsLabel("cluster name"),
  sealingCert: z.string().optional(),
  controller: z
    .strictObject({
      namespace: dnsLabel("controller namespace").optional(),
      name: dnsSubdomain("controller name").optional(),
    })
    .optional(),
});

export const configSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("Config"),
  metadata: z.strictObject({ name: dnsSubdomain("metadata.name") }),
  spec: z.strictObject({
    source: z.strictObject({
      namespace: dnsLabel("spec.source.namespace"),
      name: dnsSubdomain("spec.source.name"),
    }),
    clusters: z.array(clusterSchema).min(1),
    defaults: z
      .strictObject({
        secretName: dnsSubdomain("spec.defaults.secretName").optional(),
        scope: z.enum(SCOPES).optional(),
      })
      .optional(),
    output: z.string().optional(),
  }),
});

export type RawConfig = z.infer<typeof configSchema>;
