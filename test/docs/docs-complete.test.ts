import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { buildProgram } from "../../src/cli/main.ts";
import { buildJsonSchema, fieldPaths } from "../../src/model/json-schema.ts";
import { packageRoot, wildsealVersion } from "../../src/package-info.ts";
import {
  commandFlags,
  commandSections,
  documentSection,
  envVarsRead,
  undocumentedEnvVars,
  undocumentedFields,
  undocumentedFlags,
} from "./docs-check.ts";

const root = packageRoot();
const doc = (name: string): string => readFileSync(join(root, "docs", name), "utf8");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith(".ts") ? [full] : [];
  });
}

const quiet = { io: { stdout: () => undefined, stderr: () => undefined, stdin: process.stdin, env: {} }, exitCode: 0 };

describe("docs/cli.md documents the CLI", () => {
  it("has a section for every command listing each of its long flags", () => {
    const program = buildProgram(quiet);
    assert.ok(commandFlags(program).length >= 10, "the walk reaches every command and subcommand");
    assert.deepEqual(undocumentedFlags(program, doc("cli.md")), []);
  });

  it("names every environment variable the code reads", () => {
    const names = envVarsRead(sourceFiles(join(root, "src")).map((f) => readFileSync(f, "utf8")));
    for (const known of ["WILDSEAL_GIT_TOKEN_FILE", "WILDSEAL_GITHUB_APP_ID", "WILDSEAL_WEBHOOK_SECRET", "GIT_AUTHOR_NAME", "KUBECONFIG"]) {
      assert.ok(names.includes(known), `the scan finds ${known}`);
    }
    assert.deepEqual(undocumentedEnvVars(names, doc("cli.md")), []);
  });
});

describe("docs/configuration.md documents every field of the JSON Schemas", () => {
  for (const [schemaDoc, kind] of [["config", "Config"], ["tenant", "Tenant"]] as const) {
    it(`kind: ${kind}`, () => {
      const section = documentSection(doc("configuration.md"), kind);
      assert.ok(section !== undefined, `configuration.md has a "## … kind: ${kind}" section`);
      const paths = fieldPaths(buildJsonSchema(schemaDoc, wildsealVersion()));
      assert.ok(paths.includes("spec.hosts") || paths.includes("spec.clusters[].name"));
      assert.deepEqual(undocumentedFields(paths, section), []);
    });
  }
});

describe("the docs checker", () => {
  const markdown = [
    "# CLI",
    "## `wildseal` (every command)",
    "`--version` `--help`",
    "## `wildseal sync`",
    "| `--repo <url>` | the repo |",
    "## `wildseal tenant add NAME`",
    "| `--host <host>` | a host; see also `--repo` of sync |",
    "## Environment",
    "`--cluster` here is outside every command's section",
  ].join("\n");

  it("splits sections at command headings and at other headings", () => {
    const sections = commandSections(markdown);
    assert.deepEqual([...sections.keys()].sort(), ["", "sync", "tenant add"]);
    assert.ok(sections.get("tenant add")?.includes("--host"));
    assert.ok(!(sections.get("tenant add") ?? "").includes("--cluster"));
  });

  it("lists an option the docs lack, under its command, and a command without a section (a flagless group needs none)", () => {
    const program = new Command("wildseal").version("1.0.0", "-V, --version");
    program.command("sync").option("--repo <url>").option("--frobnicate", "an undocumented flag");
    const tenant = program.command("tenant");
    tenant.command("add").option("--host <host>").option("--cluster <c>");
    program.command("init").option("--source-secret <ns/name>");
    assert.deepEqual(undocumentedFlags(program, markdown), [
      "wildseal sync: --frobnicate is not documented in its section of docs/cli.md",
      "wildseal tenant add: --cluster is not documented in its section of docs/cli.md",
      "wildseal init: no section (a heading starting with `wildseal init`) in docs/cli.md",
    ]);
  });

  it("fails the real program once a flag is added that docs/cli.md does not list", () => {
    const program = buildProgram(quiet);
    const sync = program.commands.find((c) => c.name() === "sync");
    assert.ok(sync);
    sync.option("--frobnicate-harder", "not documented anywhere");
    assert.deepEqual(undocumentedFlags(program, doc("cli.md")), ["wildseal sync: --frobnicate-harder is not documented in its section of docs/cli.md"]);
  });

  it("does not count a flag written inside a longer one (--repo is not --repository)", () => {
    const program = new Command("wildseal");
    program.command("sync").option("--repo <url>");
    assert.deepEqual(undocumentedFlags(program, "## `wildseal`\n## `wildseal sync`\n`--repository`"), [
      "wildseal sync: --repo is not documented in its section of docs/cli.md",
    ]);
  });

  it("finds environment variable reads and ignores assignments", () => {
    const names = envVarsRead([
      'const a = env.WILDSEAL_X; const b = io.env["SEALED_SECRETS_Y"]; nonEmpty(env, "WILDSEAL_Z");',
      'env.GIT_CONFIG_COUNT = "1"; export const AUTHOR_ENV = "WILDSEAL_AUTHOR"; const WILDSEAL_ACTIONS = [];',
    ]);
    assert.deepEqual(names, ["SEALED_SECRETS_Y", "WILDSEAL_AUTHOR", "WILDSEAL_X", "WILDSEAL_Z"]);
    assert.deepEqual(undocumentedEnvVars(names, "`WILDSEAL_X` and `WILDSEAL_Z`, `SEALED_SECRETS_Y`"), ["WILDSEAL_AUTHOR"]);
  });

  it("lists a schema field missing from the document's section", () => {
    const section = "## `wildseal.yaml` (kind: Config)\n`spec.output` `spec.clusters`";
    assert.deepEqual(undocumentedFields(["spec.output", "spec.clusters", "spec.clusters[]", "spec.clusters[].name"], section), ["spec.clusters[].name"]);
    assert.equal(documentSection("## A\nx\n## B (kind: Tenant)\n`spec.hosts`\n## C\n`spec.cluster`", "Tenant"), "## B (kind: Tenant)\n`spec.hosts`");
  });
});
