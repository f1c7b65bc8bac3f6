import { spawn } from "node:child_process";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "../errors.ts";
import type { GitConfigEntry } from "./credentials.ts";
import { makeOwnedTempDir, sweepDeadOwners } from "./temp-clones.ts";
import { pemBlocks } from "../tls/pem.ts";

/**
 * Commit signing with a key file the user hands in (`--signing-key`, WILDSEAL_SIGNING_KEY_FILE).
 * The kind is read from the file itself: an OpenSSH private key signs through git's `gpg.format ssh`
 * (git runs `ssh-keygen -Y sign` on the file), an armored OpenPGP secret key is imported into a
 * private, temporary GNUPGHOME for the duration of one commit. Either way the settings reach git
 * per command (GIT_CONFIG_* entries), never `.git/config`, and the key's bytes never reach a log,
 * an error or a commit.
 */

export const SIGNING_KEY_ENV = "WILDSEAL_SIGNING_KEY_FILE";

export const SIGNING_KEY_HELP =
  `sign wildseal's commits with this private key file (env ${SIGNING_KEY_ENV}): an OpenSSH private key (ssh-keygen -t ed25519) or an armored OpenPGP secret key; no passphrase, mode 0600`;

/** A checked signing key file: its absolute path and what it holds. */
export interface SigningKey {
  readonly kind: "ssh" | "openpgp";
  readonly path: string;
}

/** What a commit needs to be signed: settings and environment for git, and a cleanup. */
export interface PreparedSigning {
  readonly config: readonly GitConfigEntry[];
  readonly env: Readonly<Record<string, string>>;
  dispose(): Promise<void>;
}

const MAX_KEY_FILE_BYTES = 64 * 1024;
const GNUPG_PREFIX = "wildseal-gnupg-";

/** PEM/armor labels; the text between `-----BEGIN ` and `-----` on a key file's first line. */
const OPENSSH_KEY = "OPENSSH PRIVATE KEY";
const PGP_SECRET_KEY = "PGP PRIVATE KEY BLOCK";
const PGP_PUBLIC_KEY = "PGP PUBLIC KEY BLOCK";
const PEM_PRIVATE_KEYS: ReadonlySet<string> = new Set(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]);

/** Which kind of key `text` holds, or why it cannot sign. Pure: reads the text, says nothing of it. */
export function classifySigningKey(text: string): { kind: "ssh" | "openpgp" } | { problem: string } {
  const t = text.trim();
  const label = /^-{5}BEGIN ([A-Z0-9 ]+)-{5}/.exec(t)?.[1];
  if (label === OPENSSH_KEY) {
    const cipher = opensshCipher(t);
    if (cipher === undefined) return { problem: "is not a readable OpenSSH private key (damaged or truncated)" };
    if (cipher !== "none") {
      return { problem: "is protected by a passphrase, which wildseal cannot type; remove it with ssh-keygen -p -N '' -f FILE, or use a key made for wildseal" };
    }
    return { kind: "ssh" };
  }
  if (label === PGP_SECRET_KEY) return { kind: "openpgp" };
  if (label === PGP_PUBLIC_KEY) {
    return { problem: "holds an OpenPGP public key; give the secret key (gpg --armor --export-secret-keys KEYID)" };
  }
  if (/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-|sk-)\S* AAAA/.test(t)) {
    return { problem: "holds an SSH public key; give the private key file (the one without .pub)" };
  }
  if (label !== undefined && PEM_PRIVATE_KEYS.has(label)) {
    return { problem: "is a PEM private key; convert it to the OpenSSH format with ssh-keygen -p -f FILE" };
  }
  return { problem: `is neither an OpenSSH private key (${OPENSSH_KEY}, as ssh-keygen writes it) nor an armored OpenPGP secret key (${PGP_SECRET_KEY}, from gpg --armor --export-secret-keys)` };
}

/** The cipher of an openssh-key-v1 blob ("none": no passphrase); undefined when it is not one. */
function opensshCipher(armored: string): string | undefined {
  // the project's one PEM reader (tls/pem.ts): a block without its END line is no block
  const block = pemBlocks(armored).find((b) => b.label === OPENSSH_KEY);
  if (block === undefined) return undefined;
  const blob = Buffer.from(block.body.replace(/\s+/g, ""), "base64");
  const magic = Buffer.from("openssh-key-v1\0", "latin1");
  if (blob.length < magic.length + 4 || !blob.subarray(0, magic.length).equals(magic)) return undefined;
  const len = blob.readUInt32BE(magic.length);
  const start = magic.length + 4;
  if (len > 64 || start + len > blob.length) return undefined;
  return blob.subarray(start, start + len).toString("latin1");
}

/**
 * Reads and checks the key file `path` named by `source` (the flag or variable). Like ssh-keygen,
 * it refuses a key file of the running user that group or others may access (a key mounted from a
 * Kubernetes Secret is owned by root with a group mode: ssh-keygen accepts that, and so does this).
 */
export async function loadSigningKey(path: string, source: string): Promise<SigningKey> {
  const abs = resolve(path);
  const where = `${source} ${path}`;
  let info;
  try {
    info = await stat(abs);
  } catch (e) {
    throw new UsageError(`${where}: cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"}); give the path of the private key file`);
  }
  if (!info.isFile()) throw new UsageError(`${where}: is not a file; give the path of the private key file`);
  if (info.size > MAX_KEY_FILE_BYTES) throw new UsageError(`${where}: larger than ${MAX_KEY_FILE_BYTES} bytes; not a private key`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid === uid && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
    throw new UsageError(`${where}: a private key readable by others (mode ${mode}); ssh-keygen refuses it too: run chmod 600 ${path}`);
  }
  let text: string;
  try {
    text = await readFile(abs, "utf8");
  } catch (e) {
    throw new UsageError(`${where}: cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"}); give the path of the private key file`);
  }
  const kind = classifySigningKey(text);
  if ("problem" in kind) throw new UsageError(`${where}: ${kind.problem}`);
  return { kind: kind.kind, path: abs };
}

/**
 * Makes `key` ready for one commit. SSH: `user.signingKey` is the key file itself (git hands it to
 * `ssh-keygen -Y sign`, which also reads the public half from it). OpenPGP: a fresh 0700 GNUPGHOME
 * holding only this key, removed by dispose() (a killed run's is removed by the next run).
 */
export async function prepareSigning(key: SigningKey, env: Readonly<Record<string, string | undefined>>): Promise<PreparedSigning> {
  const checked = await loadSigningKey(key.path, "signing key");
  if (checked.kind === "ssh") {
    return {
      config: [
        { key: "gpg.format", value: "ssh" },
        { key: "user.signingKey", value: checked.path },
        { key: "commit.gpgSign", value: "true" },
      ],
      env: {},
      dispose: () => Promise.resolve(),
    };
  }
  return prepareOpenPgp(checked, env);
}

async function prepareOpenPgp(key: SigningKey, env: Readonly<Record<string, string | undefined>>): Promise<PreparedSigning> {
  const root = tmpdir();
  await sweepDeadOwners(root, GNUPG_PREFIX);
  const home = await makeOwnedTempDir(root, GNUPG_PREFIX);
  const gpgEnv: Record<string, string> = { GNUPGHOME: home, LANG: "C.UTF-8", LC_ALL: "C.UTF-8", PATH: env.PATH ?? "/usr/bin:/bin" };
  const dispose = async (): Promise<void> => {
    // the agent gpg started for this home holds the key in memory and a socket in the folder
    await runGpg("gpgconf", ["--kill", "gpg-agent"], gpgEnv).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  };
  try {
    // a key that needs a passphrase fails at once instead of waiting for a pinentry nobody sees
    await writeFile(join(home, "gpg.conf"), "pinentry-mode error\nno-tty\nbatch\n", { mode: 0o600 });
    const imported = await runGpg("gpg", ["--batch", "--quiet", "--import"], gpgEnv, await readFile(key.path));
    if (imported.code !== 0) throw new UsageError(`signing key ${key.path}: gpg cannot import it (${gpgReason(imported.stderr)}); give an armored secret key (gpg --armor --export-secret-keys KEYID)`);
    const listed = await runGpg("gpg", ["--batch", "--with-colons", "--list-secret-keys"], gpgEnv);
    const fingerprints = secretFingerprints(listed.stdout);
    const fpr = fingerprints[0];
    if (fpr === undefined) throw new UsageError(`signing key ${key.path}: holds no OpenPGP secret key; give an armored secret key (gpg --armor --export-secret-keys KEYID)`);
    if (fingerprints.length > 1) throw new UsageError(`signing key ${key.path}: holds ${fingerprints.length} OpenPGP secret keys; export only the one that signs`);
    const probe = await runGpg("gpg", ["--batch", "--local-user", fpr, "--detach-sign", "--output", "-"], gpgEnv, Buffer.from("wildseal\n"));
    if (probe.code !== 0) {
      throw new UsageError(`signing key ${key.path}: gpg cannot sign with it (${gpgReason(probe.stderr)}); wildseal needs a signing key without a passphrase: remove it (gpg --edit-key KEYID passwd) or give a key made for wildseal`);
    }
    return {
      config: [
        { key: "gpg.format", value: "openpgp" },
        { key: "user.signingKey", value: fpr },
        { key: "commit.gpgSign", value: "true" },
      ],
      env: { GNUPGHOME: home },
      dispose,
    };
  } catch (e) {
    await dispose();
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new UsageError(`signing key ${key.path}: an OpenPGP key needs gpg, which is not installed; install GnuPG or use an SSH key`);
    }
    throw e;
  }
}

/** Fingerprints of the primary secret keys in `gpg --with-colons --list-secret-keys` output. */
export function secretFingerprints(colons: string): string[] {
  const out: string[] = [];
  let primary = false;
  for (const line of colons.split("\n")) {
    const f = line.split(":");
    if (f[0] === "sec") primary = true;
    else if (f[0] === "ssb" || f[0] === "sub") primary = false;
    else if (f[0] === "fpr" && primary && f[9] !== undefined && /^[0-9A-F]{40,64}$/.test(f[9])) {
      out.push(f[9]);
      primary = false;
    }
  }
  return out;
}

/** gpg's own complaint, one line, without key material (gpg never prints secret bytes). */
function gpgReason(stderr: string): string {
  const line = stderr
    .split("\n")
    .map((l) => l.replace(/^gpg: /, "").trim())
    .filter((l) => l !== "" && !/^(keybox|key [0-9A-F]+: public key|Total number|directory)/i.test(l))
    .at(-1);
  return line ?? "no reason given";
}

function runGpg(cmd: string, args: readonly string[], env: Record<string, string>, input?: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, [...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code: code ?? 1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}
