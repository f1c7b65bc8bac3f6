/**
 * Who wildseal's commits are by (--author, WILDSEAL_AUTHOR, GIT_AUTHOR_*, the default) and whether
 * they are signed (--signing-key, WILDSEAL_SIGNING_KEY_FILE): `wildseal sync` run in process against
 * a real bare remote, the commits checked with git itself.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { git, pushAsPerson, tempDir } from "../helpers/git-fixtures.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { makeSyncWorld, tenantYaml, type SyncWorld } from "../pipeline/sync-world.ts";
import { runCli } from "./run-cli.ts";

const run = (argv: readonly string[], env: Record<string, string> = {}) => runCli(argv, { env });

describe("sync: commit identity and signing", () => {
  let world: SyncWorld;
  let scratch: { path: string; cleanup(): void };
  let source: string;
  let onboarded = 0;
  const sync = (extra: readonly string[] = [], env: Record<string, string> = {}) =>
    run(["sync", "--repo", world.remote.path, "--source-file", source, ...extra], env);
  /** A person onboards one more tenant, so that the next sync has something to commit. */
  const newTenant = () => {
    const name = `t${++onboarded}`;
    pushAsPerson(world.remote.path, "main", { [`tenants/${name}.yaml`]: tenantYaml(name) }, `onboard ${name}`);
  };
  const tip = (format: string) => git(world.remote.path, ["log", "-1", `--format=${format}`, "main"]).trim();

  /** An unencrypted ed25519 key alone in its folder (as a mounted Secret would be), mode 0600. */
  function sshKey(name: string, passphrase = ""): { key: string; pub: string; text: string } {
    const key = join(scratch.path, name);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "wildseal-test", "-f", key]);
    const pub = readFileSync(`${key}.pub`, "utf8").trim();
    execFileSync("rm", [`${key}.pub`]);
    return { key, pub, text: readFileSync(key, "utf8") };
  }

  /** `git verify-commit` of the branch tip in a fresh clone, trusting `pub` for `email`. */
  function verifyTipSsh(email: string, pub: string): void {
    const clone = tempDir("wildseal-verify-");
    try {
      git(clone.path, ["clone", "--quiet", world.remote.path, "."]);
      const signers = join(clone.path, "..", `${clone.path.split("/").pop()}-allowed_signers`);
      writeFileSync(signers, `${email} ${pub}\n`);
      try {
        git(clone.path, ["-c", "gpg.format=ssh", "-c", `gpg.ssh.allowedSignersFile=${signers}`, "verify-commit", "HEAD"]);
      } finally {
        execFileSync("rm", ["-f", signers]);
      }
    } finally {
      clone.cleanup();
    }
  }

  before(async () => {
    world = await makeSyncWorld(["acme"]);
    scratch = tempDir("wildseal-sync-identity-");
    const m = await world.issue(10);
    const item = (name: string) => m.secret.data.get(name)?.reveal() ?? Buffer.alloc(0);
    source = writeSourceSecret(scratch.path, item("tls.crt"), item("tls.key"));
  });
  after(() => {
    world.cleanup();
    scratch.cleanup();
  });

  test("without --author or variables, commits are by the default identity and unsigned", async () => {
    const r = await sync();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(tip("%an <%ae>|%cn <%ce>|%G?"), "wildseal <wildseal@users.noreply.github.com>|wildseal <wildseal@users.noreply.github.com>|N");
  });

  test("--author is the author and the committer", async () => {
    newTenant();
    const r = await sync(["--author", "Ops Bot <ops@example.com>"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(tip("%an <%ae>|%cn <%ce>"), "Ops Bot <ops@example.com>|Ops Bot <ops@example.com>");
  });

  test("precedence: --author > WILDSEAL_AUTHOR > GIT_AUTHOR_NAME/EMAIL", async () => {
    const gitEnv = { GIT_AUTHOR_NAME: "Git Env", GIT_AUTHOR_EMAIL: "git-env@example.com" };
    newTenant();
    assert.equal((await sync([], gitEnv)).code, 0);
    assert.equal(tip("%an <%ae>|%cn <%ce>"), "Git Env <git-env@example.com>|Git Env <git-env@example.com>");
    newTenant();
    assert.equal((await sync([], { ...gitEnv, WILDSEAL_AUTHOR: "Env Bot <env-bot@example.com>" })).code, 0);
    assert.equal(tip("%an <%ae>"), "Env Bot <env-bot@example.com>");
    newTenant();
    assert.equal((await sync(["--author", "Flag Bot <flag@example.com>"], { ...gitEnv, WILDSEAL_AUTHOR: "Env Bot <env-bot@example.com>" })).code, 0);
    assert.equal(tip("%an <%ae>"), "Flag Bot <flag@example.com>");
  });

  test("a malformed --author or WILDSEAL_AUTHOR is a usage error (exit 2) naming it; nothing is committed", async () => {
    newTenant();
    const before = tip("%H");
    const flag = await sync(["--author", "ops@example.com"]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /^wildseal: --author "ops@example\.com": it is not of the form Name <email>; give it as "Name <email>"/m);
    const env = await sync([], { WILDSEAL_AUTHOR: "Ops Bot <not an address>" });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /^wildseal: WILDSEAL_AUTHOR "Ops Bot <not an address>": the email "not an address" is not an address/m);
    assert.equal(tip("%H"), before);
  });

  test("--signing-key with an OpenSSH ed25519 key signs the commit: git verify-commit accepts it; the key is never printed", async () => {
    const { key, pub, text } = sshKey("id_ed25519");
    newTenant();
    const r = await sync(["--signing-key", key, "--author", "Signer <signer@example.com>"]);
    assert.equal(r.code, 0, r.stderr);
    verifyTipSsh("signer@example.com", pub);
    const body = text.split("\n")[1] ?? "";
    assert.ok(body.length > 20 && !r.stdout.includes(body) && !r.stderr.includes(body));
    // nor is the key's path logged
    assert.doesNotMatch(r.stderr, /signingkey|id_ed25519/i);
  });

  test("WILDSEAL_SIGNING_KEY_FILE signs too; the next sync without a key commits unsigned again", async () => {
    const { key, pub } = sshKey("env_ed25519");
    newTenant();
    assert.equal((await sync([], { WILDSEAL_SIGNING_KEY_FILE: key, WILDSEAL_AUTHOR: "Env Signer <env-signer@example.com>" })).code, 0);
    verifyTipSsh("env-signer@example.com", pub);
    newTenant();
    assert.equal((await sync()).code, 0);
    assert.equal(tip("%G?"), "N");
  });

  test("a key file readable by others is refused before anything is cloned: exit 2, says chmod 600, never shows the key", async () => {
    const { key, text } = sshKey("open_ed25519");
    chmodSync(key, 0o644);
    newTenant();
    const before = tip("%H");
    const r = await sync(["--signing-key", key]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `wildseal: --signing-key ${key}: a private key readable by others (mode 0644); ssh-keygen refuses it too: run chmod 600 ${key}\n`);
    assert.ok(!r.stderr.includes(text.split("\n")[1] ?? "-"));
    assert.equal(tip("%H"), before);
  });

  test("watch takes --author and --signing-key as sync does: a bad value stops it at start with exit 2", async () => {
    const watch = (extra: readonly string[]) => run(["watch", "--repo", world.remote.path, "--source-file", source, ...extra]);
    const author = await watch(["--author", "no-brackets"]);
    assert.equal(author.code, 2);
    assert.match(author.stderr, /^wildseal: --author "no-brackets": it is not of the form Name <email>/m);
    const key = await watch(["--signing-key", join(scratch.path, "absent")]);
    assert.equal(key.code, 2);
    assert.match(key.stderr, /^wildseal: --signing-key .*absent: cannot be read \(ENOENT\)/m);
  });

  test("a passphrase-protected key, a public key and a missing file are usage errors that say what to give", async () => {
    const locked = sshKey("locked_ed25519", "secret passphrase");
    const r = await sync(["--signing-key", locked.key]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--signing-key .*locked_ed25519: is protected by a passphrase, which wildseal cannot type; remove it with ssh-keygen -p/);
    const pubFile = join(scratch.path, "only.pub");
    writeFileSync(pubFile, `${locked.pub}\n`, { mode: 0o600 });
    const p = await sync(["--signing-key", pubFile]);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /only\.pub: holds an SSH public key; give the private key file/);
    const missing = await sync([], { WILDSEAL_SIGNING_KEY_FILE: join(scratch.path, "nope") });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^wildseal: WILDSEAL_SIGNING_KEY_FILE .*nope: cannot be read \(ENOENT\)/m);
  });
});
