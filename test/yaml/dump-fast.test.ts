import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { dump } from "js-yaml";
import { MIN_PLACEHOLDER_LENGTH, dumpYaml, emitCanonical, withPlaceholders } from "../../src/yaml/dump.ts";

/** What dumpYaml promised before it had a fast path, and must keep printing byte for byte. */
const reference = (v: unknown): string => dump(v, { sortKeys: true, lineWidth: -1, noRefs: true, quoteStyle: "double" });

const NONCE = "0123456789abcdef0123456789abcdef";
const HEAD = `Ws${NONCE}`;

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const chars = (alphabet: string, min: number, max: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((a) => a.join(""));
/** lengths around the placeholder threshold, plus some well above it */
const nearLength = fc.oneof(fc.integer({ min: MIN_PLACEHOLDER_LENGTH - 3, max: MIN_PLACEHOLDER_LENGTH + 3 }), fc.integer({ min: 0, max: 300 }));
const sized = (alphabet: string, prefix = "", suffix = ""): fc.Arbitrary<string> =>
  nearLength.chain((n) => chars(alphabet, Math.max(0, n - prefix.length - suffix.length), Math.max(0, n - prefix.length - suffix.length)).map((s) => prefix + s + suffix));

/**
 * Strings at the edge of "prints verbatim": base64 that YAML would read as another type (all digits,
 * 0x/0o/0b numbers, 1e5 floats, signs), padding anywhere, leading '+', '/' or '=', the length
 * threshold, words YAML 1.1 reads as bool/null, timestamps, indicators, line breaks, invisibles,
 * Unicode, and the placeholder's own text.
 */
const edgeString: fc.Arbitrary<string> = fc.oneof(
  sized(B64),
  sized(B64, "", "="),
  sized(B64, "", "=="),
  sized(B64, "", "==="),
  sized(`${B64}=`),
  sized("0123456789"),
  sized("0123456789", "+"),
  sized("0123456789", "-"),
  sized("01234567", "0"),
  sized("01234567", "0o"),
  sized("01", "0b"),
  sized("0123456789abcdefABCDEF", "0x"),
  sized("0123456789abcdefABCDEF", "+0x"),
  sized("0123456789_", "1"),
  fc.tuple(sized("0123456789"), fc.constantFrom("e", "E", "e+", "e-", "E+"), sized("0123456789")).map(([a, e, b]) => `1${a}${e}${b}`),
  sized(B64, "+"),
  sized(B64, "/"),
  sized(B64, "="),
  sized(B64, "---"),
  sized("0123456789abcdef"),
  fc.constantFrom("", "=", "==", "~", "null", "Null", "NULL", "true", "True", "FALSE", "yes", "No", "on", "OFF", "y", "n", "<<", ".inf", "-.inf", ".nan", "0", "-0", "0.5", "1e5", "1_000", "1:30", "0o17", "0x1F", "0b101"),
  fc.constantFrom("2026-09-01", "2026-09-01T00:00:00Z", "2001-12-14 21:59:43.10 -5", "12:30:00"),
  // the simple strings written without js-yaml: ':' and spaces, first characters, YAML 1.1 words
  fc.constantFrom("a:", "a: b", "a :b", "a:b", "a::", "a ", "a  b", "=a", "a=", "<<", "<a", "(a", "$a", "${a.b}", "^a", "~a", "_a", "+1", "/a", "1:30", "0:0", "a'b", "a!b", "a,b", "a[b]", "a{b}", "a|b", "a>b", "a%b", "a@b", "a`b", "a&b", "a*b", "a?b", "a-b", "a.b", "kubernetes.io/tls", "platform: core", "until <x>", "Y", "n", "On", "0o7", "0x", "0b", "1e5", "1.", "1_0", ".5", "+.inf"),
  fc.tuple(fc.constantFrom("", "a", "1", "=", "<", "~", "$"), fc.string({ maxLength: 6 }), fc.constantFrom("", ":", " ", "::", ": ", "a")).map(([a, b, c]) => a + b + c),
  fc.constantFrom("a: b", "a #b", "#a", "- a", "? a", "[a]", "{a}", "a,b", "!a", "&a", "*a", "|", ">", "'a'", '"a"', "%a", "@a", "`a", " a", "a ", "\t", "a\nb", "a\n", "\n", "\u0085", "\u00a0", "\ufeff", "\u2028", "\x7f", "\x00"),
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ maxLength: 80 }),
  fc.tuple(sized(B64), fc.constantFrom(HEAD, `${HEAD}I0Z`, `${HEAD}I1Z`, "Ws", "I0Z"), sized(B64)).map(([a, h, b]) => a + h + b),
  fc.constantFrom(`${HEAD}I0Z`, `${HEAD}I1Z`, HEAD, `"${HEAD}I0Z"`, `x ${HEAD}I0Z`),
  // one character outside the verbatim alphabet in a long base64 string, at the start, inside or at the end
  fc
    .tuple(sized(B64), fc.constantFrom(": ", " #", ":", "#", " ", "-", "?", "'", '"', "\n", "\t", "\u00a0", "\u2028", "\\", ",", "[", "{", "!", "&", "*", "|", ">", "%", "@", "`", ".", "_", "é"), fc.constantFrom(0, 1, 0.5))
    .map(([s, c, where]) => s.slice(0, Math.floor(s.length * where)) + c + s.slice(Math.floor(s.length * where))),
  fc.integer({ min: 1020, max: 1030 }).chain((n) => chars(B64, n, n)),
);

const scalar: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: edgeString },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, 1e21, 2 ** 53, -1), fc.boolean(), fc.constant(null), fc.constant(undefined)) },
);

const tree: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((t) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(t("node"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(edgeString, fc.string({ maxLength: 10 })), t("node"), { maxKeys: 5 }),
  ),
})).node;

/** A SealedSecret as render writes it: RSA-4096 OAEP (512 B) + length + AES-GCM of each item, base64. */
function sealedSecret(): Record<string, unknown> {
  const sealed = (bytes: number): string => randomBytes(2 + 512 + bytes + 16).toString("base64");
  const hex = (): string => randomBytes(32).toString("hex");
  return {
    apiVersion: "bitnami.com/v1alpha1",
    kind: "SealedSecret",
    metadata: {
      annotations: {
        "example.com/team": "platform: core",
        "wildseal.dev/cert-not-after": "2026-09-01T00:00:00Z",
        "wildseal.dev/cert-sha256": hex(),
        "wildseal.dev/sealed-inputs-sha256": hex(),
        "wildseal.dev/sealing-cert-sha256": hex(),
        "wildseal.dev/tenant": "acme",
      },
      name: "wildcard-tls",
      namespace: "acme",
    },
    spec: {
      encryptedData: { "ca.crt": sealed(1200), "tls.crt": sealed(2400), "tls.key": sealed(3272) },
      template: { metadata: { labels: { "app.kubernetes.io/managed-by": "wildseal" }, name: "wildcard-tls", namespace: "acme" }, type: "kubernetes.io/tls" },
    },
  };
}

describe("dumpYaml's fast path prints exactly js-yaml's bytes", () => {
  test("for arbitrary JSON-like values", () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => assert.equal(dumpYaml(v), reference(v))), { numRuns: 300 });
  });

  test("for trees of strings at the edge of plain style, as keys, values, list items and the root", () => {
    fc.assert(fc.property(tree, (v) => assert.equal(dumpYaml(v), reference(v))), { numRuns: 1500 });
  });

  test("for each edge string alone, as a value, as a key and as a list item", () => {
    fc.assert(
      fc.property(edgeString, (s) => {
        for (const v of [s, { k: s }, { [s]: "v" }, [s, s], { a: { b: [s] } }]) assert.equal(dumpYaml(v), reference(v));
      }),
      { numRuns: 2000 },
    );
  });

  test("the direct writer, when it accepts a value, prints js-yaml's bytes", () => {
    fc.assert(
      fc.property(fc.oneof(tree, fc.jsonValue()), (v) => {
        const text = emitCanonical(v);
        if (text !== undefined) assert.equal(text, reference(v));
      }),
      { numRuns: 1500 },
    );
  });

  test("the direct writer leaves to js-yaml what it does not mirror: floats, -0, Dates, Maps, functions, undefined at the root, other strings, very long keys", () => {
    for (const v of [1.5, -0, 1e21, Number.NaN, new Date(0), new Map(), () => 1, undefined, "a\nb", "é", 'a"b', "a#b", "-a", ".a", " a", "\t", { [`k${"A".repeat(1000)}`]: 1 }, { a: [1, { b: 2.5 }] }]) {
      assert.equal(emitCanonical(v), undefined, String(v));
    }
  });

  test("with a known nonce, whatever the input holds of the placeholder's text: the same bytes or a refusal", () => {
    fc.assert(
      fc.property(tree, (v) => {
        const r = withPlaceholders(v, NONCE);
        if (r.kind === "dumped") assert.equal(r.text, reference(v));
      }),
      { numRuns: 1500 },
    );
  });

  test("a value spelling a placeholder makes the fast path refuse, and dumpYaml still prints js-yaml's bytes", () => {
    const long = "A".repeat(100);
    for (const clash of [`${HEAD}I0Z`, `${HEAD}I1Z`, HEAD, `key ${HEAD}`]) {
      for (const v of [{ a: long, b: clash }, { a: clash, b: long }, { [clash]: long }, [long, clash]]) {
        assert.deepEqual(withPlaceholders(v, NONCE), { kind: "nonce-in-input" }, JSON.stringify(v));
        assert.equal(dumpYaml(v), reference(v));
      }
    }
  });

  test("a rendered SealedSecret and its kustomization are written without js-yaml", () => {
    for (let i = 0; i < 20; i++) {
      const doc = sealedSecret();
      assert.equal(emitCanonical(doc), reference(doc));
    }
    const kustomization = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: ["ingress.yaml", "sealed-secret.yaml"] };
    assert.equal(emitCanonical(kustomization), reference(kustomization));
  });

  test("a SealedSecret's ciphertexts and hashes go through js-yaml as placeholders and come back unchanged", () => {
    for (let i = 0; i < 20; i++) {
      const doc = sealedSecret();
      const r = withPlaceholders(doc, randomBytes(16).toString("hex"));
      assert.equal(r.kind, "dumped");
      assert.equal(r.kind === "dumped" && r.placeholders, 6); // 3 items + 3 sha256 annotations
      assert.equal(r.kind === "dumped" && r.text, reference(doc));
      assert.equal(dumpYaml(doc), reference(doc));
    }
  });

  test("base64 that YAML reads as a number or is too short keeps js-yaml's own styling", () => {
    const cases: [string, number][] = [
      ["1".repeat(70), 0], // an int: double-quoted
      [`0x${"f".repeat(70)}`, 0], // hex int
      [`${"1".repeat(70)}e5`, 0], // float (finite: "1e555…" overflows and stays a string)
      [`1e${"5".repeat(70)}`, 1],
      [`+${"1".repeat(70)}`, 0],
      ["A".repeat(MIN_PLACEHOLDER_LENGTH - 1), 0],
      ["A".repeat(MIN_PLACEHOLDER_LENGTH), 1],
      [`${"A".repeat(70)}==`, 1],
    ];
    for (const [s, placeholders] of cases) {
      const r = withPlaceholders({ v: s }, NONCE);
      assert.deepEqual(r, { kind: "dumped", text: reference({ v: s }), placeholders }, s);
    }
    assert.equal(dumpYaml({ v: "1".repeat(70) }), `v: "${"1".repeat(70)}"\n`);
  });

  test("keys are never replaced, so a key over 1,024 characters keeps the explicit '? ' form", () => {
    const key = "A".repeat(1100);
    const r = withPlaceholders({ [key]: "B".repeat(100) }, NONCE);
    assert.deepEqual(r, { kind: "dumped", text: `? ${key}\n: ${"B".repeat(100)}\n`, placeholders: 1 });
  });

  test("a nonce that is not lowercase hex is refused (occurrences of the placeholder could overlap)", () => {
    assert.throws(() => withPlaceholders({}, "WsWsWsWsWsWsWsWsWs"), /16\+ lowercase hex digits/);
  });
});
