import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCa, generateLeaf } from "../../src/tls/generate.ts";
import { certFacts, parseSubjectAltName, readTlsSource, validateTlsSecret } from "../../src/tls/tls-material.ts";
import { SecretBytes, type SecretManifest } from "../../src/tls/types.ts";
import { InvalidInputError } from "../../src/errors.ts";

function tlsSecret(crt: string, key: Buffer | string): SecretManifest {
  return {
    name: "wildcard",
    namespace: "cert-manager",
    type: "kubernetes.io/tls",
    labels: {},
    annotations: {},
    immutable: undefined,
    data: new Map([
      ["tls.crt", new SecretBytes(Buffer.from(crt))],
      ["tls.key", new SecretBytes(Buffer.from(key))],
    ]),
  };
}

function keyBody(pem: string): string {
  return pem.split("\n").slice(1, 3).join("");
}

test("subjectAltName parsing handles quoted entries (no forged names from commas)", () => {
  assert.deepEqual(parseSubjectAltName('DNS:a.example.com, DNS:"b, DNS:evil.com", IP Address:10.0.0.1, DNS:C.example.com'), [
    { type: "DNS", value: "a.example.com" },
    { type: "DNS", value: "b, DNS:evil.com" },
    { type: "IP Address", value: "10.0.0.1" },
    { type: "DNS", value: "C.example.com" },
  ]);
  assert.deepEqual(parseSubjectAltName(""), []);
});

test("a real certificate whose SAN holds a comma yields one name, not a forged extra one", async () => {
  const leaf = await generateLeaf(await generateCa(), { dnsNames: ["a.example.com", "b, DNS:evil.com", "Z.example.com"] });
  assert.deepEqual(certFacts(leaf.certPem).dnsNames, ["a.example.com", "b, dns:evil.com", "z.example.com"]);
});

test("a cert-manager style Secret validates and exposes the leaf's facts", async () => {
  const ca = await generateCa();
  const leaf = await generateLeaf(ca, { dnsNames: ["*.Example.com", "example.com"] });
  const m = validateTlsSecret(tlsSecret(leaf.certPem, leaf.keyPem.reveal()), { source: "s.yaml" });
  const x = new X509Certificate(leaf.certPem);
  assert.deepEqual(m.leaf.dnsNames, ["*.example.com", "example.com"]);
  assert.equal(m.leaf.serial, x.serialNumber.toUpperCase());
  assert.equal(m.leaf.issuer, "CN=wildseal demo CA");
  assert.equal(m.leaf.notAfter.getTime(), new Date(x.validTo).getTime());
  assert.equal(m.leaf.sha256, certFacts(x).sha256);
  assert.equal(m.certChainPem, leaf.certPem);
});

test("a key that does not match the leaf is refused without echoing either", async () => {
  const ca = await generateCa();
  const a = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
  const b = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
  const keyPem = b.keyPem.reveal().toString();
  assert.throws(
    () => validateTlsSecret(tlsSecret(a.certPem, keyPem), { source: "s.yaml" }),
    (e: unknown) =>
      e instanceof InvalidInputError &&
      e.reason === "key-mismatch" &&
      /^s\.yaml: Secret cert-manager\/wildcard: tls\.key does not match the leaf certificate/.test(e.message) &&
      !e.message.includes(keyBody(keyPem)),
  );
});

test("expired, not-yet-valid, SAN-less, garbage and out-of-order inputs are refused", async () => {
  const ca = await generateCa();
  const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
  const key = leaf.keyPem.reveal();
  const ok = tlsSecret(leaf.certPem, key);
  assert.throws(() => validateTlsSecret(ok, { source: "s", now: new Date(Date.now() + 400 * 86_400_000) }), /expired at/);
  assert.throws(() => validateTlsSecret(ok, { source: "s", now: new Date(Date.now() - 30 * 86_400_000) }), /not valid before/);
  assert.throws(() => validateTlsSecret(tlsSecret("garbage", key), { source: "s" }), /tls\.crt holds no PEM block/);
  assert.throws(() => validateTlsSecret(tlsSecret(leaf.certPem, "garbage"), { source: "s" }), /tls\.key does not parse/);
  const keyText = key.toString();
  assert.throws(
    () => validateTlsSecret(tlsSecret(leaf.certPem + keyText, key), { source: "s" }),
    (e: unknown) => e instanceof InvalidInputError && /block 3 is a PRIVATE KEY/.test(e.message) && !e.message.includes(keyBody(keyText)),
  );
  const [leafPem, caPem] = leaf.certPem.split(/(?<=-----END CERTIFICATE-----\n)\n?/);
  assert.throws(() => validateTlsSecret(tlsSecret(`${caPem}${leafPem}`, key), { source: "s" }), /did not issue certificate 1/);
  const noSan = await generateLeaf(ca, { dnsNames: [] });
  assert.throws(() => validateTlsSecret(tlsSecret(noSan.certPem, noSan.keyPem.reveal()), { source: "s" }), /no DNS subjectAltName/);
  const missing = { ...ok, data: new Map() };
  assert.throws(() => validateTlsSecret(missing, { source: "s" }), /tls\.crt is missing/);
});

test("readTlsSource picks the single kubernetes.io/tls Secret of a file", async () => {
  const ca = await generateCa();
  const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
  const dir = await mkdtemp(join(tmpdir(), "wildseal-tls-"));
  try {
    const b64 = (b: Buffer | string): string => Buffer.from(b).toString("base64");
    const f = join(dir, "s.yaml");
    await writeFile(
      f,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: other}\nstringData: {a: b}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: wildcard, namespace: cert-manager}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: ${b64(leaf.certPem)}\n  tls.key: ${b64(leaf.keyPem.reveal())}\n`,
    );
    const m = await readTlsSource(f);
    assert.equal(m.secret.name, "wildcard");
    const g = join(dir, "none.yaml");
    await writeFile(g, `apiVersion: v1\nkind: Secret\nmetadata: {name: other}\nstringData: {a: b}\n`);
    await assert.rejects(readTlsSource(g), /expected exactly one kubernetes\.io\/tls Secret, found 0 among: other \(Opaque\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("each refusal names its gate as a reason code (the metric label), whatever its wording", async () => {
  const ca = await generateCa();
  const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
  const other = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
  const key = leaf.keyPem.reveal();
  const ok = tlsSecret(leaf.certPem, key);
  const reasonOf = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e instanceof InvalidInputError ? e.reason : e;
    }
    return "accepted";
  };
  assert.equal(reasonOf(() => validateTlsSecret(ok, { source: "s" })), "accepted");
  assert.equal(reasonOf(() => validateTlsSecret(ok, { source: "s", now: new Date(Date.now() + 400 * 86_400_000) })), "expired");
  assert.equal(reasonOf(() => validateTlsSecret(ok, { source: "s", now: new Date(Date.now() - 30 * 86_400_000) })), "not-yet-valid");
  assert.equal(reasonOf(() => validateTlsSecret(tlsSecret(leaf.certPem, other.keyPem.reveal()), { source: "s" })), "key-mismatch");
  assert.equal(reasonOf(() => validateTlsSecret(tlsSecret("garbage", key), { source: "s" })), "invalid-certificate");
  assert.equal(reasonOf(() => validateTlsSecret(tlsSecret(leaf.certPem, "garbage"), { source: "s" })), "invalid-certificate");
  assert.equal(reasonOf(() => validateTlsSecret({ ...ok, type: "Opaque" }, { source: "s" })), "invalid-certificate");
});
