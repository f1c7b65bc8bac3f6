import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import fc from "fast-check";
import { configSchema } from "../../src/model/config-schema.ts";
import { buildJsonSchema, fieldPaths, jsonSchemaText, SCHEMA_DOCUMENTS } from "../../src/model/json-schema.ts";
import { SCHEMA_FILES, schemaUrl } from "../../src/model/schema-url.ts";
import { tenantSchema } from "../../src/model/tenant-schema.ts";
import { packageRoot, wildsealVersion } from "../../src/package-info.ts";
import { parseYamlDocument } from "../../src/yaml/load.ts";
import { ONE_CLUSTER_CONFIG } from "./repo-fixture.ts";

const root = packageRoot();

/** Draft-07 (what the generator emits), strict: an unknown keyword in our schema is an error, not ignored. */
function validator(doc: "config" | "tenant"): ValidateFunction {
  const ajv = new Ajv({ strictSchema: true, strictTypes: true, allErrors: true });
  return ajv.compile(JSON.parse(readFileSync(join(root, SCHEMA_FILES[doc]), "utf8")) as object);
}

const validateConfig = validator("config");
const validateTenant = validator("tenant");

/** A YAML file as the loader reads it (YAML 1.2 JSON schema: `yes` stays a string). */
function yamlFile(path: string): unknown {
  return parseYamlDocument(readFileSync(join(root, path), "utf8"), path).value;
}

function yaml(text: string): unknown {
  return parseYamlDocument(text, "test.yaml").value;
}

function errorsOf(validate: ValidateFunction, value: unknown): string[] {
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}

const TENANT = `apiVersion: wildseal.dev/v1alpha1
kind: Tenant
metadata: {name: acme}
spec:
  cluster: prod-east
  hosts: [acme.example.com]
`;

const CONFIG = ONE_CLUSTER_CONFIG;

describe("JSON Schemas in schemas/", () => {
  it("are what `npm run schemas` generates from the zod schemas (else: run npm run schemas)", () => {
    for (const doc of SCHEMA_DOCUMENTS) {
      const file = SCHEMA_FILES[doc];
      const committed = readFileSync(join(root, file), "utf8");
      const generated = jsonSchemaText(doc, wildsealVersion());
      assert.ok(committed === generated, `${file} is stale: run npm run schemas and commit the result`);
    }
  });

  it("are identified by schemaUrl for this version and declare draft-07", () => {
    for (const doc of SCHEMA_DOCUMENTS) {
      const schema = buildJsonSchema(doc, "9.8.7");
      assert.equal(schema["$id"], schemaUrl(doc, "9.8.7"));
      assert.equal(schema["$schema"], "http://json-schema.org/draft-07/schema#");
      assert.equal(typeof schema["title"], "string");
    }
  });

  it("describe every field and forbid unknown fields wherever the loader does", () => {
    for (const doc of SCHEMA_DOCUMENTS) {
      const schema = buildJsonSchema(doc, wildsealVersion());
      const objects: string[] = [];
      const visit = (node: Record<string, unknown>, path: string): void => {
        if (node["type"] === "object" && node["properties"] !== undefined) {
          objects.push(path);
          assert.equal(node["additionalProperties"], false, `${SCHEMA_FILES[doc]} ${path || "(root)"} allows unknown fields`);
        }
        for (const [k, child] of Object.entries((node["properties"] ?? {}) as Record<string, Record<string, unknown>>)) visit(child, `${path}.${k}`);
        if (node["items"] !== undefined) visit(node["items"] as Record<string, unknown>, `${path}[]`);
      };
      visit(schema, "");
      assert.ok(objects.length >= 3, "the walk found the nested objects (root, metadata, spec)");
      assert.ok(fieldPaths(schema).length > 8);
    }
  });

  it("accept every tenant in tenants/ and in the test fixtures", () => {
    const folders = ["tenants", "test/fixtures/render/input/tenants"];
    let count = 0;
    for (const folder of folders) {
      for (const name of readdirSync(join(root, folder)).filter((n) => n.endsWith(".yaml"))) {
        const value = yamlFile(`${folder}/${name}`);
        assert.ok(tenantSchema.safeParse(value).success, `${folder}/${name} is a valid tenant for the loader`);
        assert.deepEqual(errorsOf(validateTenant, value), [], `${folder}/${name}`);
        count++;
      }
    }
    assert.ok(count >= 6, `found ${count} tenant files`);
  });

  it("accept the example wildseal.yaml files (repository root, render fixture)", () => {
    for (const path of ["wildseal.yaml", "test/fixtures/render/input/wildseal.yaml"]) {
      const value = yamlFile(path);
      assert.ok(configSchema.safeParse(value).success, `${path} is valid for the loader`);
      assert.deepEqual(errorsOf(validateConfig, value), [], path);
    }
  });

  it("accept spec.policy, controller clusters and defaults as the docs show them", () => {
    const value = yaml(`${CONFIG}    - name: prod-west
      controller: {}
    - name: staging
      controller: {namespace: sealed-secrets, name: sealed-secrets}
  defaults: {secretName: wildcard-tls, scope: namespace-wide}
  output: rendered
  policy:
    allowNamespaces: [cert-manager]
    allowObjectNamespaces: [ingress-nginx]
    allowKinds:
      - {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding}
      - {apiVersion: v1, kind: Namespace}
`);
    assert.ok(configSchema.safeParse(value).success);
    assert.deepEqual(errorsOf(validateConfig, value), []);
  });

  it("reject a misspelt field (hots: for hosts:), naming it, as the loader does", () => {
    const value = yaml(TENANT.replace("hosts:", "hots:"));
    assert.equal(tenantSchema.safeParse(value).success, false);
    const errors = errorsOf(validateTenant, value);
    assert.ok(errors.some((e) => e.includes('"additionalProperty":"hots"')), errors.join("\n"));
    assert.ok(errors.some((e) => e.includes('"missingProperty":"hosts"')), errors.join("\n"));

    const config = yaml(CONFIG.replace("sealingCert:", "sealingCrt:"));
    assert.equal(configSchema.safeParse(config).success, false);
    assert.ok(errorsOf(validateConfig, config).some((e) => e.includes('"additionalProperty":"sealingCrt"')));
  });

  it("reject a wrong type (hosts as one string, scope as a number, a list for spec.values)", () => {
    for (const text of [
      TENANT.replace("hosts: [acme.example.com]", "hosts: acme.example.com"),
      `${TENANT}  scope: 3\n`,
      `${TENANT}  values: [a, b]\n`,
      `${TENANT}  scope: global\n`,
    ]) {
      const value = yaml(text);
      assert.equal(tenantSchema.safeParse(value).success, false, text);
      assert.notDeepEqual(errorsOf(validateTenant, value), [], text);
    }
  });

  it("reject a cluster with both sealingCert and controller, or neither, as wildseal validate does", () => {
    const both = yaml(CONFIG.replace("sealingCert: clusters/prod-east/sealed-secrets.pem", "sealingCert: a.pem\n      controller: {}"));
    const neither = yaml(CONFIG.replace("      sealingCert: clusters/prod-east/sealed-secrets.pem\n", ""));
    assert.notDeepEqual(errorsOf(validateConfig, both), []);
    assert.notDeepEqual(errorsOf(validateConfig, neither), []);
  });

  it("reject an entry listed twice where the loader does", () => {
    assert.notDeepEqual(errorsOf(validateTenant, yaml(TENANT.replace("[acme.example.com]", "[a.example.com, a.example.com]"))), []);
    assert.notDeepEqual(errorsOf(validateConfig, yaml(`${CONFIG}  policy: {allowNamespaces: [a, a]}\n`)), []);
  });
});

/**
 * zod's `.check()` name rules are code, which zod cannot convert: the generator writes them as
 * patterns. Each pattern must accept exactly what the loader's check accepts.
 */
describe("JSON Schema name patterns agree with the loader's checks", () => {
  const chars = "abcz09-.A_*é ".split("");
  const label = fc.string({ unit: fc.constantFrom(..."az09-".split("")), minLength: 0, maxLength: 66 });
  const candidate = fc.oneof(
    fc.string({ unit: fc.constantFrom(...chars), maxLength: 20 }),
    fc.array(label, { minLength: 1, maxLength: 6 }).map((ls) => ls.join(".")),
    fc.tuple(fc.array(fc.constant("a".repeat(63)), { minLength: 3, maxLength: 4 }), fc.integer({ min: 0, max: 70 }), fc.boolean()).map(
      ([ls, n, dot]) => `${[...ls, "b".repeat(Math.max(1, n))].join(".")}${dot ? "." : ""}`,
    ),
    fc.constantFrom("*.example.com", "Acme.Example.COM.", "a..b", "-a", "a-", "xn--bcher-kva.example", "v1", "apps/v1", "rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", "v1alpha", "x/v1/", "Kind", "kind", "K".repeat(64)),
  );

  const tenantWith = (field: "name" | "cluster" | "namespace" | "secretName" | "host", s: string): unknown => {
    const value = yaml(TENANT) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    if (field === "name") value.metadata["name"] = s;
    else if (field === "host") value.spec["hosts"] = [s];
    else value.spec[field] = s;
    return value;
  };
  const configWith = (field: "metadata" | "sourceNs" | "sourceName" | "apiVersion" | "kind" | "controllerName", s: string): unknown => {
    const value = yaml(CONFIG) as { metadata: Record<string, unknown>; spec: Record<string, Record<string, unknown>> & { clusters: Record<string, unknown>[] } };
    if (field === "metadata") value.metadata["name"] = s;
    if (field === "sourceNs") (value.spec["source"] as Record<string, unknown>)["namespace"] = s;
    if (field === "sourceName") (value.spec["source"] as Record<string, unknown>)["name"] = s;
    if (field === "controllerName") value.spec.clusters = [{ name: "c", controller: { name: s } }];
    if (field === "apiVersion") value.spec["policy"] = { allowKinds: [{ apiVersion: s, kind: "ClusterRole" }] };
    if (field === "kind") value.spec["policy"] = { allowKinds: [{ apiVersion: "v1", kind: s }] };
    return value;
  };

  type Case = readonly [string, (s: string) => unknown, { safeParse: (v: unknown) => { success: boolean } }, ValidateFunction];
  const cases: readonly Case[] = [
    ...(["name", "cluster", "namespace", "secretName", "host"] as const).map(
      (f): Case => [`Tenant ${f}`, (s: string) => tenantWith(f, s), tenantSchema, validateTenant],
    ),
    ...(["metadata", "sourceNs", "sourceName", "apiVersion", "kind", "controllerName"] as const).map(
      (f): Case => [`Config ${f}`, (s: string) => configWith(f, s), configSchema, validateConfig],
    ),
  ];

  for (const [what, make, zod, ajv] of cases) {
    it(`${what}: the pattern accepts a string exactly when the loader does`, () => {
      let accepted = 0;
      fc.assert(
        fc.property(candidate, (s) => {
          const value = make(s);
          const loader = zod.safeParse(value).success;
          if (loader) accepted++;
          assert.equal(ajv(value), loader, `${JSON.stringify(s)}: loader ${loader ? "accepts" : "refuses"}, schema does not agree`);
        }),
        { numRuns: 400 },
      );
      assert.ok(accepted > 0, "some candidates are valid (the comparison is not all refusals)");
    });
  }
});
