import type { KeyObject } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { Option, type Command } from "commander";
import { InvalidInputError } from "../errors.ts";
import { loadPrivateKeys } from "../seal/private-keys.ts";
import { parseSealedSecrets, unsealSealedSecret } from "../seal/sealed-secret.ts";
import { secretManifestObject } from "../tls/secret-manifest.ts";
import { cliContext, type CliIo } from "./io.ts";
import { formatObjects, OUTPUT_FORMATS, type OutputFormat } from "./sealed-output.ts";

/**
 * `wildseal unseal --key FILE [--key FILE …] [-f FILE|-] [-o yaml|json]`: offline recovery, like
 * `kubeseal --recovery-unseal`. Prints the Secrets (this is the one command whose job is to print
 * secret values, to stdout only).
 */

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

export function register(program: Command): void {
  program
    .command("unseal")
    .description("open SealedSecrets with the controller's private key(s) and print the Secrets (recovery)")
    .requiredOption(
      "--key <file>",
      "private key: PEM (PKCS#1/PKCS#8) or a backup of the controller's key Secrets; repeat for several",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("-f, --file <path>", "SealedSecret manifest(s): YAML/JSON file or - for stdin", "-")
    .addOption(new Option("-o, --format <format>", "output format").choices(OUTPUT_FORMATS).default("json"))
    .action(async (o: UnsealCommandOptions, command: Command) => {
      await runUnseal(o, cliContext(command).io);
    });
}
