import {
  CORE_SCHEMA,
  EVENT_ID,
  JSON_SCHEMA,
  SCALAR_STYLE,
  YAMLException,
  constructFromEvents,
  getScalarValue,
  parseEvents,
} from "js-yaml";
import type { Event, ScalarEvent } from "js-yaml";
import { InvalidInputError } from "../errors.ts";
import type { Diagnostic } from "../errors.ts";

/**
 * Positioned, limited YAML loading for user input (tenant files, config, templates).
 *
 * js-yaml 5 parses to a flat event stream whose events carry source offsets; we walk that stream once
 * to (a) refuse what untrusted input must not use — anchors/aliases (billion laughs: the parse is cheap
 * but everything that walks the result expands exponentially), `<<` merge keys (js-yaml 5 keeps them as
 * a literal key, silently changing meaning), duplicate keys — reporting every occurrence with its
 * position, and (b) index the position of every node by its path, so that later stages (schema,
 * rules, templates) can report `path:line:col` for a value without re-parsing.
 */

export type YamlPath = readonly (string | number)[];

export interface Position {
  /** 1-based */
  readonly line: number;
  /** 1-based, in UTF-16 code units (what JS strings and most editors count) */
  readonly col: number;
}

export interface PositionedDocument {
  readonly value: unknown;
  /**
   * Position of the node at `path` (for a mapping entry: its VALUE; for an empty value: its key).
   * A path that does not exist falls back to the nearest existing ancestor, so a diagnostic about a
   * missing field points at the mapping that should hold it.
   */
  locate(path: YamlPath): Position;
  /** Position of the KEY of the mapping entry at `path` (falls back like `locate`). */
  locateKey(path: YamlPath): Position;
}

export interface YamlLoadOptions {
  /** default 1 MiB */
  readonly maxBytes?: number;
  /**
   * "json" (default): YAML 1.2 JSON schema — only `true`/`false`/`null`/JSON numbers are typed,
   * everything else is a string (`012`, `0x1f`, `~`, `yes`, `2026-01-01` stay strings).
   * "core": YAML 1.2 core schema (js-yaml 5 default; still no timestamps and no merge keys).
   */
  readonly schema?: "json" | "core";
}

export const DEFAULT_MAX_YAML_BYTES = 1024 * 1024;

/** Parses every document of `text`; throws InvalidInputError listing every problem found. */
export function parseYamlDocuments(text: string, source: string, opts: YamlLoadOptions = {}): PositionedDocument[] {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_YAML_BYTES;
  const size = Buffer.byteLength(text, "utf8");
  if (size > maxBytes) {
    throw new InvalidInputError("", [tooLargeDiagnostic(source, size, maxBytes)]);
  }
  const lines = lineStarts(text);
  let events: Event[];
  try {
    events = parseEvents(text, { filename: source });
  } catch (e) {
    throw new InvalidInputError("", [yamlExceptionDiagnostic(e, source)], { cause: e });
  }

  const indexes: PathIndex[] = [];
  const diagnostics: Diagnostic[] = [];
  const walker = new EventWalker(events, text, lines, source, diagnostics);
  while (walker.more()) indexes.push(walker.document());
  if (diagnostics.length > 0) throw new InvalidInputError("", diagnostics);

  let values: unknown[];
  try {
    values = constructFromEvents(events, {
      source: text,
      filename: source,
      schema: opts.schema === "core" ? CORE_SCHEMA : JSON_SCHEMA,
      maxAliases: 0,
    });
  } catch (e) {
    throw new InvalidInputError("", [yamlExceptionDiagnostic(e, source)], { cause: e });
  }
  return indexes.map((index, i) => positioned(values[i] ?? null, index, lines));
}

/** Parses a file that must hold exactly one YAML document. */
export function parseYamlDocument(text: string, source: string, opts: YamlLoadOptions = {}): PositionedDocument {
  const docs = parseYamlDocuments(text, source, opts);
  const [first, second] = docs;
  if (first === undefined) {
    throw new InvalidInputError("", [
      { path: source, line: 1, col: 1, message: "the file holds no YAML document: write one mapping here" },
    ]);
  }
  if (second !== undefined) {
    const at = secondDocumentPosition(text) ?? second.locate([]);
    throw new InvalidInputError("", [
      {
        path: source,
        ...at,
        message: `the file holds ${docs.length} YAML documents; expected exactly one: move the others to their own files`,
      },
    ]);
  }
  return first;
}

/** The diagnostic for a file over the size limit (also used by callers that check size before reading). */
export function tooLargeDiagnostic(source: string, size: number, maxBytes: number): Diagnostic {
  return {
    path: source,
    line: 1,
    col: 1,
    message: `file is ${size} bytes, over the ${formatBytes(maxBytes)} limit: split it or remove unused content`,
  };
}

function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function yamlExceptionDiagnostic(e: unknown, source: string): Diagnostic {
  if (e instanceof YAMLException) {
    const line = (e.mark?.line ?? 0) + 1;
    const col = (e.mark?.column ?? 0) + 1;
    return { path: source, line, col, message: `invalid YAML: ${e.reason}` };
  }
  return { path: source, line: 1, col: 1, message: `invalid YAML: ${e instanceof Error ? e.message : String(e)}` };
}

// --- positions --------------------------------------------------------------------------------

/** Path key (see childKey) → source offset of the node and, for mapping entries, of its key. */
interface PathIndex {
  readonly nodes: Map<string, number>;
  readonly keys: Map<string, number>;
}

function positioned(value: unknown, index: PathIndex, lines: readonly number[]): PositionedDocument {
  const find = (map: Map<string, number>, path: YamlPath): Position => {
    const keys = [ROOT_KEY];
    for (const p of path) keys.push(childKey(keys[keys.length - 1] ?? ROOT_KEY, p));
    for (let n = keys.length - 1; n >= 0; n--) {
      const key = keys[n] ?? ROOT_KEY;
      const hit = map.get(key) ?? index.nodes.get(key);
      if (hit !== undefined) return offsetToPosition(lines, hit);
    }
    return { line: 1, col: 1 };
  };
  return {
    value,
    locate: (path) => find(index.nodes, path),
    locateKey: (path) => find(index.keys, path),
  };
}

/**
 * Path keys are built incrementally while walking (a JSON.stringify per node showed up in profiles).
 * Unambiguous: a string segment carries its length, and strings and indexes have their own marker,
 * so the key "0" and the index 0 never collide.
 */
const ROOT_KEY = "";
function childKey(parent: string, segment: string | number): string {
  return typeof segment === "number" ? `${parent}\u0002${segment}` : `${parent}\u0001${segment.length}:${segment}`;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

function offsetToPosition(lines: readonly number[], offset: number): Position {
  let lo = 0;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((lines[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, col: offset - (lines[lo] ?? 0) + 1 };
}

function secondDocumentPosition(text: string): Position | undefined {
  const lines = lineStarts(text);
  let seen = 0;
  let contentBefore = false;
  for (const start of lines) {
    const end = text.indexOf("\n", start);
    const line = text.slice(start, end === -1 ? undefined : end);
    if (/^---(\s|$)/.test(line)) {
      if (seen > 0 || contentBefore) return offsetToPosition(lines, start);
      seen++;
    } else if (!/^\s*(#.*)?$/.test(line) && !line.startsWith("%")) {
      contentBefore = true;
    }
  }
  return undefined;
}

/** The earliest non-negative offset of a node (its tag/anchor/content), or -1 for an empty node. */
function nodeOffset(e: Event): number {
  // anchor offsets point after the `&`/`*` indicator; tag offsets include the `!`;
  // quoted scalars' value offsets point after the opening quote
  switch (e.type) {
    case EVENT_ID.SCALAR: {
      const quoted = e.style === SCALAR_STYLE.SINGLE_QUOTED || e.style === SCALAR_STYLE.DOUBLE_QUOTED;
      return earliest(quoted && e.valueStart > 0 ? e.valueStart - 1 : e.valueStart, indicator(e.anchorStart), e.tagStart);
    }
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return earliest(e.start, indicator(e.anchorStart), e.tagStart);
    case EVENT_ID.ALIAS:
      return indicator(e.anchorStart);
    default:
      return -1;
  }
}

function indicator(anchorStart: number): number {
  return anchorStart >= 0 ? anchorStart - 1 : -1;
}

function earliest(a: number, b: number, c: number): number {
  let m = -1;
  if (a >= 0) m = a;
  if (b >= 0 && (m < 0 || b < m)) m = b;
  if (c >= 0 && (m < 0 || c < m)) m = c;
  return m;
}

/** One pass over the event stream: validates and indexes positions. Iterative-depth-safe: the parser caps depth at 100. */
class EventWalker {
  #i = 0;
  #nodes = new Map<string, number>();
  #keys = new Map<string, number>();

  constructor(
    private readonly events: readonly Event[],
    private readonly text: string,
    private readonly lines: readonly number[],
    private readonly source: string,
    private readonly diagnostics: Diagnostic[],
  ) {}

  more(): boolean {
    return this.#i < this.events.length;
  }

  document(): PathIndex {
    this.#nodes = new Map();
    this.#keys = new Map();
    const doc = this.events[this.#i++];
    if (doc?.type !== EVENT_ID.DOCUMENT) throw new Error(`yaml: expected a document event at ${this.#i - 1}`);
    if (this.events[this.#i]?.type !== EVENT_ID.POP) this.node(ROOT_KEY, undefined);
    this.#i++; // the document's POP
    return { nodes: this.#nodes, keys: this.#keys };
  }

  #pos(offset: number): Position {
    return offsetToPosition(this.lines, offset);
  }

  #report(offset: number, message: string): void {
    this.diagnostics.push({ path: this.source, ...this.#pos(Math.max(offset, 0)), message });
  }

  /** Walks the node at the cursor. `fallback` is the key's offset, used when the node is empty. */
  private node(key: string, fallback: number | undefined): void {
    const e = this.events[this.#i++];
    if (e === undefined) throw new Error("yaml: truncated event stream");
    const offset = nodeOffset(e);
    const at = offset >= 0 ? offset : (fallback ?? 0);
    this.#nodes.set(key, at);

    if (e.type === EVENT_ID.ALIAS) {
      this.#report(at, "aliases (*name) are not allowed: write the value out in full");
      return;
    }
    if (e.type !== EVENT_ID.POP && e.type !== EVENT_ID.DOCUMENT && e.anchorStart >= 0) {
      this.#report(e.anchorStart - 1, "anchors (&name) are not allowed: write the value out in full");
    }
    if (e.type === EVENT_ID.SEQUENCE) {
      for (let index = 0; this.events[this.#i]?.type !== EVENT_ID.POP; index++) this.node(childKey(key, index), at);
      this.#i++;
    } else if (e.type === EVENT_ID.MAPPING) {
      this.mapping(key, at);
    }
  }

  private mapping(parent: string, mappingOffset: number): void {
    const seen = new Set<string>();
    while (this.events[this.#i]?.type !== EVENT_ID.POP) {
      const keyEvent = this.events[this.#i];
      if (keyEvent === undefined) throw new Error("yaml: truncated event stream");
      const keyOffset = nodeOffset(keyEvent);
      const keyAt = keyOffset >= 0 ? keyOffset : mappingOffset;
      let key: string | undefined;
      if (keyEvent.type === EVENT_ID.SCALAR) {
        this.#i++;
        key = keyOffset >= 0 ? getScalarValue(this.text, keyEvent as ScalarEvent) : "";
        if (keyEvent.anchorStart >= 0) {
          this.#report(keyEvent.anchorStart - 1, "anchors (&name) are not allowed: write the value out in full");
        }
      } else {
        // A collection or alias as a key: walk it for its own problems, then refuse it.
        this.node(childKey(parent, "<complex key>"), keyAt);
        this.#report(keyAt, "mapping keys must be plain strings");
      }
      if (key !== undefined) {
        if (key === "<<") {
          this.#report(keyAt, "merge keys (<<) are not allowed: write the merged keys out");
        } else if (seen.has(key)) {
          this.#report(keyAt, `duplicate key "${key}": remove one of the two`);
        }
        seen.add(key);
        const child = childKey(parent, key);
        if (!this.#keys.has(child)) this.#keys.set(child, keyAt);
        if (this.#nodes.has(child)) {
          // duplicate: keep the first occurrence's positions; walk the second for its own problems
          const saved = this.#nodes;
          this.#nodes = new Map();
          this.node(child, keyAt);
          this.#nodes = saved;
        } else {
          this.node(child, keyAt);
        }
      } else {
        this.node(childKey(parent, "<complex key value>"), keyAt);
      }
    }
    this.#i++;
  }
}
