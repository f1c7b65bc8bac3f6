import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authFromEnv, type GitHubAuth } from "../../src/github/client.ts";
import { UsageError } from "../../src/errors.ts";

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "wildseal-auth-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function tokenOf(a: GitHubAuth): string {
  assert.equal(a.kind, "token");
  return a.kind === "token" ? a.token.reveal().toString() : "";
}

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e.message;
  }
  assert.fail("expected a UsageError");
}

test("tokens come from WILDSEAL_GITHUB_TOKEN_FILE, WILDSEAL_GITHUB_TOKEN, then GITHUB_TOKEN", () => {
  withDir((dir) => {
    const file = join(dir, "token");
    writeFileSync(file, "ghp_fromFile\n", { mode: 0o600 });
    assert.equal(tokenOf(authFromEnv({ WILDSEAL_GITHUB_TOKEN_FILE: file, GITHUB_TOKEN: "ghp_env" })), "ghp_fromFile");
  });
  assert.equal(tokenOf(authFromEnv({ WILDSEAL_GITHUB_TOKEN: "ghp_wild", GITHUB_TOKEN: "ghp_gh" })), "ghp_wild");
  assert.equal(tokenOf(authFromEnv({ GITHUB_TOKEN: " ghp_gh " })), "ghp_gh");
  assert.equal(JSON.stringify(authFromEnv({ GITHUB_TOKEN: "ghp_gh" })), '{"kind":"token","token":"[redacted]"}');
});

test("no credentials, both token forms, an empty or missing token file are usage errors that leak nothing", () => {
  assert.match(usageMessage(() => authFromEnv({})), /set GITHUB_TOKEN/);
  assert.match(usageMessage(() => authFromEnv({ GITHUB_TOKEN: "  " })), /set GITHUB_TOKEN/);
  withDir((dir) => {
    const file = join(dir, "token");
    writeFileSync(file, "ghp_secretInFile");
    const both = usageMessage(() => authFromEnv({ WILDSEAL_GITHUB_TOKEN_FILE: file, WILDSEAL_GITHUB_TOKEN: "ghp_secretInEnv" }));
    assert.match(both, /either WILDSEAL_GITHUB_TOKEN or WILDSEAL_GITHUB_TOKEN_FILE/);
    assert.doesNotMatch(both, /secretIn/);
    writeFileSync(file, "\n");
    assert.match(usageMessage(() => authFromEnv({ WILDSEAL_GITHUB_TOKEN_FILE: file })), /token: the file is empty/);
  });
  assert.match(usageMessage(() => authFromEnv({ WILDSEAL_GITHUB_TOKEN_FILE: "/nonexistent/token" })), /cannot read the file \(ENOENT\)/);
});

test("a GitHub App comes from its id, key file and installation id, and wins over tokens", () => {
  withDir((dir) => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyFile = join(dir, "app.pem");
    writeFileSync(keyFile, privateKey.export({ type: "pkcs1", format: "pem" }), { mode: 0o600 });
    const env = { WILDSEAL_GITHUB_APP_ID: "123", WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE: keyFile, WILDSEAL_GITHUB_APP_INSTALLATION_ID: "42", GITHUB_TOKEN: "ghp_x" };
    const a = authFromEnv(env);
    assert.equal(a.kind, "app");
    if (a.kind === "app") {
      assert.equal(a.appId, "123");
      assert.equal(a.installationId, 42);
      assert.match(a.privateKey.reveal().toString(), /^-{5}BEGIN RSA PRIVATE KEY-{5}\n/);
      assert.doesNotMatch(JSON.stringify(a), /PRIVATE KEY/);
    }
    assert.match(usageMessage(() => authFromEnv({ ...env, WILDSEAL_GITHUB_APP_INSTALLATION_ID: "abc" })), /must be a positive integer/);
    const { WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE: _k, ...partial } = env;
    assert.match(usageMessage(() => authFromEnv(partial)), /missing WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE/);
    const notKey = join(dir, "not-a-key.pem");
    writeFileSync(notKey, "hello ghp_inside");
    const msg = usageMessage(() => authFromEnv({ ...env, WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE: notKey }));
    assert.match(msg, /is not a PEM private key/);
    assert.doesNotMatch(msg, /ghp_inside/);
  });
});
