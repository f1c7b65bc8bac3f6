/** A tenant as tests write it; everything but the name is optional (hosts default to <name>.example.com). */
export interface TenantSpec {
  readonly name: string;
  readonly cluster?: string;
  readonly namespace?: string;
  readonly hosts?: readonly string[];
  readonly scope?: string;
  readonly secretName?: string;
  readonly values?: Readonly<Record<string, unknown>>;
}

/**
 * The one tenants/<name>.yaml of the tests. `extra` is appended verbatim after the spec's fields (indent
 * it for spec: "  colour: blue\n"), so a test can add a field the schema rejects.
 */
export function tenantYaml(t: string | TenantSpec, extra = ""): string {
  const spec = typeof t === "string" ? { name: t } : t;
  const lines = ["apiVersion: wildseal.dev/v1alpha1", "kind: Tenant", "metadata:", `  name: ${spec.name}`, "spec:"];
  if (spec.cluster) lines.push(`  cluster: ${spec.cluster}`);
  if (spec.namespace) lines.push(`  namespace: ${spec.namespace}`);
  lines.push(`  hosts: [${(spec.hosts ?? [`${spec.name}.example.com`]).join(", ")}]`);
  if (spec.scope) lines.push(`  scope: ${spec.scope}`);
  if (spec.secretName) lines.push(`  secretName: ${spec.secretName}`);
  if (spec.values) lines.push(`  values: ${JSON.stringify(spec.values)}`);
  return `${lines.join("\n")}\n${extra}`;
}
