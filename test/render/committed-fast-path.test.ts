import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { renderRepository } from "../../src/render/render-repository.ts";
import { parseCommittedSealedSecret, readCanonicalSealedSecret, readCommittedSealedSecret } from "../../src/render/sealed-secret-document.ts";
import { parseSealedSecrets } from "../../src/seal/sealed-secret.ts";
import { makeLeaf, makeRepo } from "./render-fixture.ts";

/**
 * The no-change fast path reads committed SealedSecrets with a line reader instead of a YAML parse
 * (sealed-secret-document.ts). A committed file is untrusted: on every file the line reader accepts it
 * must say exactly what the parse says, and anything else must go to the parse.
 */

const TENANTS = [
  { name: "acme", cluster: "prod-east" },
  { name: "beta", cluster: "prod-east", scope: "namespace-wide" },
];

async function rendered(): Promise<{ dir: string; tls: Awaited<ReturnType<typeof makeLeaf>>["tls"]; file: string; text: string }> {
  const dir = await makeRepo({ clusters: ["prod-east"], tenants: TENANTS });
  const { tls } = await makeLeaf();
  const r = await renderRepository({ repoDir: dir, tls });
  assert.deepEqual(r.diagnostics, []);
  const file = join(dir, "rendered/prod-east/acme/sealed-secret.yaml");
  return { dir, tls, file, text: readFileSync(file, "utf8") };
}

/** A small deterministic PRNG (mulberry32): the same mutations on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOISE = [" ", "  ", "\t", ":", ": ", "#", " #", '"', "'", "-", "- ", "&a ", "*a", "!!str ", "|", ">", "{", "}", "[", "]", ",", "\\", "0", "1", "e", "x", ".", "\n", "\r", "é", "~", "?", "%", "@", "`", "---\n", "...\n", "null", "true", "0x1f", "1e5", "<<: "];

function mutate(text: string, rnd: () => number): string {
  const lines = text.split("\n");
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const li = Math.floor(rnd() * lines.length);
  const line = lines[li] ?? "";
  const at = Math.floor(rnd() * (line.length + 1));
  switch (Math.floor(rnd() * 9)) {
    case 0: // insert noise
      lines[li] = line.slice(0, at) + pick(NOISE) + line.slice(at);
      break;
    case 1: // replace a character with noise
      lines[li] = line.slice(0, at) + pick(NOISE) + line.slice(at + 1);
      break;
    case 2: // delete a character
      lines[li] = line.slice(0, at) + line.slice(at + 1);
      break;
    case 3: // duplicate a line (duplicate keys)
      lines.splice(li, 0, line);
      break;
    case 4: // delete a line
      lines.splice(li, 1);
      break;
    case 5: // re-indent a line
      lines[li] = pick(["", " ", "  ", "    "]) + line.trimStart();
      break;
    case 6: // swap two lines (moves keys between mappings)
      {
        const lj = Math.floor(rnd() * lines.length);
        lines[li] = lines[lj] ?? "";
        lines[lj] = line;
      }
      break;
    case 7: // replace a value
      lines[li] = line.replace(/: .*$/, `: ${pick(["null", "~", "true", "1e5", "0x1f", "012", '"x"', "'x'", "[a]", "{a: b}", "|", "2027-01-01", "4889633f", "0b3f", "0x1fa", "0b101", "0o17", "1234", "a b", "x #c"])}`);
      break;
    default: // a mapping emptied (key with no value)
      lines[li] = line.replace(/: .*$/, ":");
  }
  return lines.join("\n");
}

describe("reading committed SealedSecrets without a YAML parse", () => {
  test("a file wildseal wrote is read by the fast path, with the same facts and position as the parse", async () => {
    const { text } = await rendered();
    const bytes = Buffer.from(text);
    const fast = readCanonicalSealedSecret(bytes);
    assert.notEqual(fast, "not-canonical");
    assert.deepEqual(fast, parseCommittedSealedSecret(bytes, "x"));
  });

  test("on thousands of mutated files the fast path either agrees with the parse or hands over to it", async () => {
    const { text } = await rendered();
    const rnd = prng(12);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      let t = text;
      const edits = 1 + Math.floor(rnd() * 3);
      for (let e = 0; e < edits; e++) t = mutate(t, rnd);
      const bytes = Buffer.from(t);
      const fast = readCanonicalSealedSecret(bytes);
      if (fast === "not-canonical") {
        refused++;
        continue;
      }
      accepted++;
      assert.deepEqual(fast, parseCommittedSealedSecret(bytes, "x"), `the fast path disagrees with the parse on:\n${t}`);
      assert.deepEqual(readCommittedSealedSecret(bytes, "x"), fast);
    }
    // both branches are exercised, or the comparison above proves nothing
    assert.ok(accepted > 200, `accepted ${accepted}`);
    assert.ok(refused > 200, `refused ${refused}`);
  });

  test("a fingerprint hidden where only a line scan would see it (comment, block scalar, escapes) is not trusted", async () => {
    const { text } = await rendered();
    const sha = /wildseal\.dev\/sealed-inputs-sha256: (\S+)/.exec(text)?.[1] ?? "";
    const without = text.replace(/ {4}wildseal\.dev\/sealed-inputs-sha256: \S+\n/, "");
    const hidden = [
      // in a comment at the annotations' indentation
      without.replace("  annotations:\n", `  annotations:\n    # wildseal.dev/sealed-inputs-sha256: ${sha}\n`),
      // inside a block scalar of another annotation
      without.replace("  annotations:\n", `  annotations:\n    note: |\n      wildseal.dev/sealed-inputs-sha256: ${sha}\n`),
      // over-indented: a YAML error, not an annotation
      text.replace(/ {4}(wildseal\.dev\/sealed-inputs-sha256:)/, "      $1"),
      // in a second document
      `${without}---\nmetadata:\n  annotations:\n    wildseal.dev/sealed-inputs-sha256: ${sha}\n`,
    ];
    for (const v of hidden) {
      const bytes = Buffer.from(v);
      assert.equal(readCanonicalSealedSecret(bytes), "not-canonical", v);
      assert.notEqual(readCommittedSealedSecret(bytes, "x")?.annotations["wildseal.dev/sealed-inputs-sha256"], sha, v);
    }
    // an escaped key is the same key to YAML: the fast path hands over and the parse finds it
    const escaped = Buffer.from(text.replace("wildseal.dev/sealed-inputs-sha256:", '"wildseal.dev/sealed-inputs-sha25\\u0036":'));
    assert.equal(readCanonicalSealedSecret(escaped), "not-canonical");
    assert.equal(readCommittedSealedSecret(escaped, "x")?.annotations["wildseal.dev/sealed-inputs-sha256"], sha);
  });

  test("a render does not keep a committed ciphertext whose fingerprint the parse would not find", async () => {
    const { dir, tls, file, text } = await rendered();
    const sha = /wildseal\.dev\/sealed-inputs-sha256: (\S+)/.exec(text)?.[1] ?? "";
    const foreign = "AgForeignCiphertext==";
    // the right fingerprint, but only inside a block scalar; a foreign ciphertext
    const tampered = text
      .replace(/ {4}wildseal\.dev\/sealed-inputs-sha256: \S+\n/, "")
      .replace("  annotations:\n", `  annotations:\n    note: |\n      wildseal.dev/sealed-inputs-sha256: ${sha}\n`)
      .replace(/tls\.crt: \S+/, `tls.crt: ${foreign}`);
    writeFileSync(file, tampered);
    const r = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.changes.find((c) => c.tenant === "acme")?.kind, "update");
    const after = readFileSync(file, "utf8");
    assert.doesNotMatch(after, /AgForeignCiphertext/);
    assert.equal(after.split("wildseal.dev/sealed-inputs-sha256").length, 2, "one fingerprint, re-sealed");
    assert.notEqual(parseSealedSecrets(after, "x")[0]?.spec.encryptedData["tls.crt"], foreign);
  });

  test("an unchanged render stays byte-identical (the fast path keeps what it read)", async () => {
    const { dir, tls, file, text } = await rendered();
    const r = await renderRepository({ repoDir: dir, tls });
    assert.deepEqual(r.changes.map((c) => c.kind), ["keep", "keep"]);
    assert.deepEqual(r.files, { written: [], removed: [] });
    assert.equal(readFileSync(file, "utf8"), text);
  });
});
