import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { runCli } from "./run-cli.ts";

test("wildseal demo runs the whole pipeline on the embedded default and leaves nothing behind", async (t) => {
  // a private TMPDIR (os.tmpdir() reads it on each call): other test files run demo at the same time
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = mkdtempSync(join(tmpdir(), "wildseal-demo-test-"));
  t.after(() => {
    rmSync(tmpdir(), { recursive: true, force: true });
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  });
  const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith("wildseal-demo-")));
  const { code, stdout, stderr } = await runCli(["demo"], { env: process.env });
  assert.equal(code, 0, stderr + stdout);
  assert.match(stdout, /▶ sync: commit [0-9a-f]{12}: add tenants acme, globex, initech/);
  assert.match(stdout, /▶ sync again with nothing changed: no commit/);
  assert.match(stdout, /▶ sync: commit [0-9a-f]{12}: renew \*\.example\.com for 3 tenants/);
  assert.match(stdout, /▶ sync: commit [0-9a-f]{12}: add tenant umbrella/);
  assert.match(stdout, /Wildseal-Action: add\n\s+Wildseal-Cert-Sha256: [0-9a-f]{64}/);
  assert.equal((stdout.match(/✓ rendered\//g) ?? []).length, 4, "every tenant's SealedSecret opened to the source");
  assert.match(stdout, /✔ demo finished/);
  assert.doesNotMatch(stdout + stderr, /BEGIN [A-Z ]*PRIVATE KEY/);
  const after = readdirSync(tmpdir()).filter((n) => n.startsWith("wildseal-demo-") && !before.has(n));
  assert.deepEqual(after.filter((n) => existsSync(`${tmpdir()}/${n}`)), [], "the throwaway world is removed");
});
