/**
 * Signing key files: their kind is read from their content, unusable ones are refused with what to
 * do, and an armored OpenPGP secret key signs a commit from a private GNUPGHOME that is gone after.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { UsageError } from "../../src/errors.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { classifySigningKey, loadSigningKey, secretFingerprints } from "../../src/git/signing.ts";
import { commitAndPush, withWorkspace } from "../../src/git/workspace.ts";
import { type BareRemote, git, makeBareRemote, tempDir, writeFiles } from "../helpers/git-fixtures.ts";

/** An armored block with this label around `body`, as key files are laid out. */
const armor = (label: string, body: string): string => `${"-".repeat(5)}BEGIN ${label}${"-".repeat(5)}\n${body}\n${"-".repeat(5)}END ${label}${"-".repeat(5)}\n`;

describe("classifySigningKey", () => {
  it("tells an OpenSSH key, an armored OpenPGP secret key and the usual wrong files apart", () => {
    const keys = tempDir("wildseal-classify-");
    try {
      const key = join(keys.path, "k");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
      assert.deepEqual(classifySigningKey(execFileSync("cat", [key]).toString()), { kind: "ssh" });
      // armor shapes are built at run time: no key-looking block is committed (only the label matters here)
      assert.deepEqual(classifySigningKey(armor("PGP PRIVATE KEY BLOCK", "\nxx")), { kind: "openpgp" });
      const problem = (text: string) => ("problem" in classifySigningKey(text) ? (classifySigningKey(text) as { problem: string }).problem : "");
      assert.match(problem(execFileSync("cat", [`${key}.pub`]).toString()), /SSH public key/);
      assert.match(problem(armor("PGP PUBLIC KEY BLOCK", "xx")), /OpenPGP public key/);
      const pkcs8 = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      assert.match(problem(pkcs8), /PEM private key; convert it .* ssh-keygen -p -f FILE/);
      assert.match(problem(armor("OPENSSH PRIVATE KEY", "AAAA")), /not a readable OpenSSH private key/);
      const truncated = execFileSync("cat", [key]).toString().split("\n").slice(0, 3).join("\n");
      assert.match(problem(truncated), /not a readable OpenSSH private key/, "a key without its END line");
      assert.match(problem("hello"), /is neither an OpenSSH private key/);
    } finally {
      keys.cleanup();
    }
  });

  it("reads the primary secret keys' fingerprints from gpg --with-colons", () => {
    const colons = "sec:u:255:22:AAAA:1::::::scESC:::+:::ed25519:::0:\nfpr:::::::::0123456789ABCDEF0123456789ABCDEF01234567:\nssb:u:255:18:BBBB:1::::::e:::+:::cv25519::\nfpr:::::::::FFFF456789ABCDEF0123456789ABCDEF01234567:\n";
    assert.deepEqual(secretFingerprints(colons), ["0123456789ABCDEF0123456789ABCDEF01234567"]);
  });
});

describe("OpenPGP commit signing", () => {
  let r: BareRemote;
  let keys: { path: string; cleanup(): void };
  let armored: string;
  let publicKey: string;
  const gpgHome = () => join(keys.path, "gnupg");

  before(() => {
    r = makeBareRemote({ files: { "wildseal.yaml": "kind: Config\n" } });
    keys = tempDir("wildseal-pgp-");
    execFileSync("mkdir", ["-m", "700", gpgHome()]);
    const env = { ...process.env, GNUPGHOME: gpgHome() };
    execFileSync("gpg", ["--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "PGP Signer <pgp@example.com>", "ed25519", "sign", "never"], { env, stdio: "pipe" });
    armored = join(keys.path, "signing.asc");
    writeFileSync(armored, execFileSync("gpg", ["--batch", "--armor", "--export-secret-keys"], { env }), { mode: 0o600 });
    publicKey = join(keys.path, "public.asc");
    writeFileSync(publicKey, execFileSync("gpg", ["--batch", "--armor", "--export"], { env }));
    execFileSync("gpgconf", ["--kill", "gpg-agent"], { env });
  });
  after(() => {
    r.cleanup();
    keys.cleanup();
  });

  it("signs with an armored secret key imported into a private GNUPGHOME, removed afterwards; git verify-commit accepts it", async () => {
    const leftovers = () => readdirSync(tmpdir()).filter((n) => n.startsWith("wildseal-gnupg-") && n.includes(`-${process.pid}-`));
    const sign = await loadSigningKey(armored, "--signing-key");
    assert.equal(sign.kind, "openpgp");
    await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: { PATH: process.env.PATH } }, (ws) =>
      commitAndPush(ws, {
        render: async (dir) => {
          writeFiles(dir, { "rendered/p/acme/s.yaml": "1" });
          return { summary: { changes: [{ action: "add", tenants: ["acme"] }], certSha256: "a".repeat(64), certNotAfter: new Date("2026-06-01T00:00:00Z"), domain: "*.example.com" }, value: undefined };
        },
        author: { name: "PGP Signer", email: "pgp@example.com" },
        sign,
      }),
    );
    assert.deepEqual(leftovers(), []);
    // verify with only the public key, in a keyring of its own
    const verifier = join(keys.path, "verifier");
    execFileSync("mkdir", ["-m", "700", verifier]);
    const env = { ...process.env, GNUPGHOME: verifier };
    execFileSync("gpg", ["--batch", "--quiet", "--import", publicKey], { env, stdio: "pipe" });
    const clone = tempDir("wildseal-verify-");
    try {
      git(clone.path, ["clone", "--quiet", r.path, "."]);
      const out = execFileSync("git", ["verify-commit", "--raw", "HEAD"], { cwd: clone.path, env, stdio: ["ignore", "pipe", "pipe"] });
      assert.ok(out !== undefined);
      const status = execFileSync("git", ["log", "-1", "--format=%G?", "HEAD"], { cwd: clone.path, env }).toString().trim();
      assert.ok(status === "G" || status === "U", `signature status ${status}`);
    } finally {
      clone.cleanup();
      execFileSync("gpgconf", ["--kill", "gpg-agent"], { env });
    }
  });

  it("refuses a passphrase-protected OpenPGP key before committing, with what to do", async () => {
    const home = join(keys.path, "locked-home");
    execFileSync("mkdir", ["-m", "700", home]);
    const env = { ...process.env, GNUPGHOME: home };
    try {
      execFileSync("gpg", ["--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "secret", "--quick-gen-key", "Locked <locked@example.com>", "ed25519", "sign", "never"], { env, stdio: "pipe" });
      const file = join(keys.path, "locked.asc");
      writeFileSync(file, execFileSync("gpg", ["--batch", "--pinentry-mode", "loopback", "--passphrase", "secret", "--armor", "--export-secret-keys"], { env }), { mode: 0o600 });
      const sign = await loadSigningKey(file, "--signing-key");
      const before = git(r.path, ["rev-parse", "main"]);
      await assert.rejects(
        withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: { PATH: process.env.PATH } }, (ws) =>
          commitAndPush(ws, {
            render: async (dir) => {
              writeFiles(dir, { "rendered/p/beta/s.yaml": "1" });
              return { summary: { changes: [{ action: "add", tenants: ["beta"] }], certSha256: "a".repeat(64), certNotAfter: new Date("2026-06-01T00:00:00Z"), domain: "*.example.com" }, value: undefined };
            },
            sign,
          }),
        ),
        (e: unknown) => e instanceof UsageError && /^signing key .*locked\.asc: gpg cannot sign with it \(.*\); wildseal needs a signing key without a passphrase: remove it/.test(e.message),
      );
      assert.equal(git(r.path, ["rev-parse", "main"]), before);
    } finally {
      execFileSync("gpgconf", ["--kill", "gpg-agent"], { env });
    }
  });
});
