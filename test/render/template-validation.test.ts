import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import { DEFAULT_SEALED_SECRET_TEMPLATE } from "../../src/render/default-template.ts";
import { validateTemplates } from "../../src/render/load-templates.ts";
import { compileTemplate } from "../../src/render/template.ts";
import { tempDir, writeFiles } from "./render-fixture.ts";

const repoRoot = new URL("../../", import.meta.url).pathname;

function problems(text: string, name = "x.yaml"): string[] {
  const r = compileTemplate(text, `templates/${name}`, name);
  assert.ok(!r.ok, "expected the template to be refused");
  return r.diagnostics.map(formatDiagnostic);
}

describe("template validation", () => {
  test("an unknown placeholder is reported at its exact line and column", () => {
    const text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${tenant.name}\ndata:\n  a: \"x ${foo} y\"\n";
    assert.deepEqual(problems(text), [
      "templates/x.yaml:6:9: unknown placeholder ${foo}; known: ${tenant.name}, ${tenant.namespace}, ${tenant.hosts}, ${tenant.secretName}, ${tenant.cluster}, ${values.KEY}, ${cert.notAfter} (write $${ for a literal ${)",
    ]);
  });

  test("an unknown placeholder inside a block scalar points into the block", () => {
    const text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  script: |\n    echo one\n    echo ${tenant.bogus}\n";
    assert.match(problems(text)[0] ?? "", /^templates\/x\.yaml:6:10: unknown placeholder \$\{tenant\.bogus\}/);
  });

  test("placeholders in mapping keys are refused (values only)", () => {
    const text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  ${tenant.name}: x\n";
    assert.deepEqual(problems(text), [
      'templates/x.yaml:4:3: placeholder in the mapping key "${tenant.name}": placeholders are substituted in values only, so a tenant can not change the document\'s structure',
    ]);
  });

  test("kind must be literal, and a SealedSecret template must not carry encryptedData", () => {
    assert.deepEqual(problems("apiVersion: v1\nkind: ${values.kind}\n"), [
      "templates/x.yaml:2:7: kind must be literal text, not a placeholder: wildseal decides what a template is from it",
    ]);
    assert.deepEqual(problems("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nspec:\n  encryptedData:\n    a: b\n"), [
      "templates/x.yaml:5:5: spec.encryptedData is written by wildseal: remove it from the template",
    ]);
  });

  test("a template file name that cannot be an output file is refused", () => {
    assert.match(problems("apiVersion: v1\nkind: ConfigMap\n", "kustomization.yaml")[0] ?? "", /cannot be an output file name/);
  });

  test("aliases are refused like in every other input", () => {
    assert.match(problems("apiVersion: v1\nkind: ConfigMap\ndata: &d {a: b}\nother: *d\n")[0] ?? "", /^templates\/x\.yaml:3:7: anchors/);
  });

  test("the repository's templates/sealed-secret.yaml is the built-in default, and the example Ingress compiles", () => {
    assert.equal(readFileSync(`${repoRoot}templates/sealed-secret.yaml`, "utf8"), DEFAULT_SEALED_SECRET_TEMPLATE);
    const ingress = compileTemplate(readFileSync(`${repoRoot}templates/examples/ingress.yaml`, "utf8"), "templates/examples/ingress.yaml", "ingress.yaml");
    assert.ok(ingress.ok);
    assert.equal(ingress.template.kind, "Ingress");
  });
});

describe("validateTemplates", () => {
  test("without templates/ the built-in SealedSecret template is used", async () => {
    const r = await validateTemplates(tempDir());
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.templates.map((t) => [t.name, t.builtIn, t.sealedSecret]), [["sealed-secret.yaml", true, true]]);
  });

  test("only top-level *.yaml files are templates; the built-in SealedSecret joins a set that has none", async () => {
    const dir = tempDir();
    writeFiles(dir, {
      "templates/examples/ingress.yaml": "apiVersion: v1\nkind: ConfigMap\n",
      "templates/README.md": "docs",
      "templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '${tenant.name}'}\n",
    });
    const r = await validateTemplates(dir);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.templates.map((t) => t.name), ["config.yaml", "sealed-secret.yaml"]);
  });

  test("two SealedSecret templates are refused at the second one's kind; a .yml file is named", async () => {
    const dir = tempDir();
    const ss = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n";
    writeFiles(dir, { "templates/a.yaml": ss, "templates/b.yaml": `# second\n${ss}`, "templates/c.yml": ss });
    const r = await validateTemplates(dir);
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
      "templates/c.yml:1:1: only templates/*.yaml files are rendered: rename it to c.yaml (or move it to templates/examples/)",
      "templates/b.yaml:3:7: a second SealedSecret template (the first is templates/a.yaml): wildseal renders exactly one SealedSecret per tenant; remove or merge one",
    ]);
  });
});
