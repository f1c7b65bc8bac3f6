/**
 * Placeholders in template scalars: `${tenant.name}`, `${values.a.b}`, `${cert.notAfter}` …
 *
 * Substitution happens on parsed values, never on text, so a tenant value cannot inject YAML: a
 * string that contains `\n- x` or `: ` stays one string. Rules (docs/templates.md):
 * - a string scalar that is exactly one placeholder takes the value's type (`hosts: ${tenant.hosts}`
 *   becomes a list; `${values.replicas}` may become a number or a whole mapping);
 * - inside a longer string, strings, numbers and booleans are inserted as text, a list of those is
 *   joined with "," (handy for `external-dns.alpha.kubernetes.io/hostname`), and null, mappings and
 *   nested lists are refused (there is no single obvious text for them);
 * - `$${` writes a literal `${`; any other `$` is literal;
 * - only mapping VALUES (and list items) are substituted, never mapping keys: a key that changes per
 *   tenant would change the document's structure, which is exactly what this module must not allow.
 */

export const TENANT_FIELDS = ["name", "namespace", "hosts", "secretName", "cluster"] as const;
export type TenantField = (typeof TENANT_FIELDS)[number];

/** What a placeholder names, after parsing. */
export type PlaceholderRef =
  | { readonly kind: "tenant"; readonly field: TenantField }
  | { readonly kind: "values"; readonly path: readonly string[] }
  | { readonly kind: "cert"; readonly field: "notAfter" };

/** A string scalar, split into literal text and placeholders. */
export type Segment =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "placeholder"; readonly source: string; readonly ref: PlaceholderRef };

export type ParseResult =
  | { readonly ok: true; readonly segments: readonly Segment[] }
  | { readonly ok: false; readonly source: string; readonly message: string };

export const KNOWN_PLACEHOLDERS = [
  ...TENANT_FIELDS.map((f) => `\${tenant.${f}}`),
  "${values.KEY}",
  "${cert.notAfter}",
];

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function resolveRef(expr: string): PlaceholderRef | undefined {
  const parts = expr.split(".");
  if (!parts.every((p) => IDENT.test(p))) return undefined;
  const [head, ...rest] = parts;
  if (head === "tenant" && rest.length === 1 && (TENANT_FIELDS as readonly string[]).includes(rest[0] ?? "")) {
    return { kind: "tenant", field: rest[0] as TenantField };
  }
  if (head === "values" && rest.length >= 1) return { kind: "values", path: rest };
  if (head === "cert" && rest.length === 1 && rest[0] === "notAfter") return { kind: "cert", field: "notAfter" };
  return undefined;
}

/** Splits a string scalar into text and placeholders, or says which placeholder is wrong. */
export function parseScalar(s: string): ParseResult {
  const segments: Segment[] = [];
  let text = "";
  let i = 0;
  while (i < s.length) {
    if (s.startsWith("$${", i)) {
      text += "${";
      i += 3;
      continue;
    }
    if (!s.startsWith("${", i)) {
      text += s[i];
      i++;
      continue;
    }
    const end = s.indexOf("}", i + 2);
    if (end === -1) {
      return { ok: false, source: s.slice(i), message: `unterminated placeholder ${s.slice(i)}: close it with } or write $\${ for a literal \${` };
    }
    const source = s.slice(i, end + 1);
    const ref = resolveRef(s.slice(i + 2, end));
    if (ref === undefined) {
      return { ok: false, source, message: `unknown placeholder ${source}; known: ${KNOWN_PLACEHOLDERS.join(", ")} (write $\${ for a literal \${)` };
    }
    if (text !== "") segments.push({ kind: "text", text });
    text = "";
    segments.push({ kind: "placeholder", source, ref });
    i = end + 1;
  }
  if (text !== "" || segments.length === 0) segments.push({ kind: "text", text });
  return { ok: true, segments };
}

/** True when a key contains something that would be a placeholder in a value. */
export function keyHasPlaceholder(key: string): boolean {
  const r = parseScalar(key);
  return !r.ok || r.segments.some((s) => s.kind === "placeholder");
}

/** The values a placeholder can take for one tenant. */
export interface PlaceholderContext {
  readonly tenant: Readonly<Record<TenantField, string | readonly string[]>>;
  readonly values: Readonly<Record<string, unknown>>;
  /** RFC 3339 UTC */
  readonly certNotAfter: string;
}

export type Lookup = { readonly found: true; readonly value: unknown } | { readonly found: false };

export function lookup(ref: PlaceholderRef, ctx: PlaceholderContext): Lookup {
  switch (ref.kind) {
    case "tenant":
      return { found: true, value: ctx.tenant[ref.field] };
    case "cert":
      return { found: true, value: ctx.certNotAfter };
    case "values": {
      let cur: unknown = ctx.values;
      for (const key of ref.path) {
        if (cur === null || typeof cur !== "object" || Array.isArray(cur) || !Object.hasOwn(cur, key)) return { found: false };
        cur = (cur as Record<string, unknown>)[key];
      }
      return { found: true, value: cur };
    }
  }
}

export type Substituted = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly source: string; readonly message: string };

function isTextScalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || (typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean";
}

function asText(v: unknown, source: string): Substituted {
  if (isTextScalar(v)) return { ok: true, value: String(v) };
  if (Array.isArray(v) && v.every(isTextScalar)) return { ok: true, value: v.map(String).join(",") };
  const what = v === null ? "null" : Array.isArray(v) ? "a list holding lists, mappings or nulls" : "a mapping";
  return {
    ok: false,
    source,
    message: `${source} is ${what}, which cannot be written inside a longer string: make the placeholder the whole value`,
  };
}

/** Deep copy of plain data, so that two tenants never share (and mutate) one object. */
export function cloneData(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneData);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    // defineProperty, not assignment: a "__proto__" key from YAML must stay a plain key
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: cloneData(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

/** Substitutes the placeholders of one parsed scalar for one tenant. */
export function substituteSegments(segments: readonly Segment[], ctx: PlaceholderContext): Substituted {
  const [only] = segments;
  if (segments.length === 1 && only?.kind === "placeholder") {
    const hit = lookup(only.ref, ctx);
    if (!hit.found) return missing(only.source);
    return { ok: true, value: cloneData(hit.value) };
  }
  let out = "";
  for (const seg of segments) {
    if (seg.kind === "text") {
      out += seg.text;
      continue;
    }
    const hit = lookup(seg.ref, ctx);
    if (!hit.found) return missing(seg.source);
    const text = asText(hit.value, seg.source);
    if (!text.ok) return text;
    out += text.value as string;
  }
  return { ok: true, value: out };
}

function missing(source: string): Substituted {
  const key = source.slice("${values.".length, -1);
  return { ok: false, source, message: `${source}: the tenant has no spec.values.${key}; define it in the tenant file or remove the placeholder` };
}
