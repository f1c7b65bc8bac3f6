import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import {
  buildSealedSecret,
  parseSealedSecrets,
  readScope,
  scopeAnnotations,
  unsealSealedSecret,
} from "../../src/seal/sealed-secret.ts";
import { parseSealingCertificate } from "../../src/seal/sealing-cert.ts";
import { toPem } from "../../src/tls/pem.ts";
import { loadPrivateKeys } from "../../src/seal/private-keys.ts";
import { SCOPES } from "../../src/seal/scope.ts";
import { SecretBytes, type SecretManifest } from "../../src/tls/types.ts";
import { InvalidInputError, UsageError } from "../../src/errors.ts";
import { dumpJson, dumpYaml } from "../../src/yaml/dump.ts";
import { sealingPair } from "./keys.ts";

function secret(over: Partial<SecretManifest> = {}): SecretManifest {
  return {
    name: "web-tls",
    namespace: "shop",
    type: "kubernetes.io/tls",
    labels: { app: "web" },
    annotations: { note: "kept" },
    immutable: undefined,
    data: new Map([
      ["tls.key", new SecretBytes(Buffer.from("KEY"))],
      ["tls.crt", new SecretBytes(Buffer.from("CRT"))],
    ]),
    ...over,
  };
}

const plain = (s: SecretManifest): Record<string, string> => Object.fromEntries([...s.data].map(([k, v]) => [k, v.reveal().toString()]));

test("built like kubeseal: scope annotation on top, input metadata in the template, sorted encryptedData", async () => {
  const pair = await sealingPair(2048);
  const cert = parseSealingCertificate(pair.certPem);
  const ss = buildSealedSecret(secret(), cert, { scope: "namespace-wide" });
  assert.deepEqual(Object.keys(ss), ["kind", "apiVersion", "metadata", "spec"]);
  assert.deepEqual(ss.metadata, { name: "web-tls", namespace: "shop", annotations: { "sealedsecrets.bitnami.com/namespace-wide": "true" } });
  assert.deepEqual(ss.spec.template, {
    metadata: {
      name: "web-tls",
      namespace: "shop",
      labels: { app: "web" },
      annotations: { note: "kept", "sealedsecrets.bitnami.com/namespace-wide": "true" },
    },
    type: "kubernetes.io/tls",
  });
  assert.deepEqual(Object.keys(ss.spec.encryptedData), ["tls.crt", "tls.key"]);
  assert.deepEqual(Object.keys(JSON.parse(dumpJson(ss)).spec), ["template", "encryptedData"]);
  assert.ok(dumpYaml(ss).startsWith("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  annotations:\n"));
});

test("every scope round-trips through build → YAML → parse → unseal", async () => {
  const pair = await sealingPair(2048);
  const cert = parseSealingCertificate(pair.certPem);
  for (const scope of SCOPES) {
    const [parsed] = parseSealedSecrets(dumpYaml(buildSealedSecret(secret(), cert, { scope })), "x.yaml");
    assert.ok(parsed);
    assert.equal(readScope(parsed), scope);
    const out = unsealSealedSecret(parsed, [pair.privateKey]);
    assert.deepEqual(plain(out), { "tls.crt": "CRT", "tls.key": "KEY" });
    assert.equal(out.type, "kubernetes.io/tls");
    assert.deepEqual(out.labels, { app: "web" });
  }
});

test("--name/--namespace replace the input's; the value is bound to the new ones", async () => {
  const pair = await sealingPair(2048);
  const cert = parseSealingCertificate(pair.certPem);
  const ss = buildSealedSecret(secret(), cert, { name: "wildcard-tls", namespace: "acme" });
  assert.deepEqual(ss.metadata, { name: "wildcard-tls", namespace: "acme" });
  assert.equal(ss.spec.template.metadata.namespace, "acme");
  assert.equal(unsealSealedSecret(ss, [pair.privateKey]).namespace, "acme");
  const moved = { ...ss, metadata: { ...ss.metadata, namespace: "shop" } };
  assert.throws(() => unsealSealedSecret(moved, [pair.privateKey]), InvalidInputError);
});

test("scope: option, else input annotations (cluster-wide wins), else strict; only exact \"true\" counts", async () => {
  const cert = parseSealingCertificate((await sealingPair(2048)).certPem);
  const annotated = secret({ annotations: { "sealedsecrets.bitnami.com/namespace-wide": "true", "sealedsecrets.bitnami.com/cluster-wide": "true" } });
  assert.equal(readScope(buildSealedSecret(annotated, cert)), "cluster-wide");
  const strict = buildSealedSecret(annotated, cert, { scope: "strict" });
  assert.equal(readScope(strict), "strict");
  assert.equal(strict.metadata.annotations, undefined);
  assert.equal(strict.spec.template.metadata.annotations, undefined, "stale scope annotations are removed from the template");
  assert.equal(readScope(buildSealedSecret(secret({ annotations: { "sealedsecrets.bitnami.com/cluster-wide": "True" } }), cert)), "strict");
  assert.deepEqual(scopeAnnotations("strict"), {});
  assert.deepEqual(scopeAnnotations("cluster-wide"), { "sealedsecrets.bitnami.com/cluster-wide": "true" });
});

test("a Secret with no data, or no namespace, is refused", async () => {
  const cert = parseSealingCertificate((await sealingPair(2048)).certPem);
  assert.throws(() => buildSealedSecret(secret({ data: new Map() }), cert), /has no data or stringData/);
  assert.throws(() => buildSealedSecret(secret({ namespace: undefined }), cert), UsageError);
});

test("unseal tries every key per item and lists every failing item", async () => {
  const a = await sealingPair(2048);
  const b = await sealingPair(4096);
  const ssA = buildSealedSecret(secret(), parseSealingCertificate(a.certPem));
  const ssB = buildSealedSecret(secret({ data: new Map([["other", new SecretBytes(Buffer.from("O"))]]) }), parseSealingCertificate(b.certPem));
  const mixed = { ...ssA, spec: { ...ssA.spec, encryptedData: { ...ssA.spec.encryptedData, ...ssB.spec.encryptedData } } };
  assert.deepEqual(plain(unsealSealedSecret(mixed, [a.privateKey, b.privateKey])), { other: "O", "tls.crt": "CRT", "tls.key": "KEY" });
  const broken = { ...ssA, spec: { ...ssA.spec, encryptedData: { ...ssA.spec.encryptedData, x: "%%%", y: "AAAA" } } };
  assert.throws(
    () => unsealSealedSecret(broken, [b.privateKey], "f.yaml"),
    (e: unknown) =>
      e instanceof InvalidInputError &&
      /^f\.yaml: SealedSecret shop\/web-tls \(scope strict\) cannot be unsealed:/.test(e.message) &&
      ["tls.crt: cannot decrypt", "tls.key: cannot decrypt", "x: not valid base64", "y: sealed value is truncated"].every((s) =>
        e.message.includes(`encryptedData.${s}`),
      ),
  );
});

test("parse errors point at the line", () => {
  const text = `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a}\nspec:\n  encryptedData: {k: 1}\n`;
  try {
    parseSealedSecrets(text, "s.yaml");
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(e instanceof InvalidInputError);
    const msgs = e.diagnostics.map((d) => `${d.path}:${d.line}:${d.col}: ${d.message}`);
    assert.ok(msgs.some((m) => /^s\.yaml:3:\d+: metadata\.namespace is required/.test(m)), msgs.join("\n"));
    assert.ok(msgs.some((m) => /^s\.yaml:5:22: encryptedData "k" must be a string/.test(m)), msgs.join("\n"));
  }
});

test("private keys: PKCS#1 and PKCS#8 PEM, several per file, and a kubectl backup List holding tls.key", async () => {
  const a = await sealingPair(2048);
  const b = await sealingPair(4096);
  const pkcs1 = a.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const pkcs8 = b.keyPem.reveal().toString();
  assert.equal(loadPrivateKeys(pkcs1 + a.certPem + pkcs8, "k.pem").length, 2);
  const item = (key: string, n: string) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: n, namespace: "kube-system", labels: { "sealedsecrets.bitnami.com/sealed-secrets-key": "active" } },
    type: "kubernetes.io/tls",
    data: { "tls.crt": Buffer.from(a.certPem).toString("base64"), "tls.key": Buffer.from(key).toString("base64") },
  });
  const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: [item(pkcs1, "sealed-secrets-keyabcde"), item(pkcs8, "sealed-secrets-keyfghij")] });
  const keys = loadPrivateKeys(list, "backup.json");
  assert.equal(keys.length, 2);
  assert.equal(keys[1]?.asymmetricKeyDetails?.modulusLength, 4096);
});

test("private keys: EC, encrypted, garbage and a lone certificate are refused without echoing the key", async () => {
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  assert.throws(
    () => loadPrivateKeys(ec, "ec.pem"),
    (e: unknown) => e instanceof InvalidInputError && /ec\.pem:1:1: a ec key cannot open/.test(e.message) && !e.message.includes(ec.split("\n")[1] ?? "@"),
  );
  const enc = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "x" }).toString();
  assert.throws(() => loadPrivateKeys(enc, "e.pem"), /encrypted/);
  assert.throws(() => loadPrivateKeys(toPem("RSA PRIVATE KEY", Buffer.from([0, 0, 0])), "g.pem"), /g\.pem:1:1: the RSA PRIVATE KEY block does not parse/);
  const certOnly = (await sealingPair(2048)).certPem;
  assert.throws(() => loadPrivateKeys(certOnly, "c.pem"), /c\.pem: no RSA private key found/);
});
