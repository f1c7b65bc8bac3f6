import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { load } from "js-yaml";
import { PROJECT_ROOT, exampleRepo, sourceSecretFile, tempFolder } from "./tenant-fixtures.ts";

/**
 * action.yml runs `wildseal validate --format github` from the action's own checkout, built with
 * `npm run build`. These tests build the bundle the same way (scripts/build.mjs, into a temporary
 * action folder) and run the action's own shell step, with its inputs as GitHub passes them, on a
 * repository with a failing tenant: the annotations are what a pull request would show.
 */

interface Step {
  readonly id?: string;
  readonly if?: string;
  readonly run?: string;
  readonly shell?: string;
  readonly uses?: string;
  readonly env?: Readonly<Record<string, string>>;
}
interface Action {
  readonly name: string;
  readonly description: string;
  readonly inputs: Readonly<Record<string, { required?: boolean; default?: string; description: string }>>;
  readonly runs: { readonly using: string; readonly steps: readonly Step[] };
}

const action = load(readFileSync(join(PROJECT_ROOT, "action.yml"), "utf8")) as Action;

let actionPath = "";
before(() => {
  actionPath = tempFolder("wildseal-action-");
  const built = spawnSync(process.execPath, [join(PROJECT_ROOT, "scripts/build.mjs"), "--outdir", join(actionPath, "dist")], { cwd: PROJECT_ROOT, encoding: "utf8", timeout: 120_000 });
  assert.equal(built.status, 0, built.stderr);
});

/** Runs the action's validate step the way the runner would: `${{ … }}` replaced, bash, in the workspace. */
function runValidateStep(workspace: string, inputs: Readonly<Record<string, string>>): { code: number | null; stdout: string; stderr: string } {
  const step = action.runs.steps.find((s) => s.id === "validate");
  assert.ok(step?.run !== undefined && step.shell === "bash");
  const context: Record<string, string> = { "github.action_path": actionPath };
  for (const [name, input] of Object.entries(action.inputs)) context[`inputs.${name}`] = inputs[name] ?? input.default ?? "";
  const expand = (v: string): string =>
    v.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
      assert.ok(expr in context, `unknown expression ${expr}`);
      return context[expr] ?? "";
    });
  assert.doesNotMatch(step.run, /\$\{\{/, "inputs reach the script through env only");
  const env: Record<string, string> = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? "/usr/bin:/bin"}`, HOME: workspace };
  for (const [k, v] of Object.entries(step.env ?? {})) env[k] = expand(v);
  const r = spawnSync("bash", ["--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step.run], { cwd: workspace, env, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("action.yml (GitHub Action: wildseal validate)", () => {
  it("is a composite action with the inputs workflows use: repo (default .), source-file, version", () => {
    assert.equal(action.name, "wildseal validate");
    assert.notEqual(action.description, "");
    assert.equal(action.runs.using, "composite");
    assert.deepEqual(Object.keys(action.inputs).sort(), ["repo", "source-file", "version"]);
    assert.equal(action.inputs["repo"]?.default, ".");
    const build = action.runs.steps.find((s) => s.run?.includes("npm run build") === true);
    assert.equal(build?.if, "inputs.version == ''", "the action's own ref is built unless a published version is asked for");
  });

  it("turns every problem of a failing tenant into an annotation on its file, line and column", async () => {
    const workspace = exampleRepo({ ingress: true });
    writeFileSync(
      join(workspace, "tenants/hooli.yaml"),
      "apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: hooli\nspec:\n  cluster: prod-west\n  hosts: [hooli.example.org]\n  values: {ingressClass: nginx, service: {name: web, port: 80}}\n  colour: blue\n",
    );
    const r = runValidateStep(workspace, { "source-file": await sourceSecretFile() });
    assert.equal(
      r.stdout,
      [
        "::error file=tenants/hooli.yaml,line=7,col=11,title=wildseal validate::host hooli.example.org is not covered by the certificate (DNS names: *.example.com, example.com): remove the host or issue a certificate that covers it",
        "::error file=tenants/hooli.yaml,line=9,col=3,title=wildseal validate::unknown field spec.colour: remove it or fix its spelling",
        "",
      ].join("\n"),
    );
    assert.equal(r.stderr, "2 problems: 1 config, 3 tenants, 1 invalid tenant file, 2 templates\n");
    assert.equal(r.code, 1, "the step fails, so the check fails");
  });

  it("passes on a valid repository with a source-file input containing spaces and quotes", async () => {
    const workspace = exampleRepo();
    const odd = join(tempFolder("wildseal-odd-"), `it's "here" $(true).yaml`);
    writeFileSync(odd, readFileSync(await sourceSecretFile()));
    const r = runValidateStep(workspace, { "source-file": odd });
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "ok: 1 config, 3 tenants, 1 template\n");
    assert.equal(r.code, 0);
  });
});
