import assert from "node:assert/strict";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { InvalidInputError } from "../../src/errors.ts";
import { readExistingTree } from "../../src/render/rendered-files.ts";
import { outputPath, outputRoot } from "../../src/render/tree.ts";
import { tempDir } from "./render-fixture.ts";

describe("rendered paths stay inside the output folder", () => {
  const repo = "/repo";
  test("valid names give paths under <repo>/<output>/", () => {
    assert.equal(outputPath(repo, "rendered", "prod", "acme", "sealed-secret.yaml"), "/repo/rendered/prod/acme/sealed-secret.yaml");
    assert.equal(outputPath(repo, "deploy/rendered", "prod"), "/repo/deploy/rendered/prod");
  });

  test("a tenant, cluster or file name trying to escape is refused", () => {
    for (const [cluster, tenant, file] of [
      ["prod", "../../etc", undefined],
      ["prod", "..", undefined],
      ["..", undefined, undefined],
      ["prod", "a/b", undefined],
      ["prod", "acme", "../x.yaml"],
      ["prod", "acme", "/etc/passwd"],
      ["prod", "ACME", undefined],
      ["prod", "", undefined],
    ] as const) {
      assert.throws(() => outputPath(repo, "rendered", cluster, tenant, file), InvalidInputError, `${cluster}/${tenant}/${file}`);
    }
  });

  test("an output folder outside the repository, the repository itself or .git is refused", () => {
    for (const output of ["../elsewhere", "/abs", ".", "", ".git/x", "a/../../b"]) {
      assert.throws(() => outputRoot(repo, output), InvalidInputError, output);
    }
  });

  test("a symlink inside the output folder is refused before anything is written", async () => {
    const dir = tempDir();
    const outside = tempDir();
    mkdirSync(join(dir, "rendered", "prod"), { recursive: true });
    symlinkSync(outside, join(dir, "rendered", "prod", "acme"));
    await assert.rejects(readExistingTree(dir, "rendered"), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError);
      assert.match(e.diagnostics[0]?.message ?? "", /symbolic link/);
      assert.equal(e.diagnostics[0]?.path, "rendered/prod/acme");
      return true;
    });
  });

  test("a symlinked output folder is refused", async () => {
    const dir = tempDir();
    symlinkSync(tempDir(), join(dir, "rendered"));
    await assert.rejects(readExistingTree(dir, "rendered"), InvalidInputError);
  });
});
