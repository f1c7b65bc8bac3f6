import { createHash } from "node:crypto";
import type { Tenant } from "../model/types.ts";
import type { Scope } from "../seal/scope.ts";
import { CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, scopeAnnotations } from "../seal/sealed-secret.ts";
import { CA_ITEM } from "../tls/tls-material.ts";
import type { CertFacts } from "../tls/types.ts";
import { rfc3339 } from "../rfc3339.ts";
import { DEFAULT_MAX_YAML_BYTES, parseYamlDocument } from "../yaml/load.ts";
import type { Position } from "../yaml/load.ts";

/**
 * What wildseal owns in the SealedSecret template's output: names, scope and wildseal.dev/*
 * annotations, the Secret type and the ciphertext. Everything else in the template is the user's.
 */

export const ANNOTATION = {
  certSha256: "wildseal.dev/cert-sha256",
  certNotAfter: "wildseal.dev/cert-not-after",
  sealingCertSha256: "wildseal.dev/sealing-cert-sha256",
  tenant: "wildseal.dev/tenant",
  /**
   * Not in the contract's table: a hash of the public facts the ciphertext is bound to (see
   * `sealedInputsSha256`). Written on the SealedSecret only, not on the Secret in the cluster.
   */
  sealedInputsSha256: "wildseal.dev/sealed-inputs-sha256",
  /**
   * Several certificates only: the name (spec.certificates[].name) of the certificate that sealed
   * it, so the downgrade check compares each certificate with its own committed output only, even
   * after a tenant moved to another certificate. Absent with one certificate, so repositories
   * rendered before several certificates existed keep their bytes. SealedSecret only.
   */
  certificate: "wildseal.dev/certificate",
} as const;


/** The items sealed from every source Secret (a kubernetes.io/tls Secret needs exactly these two). */
export const SEALED_ITEMS = ["tls.crt", "tls.key"] as const;

/**
 * The items sealed from a source, sorted as encryptedData is written: SEALED_ITEMS, plus ca.crt
 * when the source carries one (cert-manager's private issuers), so tenants can trust that CA too.
 */
export function sealedItemsOf(withCa: boolean): readonly string[] {
  return withCa ? [CA_ITEM, ...SEALED_ITEMS] : SEALED_ITEMS;
}

/**
 * What a sealed value is bound to, as one hash: if it is unchanged, the existing ciphertext still
 * decrypts to exactly what would be sealed now, so it can be kept. Only public facts go in: the
 * certificate chain's hash (never the key: the key is bound to the leaf, whose hash is included)
 * and ca.crt's hash when the source has one. Without ca.crt the hash is the one earlier versions
 * wrote, so upgrading re-seals nothing; with it, a change of the CA alone re-seals.
 */
export function sealedInputsSha256(f: {
  readonly chainSha256: string;
  readonly leafSha256: string;
  readonly sealingCertSha256: string;
  readonly scope: Scope;
  readonly namespace: string;
  readonly secretName: string;
  /** hex SHA-256 of the source's ca.crt bytes; absent when it has none */
  readonly caSha256?: string | undefined;
}): string {
  const common = [
    "wildseal.dev/sealed-inputs/v1",
    f.chainSha256,
    f.leafSha256,
    f.sealingCertSha256,
    f.scope,
    f.namespace,
    f.secretName,
  ];
  const canonical = JSON.stringify(
    f.caSha256 === undefined ? [...common, SEALED_ITEMS] : [...common, sealedItemsOf(true), f.caSha256],
  );
  return createHash("sha256").update(canonical).digest("hex");
}

export interface SealedSecretFacts {
  readonly tenant: Tenant;
  readonly leaf: CertFacts;
  readonly sealingCertSha256: string;
  readonly sealedInputsSha256: string;
  /** several certificates: the certificate's name (ANNOTATION.certificate); undefined with one */
  readonly certificate?: string | undefined;
  /** item → base64 blob; `{}` while the tenant waits to be sealed */
  readonly encryptedData: Readonly<Record<string, string>>;
}

function mapping(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = parent[key];
  if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  parent[key] = fresh;
  return fresh;
}

/** Sets wildseal's fields on an instantiated SealedSecret template (mutates and returns `doc`). */
export function finishSealedSecret(doc: Record<string, unknown>, f: SealedSecretFacts): Record<string, unknown> {
  const { tenant } = f;
  const wildsealAnnotations = {
    [ANNOTATION.certSha256]: f.leaf.sha256,
    [ANNOTATION.certNotAfter]: rfc3339(f.leaf.notAfter),
    [ANNOTATION.sealingCertSha256]: f.sealingCertSha256,
    [ANNOTATION.tenant]: tenant.name,
  };
  const metadata = mapping(doc, "metadata");
  metadata["name"] = tenant.secretName;
  metadata["namespace"] = tenant.namespace;
  const annotations = mapping(metadata, "annotations");
  // The controller reads the scope from these top-level annotations only; a template must not override it.
  delete annotations[NAMESPACE_WIDE_ANNOTATION];
  delete annotations[CLUSTER_WIDE_ANNOTATION];
  // a template's own would make the downgrade check attribute the file to another certificate
  delete annotations[ANNOTATION.certificate];
  Object.assign(annotations, scopeAnnotations(tenant.scope), wildsealAnnotations, {
    [ANNOTATION.sealedInputsSha256]: f.sealedInputsSha256,
    ...(f.certificate === undefined ? {} : { [ANNOTATION.certificate]: f.certificate }),
  });

  const spec = mapping(doc, "spec");
  const template = mapping(spec, "template");
  const tmeta = mapping(template, "metadata");
  tmeta["name"] = tenant.secretName;
  tmeta["namespace"] = tenant.namespace;
  Object.assign(mapping(tmeta, "annotations"), wildsealAnnotations);
  template["type"] = "kubernetes.io/tls";
  spec["encryptedData"] = { ...f.encryptedData };
  return doc;
}

/** What the plan needs from a committed SealedSecret. */
export interface CommittedSealedSecret {
  readonly annotations: Readonly<Record<string, string>>;
  readonly encryptedData: Readonly<Record<string, string>> | undefined;
  /** position of the cert-not-after annotation, for the downgrade diagnostic */
  readonly notAfterAt: Position;
}

/** Reads a rendered SealedSecret; undefined when it is not one wildseal can use (it will then be re-sealed). */
export function readCommittedSealedSecret(bytes: Buffer, source: string): CommittedSealedSecret | undefined {
  const fast = bytes.length <= DEFAULT_MAX_YAML_BYTES ? readCanonicalSealedSecret(bytes) : "not-canonical";
  return fast === "not-canonical" ? parseCommittedSealedSecret(bytes, source) : fast;
}

/**
 * The certificate each committed SealedSecret among a folder's `files` records: its cert-sha256 and
 * a valid cert-not-after (files recording neither are passed over). `folder` is the folder's
 * repository path, for diagnostics of the full parse.
 */
export function* recordedCertificates(files: ReadonlyMap<string, Buffer>, folder: string): Generator<{ readonly sha256: string; readonly notAfter: Date }> {
  for (const [file, bytes] of files) {
    const ss = readCommittedSealedSecret(bytes, `${folder}/${file}`);
    const sha256 = ss?.annotations[ANNOTATION.certSha256];
    const notAfter = new Date(ss?.annotations[ANNOTATION.certNotAfter] ?? Number.NaN);
    if (sha256 !== undefined && !Number.isNaN(notAfter.getTime())) yield { sha256, notAfter };
  }
}

/** The full, positioned YAML parse: what readCanonicalSealedSecret must always agree with. */
export function parseCommittedSealedSecret(bytes: Buffer, source: string): CommittedSealedSecret | undefined {
  let doc;
  try {
    doc = parseYamlDocument(bytes.toString("utf8"), source);
  } catch {
    return undefined;
  }
  return committedFacts(doc.value, (path) => doc.locate(path));
}

function committedFacts(value: unknown, locate: (path: readonly string[]) => Position): CommittedSealedSecret | undefined {
  const v = value as Record<string, unknown> | null;
  if (v === null || typeof v !== "object" || v["kind"] !== "SealedSecret") return undefined;
  const meta = v["metadata"] as Record<string, unknown> | undefined;
  const annotations = stringMap(meta?.["annotations"]) ?? {};
  const spec = v["spec"] as Record<string, unknown> | undefined;
  return {
    annotations,
    encryptedData: stringMap(spec?.["encryptedData"]),
    notAfterAt: locate(["metadata", "annotations", ANNOTATION.certNotAfter]),
  };
}

// --- the fast path ----------------------------------------------------------------------------
//
// A render with nothing changed reads every committed SealedSecret; building a positioned YAML
// document for each cost more than reading the files. What wildseal writes is a narrow subset of
// YAML (dumpYaml: block mappings, 2-space indent, plain or double-quoted one-line strings), so a
// line reader recognises it directly. It must agree with the full parse on every file it accepts —
// a committed file is untrusted input, and a reading the parse would not make could keep a stale or
// foreign ciphertext — so it accepts only what it fully understands and answers "not-canonical" for
// anything else (flow style, sequences, anchors, tags, quotes with escapes, non-ASCII, tabs, blank
// lines, trailing spaces, odd indentation, duplicate keys, a plain scalar that could be a number,
// bool or null, ...): the caller then parses. test/render/committed-fast-path.test.ts compares
// both readers on canonical files and thousands of mutations of them.

/** A key or plain scalar the subset accepts; everything else about a plain scalar is checked by plainString. */
const PLAIN = /^[A-Za-z0-9][A-Za-z0-9._/+=-]*$/;
/** A double-quoted scalar without escapes: printable ASCII except `"` and `\`. */
const QUOTED = /^"([\x20\x21\x23-\x5b\x5d-\x7e]*)"$/;
/** Anything but printable ASCII and line feeds (tabs, CR, control characters, UTF-8 bytes, a BOM). */
const NOT_PRINTABLE = /[^\n\x20-\x7e]/;
const ENTRY = /^( *)([A-Za-z0-9][A-Za-z0-9._/-]*):(?: (.*))?$/;
/** Plain scalars a YAML schema may read as null, a bool, or a special float (compared lower case). */
const RESERVED = new Set(["null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf", "infinity"]);
/** the longest of RESERVED: a longer scalar (every ciphertext) is not lower-cased to be looked up */
const RESERVED_MAX_LENGTH = Math.max(...[...RESERVED].map((w) => w.length));

/**
 * The string a plain scalar means, or undefined when it might mean something else to some YAML
 * schema: reserved words, and anything starting with a digit unless a letter that no number syntax
 * uses proves it is not a number (`4889633f…`, `0b3f…` are strings; `1e5`, `0x1f`, `0o17`, `0b11` may not be).
 */
function plainString(s: string): string | undefined {
  if (!PLAIN.test(s)) return undefined;
  if (s.length <= RESERVED_MAX_LENGTH && RESERVED.has(s.toLowerCase())) return undefined;
  const first = s.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39) {
    // a letter other than b, e, o, x rules out decimal, float, octal and binary; hex is matched whole
    if (/^0[xX][0-9a-fA-F]+$/.test(s) || !/[ac-dfg-npq-wyzAC-DFG-NPQ-WYZ]/.test(s)) return undefined;
  }
  return s;
}

function scalar(text: string): string | undefined {
  const q = QUOTED.exec(text);
  if (q !== null) return q[1];
  return plainString(text);
}

interface Level {
  readonly indent: number;
  readonly map: Record<string, unknown>;
}

/**
 * The facts of a SealedSecret written in dumpYaml's subset of YAML, or "not-canonical" when the
 * bytes are anything else (then only the full parse may answer).
 */
export function readCanonicalSealedSecret(bytes: Buffer): CommittedSealedSecret | undefined | "not-canonical" {
  const text = bytes.toString("latin1"); // one char per byte: anything but printable ASCII and \n is refused next
  if (NOT_PRINTABLE.test(text)) return "not-canonical";
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const root: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const stack: Level[] = [{ indent: 0, map: root }];
  /** the entry whose value is still open (`key:` at the end of a line) */
  let open: { readonly level: Level; readonly key: string; readonly indent: number } | undefined;
  const positions = new Map<string, Position>();
  const pathOf = (depth: number, key: string): string => [...stack.slice(1, depth + 1).map((l) => keyOf.get(l.map)), key].join("\u0000");
  const keyOf = new Map<Record<string, unknown>, string>();
  let entries = 0;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    if (line.startsWith("#")) continue;
    const m = ENTRY.exec(line);
    if (m === null) return "not-canonical";
    const indent = (m[1] as string).length;
    const key = m[2] as string;
    const rest = m[3];
    if (plainString(key) === undefined) return "not-canonical";
    if (open !== undefined) {
      if (indent === open.indent + 2) {
        const child: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
        open.level.map[open.key] = child;
        keyOf.set(child, open.key);
        stack.push({ indent, map: child });
      } else {
        // an empty value: the parse's schema decides what it is ("" or null), not this reader
        return "not-canonical";
      }
      open = undefined;
    }
    while (stack.length > 1 && indent < (stack[stack.length - 1] as Level).indent) stack.pop();
    const level = stack[stack.length - 1] as Level;
    if (indent !== level.indent) return "not-canonical";
    if (Object.hasOwn(level.map, key)) return "not-canonical";
    entries++;
    if (rest === undefined) {
      level.map[key] = undefined; // claimed; set when the next line shows what it holds
      open = { level, key, indent };
      continue;
    }
    const value = scalar(rest);
    if (value === undefined) return "not-canonical";
    level.map[key] = value;
    positions.set(pathOf(stack.length - 1, key), { line: n + 1, col: indent + key.length + 3 });
  }
  if (open !== undefined) return "not-canonical"; // an empty value, as above
  if (entries === 0) return "not-canonical";
  const at = positions.get(["metadata", "annotations", ANNOTATION.certNotAfter].join("\u0000"));
  // where the full parse would point without that annotation (an ancestor) is not worth copying: parse
  if (at === undefined) return "not-canonical";
  return committedFacts(plainObjects(root), () => at);
}

/** The null-prototype maps as the ordinary objects the full parse returns. */
function plainObjects(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = plainObjects(x);
  return out;
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") return undefined;
    out[k] = x;
  }
  return out;
}
