import { z } from "zod";
import { SCOPES } from "../seal/scope.ts";
import { API_VERSION } from "./config-schema.ts";
import { dnsLabel, dnsSubdomain, hostname } from "./field-checks.ts";

/** `tenants/<name>.yaml` as written (docs/configuration.md, schemas/tenant.schema.json); defaults are applied when converting to Tenant. */

export const TENANTS_DIR = "tenants";

export const tenantSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("Tenant"),
  metadata: z.strictObject({ name: dnsLabel("metadata.name") }),
  spec: z.strictObject({
    cluster: dnsLabel("spec.cluster").optional(),
    namespace: dnsLabel("spec.namespace").optional(),
    hosts: z.array(hostname()).min(1),
    secretName: dnsSubdomain("spec.secretName").optional(),
    scope: z.enum(SCOPES).optional(),
    certificate: dnsLabel("spec.certificate").optional(),
    values: z.record(z.string(), z.unknown()).optional(),
  }),
});

export type RawTenant = z.infer<typeof tenantSchema>;
