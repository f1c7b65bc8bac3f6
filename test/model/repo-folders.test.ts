import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { checkRepoFolder, resolveInsideRepo } from "../../src/model/repo-paths.ts";
import { readRepoFile } from "../../src/model/read-repo-file.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { tempDir } from "../helpers/git-fixtures.ts";

describe("repository folders are real folders", () => {
  const scratch = tempDir("wildseal-folders-");
  after(() => scratch.cleanup());
  let n = 0;
  const repo = (): string => {
    const dir = join(scratch.path, `repo-${n++}`);
    mkdirSync(dir);
    return dir;
  };

  test("a real folder is accepted, a missing one is reported as missing", async () => {
    const dir = repo();
    mkdirSync(join(dir, "clusters/prod"), { recursive: true });
    assert.deepEqual(await checkRepoFolder(dir, "clusters/prod"), { kind: "folder" });
    assert.deepEqual(await checkRepoFolder(dir, "tenants"), { kind: "missing" });
  });

  test("a symlink at any level is refused, dangling or not, inside the repository or not", async () => {
    const dir = repo();
    mkdirSync(join(dir, "real/prod"), { recursive: true });
    symlinkSync("real", join(dir, "clusters"));
    symlinkSync("/", join(dir, "templates"));
    symlinkSync("nowhere", join(dir, "tenants"));
    for (const [path, at] of [["clusters/prod", "clusters"], ["templates", "templates"], ["tenants", "tenants"]] as const) {
      const r = await checkRepoFolder(dir, path);
      assert.equal(r.kind, "refused", path);
      if (r.kind === "refused") {
        assert.equal(r.diagnostic.path, at);
        assert.match(r.diagnostic.message, /^is a symbolic link; .*replace the link with the folder itself$/);
      }
    }
  });

  test("a file where a folder belongs is refused with its path", async () => {
    const dir = repo();
    writeFileSync(join(dir, "tenants"), "x");
    const r = await checkRepoFolder(dir, "tenants");
    assert.ok(r.kind === "refused" && r.diagnostic.path === "tenants" && /is not a folder/.test(r.diagnostic.message));
  });

  test("a file is not read through a linked folder, even one pointing inside the repository", async () => {
    const dir = repo();
    mkdirSync(join(dir, "real"));
    writeFileSync(join(dir, "real/acme.yaml"), "kind: Tenant\n");
    symlinkSync("real", join(dir, "tenants"));
    const r = await readRepoFile(dir, "tenants/acme.yaml");
    assert.ok(r.kind === "refused" && r.diagnostic.path === "tenants", JSON.stringify(r));
    assert.deepEqual(await readRepoFile(dir, "real/acme.yaml"), { kind: "ok", text: "kind: Tenant\n" });
  });

  test("a sealing certificate inside a linked folder does not resolve", async () => {
    const dir = repo();
    mkdirSync(join(dir, "elsewhere/prod"), { recursive: true });
    writeFileSync(join(dir, "elsewhere/prod/sealed-secrets.pem"), "pem");
    symlinkSync("elsewhere", join(dir, "clusters"));
    await assert.rejects(resolveInsideRepo(dir, "clusters/prod/sealed-secrets.pem"), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError);
      assert.equal(e.diagnostics[0]?.path, "clusters");
      return true;
    });
  });
});
