import { lstat, readdir, readFile, realpath, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { InvalidInputError, type Diagnostic } from "../errors.ts";
import { DEFAULT_MAX_YAML_BYTES, parseYamlDocuments, tooLargeDiagnostic, type PositionedDocument, type YamlPath } from "../yaml/load.ts";
import { SecretBytes, type SecretManifest } from "./types.ts";

/**
 * Reading Secrets: a manifest as `kubectl get secret -o yaml|json` prints it (several documents or a
 * v1 List allowed), or a folder laid out as a kubelet Secret volume. Values become raw bytes wrapped
 * in SecretBytes at once; errors name the file, the position and the key, never the value.
 */

export const MAX_SECRET_INPUT_BYTES = DEFAULT_MAX_YAML_BYTES;

/** Annotations kubeseal drops from the template: client-side bookkeeping, not part of the Secret. */
export const DROPPED_ANNOTATIONS: readonly string[] = [
  "kubectl.kubernetes.io/last-applied-configuration",
  "kubecfg.ksonnet.io/last-applied-configuration",
];

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kubernetes' IsConfigMapKey: what a Secret data key may be (and what a volume file may be named). */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isValidSecretKey(key: string): boolean {
  return key.length <= 253 && SECRET_KEY.test(key) && key !== "." && key !== "..";
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

class DocReader {
  readonly problems: Diagnostic[] = [];
  constructor(
    readonly doc: PositionedDocument,
    readonly source: string,
    readonly base: YamlPath,
  ) {}

  at(path: YamlPath, message: string, key = false): void {
    const full = [...this.base, ...path];
    const pos = key ? this.doc.locateKey(full) : this.doc.locate(full);
    this.problems.push({ path: this.source, ...pos, message });
  }

  stringMap(obj: Record<string, unknown>, path: YamlPath, what: string): Record<string, string> {
    const out: Record<string, string> = {};
    const v = path.reduce<unknown>((o, k) => (isRecord(o) ? o[k as string] : undefined), obj);
    if (v === undefined || v === null) return out;
    if (!isRecord(v)) {
      this.at(path, `${what} must be a mapping of strings`);
      return out;
    }
    for (const [k, val] of Object.entries(v)) {
      if (typeof val === "string") out[k] = val;
      else this.at([...path, k], `${what} "${k}" must be a string (quote it)`);
    }
    return out;
  }
}

/** Parses every Secret in `text` (YAML or JSON; several documents; `kind: List`). All problems are reported at once. */
export function parseSecretManifests(text: string, source: string): SecretManifest[] {
  const docs = parseYamlDocuments(text, source);
  const out: SecretManifest[] = [];
  const problems: Diagnostic[] = [];
  for (const doc of docs) {
    if (doc.value === null || doc.value === "") continue; // an empty document (e.g. a trailing `---`)
    const reader = new DocReader(doc, source, []);
    if (isRecord(doc.value) && doc.value["kind"] === "List") {
      const items = doc.value["items"];
      if (!Array.isArray(items)) reader.at(["items"], "a List needs `items:`, a sequence of Secrets");
      else {
        items.forEach((item, i) => {
          const r = new DocReader(doc, source, ["items", i]);
          const s = readSecret(item, r);
          if (s !== undefined) out.push(s);
          problems.push(...r.problems);
        });
      }
    } else {
      const s = readSecret(doc.value, reader);
      if (s !== undefined) out.push(s);
    }
    problems.push(...reader.problems);
  }
  if (problems.length > 0) throw new InvalidInputError("", problems);
  if (out.length === 0) {
    throw new InvalidInputError("", [{ path: source, line: 1, col: 1, message: "no Secret found: expected a `kind: Secret` manifest" }]);
  }
  return out;
}

function readSecret(value: unknown, r: DocReader): SecretManifest | undefined {
  if (!isRecord(value)) {
    r.at([], "expected a Secret manifest (a mapping with `kind: Secret`)");
    return undefined;
  }
  const before = r.problems.length;
  if (value["kind"] !== "Secret") {
    r.at(["kind"], `expected kind Secret, found ${JSON.stringify(value["kind"] ?? null)}`);
    return undefined;
  }
  if (value["apiVersion"] !== undefined && value["apiVersion"] !== "v1") {
    r.at(["apiVersion"], `expected apiVersion v1 for a Secret, found ${JSON.stringify(value["apiVersion"])}`);
  }
  const meta = value["metadata"];
  if (!isRecord(meta)) {
    r.at(["metadata"], "a Secret needs `metadata:` with at least `name:`");
    return undefined;
  }
  const name = meta["name"];
  if (typeof name !== "string" || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    r.at(["metadata", "name"], "metadata.name must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.')");
  }
  const namespace = meta["namespace"];
  if (namespace !== undefined && (typeof namespace !== "string" || namespace.length > 63 || !DNS1123_LABEL.test(namespace))) {
    r.at(["metadata", "namespace"], "metadata.namespace must be a DNS-1123 label");
  }
  const type = value["type"];
  if (type !== undefined && typeof type !== "string") r.at(["type"], "type must be a string, e.g. kubernetes.io/tls");
  const immutable = value["immutable"];
  if (immutable !== undefined && immutable !== null && typeof immutable !== "boolean") r.at(["immutable"], "immutable must be true or false");
  const labels = r.stringMap(value, ["metadata", "labels"], "label");
  const annotations = r.stringMap(value, ["metadata", "annotations"], "annotation");
  for (const k of DROPPED_ANNOTATIONS) delete annotations[k];

  const data = new Map<string, SecretBytes>();
  for (const field of ["data", "stringData"] as const) {
    const m = value[field];
    if (m === undefined || m === null) continue;
    if (!isRecord(m)) {
      r.at([field], `${field} must be a mapping of key to string`);
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      if (!isValidSecretKey(k)) {
        r.at([field, k], `${field} key "${k}" is not a valid Secret key (letters, digits, '-', '_' and '.')`, true);
        continue;
      }
      if (typeof v !== "string") {
        r.at([field, k], `${field}.${k} must be a string`);
        continue;
      }
      if (field === "stringData") {
        data.set(k, new SecretBytes(Buffer.from(v, "utf8"))); // stringData is applied second and wins, as the API server does
        continue;
      }
      const compact = v.replace(/[\r\n]/g, ""); // block scalars may wrap long base64
      if (!BASE64.test(compact)) {
        r.at([field, k], `data.${k} is not valid base64: \`data\` values are base64-encoded (use stringData for plain text)`);
        continue;
      }
      data.set(k, new SecretBytes(Buffer.from(compact, "base64")));
    }
  }
  if (r.problems.length > before) return undefined;
  return {
    name: name as string,
    namespace: namespace as string | undefined,
    type: (type as string | undefined) || undefined,
    labels,
    annotations,
    immutable: typeof immutable === "boolean" ? immutable : undefined,
    data: new Map([...data].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}

async function readBoundedStream(stream: NodeJS.ReadableStream, source: string): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    total += b.length;
    if (total > MAX_SECRET_INPUT_BYTES) throw new InvalidInputError("", [tooLargeDiagnostic(source, total, MAX_SECRET_INPUT_BYTES)]);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function readBoundedFile(path: string): Promise<Buffer> {
  const st = await stat(path);
  if (st.size > MAX_SECRET_INPUT_BYTES) throw new InvalidInputError("", [tooLargeDiagnostic(path, st.size, MAX_SECRET_INPUT_BYTES)]);
  return readFile(path);
}

function noSuchInput(path: string, e: unknown): InvalidInputError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const why = code === "ENOENT" ? "no such file or folder" : code === "EACCES" ? "permission denied" : "cannot be read";
  return new InvalidInputError(`${path}: ${why}; pass a Secret manifest (YAML/JSON), a mounted Secret folder, or - for stdin`);
}

/**
 * Reads Secrets from a manifest file, `-` (stdin), or a folder laid out as a kubelet Secret volume.
 * `stdin` is injectable for tests.
 */
export async function readSecretSource(path: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<SecretManifest[]> {
  if (path === "-") return parseSecretManifests(await readBoundedStream(stdin, "<stdin>"), "<stdin>");
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw noSuchInput(path, e);
  }
  if (isDir) return [await readSecretVolume(path)];
  let bytes: Buffer;
  try {
    bytes = await readBoundedFile(path);
  } catch (e) {
    if (e instanceof InvalidInputError) throw e;
    throw noSuchInput(path, e);
  }
  return parseSecretManifests(bytes.toString("utf8"), path);
}

/**
 * A mounted Secret: kubelet writes the keys into a timestamped folder and swaps the `..data` symlink
 * to it atomically; reading through `..data` gives one consistent version even mid-rotation. A plain
 * folder with the files directly in it works too. Name = folder name, namespace unknown.
 */
export async function readSecretVolume(dir: string): Promise<SecretManifest> {
  // kubelet deletes the previous timestamped folder right after the swap: a file that vanishes while
  // we read means a rotation happened, so read the new version again instead of returning half of it.
  for (let attempt = 1; ; attempt++) {
    try {
      return await readVolumeOnce(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= VOLUME_READ_ATTEMPTS) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
          throw new InvalidInputError(`${dir}: the Secret volume kept changing while it was read (${attempt} attempts); try again`, [], { cause: e });
        }
        throw e;
      }
    }
  }
}

const VOLUME_READ_ATTEMPTS = 5;

async function readVolumeOnce(dir: string): Promise<SecretManifest> {
  let keysDir = dir;
  try {
    if ((await lstat(join(dir, "..data"))).isSymbolicLink()) keysDir = await realpath(join(dir, "..data"));
  } catch {
    // no ..data: a plain folder
  }
  const data = new Map<string, SecretBytes>();
  let total = 0;
  for (const entry of (await readdir(keysDir)).sort()) {
    if (entry.startsWith("..") || !isValidSecretKey(entry)) continue; // kubelet's own bookkeeping entries
    const file = join(keysDir, entry);
    const st = await stat(file); // ENOENT: rotated away under us (see readSecretVolume)
    if (!st.isFile()) continue;
    total += st.size;
    if (total > MAX_SECRET_INPUT_BYTES) throw new InvalidInputError("", [tooLargeDiagnostic(dir, total, MAX_SECRET_INPUT_BYTES)]);
    data.set(entry, new SecretBytes(await readFile(file)));
  }
  if (data.size === 0) {
    throw new InvalidInputError(`${dir}: the folder holds no Secret keys (expected files such as tls.crt and tls.key)`);
  }
  const isTls = data.has("tls.crt") && data.has("tls.key");
  return {
    name: basename(dir.replace(/\/+$/, "")),
    namespace: undefined,
    type: isTls ? "kubernetes.io/tls" : undefined,
    labels: {},
    annotations: {},
    immutable: undefined,
    data,
  };
}
