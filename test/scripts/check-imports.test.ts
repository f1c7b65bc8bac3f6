import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
// @ts-expect-error: a plain .mjs script, no declarations
import { importsOf, upwardImports } from "../../scripts/check-imports.mjs";

const SRC = new URL("../../src", import.meta.url).pathname;

describe("imports point one way (scripts/check-imports.mjs)", () => {
  test("src/ has no import from a folder above its own in the layer order", () => {
    assert.deepEqual(upwardImports(SRC), []);
  });

  const scratch = mkdtempSync(join(tmpdir(), "wildseal-imports-"));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const tree = (files: Record<string, string>) => {
    const root = mkdtempSync(join(scratch, "src-"));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  };

  test("an upward import is reported with file:line, a downward or same-folder one is not", () => {
    const root = tree({
      "errors.ts": "export const e = 1;\n",
      "model/a.ts": 'import { e } from "../errors.ts";\nimport type { P } from "../render/plan.ts";\n',
      "render/plan.ts": 'import "./tree.ts";\nexport { x } from "../model/a.ts";\nexport type P = 1;\n',
      "render/tree.ts": "",
    });
    const found = upwardImports(root) as string[];
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0] ?? "", /model\/a\.ts:2: imports \.\.\/render\/plan\.ts \(model → render, upward\)/);
  });

  test("dynamic imports and unknown folders are caught too", () => {
    const root = tree({ "tls/x.ts": 'const m = await import("../cli/main.ts");\n', "misc/y.ts": "" });
    const found = (upwardImports(root) as string[]).join("\n");
    assert.match(found, /tls\/x\.ts:1: imports \.\.\/cli\/main\.ts \(tls → cli, upward\)/);
    assert.match(found, /folder "misc" is not in LAYERS/);
  });

  test("importsOf reads static, side-effect, re-export and multi-line imports with their lines", () => {
    const text = 'import {\n  a,\n  b,\n} from "./one.ts";\nimport "./two.ts";\nexport * from "./three.ts";\nimport x from "node:fs";\n';
    assert.deepEqual(
      (importsOf(text) as { specifier: string; line: number }[]).map((i) => [i.specifier, i.line]),
      [["./one.ts", 1], ["./two.ts", 5], ["./three.ts", 6]],
    );
  });
});
