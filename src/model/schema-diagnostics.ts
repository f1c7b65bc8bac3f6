import type { z } from "zod";
import type { Diagnostic } from "../errors.ts";
import type { PositionedDocument, YamlPath } from "../yaml/load.ts";

/**
 * Turns zod issues into `path:line:col: message` diagnostics at the offending YAML node, with the
 * field written the way users read it (`spec.hosts[0]`) and a hint of what to do.
 */

export function displayPath(path: YamlPath): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out === "" ? "the document" : out;
}

function valueAt(root: unknown, path: YamlPath): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = Object.hasOwn(v, p) ? (v as Record<string | number, unknown>)[p] : undefined;
  }
  return v;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

const EXPECTED: Readonly<Record<string, string>> = {
  object: "a mapping",
  record: "a mapping",
  array: "a list",
  string: "a string",
  number: "a number",
  boolean: "true or false",
};

function toYamlPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === "number" ? p : String(p)));
}

export function issueDiagnostics(issue: z.core.$ZodIssue, doc: PositionedDocument, file: string): Diagnostic[] {
  const path = toYamlPath(issue.path);
  const name = displayPath(path);
  const at = (p: YamlPath, message: string): Diagnostic => ({ path: file, ...doc.locate(p), message });
  const value = valueAt(doc.value, path);

  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: file,
      ...doc.locateKey([...path, key]),
      message: `unknown field ${displayPath([...path, key])}: remove it or fix its spelling`,
    }));
  }
  if (value === undefined && path.length > 0) {
    return [at(path, `${name} is required: add it`)];
  }
  switch (issue.code) {
    case "invalid_type":
      return [at(path, `${name} must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${describe(value)}`)];
    case "invalid_value": {
      const allowed = issue.values.map((v) => JSON.stringify(v));
      const must = allowed.length === 1 ? `must be ${allowed[0]}` : `must be one of ${allowed.join(", ")}`;
      return [at(path, `${name} ${must}, not ${describe(value)}`)];
    }
    case "too_small":
      return [at(path, `${name} must not be empty`)];
    case "custom":
      return [at(path, issue.message)];
    default:
      return [at(path, `${name}: ${issue.message}`)];
  }
}

/** Parses `doc.value` with `schema`; every issue becomes a diagnostic (no early stop). */
export function parseWithSchema<T>(
  schema: z.ZodType<T>,
  doc: PositionedDocument,
  file: string,
): { readonly value?: T; readonly diagnostics: Diagnostic[] } {
  const r = schema.safeParse(doc.value);
  if (r.success) return { value: r.data, diagnostics: [] };
  return { diagnostics: r.error.issues.flatMap((i) => issueDiagnostics(i, doc, file)) };
}
