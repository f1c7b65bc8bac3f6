import { createHash } from "node:crypto";
import type { Diagnostic } from "../errors.ts";
import { InvalidInputError } from "../errors.ts";
import { parseYamlDocument } from "../yaml/load.ts";
import type { Position, YamlPath } from "../yaml/load.ts";
import { keyHasPlaceholder, parseScalar, substituteSegments } from "./placeholders.ts";
import type { PlaceholderContext, Segment } from "./placeholders.ts";

/**
 * A template: one YAML document from `templates/<name>.yaml`, compiled once (placeholders found and
 * checked, positions kept) and then instantiated per tenant without re-parsing.
 */
export interface Template {
  /** repository-relative file, for diagnostics and headers; `<built-in>/sealed-secret.yaml` for the default */
  readonly file: string;
  /** output file name in each tenant folder (the template's own file name) */
  readonly name: string;
  readonly builtIn: boolean;
  readonly apiVersion: string;
  readonly kind: string;
  /** the SealedSecret template receives encryptedData, names and annotations from wildseal */
  readonly sealedSecret: boolean;
  /** where `kind` stands, for diagnostics about the template as a whole */
  readonly kindAt: Position;
  readonly root: Readonly<Record<string, unknown>>;
  readonly sites: readonly PlaceholderSite[];
  /** hex SHA-256 of the template text: a cheap identity for plans and reports */
  readonly sha256: string;
}

/** A string scalar holding at least one placeholder. */
export interface PlaceholderSite {
  readonly path: YamlPath;
  readonly segments: readonly Segment[];
  /** where each placeholder (by its source text) stands in the file */
  readonly positions: ReadonlyMap<string, Position>;
  readonly at: Position;
}

export type CompileResult =
  | { readonly ok: true; readonly template: Template }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** Output names are file names in a tenant folder: no separators, no dot files, and not the kustomization. */
const TEMPLATE_FILE = /^[a-z0-9]([a-z0-9._-]{0,200}[a-z0-9])?\.yaml$/;
export const SEALED_SECRET_API_VERSION = "bitnami.com/v1alpha1";

export function isValidTemplateFileName(name: string): boolean {
  return TEMPLATE_FILE.test(name) && name !== "kustomization.yaml" && !name.includes("..");
}

/** Parses and checks one template file; every problem is reported with its position. */
export function compileTemplate(text: string, file: string, name: string, builtIn = false): CompileResult {
  const diagnostics: Diagnostic[] = [];
  const at = (line: number, col: number, message: string): Diagnostic => ({ path: file, line, col, message });
  if (!isValidTemplateFileName(name)) {
    return {
      ok: false,
      diagnostics: [
        at(1, 1, `template file name "${name}" cannot be an output file name: use lower-case letters, digits, ".", "_" or "-", end in .yaml, and do not use kustomization.yaml`),
      ],
    };
  }
  let doc;
  try {
    doc = parseYamlDocument(text, file, { schema: "core" });
  } catch (e) {
    if (e instanceof InvalidInputError) return { ok: false, diagnostics: e.diagnostics };
    throw e;
  }
  const root = doc.value;
  if (root === null || typeof root !== "object" || Array.isArray(root)) {
    return { ok: false, diagnostics: [at(doc.locate([]).line, doc.locate([]).col, "a template must be one Kubernetes object (a YAML mapping with apiVersion and kind)")] };
  }
  const obj = root as Record<string, unknown>;
  const literal = (key: "apiVersion" | "kind"): string | undefined => {
    const v = obj[key];
    const p = doc.locate([key]);
    if (typeof v !== "string" || v === "") {
      diagnostics.push(at(p.line, p.col, `${key} is missing or not a string: every template is a Kubernetes object with apiVersion and kind`));
      return undefined;
    }
    const parsed = parseScalar(v);
    if (!parsed.ok || parsed.segments.some((s) => s.kind === "placeholder")) {
      diagnostics.push(at(p.line, p.col, `${key} must be literal text, not a placeholder: wildseal decides what a template is from it`));
      return undefined;
    }
    return v;
  };
  const apiVersion = literal("apiVersion");
  const kind = literal("kind");

  const sites: PlaceholderSite[] = [];
  walk(obj, [], (path, value, isKey) => {
    if (isKey) {
      if (keyHasPlaceholder(value)) {
        const p = doc.locateKey(path);
        diagnostics.push(at(p.line, p.col, `placeholder in the mapping key "${value}": placeholders are substituted in values only, so a tenant can not change the document's structure`));
      }
      return;
    }
    const parsed = parseScalar(value);
    const p = doc.locate(path);
    if (!parsed.ok) {
      const where = findInText(text, p, parsed.source);
      diagnostics.push(at(where.line, where.col, parsed.message));
      return;
    }
    const [only] = parsed.segments;
    // plain text stays as parsed; text with a `$${` escape is a site too, so the escape is resolved
    if (parsed.segments.length === 1 && only?.kind === "text" && only.text === value) return;
    const positions = new Map<string, Position>();
    for (const s of parsed.segments) if (s.kind === "placeholder") positions.set(s.source, findInText(text, p, s.source));
    sites.push({ path, segments: parsed.segments, positions, at: p });
  });

  if (kind === "SealedSecret") checkSealedSecretShape(obj, apiVersion, doc.locate, file, diagnostics);
  if (diagnostics.length > 0 || apiVersion === undefined || kind === undefined) return { ok: false, diagnostics };
  return {
    ok: true,
    template: {
      file,
      name,
      builtIn,
      apiVersion,
      kind,
      sealedSecret: kind === "SealedSecret",
      kindAt: doc.locate(["kind"]),
      root: obj,
      sites,
      sha256: createHash("sha256").update(text).digest("hex"),
    },
  };
}

function checkSealedSecretShape(
  obj: Record<string, unknown>,
  apiVersion: string | undefined,
  locate: (p: YamlPath) => Position,
  file: string,
  diagnostics: Diagnostic[],
): void {
  const push = (path: YamlPath, message: string): void => {
    diagnostics.push({ path: file, ...locate(path), message });
  };
  if (apiVersion !== undefined && apiVersion !== SEALED_SECRET_API_VERSION) {
    push(["apiVersion"], `a SealedSecret template must have apiVersion ${SEALED_SECRET_API_VERSION} (found ${apiVersion})`);
  }
  const mappingOrAbsent = (v: unknown): boolean => v === undefined || v === null || (typeof v === "object" && !Array.isArray(v));
  const metadata = obj["metadata"];
  if (!mappingOrAbsent(metadata)) push(["metadata"], "metadata must be a mapping");
  const spec = obj["spec"];
  if (!mappingOrAbsent(spec)) {
    push(["spec"], "spec must be a mapping");
    return;
  }
  const s = (spec ?? {}) as Record<string, unknown>;
  if (s["encryptedData"] !== undefined) push(["spec", "encryptedData"], "spec.encryptedData is written by wildseal: remove it from the template");
  if (s["data"] !== undefined) push(["spec", "data"], "spec.data is the deprecated v1 format: remove it; wildseal writes spec.encryptedData");
  const tpl = s["template"];
  if (!mappingOrAbsent(tpl)) {
    push(["spec", "template"], "spec.template must be a mapping");
    return;
  }
  const tm = ((tpl ?? {}) as Record<string, unknown>)["metadata"];
  if (!mappingOrAbsent(tm)) push(["spec", "template", "metadata"], "spec.template.metadata must be a mapping");
  for (const path of [["metadata", "annotations"], ["spec", "template", "metadata", "annotations"]] as const) {
    let cur: unknown = obj;
    for (const k of path) cur = cur !== null && typeof cur === "object" && !Array.isArray(cur) ? (cur as Record<string, unknown>)[k] : undefined;
    if (!mappingOrAbsent(cur)) push(path, `${path.join(".")} must be a mapping`);
  }
}

/**
 * The position of `needle` in the scalar that starts at `from`: exact for plain and quoted scalars
 * and block scalars alike, as long as the placeholder is written literally (no escapes in it);
 * otherwise the scalar's own position.
 */
function findInText(text: string, from: Position, needle: string): Position {
  let offset = 0;
  for (let line = 1; line < from.line; line++) {
    const nl = text.indexOf("\n", offset);
    if (nl === -1) return from;
    offset = nl + 1;
  }
  const start = offset + from.col - 1;
  const hit = text.indexOf(needle, start);
  if (hit === -1 || hit - start > 4096) return from;
  const before = text.slice(0, hit);
  const line = before.split("\n").length;
  const col = hit - (before.lastIndexOf("\n") + 1) + 1;
  return { line, col };
}

/** Visits every string scalar value and every mapping key, with its path. */
function walk(v: unknown, path: YamlPath, visit: (path: YamlPath, s: string, isKey: boolean) => void): void {
  if (typeof v === "string") {
    visit(path, v, false);
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => walk(x, [...path, i], visit));
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      visit([...path, k], k, true);
      walk(x, [...path, k], visit);
    }
  }
}

export type InstantiateResult =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** A fresh object for one tenant: the template with every placeholder replaced. Never mutates the template. */
export function instantiateTemplate(template: Template, ctx: PlaceholderContext, who: string): InstantiateResult {
  const out = structuredClone(template.root) as Record<string, unknown>;
  const diagnostics: Diagnostic[] = [];
  for (const site of template.sites) {
    const r = substituteSegments(site.segments, ctx);
    if (!r.ok) {
      const p = site.positions.get(r.source) ?? site.at;
      diagnostics.push({ path: template.file, ...p, message: `${who}: ${r.message}`, reason: "invalid-template" });
      continue;
    }
    setAt(out, site.path, r.value);
  }
  return diagnostics.length > 0 ? { ok: false, diagnostics } : { ok: true, value: out };
}

function setAt(root: Record<string, unknown>, path: YamlPath, value: unknown): void {
  let cur: unknown = root;
  for (let i = 0; i < path.length - 1; i++) cur = (cur as Record<string | number, unknown>)[path[i] as string | number];
  const last = path[path.length - 1] as string | number;
  // defineProperty, not assignment: a "__proto__" key from YAML must stay a plain key
  Object.defineProperty(cur, last, { value, enumerable: true, writable: true, configurable: true });
}
