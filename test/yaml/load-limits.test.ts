import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidInputError, formatDiagnostic } from "../../src/errors.ts";
import { parseYamlDocument, parseYamlDocuments } from "../../src/yaml/load.ts";

/** The formatted diagnostics of the InvalidInputError thrown by `fn`. */
function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InvalidInputError, `expected InvalidInputError, got ${String(e)}`);
    return e.diagnostics.map(formatDiagnostic);
  }
  assert.fail("expected an InvalidInputError");
}

describe("YAML input limits", () => {
  it("refuses an alias bomb at its first anchor and aliases, without expanding it", () => {
    let bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    let prev = "a";
    for (const n of "bcdefghi") {
      bomb += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(",")}]\n`;
      prev = n;
    }
    const found = problems(() => parseYamlDocument(bomb, "t.yaml"));
    assert.equal(found[0], "t.yaml:1:4: anchors (&name) are not allowed: write the value out in full");
    assert.equal(found[1], "t.yaml:2:4: anchors (&name) are not allowed: write the value out in full");
    assert.equal(found[2], "t.yaml:2:8: aliases (*name) are not allowed: write the value out in full");
    // 8 anchors + 8×9 aliases + the first anchor
    assert.equal(found.length, 9 + 8 * 9);
  });

  it("refuses input over the byte limit before parsing", () => {
    const big = `k: ${"x".repeat(1024 * 1024)}\n`;
    assert.deepEqual(problems(() => parseYamlDocument(big, "big.yaml")), [
      `big.yaml:1:1: file is ${1024 * 1024 + 4} bytes, over the 1 MiB limit: split it or remove unused content`,
    ]);
    assert.deepEqual(problems(() => parseYamlDocument("a: 12345\n", "s.yaml", { maxBytes: 4 })), [
      "s.yaml:1:1: file is 9 bytes, over the 4 bytes limit: split it or remove unused content",
    ]);
  });

  it("reports every duplicate key at the repeated key", () => {
    const text = "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n";
    assert.deepEqual(problems(() => parseYamlDocument(text, "d.yaml")), [
      'd.yaml:4:3: duplicate key "c": remove one of the two',
      'd.yaml:5:1: duplicate key "a": remove one of the two',
    ]);
  });

  it("refuses merge keys instead of keeping them as a literal key", () => {
    assert.deepEqual(problems(() => parseYamlDocument("x: 1\n<<: {y: 2}\n", "m.yaml")), [
      "m.yaml:2:1: merge keys (<<) are not allowed: write the merged keys out",
    ]);
  });

  it("reports a syntax error with the parser's position", () => {
    assert.deepEqual(problems(() => parseYamlDocument("a: [1\n", "s.yaml")), [
      "s.yaml:2:1: invalid YAML: deficient indentation",
    ]);
  });

  it("expects exactly one document where one is required", () => {
    assert.deepEqual(problems(() => parseYamlDocument("# nothing\n", "e.yaml")), [
      "e.yaml:1:1: the file holds no YAML document: write one mapping here",
    ]);
    assert.deepEqual(problems(() => parseYamlDocument("a: 1\n---\nb: 2\n", "two.yaml")), [
      "two.yaml:2:1: the file holds 2 YAML documents; expected exactly one: move the others to their own files",
    ]);
    assert.equal(parseYamlDocuments("a: 1\n---\nb: 2\n", "two.yaml").length, 2);
  });

  it("keeps a __proto__ key as plain data", () => {
    const doc = parseYamlDocument("__proto__: {polluted: true}\n", "p.yaml");
    assert.equal(Object.getPrototypeOf(doc.value), Object.prototype);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });
});

describe("YAML schemas", () => {
  it("json (default) keeps dates, octal-looking and hex numbers as strings", () => {
    const doc = parseYamlDocument("a: 2026-01-01\nb: 012\nc: 0x1f\nd: ~\ne: true\nf: 1.5\ng: null\n", "s.yaml");
    assert.deepEqual(doc.value, { a: "2026-01-01", b: "012", c: "0x1f", d: "~", e: true, f: 1.5, g: null });
  });
  it("core resolves YAML 1.2 core forms but still no timestamps", () => {
    const doc = parseYamlDocument("a: 2026-01-01\nc: 0x1f\nd: ~\n", "s.yaml", { schema: "core" });
    assert.deepEqual(doc.value, { a: "2026-01-01", c: 31, d: null });
  });
});

describe("YAML positions", () => {
  const text = [
    "apiVersion: v1", //           1
    "spec:", //                    2
    "  hosts:", //                 3
    "    - a.example.com", //      4
    '    - "b.example.com"', //    5
    "  flow: {x: 1, y: [7, 8]}", //6
    "  empty:", //                 7
    "  block: |", //               8
    "    text", //                 9
    "",
  ].join("\n");
  const doc = parseYamlDocument(text, "p.yaml");

  it("locates values of mapping keys and sequence items", () => {
    assert.deepEqual(doc.locate(["apiVersion"]), { line: 1, col: 13 });
    assert.deepEqual(doc.locate(["spec"]), { line: 3, col: 3 });
    assert.deepEqual(doc.locate(["spec", "hosts"]), { line: 4, col: 5 });
    assert.deepEqual(doc.locate(["spec", "hosts", 0]), { line: 4, col: 7 });
    assert.deepEqual(doc.locate(["spec", "hosts", 1]), { line: 5, col: 7 });
    assert.deepEqual(doc.locate(["spec", "flow", "y", 1]), { line: 6, col: 23 });
    assert.deepEqual(doc.locate(["spec", "block"]), { line: 9, col: 1 });
  });
  it("locates an empty value at its key and keys on their own", () => {
    assert.deepEqual(doc.locate(["spec", "empty"]), { line: 7, col: 3 });
    assert.deepEqual(doc.locateKey(["spec", "hosts"]), { line: 3, col: 3 });
  });
  it("falls back to the nearest existing ancestor", () => {
    assert.deepEqual(doc.locate(["spec", "flow", "missing", 3]), { line: 6, col: 9 });
    assert.deepEqual(doc.locate(["nope"]), { line: 1, col: 1 });
    assert.deepEqual(doc.locate(["spec", "hosts", 9]), { line: 4, col: 5 });
  });
  it("does not confuse a numeric key with a sequence index", () => {
    const d = parseYamlDocument("m:\n  '0': a\nl: [b]\n", "n.yaml");
    assert.deepEqual(d.locate(["m", "0"]), { line: 2, col: 8 });
    assert.deepEqual(d.locate(["m", 0]), { line: 2, col: 3 });
  });
});
