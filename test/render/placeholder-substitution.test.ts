import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { load as loadYaml } from "js-yaml";
import { parseScalar, substituteSegments } from "../../src/render/placeholders.ts";
import type { PlaceholderContext } from "../../src/render/placeholders.ts";
import { compileTemplate, instantiateTemplate } from "../../src/render/template.ts";
import { dumpYaml } from "../../src/yaml/dump.ts";
import { parseYamlDocument } from "../../src/yaml/load.ts";

function ctx(values: Record<string, unknown> = {}, over: Partial<PlaceholderContext["tenant"]> = {}): PlaceholderContext {
  return {
    tenant: { name: "acme", namespace: "acme-ns", hosts: ["a.example.com", "b.example.com"], secretName: "wildcard-tls", cluster: "prod", ...over },
    values,
    certNotAfter: "2026-03-01T00:00:00Z",
  };
}

function sub(s: string, c = ctx()): unknown {
  const p = parseScalar(s);
  assert.ok(p.ok, `parse ${s}`);
  const r = substituteSegments(p.segments, c);
  assert.ok(r.ok, `substitute ${s}`);
  return r.value;
}

describe("placeholder substitution", () => {
  test("a scalar that is exactly one placeholder takes the value's type", () => {
    assert.deepEqual(sub("${tenant.hosts}"), ["a.example.com", "b.example.com"]);
    assert.equal(sub("${values.replicas}", ctx({ replicas: 3 })), 3);
    assert.deepEqual(sub("${values.svc}", ctx({ svc: { name: "web", port: 80 } })), { name: "web", port: 80 });
    assert.equal(sub("${values.a.b}", ctx({ a: { b: true } })), true);
    assert.equal(sub("${cert.notAfter}"), "2026-03-01T00:00:00Z");
  });

  test("inside a longer string: scalars as text, lists of scalars joined with a comma", () => {
    assert.equal(sub("${tenant.name}.${tenant.namespace}:${values.port}", ctx({ port: 8080 })), "acme.acme-ns:8080");
    assert.equal(sub("hosts=${tenant.hosts}"), "hosts=a.example.com,b.example.com");
  });

  test("inside a longer string, mappings and null are refused with a hint", () => {
    for (const v of [{ a: 1 }, null, [[1]]]) {
      const p = parseScalar("x-${values.v}");
      assert.ok(p.ok);
      const r = substituteSegments(p.segments, ctx({ v: v }));
      assert.ok(!r.ok);
      assert.match(r.message, /cannot be written inside a longer string: make the placeholder the whole value/);
    }
  });

  test("$${ writes a literal ${ and a lone $ stays", () => {
    assert.equal(sub("$${tenant.name} costs $5"), "${tenant.name} costs $5");
  });

  test("unknown, malformed and unterminated placeholders are refused, naming what is known", () => {
    const unknown = parseScalar("x ${foo} y");
    assert.ok(!unknown.ok);
    assert.match(unknown.message, /^unknown placeholder \$\{foo\}; known: \$\{tenant\.name\}, \$\{tenant\.namespace\}, \$\{tenant\.hosts\}, \$\{tenant\.secretName\}, \$\{tenant\.cluster\}, \$\{values\.KEY\}, \$\{cert\.notAfter\}/);
    assert.ok(!parseScalar("${tenant.nope}").ok);
    assert.ok(!parseScalar("${values.}").ok);
    assert.ok(!parseScalar("${ tenant.name }").ok);
    const open = parseScalar("${tenant.name");
    assert.ok(!open.ok);
    assert.match(open.message, /^unterminated placeholder/);
  });

  test("a missing value names the key and the fix", () => {
    const p = parseScalar("${values.team}");
    assert.ok(p.ok);
    const r = substituteSegments(p.segments, ctx());
    assert.ok(!r.ok);
    assert.equal(r.message, "${values.team}: the tenant has no spec.values.team; define it in the tenant file or remove the placeholder");
  });

  test("values are copied: two tenants never share an object", () => {
    const shared = { svc: { name: "web" } };
    const a = sub("${values.svc}", ctx(shared)) as { name: string };
    a.name = "changed";
    assert.equal(shared.svc.name, "web");
  });
});

const TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: \${tenant.name}
  namespace: \${tenant.namespace}
  labels:
    team: \${values.team}
data:
  whole: \${values.payload}
  inline: "prefix \${values.payload} suffix"
  list: \${tenant.hosts}
  quoted: '\${values.payload}'
  block: |
    line one \${values.payload}
    line two
`;

/** The shape of a value: its keys and the types of its leaves, with placeholder slots marked. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

describe("substitution never injects YAML", () => {
  const compiled = compileTemplate(TEMPLATE, "templates/cm.yaml", "cm.yaml");
  assert.ok(compiled.ok);
  const template = compiled.template;
  const nasty = fc.oneof(
    fc.string(),
    fc.constantFrom("\n- x", ": ", "{", "}", "#", "'", '"', "a: b\nc: d", "--- \n", "[1, 2]", "&a", "*a", "!!js/function x", "? key", "|\n  x", "${tenant.name}", "$${"),
    fc.array(fc.constantFrom("\n- x", ": ", "{", "#", "'", '"', "x"), { maxLength: 6 }).map((a) => a.join("")),
  );

  test("arbitrary strings as values keep the document's structure after dump and re-parse", () => {
    fc.assert(
      fc.property(nasty, nasty, (payload, team) => {
        const r = instantiateTemplate(template, ctx({ payload, team }), "tenant t");
        assert.ok(r.ok);
        const text = dumpYaml(r.value);
        const back = loadYaml(text);
        assert.deepEqual(back, r.value);
        const data = (back as { data: Record<string, unknown> }).data;
        assert.equal(data["whole"], payload);
        assert.equal(data["inline"], `prefix ${payload} suffix`);
        assert.equal(data["quoted"], payload);
        assert.equal(data["block"], `line one ${payload}\nline two\n`);
        assert.equal((back as { metadata: { labels: { team: string } } }).metadata.labels.team, team);
        // same keys and leaf types as the template itself (every placeholder slot here holds a string or the hosts list)
        assert.deepEqual(shape(back), shape({ ...template.root, data: { ...(template.root["data"] as object), list: ["", ""] } }));
        // and the strict loader (no aliases, no duplicate keys) accepts it too
        parseYamlDocument(text, "dumped.yaml");
      }),
      { numRuns: 300 },
    );
  });

  test("the template itself is never modified by instantiation", () => {
    const before = JSON.stringify(template.root);
    instantiateTemplate(template, ctx({ payload: { deep: ["x"] }, team: "t" }), "tenant t");
    assert.equal(JSON.stringify(template.root), before);
  });
});
