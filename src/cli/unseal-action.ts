import type { KeyObject } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import type { Command } from "commander";
import { InvalidInputError } from "../errors.ts";
import { loadPrivateKeys } from "../seal/private-keys.ts";
import { parseSealedSecrets, unsealSealedSecret } from "../seal/sealed-secret.ts";
import { secretManifestObject } from "../tls/secret-manifest.ts";
import { cliContext, type CliIo } from "./io.ts";
import { formatObjects, type OutputFormat } from "./sealed-output.ts";

/** `wildseal unseal`'s work (the command and its flags are registered in unseal.ts). */

export interface UnsealCommandOptions {
  readonly key: readonly string[];
  readonly file: string;
  readonly format: OutputFormat;
}

const MAX_INPUT_BYTES = 1024 * 1024;

async function readBounded(path: string, what: string, stdin: NodeJS.ReadableStream): Promise<{ text: string; source: string }> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const c of stdin) {
      const b = typeof c === "string" ? Buffer.from(c) : c;
      total += b.length;
      if (total > MAX_INPUT_BYTES) throw new InvalidInputError(`<stdin>: more than ${MAX_INPUT_BYTES} bytes; not a ${what}`);
      chunks.push(b);
    }
    return { text: Buffer.concat(chunks).toString("utf8"), source: "<stdin>" };
  }
  try {
    if ((await stat(path)).size > MAX_INPUT_BYTES) throw new InvalidInputError(`${path}: more than ${MAX_INPUT_BYTES} bytes; not a ${what}`);
    return { text: await readFile(path, "utf8"), source: path };
  } catch (e) {
    if (e instanceof InvalidInputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidInputError(`${path}: ${code === "ENOENT" ? "no such file" : "cannot be read"}; pass a ${what}`);
  }
}

export async function runUnseal(opts: UnsealCommandOptions, io: CliIo): Promise<void> {
  const keys: KeyObject[] = [];
  for (const k of opts.key) {
    const { text, source } = await readBounded(k, "private key file", io.stdin);
    keys.push(...loadPrivateKeys(text, source));
  }
  const { text, source } = await readBounded(opts.file, "SealedSecret manifest", io.stdin);
  const secrets = parseSealedSecrets(text, source).map((ss) => secretManifestObject(unsealSealedSecret(ss, keys, source)));
  io.stdout(formatObjects(secrets, opts.format));
}

/** The action of `wildseal unseal` (registered in unseal.ts, loaded when the command runs). */
export async function unsealAction(o: UnsealCommandOptions, command: Command): Promise<void> {
  await runUnseal(o, cliContext(command).io);
}
