import { randomBytes } from "node:crypto";
import { DUMP_SCHEMA, VISIT_SKIP, dump, visit } from "js-yaml";
import type { Document, DumpOptions, Node, ScalarNode } from "js-yaml";

const OPTIONS = { sortKeys: true, lineWidth: -1, noRefs: true, quoteStyle: "double" } as const satisfies DumpOptions;

/**
 * Deterministic YAML: keys sorted, no line folding, no anchors. The same object always gives the
 * same bytes, which is what lets an unchanged tenant keep its files exactly.
 *
 * The bytes are exactly js-yaml's `dump(value, OPTIONS)` (test/yaml/dump-fast.test.ts checks it for
 * arbitrary values), only faster (a rendered SealedSecret: ~120 µs → ~20 µs). js-yaml chooses each
 * scalar's style by running several Unicode regular expressions over the whole string
 * (canUsePlain, canUseSingleQuoted, canUseBlock, doubleQuoteForInvisibles), which for the
 * several-KB base64 ciphertexts is most of the dump, and builds an AST per call. So, in order:
 * 1. `emitCanonical` writes the common subset (plain objects, arrays, null, booleans, integers,
 *    one-line ASCII strings) itself, in js-yaml's layout;
 * 2. otherwise `withPlaceholders` lets js-yaml dump, with long values that provably print verbatim
 *    swapped for short placeholders in its AST and put back in the text afterwards;
 * 3. otherwise (an input string holds the placeholder's random nonce) js-yaml as is.
 */
export function dumpYaml(value: unknown): string {
  const direct = emitCanonical(value);
  if (direct !== undefined) return direct;
  const fast = withPlaceholders(value, freshNonce());
  return fast.kind === "dumped" ? fast.text : slowDump(value);
}

/** 128 random bits as 32 lowercase hex digits; drawn from a pool (randomBytes costs ~2 µs a call). */
function freshNonce(): string {
  if (poolOffset + NONCE_BYTES > pool.length) {
    pool = randomBytes(NONCE_BYTES * 256);
    poolOffset = 0;
  }
  poolOffset += NONCE_BYTES;
  return pool.toString("hex", poolOffset - NONCE_BYTES, poolOffset);
}
const NONCE_BYTES = 16;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** js-yaml as is; double quotes where quoting is needed ("true"), as kubectl and kubeseal (Go yaml) write them. */
function slowDump(value: unknown): string {
  return dump(value, OPTIONS);
}

/** Below this, a placeholder saves little next to the bookkeeping. */
export const MIN_PLACEHOLDER_LENGTH = 64;

/**
 * Only characters that are never YAML indicators nor flow indicators, never whitespace, line
 * breaks, '#' or ':', and never escaped or styled by any of js-yaml's scalar rules: base64's
 * alphabet, '=' anywhere (its padding position does not matter to YAML). One plain character class
 * is ~0.5 ns a character in V8, 10× faster than /^[A-Za-z0-9+/]+={0,2}$/ (which backtracks) and
 * much cheaper than js-yaml's Unicode expressions.
 */
const VERBATIM_CHARS = /^[A-Za-z0-9+/=]*$/;

/**
 * Whether js-yaml (5.5, with OPTIONS and its default DUMP_SCHEMA) prints this scalar node, in a
 * value position, as exactly its `value` and nothing else. The reasoning, against
 * node_modules/js-yaml writeNode → detectAllowedStyles → DEFAULT_SCALAR_STYLE_RULES → renderScalar:
 * - A JS string becomes a node with the implicit str tag, `tagged: false`, style PLAIN, no anchor
 *   (noRefs). The node keeps style PLAIN iff canUsePlain holds, since no other rule fires on a
 *   one-line value without tabs, invisibles or whitespace-only content: quoteFlowKeys and
 *   forceQuotes are off, and tryLongOrMultilineAsBlock only acts on multi-line values when
 *   lineWidth is -1 (no folding at all).
 * - canUsePlain: a non-empty VERBATIM_CHARS string never starts with an indicator (- ? : , [ ] { } # & * ! | > ' " % @ `),
 *   holds no ': ', ' #', flow indicator or line break, so the ns-plain regular expressions match in
 *   block and flow context, key or value, and it cannot start with "---"/"...". What is left is
 *   exactly canUsePlain's last test, done here with the same call: the string must not resolve to
 *   another implicit tag than the node's (an all-digit string is an int, "0x1f…" is hex,
 *   "1e5…" a float, "0b…"/"0o…" ints…), and it is not "=".
 * - A PLAIN body is encodeFlowBreaks(value) = value (no line break), and no tag is printed (untagged,
 *   non-empty, PLAIN). What surrounds a value ("key: ", "- ") depends only on whether the text is
 *   empty or starts with a line break, the same for the value and for its placeholder.
 * Keys are never replaced: their length decides the explicit "? " form (over 1,024 characters).
 */
function printsVerbatim(node: ScalarNode, value: string): boolean {
  return (
    !node.tagged &&
    node.anchor === undefined &&
    value !== "" &&
    value !== "=" &&
    VERBATIM_CHARS.test(value) &&
    DUMP_SCHEMA.resolveImplicitScalarTag(value).tag.tagName === node.tag
  );
}

/**
 * Dumps with long verbatim values replaced by `Ws<nonce>I<index>Z` (alphanumeric, so they print
 * verbatim too: checked with the same test), then restores them in the text. Returns
 * "nonce-in-input" when the text does not hold exactly the placeholders set, in order: only
 * possible if an input string contains `Ws<nonce>` (the nonce is 128 random bits, fresh for each
 * call), and then the caller dumps the slow way.
 *
 * Why the check is enough: the AST is a tree (noRefs), so each placeholder is printed exactly once,
 * verbatim, and the text holds `Ws<nonce>` at least once per placeholder. Occurrences of
 * `Ws<nonce>` cannot overlap (its only 'W' is its first character, and `I<digits>Z` has none), so
 * the scan below sees every one of them; finding exactly as many as were set, the i-th followed by
 * `I<i>Z`, means every occurrence is a placeholder and none came from an input string.
 */
export function withPlaceholders(value: unknown, nonce: string): PlaceholderDump {
  // lowercase hex keeps 'W' at the start of `Ws<nonce>` only, so two occurrences cannot overlap
  if (!/^[0-9a-f]{16,}$/.test(nonce)) throw new Error(`withPlaceholders: the nonce must be 16+ lowercase hex digits, got ${JSON.stringify(nonce)}`);
  const originals: string[] = [];
  const transform = (documents: Document[]): void => {
    const swap = (node: Node): void => {
      if (node.kind !== "scalar" || node.value.length < MIN_PLACEHOLDER_LENGTH) return;
      const placeholder = `Ws${nonce}I${originals.length}Z`;
      if (!printsVerbatim(node, node.value) || !printsVerbatim(node, placeholder)) return;
      originals.push(node.value);
      node.value = placeholder;
    };
    // visit is pre-order, key before value, items in their (already sorted) order: the order in
    // which the presenter writes them, so placeholders appear in the text in index order. Nothing
    // under a key is touched (a collection key's text length matters too).
    visit(documents, (node, ctx) => {
      if (ctx.isKey) return VISIT_SKIP;
      swap(node);
      return undefined;
    });
  };
  const text = dump(value, { ...OPTIONS, transform });
  if (originals.length === 0) return { kind: "dumped", text, placeholders: 0 };
  const head = `Ws${nonce}`;
  let restored = "";
  let from = 0;
  let next = 0;
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, from)) {
    const tail = `I${next}Z`;
    const original = originals[next];
    if (original === undefined || !text.startsWith(tail, at + head.length)) return NONCE_IN_INPUT;
    restored += text.slice(from, at) + original;
    from = at + head.length + tail.length;
    next += 1;
  }
  if (next !== originals.length) return NONCE_IN_INPUT;
  return { kind: "dumped", text: restored + text.slice(from), placeholders: originals.length };
}

export type PlaceholderDump =
  | { readonly kind: "dumped"; readonly text: string; /** how many values went through as placeholders */ readonly placeholders: number }
  /** the text holds `Ws<nonce>` where no placeholder was set: dump without placeholders */
  | { readonly kind: "nonce-in-input" };
const NONCE_IN_INPUT: PlaceholderDump = { kind: "nonce-in-input" };

/**
 * The common case without js-yaml at all: plain objects, arrays, null, booleans, integers and strings
 * of SIMPLE_STRING only, written in js-yaml's block layout (below). Anything else (other numbers,
 * Dates, Maps, undefined at the root, functions, strings with other characters, keys over 1,000
 * characters) returns undefined and the caller asks js-yaml. What each piece mirrors, in
 * node_modules/js-yaml (jsToAst, writeNode, writeBlockMapping, writeBlockSequence, present) with
 * OPTIONS (indent 2, seqInlineFirst, no seqNoIndent, no flowLevel, sortKeys, noRefs):
 * - a non-empty mapping at level L: its pairs sorted by key (String < String, as defaultCompareFn),
 *   each on a new line indented 2·L, except the first when compact (the root, a list item);
 *   "key: value", or "key:" when the value's text starts with a line break; the value at level L+1,
 *   not compact. A pair whose value is undefined is left out.
 * - a non-empty sequence at level L: each item on a new line indented 2·L, except the first when
 *   compact; "- " + the item at level L+1, compact; an undefined item is null.
 * - empty collections print in flow style: {} and [].
 * - null, true, false; an integer as js-yaml's int tag prints it (not -0, no exponent).
 * - a string: see `simpleScalar`.
 * - the document: the root's text and a line break.
 */
export function emitCanonical(value: unknown): string | undefined {
  const text = emitNode(value, 0, true);
  return text === undefined ? undefined : `${text}\n`;
}

function emitNode(value: unknown, level: number, compact: boolean): string | undefined {
  if (typeof value === "string") return simpleScalar(value);
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    // js-yaml's int tag (identify and represent); other numbers are floats, left to js-yaml
    const text = value.toString(10);
    return Number.isInteger(value) && !Object.is(value, -0) && !text.includes("e") ? text : undefined;
  }
  if (Array.isArray(value)) return value.length === 0 ? "[]" : emitSequence(value, level, compact);
  if (typeof value === "object" && isPlainObject(value)) return emitMapping(value as Record<string, unknown>, level, compact);
  return undefined;
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || prototype === Object.prototype;
}

function emitMapping(map: Record<string, unknown>, level: number, compact: boolean): string | undefined {
  const keys = Object.keys(map).filter((k) => map[k] !== undefined);
  if (keys.length === 0) return "{}";
  keys.sort(); // UTF-16 code unit order, as `String(a) < String(b)`
  const newline = lineStart(level);
  let out = "";
  for (let i = 0; i < keys.length; i += 1) {
    const key = keys[i] as string;
    const keyText = key.length > 1000 ? undefined : simpleScalar(key);
    const valueText = emitNode(map[key], level + 1, false);
    if (keyText === undefined || valueText === undefined) return undefined;
    if (i > 0 || !compact) out += newline;
    out += keyText;
    out += valueText === "" || valueText.charCodeAt(0) === 10 ? ":" : ": ";
    out += valueText;
  }
  return out;
}

function emitSequence(items: readonly unknown[], level: number, compact: boolean): string | undefined {
  const newline = lineStart(level);
  let out = "";
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i];
    const text = item === undefined ? "null" : emitNode(item, level + 1, true);
    if (text === undefined) return undefined;
    if (i > 0 || !compact) out += newline;
    out += text === "" || text.charCodeAt(0) === 10 ? "-" : "- ";
    out += text;
  }
  return out;
}

const lineStarts: string[] = [];
function lineStart(level: number): string {
  return (lineStarts[level] ??= `\n${"  ".repeat(level)}`);
}

/**
 * One-line strings of printable ASCII without '"', '\\' or '#' (which double quotes would escape or
 * which end a plain scalar), starting with a character that is never an indicator, '-' or '.'.
 */
const SIMPLE_STRING = /^[A-Za-z0-9_/+=$(<~^][\x20-\x21\x24-\x5b\x5d-\x7e]*$/;

/**
 * A SIMPLE_STRING, or "", as js-yaml prints it (key or value, at any level but the root-only rule
 * on "---"/"..." which the first character already rules out): plain when canUsePlain holds, else
 * double-quoted (quoteInvalidPlain with quoteStyle double), the quotes around the string unchanged
 * since escapeString touches none of its characters. No other rule applies to one printable line
 * without tabs or invisibles, and lineWidth -1 folds nothing. canUsePlain on such a string: the
 * ns-plain expressions (block context, key or value) fail exactly on a ':' followed by a space or
 * ending the string and on a trailing space; then the implicit type must be str and the string not
 * "=". "" resolves to null: quoted.
 */
function simpleScalar(s: string): string | undefined {
  if (s === "") return '""';
  if (!SIMPLE_STRING.test(s)) return undefined;
  const plain =
    s !== "=" &&
    !s.endsWith(":") &&
    !s.endsWith(" ") &&
    !s.includes(": ") &&
    DUMP_SCHEMA.resolveImplicitScalarTag(s).tag === DUMP_SCHEMA.defaultScalarTag;
  return plain ? s : `"${s}"`;
}

/** JSON the way kubectl/kubeseal print it: 2-space indent and a trailing newline. */
export function dumpJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
