/**
 * Validates HTTP exchanges against GitHub's official REST description (@octokit/openapi,
 * generated/api.github.com.json, OpenAPI 3.0.3). Only that one file is loaded (the package index would load
 * every variant, hundreds of MB). Schemas are translated to JSON Schema (nullable, $ref) and compiled lazily:
 * an operation's schemas, and the components they reach, on first use.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction, type ErrorObject } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats is CJS with a default export property
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

export interface Violation {
  readonly operation: string;
  readonly where: "route" | "path" | "query" | "body" | "response";
  readonly message: string;
}

export interface MatchedOperation {
  readonly operationId: string;
  readonly template: string;
  readonly method: string;
  readonly pathParams: Readonly<Record<string, string>>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: JsonObject;
}

interface Operation {
  operationId: string;
  parameters?: JsonObject[];
  requestBody?: JsonObject;
  responses: Record<string, JsonObject>;
}

/** Each component is registered with ajv on first use under this prefix + its path below #/components/. */
const COMPONENT_ID = "https://openapi.github.test/components/";

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** OpenAPI 3.0 schema object → JSON Schema (draft-07 as ajv reads it). */
export function toJsonSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "nullable" || k === "example" || k === "examples" || k === "description" || k.startsWith("x-")) continue;
    if (k === "$ref" && typeof v === "string") {
      out.$ref = v.startsWith("#/components/") ? `${COMPONENT_ID}${v.slice("#/components/".length)}` : v;
      continue;
    }
    // `properties` maps names to schemas: a property may be called "example" or "nullable"
    if (k === "properties" && isObject(v)) {
      out.properties = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, toJsonSchema(s)]));
      continue;
    }
    out[k] = toJsonSchema(v);
  }
  if (node.nullable !== true) return out;
  if (typeof out.type === "string") {
    out.type = [out.type, "null"];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: "null" }] };
}

interface Route {
  readonly template: string;
  readonly segments: readonly string[];
  readonly literalCount: number;
}

function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || "/"} ${e.message ?? "invalid"}${e.params && Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : ""}`)
    .join("; ");
}

interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, JsonObject>>;
}

export class OpenApiValidator {
  readonly #doc: OpenApiDocument;
  readonly #routes: Route[];
  readonly #bodies: Ajv;
  readonly #params: Ajv;
  readonly #cache = new Map<string, ValidateFunction>();
  readonly #registered = new Set<string>();

  private constructor(file: string) {
    this.#doc = JSON.parse(readFileSync(file, "utf8")) as OpenApiDocument;
    this.#routes = Object.keys(this.#doc.paths).map((template) => {
      const segments = template.split("/").slice(1);
      return { template, segments, literalCount: segments.filter((s) => !s.startsWith("{")).length };
    });
    const make = (coerce: boolean): Ajv => {
      const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, coerceTypes: coerce, logger: false });
      addFormats(ajv);
      // formats GitHub uses that ajv-formats does not know: documented, not enforced
      ajv.addFormat("timestamp", true);
      ajv.addFormat("repo.nwo", /^[^/]+\/[^/]+$/);
      return ajv;
    };
    this.#bodies = make(false);
    this.#params = make(true);
  }

  static #instance: OpenApiValidator | undefined;
  /** The api.github.com description, loaded once per process. */
  static load(): OpenApiValidator {
    if (OpenApiValidator.#instance === undefined) {
      const require = createRequire(import.meta.url);
      OpenApiValidator.#instance = new OpenApiValidator(require.resolve("@octokit/openapi/generated/api.github.com.json"));
    }
    return OpenApiValidator.#instance;
  }

  #deref<T>(node: JsonObject): T {
    let cur: Json = node;
    for (let i = 0; i < 10 && isObject(cur) && typeof cur.$ref === "string"; i++) {
      const parts: string[] = cur.$ref.replace(/^#\//, "").split("/");
      let next: Json = this.#doc as unknown as Json;
      for (const p of parts) next = isObject(next) ? (next[p] ?? null) : null;
      cur = next;
    }
    return cur as T;
  }

  /** Finds the operation for a method and a concrete path; literal segments beat parameters. */
  match(method: string, pathname: string): MatchedOperation | undefined {
    const m = method.toLowerCase();
    const segs = pathname.split("/").slice(1);
    let best: { route: Route; params: Record<string, string> } | undefined;
    for (const route of this.#routes) {
      const op = this.#doc.paths[route.template]?.[m];
      if (op === undefined) continue;
      const params = matchSegments(route.segments, segs);
      if (params === undefined) continue;
      // an exact segment count beats a trailing parameter spanning slashes; then literals beat parameters
      const score = (r: Route): number => (r.segments.length === segs.length ? 1000 : 0) + r.literalCount;
      if (best === undefined || score(route) > score(best.route)) best = { route, params };
    }
    if (best === undefined) return undefined;
    const op = this.#doc.paths[best.route.template]?.[m];
    if (op === undefined) return undefined;
    return { operationId: op.operationId, template: best.route.template, method: m, pathParams: best.params };
  }

  #operation(match: MatchedOperation): Operation {
    const op = this.#doc.paths[match.template]?.[match.method];
    if (op === undefined) throw new Error(`no operation ${match.method} ${match.template}`);
    return op;
  }

  /** Registers, with both ajv instances, every component `node` reaches that is not registered yet. */
  #register(node: Json): void {
    const pending: Json[] = [node];
    while (pending.length > 0) {
      const n = pending.pop();
      if (Array.isArray(n)) pending.push(...n);
      else if (isObject(n)) {
        const ref = n.$ref;
        if (typeof ref === "string" && ref.startsWith("#/components/") && !this.#registered.has(ref)) {
          this.#registered.add(ref);
          const raw = this.#deref<Json>({ $ref: ref });
          const schema = { ...(toJsonSchema(raw) as JsonObject), $id: `${COMPONENT_ID}${ref.slice("#/components/".length)}` };
          this.#bodies.addSchema(schema);
          this.#params.addSchema(schema);
          pending.push(raw);
        }
        for (const [k, v] of Object.entries(n)) if (k !== "$ref") pending.push(v);
      }
    }
  }

  #compile(key: string, ajv: Ajv, schema: Json): ValidateFunction {
    let v = this.#cache.get(key);
    if (v === undefined) {
      this.#register(schema);
      v = ajv.compile(toJsonSchema(schema) as object);
      this.#cache.set(key, v);
    }
    return v;
  }

  #parameters(op: Operation): Parameter[] {
    return (op.parameters ?? []).map((p) => this.#deref<Parameter>(p));
  }

  /** Checks path parameters, query parameters (unknown ones too) and the JSON body of a request. */
  validateRequest(method: string, url: URL, body: unknown): { match: MatchedOperation | undefined; violations: Violation[] } {
    const match = this.match(method, url.pathname);
    if (match === undefined) {
      return { match, violations: [{ operation: `${method} ${url.pathname}`, where: "route", message: "no such operation in GitHub's REST API" }] };
    }
    const op = this.#operation(match);
    const violations: Violation[] = [];
    const push = (where: Violation["where"], message: string): void => {
      violations.push({ operation: op.operationId, where, message });
    };
    const params = this.#parameters(op);
    for (const p of params.filter((x) => x.in === "path")) {
      const value = match.pathParams[p.name];
      const v = this.#compile(`${op.operationId}:path:${p.name}`, this.#params, {
        type: "object",
        properties: { value: (p.schema ?? {}) as Json },
        required: ["value"],
      });
      if (!v({ value })) push("path", `path parameter ${p.name}=${String(value)}: ${describeErrors(v.errors)}`);
    }
    const query = params.filter((x) => x.in === "query");
    const known = new Set(query.map((q) => q.name));
    for (const name of new Set(url.searchParams.keys())) {
      if (!known.has(name)) push("query", `unknown query parameter "${name}"`);
    }
    const queryObject: Record<string, Json> = {};
    for (const name of known) {
      const all = url.searchParams.getAll(name);
      if (all.length > 0) queryObject[name] = all.length === 1 ? (all[0] ?? null) : all;
    }
    const querySchema: Json = {
      type: "object",
      properties: Object.fromEntries(query.map((q) => [q.name, (q.schema ?? {}) as Json])),
      required: query.filter((q) => q.required === true).map((q) => q.name),
    };
    const vq = this.#compile(`${op.operationId}:query`, this.#params, querySchema);
    if (!vq(queryObject)) push("query", describeErrors(vq.errors));

    const rb = op.requestBody === undefined ? undefined : this.#deref<JsonObject>(op.requestBody);
    const schema = rb === undefined ? undefined : (rb.content as JsonObject | undefined)?.["application/json"];
    if (rb === undefined) {
      if (body !== undefined) push("body", "this operation takes no request body");
    } else if (body === undefined) {
      if (rb.required === true) push("body", "request body is required");
    } else if (isObject(schema) && schema.schema !== undefined) {
      const vb = this.#compile(`${op.operationId}:body`, this.#bodies, schema.schema);
      if (!vb(body)) push("body", describeErrors(vb.errors));
    }
    return { match, violations };
  }

  /** Checks that the status is documented for the operation and the JSON body fits its schema. */
  validateResponse(match: MatchedOperation, status: number, body: unknown, opts: { undocumentedStatusOk?: boolean } = {}): Violation[] {
    const op = this.#operation(match);
    const declared = op.responses[String(status)] ?? op.responses.default;
    if (declared === undefined) {
      if (opts.undocumentedStatusOk === true) return [];
      return [{ operation: op.operationId, where: "response", message: `status ${status} is not documented for this operation` }];
    }
    const response = this.#deref<JsonObject>(declared);
    const content = response.content as JsonObject | undefined;
    const media = content?.["application/json"];
    if (!isObject(media) || media.schema === undefined) {
      return body === undefined ? [] : [{ operation: op.operationId, where: "response", message: `status ${status} must have no JSON body` }];
    }
    const v = this.#compile(`${op.operationId}:response:${status}`, this.#bodies, media.schema);
    return v(body) ? [] : [{ operation: op.operationId, where: "response", message: `status ${status}: ${describeErrors(v.errors)}` }];
  }

  /** Validates a value against a named component schema (e.g. "basic-error"). */
  validateComponent(name: string, value: unknown): string | undefined {
    const v = this.#compile(`component:${name}`, this.#bodies, { $ref: `#/components/schemas/${name}` });
    return v(value) ? undefined : describeErrors(v.errors);
  }
}

/** Matches concrete segments against a template; a trailing parameter may span slashes (git refs, paths). */
function matchSegments(template: readonly string[], segs: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  const last = template.length - 1;
  const lastIsParam = template[last]?.startsWith("{") === true;
  if (segs.length !== template.length && !(lastIsParam && segs.length > template.length)) return undefined;
  for (let i = 0; i < template.length; i++) {
    const t = template[i] ?? "";
    const s = i === last && lastIsParam ? segs.slice(i).join("/") : (segs[i] ?? "");
    if (t.startsWith("{")) {
      if (s === "") return undefined;
      params[t.slice(1, -1)] = decodeURIComponent(s);
    } else if (t !== s) return undefined;
  }
  return params;
}
