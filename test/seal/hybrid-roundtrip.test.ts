import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { hybridDecrypt, hybridEncrypt, sealLabel } from "../../src/seal/hybrid.ts";
import { parseSealingCertificate } from "../../src/seal/sealing-cert.ts";
import { sealValue } from "../../src/seal/seal-value.ts";
import { SCOPES } from "../../src/seal/scope.ts";
import { InvalidInputError } from "../../src/errors.ts";
import { sealingPair } from "./keys.ts";

test("labels follow the scope: strict ns/name, namespace-wide ns, cluster-wide empty", () => {
  assert.equal(sealLabel({ scope: "strict", namespace: "a", name: "x" }).toString(), "a/x");
  assert.equal(sealLabel({ scope: "namespace-wide", namespace: "a", name: "x" }).toString(), "a");
  assert.equal(sealLabel({ scope: "cluster-wide", namespace: "a", name: "x" }).length, 0);
});

for (const bits of [2048, 4096] as const) {
  test(`RSA-${bits}: every scope round-trips and the blob has the kubeseal layout`, async () => {
    const pair = await sealingPair(bits);
    const cert = parseSealingCertificate(pair.certPem);
    assert.equal(cert.modulusBits, bits);
    for (const scope of SCOPES) {
      const target = { scope, namespace: "shop", name: "web-tls" };
      const plaintext = randomBytes(300);
      const b64 = sealValue(cert, target, plaintext);
      assert.match(b64, /^[A-Za-z0-9+/]+=*$/);
      assert.ok(b64.startsWith(bits === 4096 ? "Ag" : "AQ"), "L in big-endian gives the familiar prefix");
      const blob = Buffer.from(b64, "base64");
      assert.equal(blob.readUInt16BE(0), bits / 8);
      assert.equal(blob.length, 2 + bits / 8 + plaintext.length + 16);
      assert.deepEqual(hybridDecrypt(pair.privateKey, sealLabel(target), blob), plaintext);
    }
  });
}

test("every call uses a fresh session key: sealing the same value twice gives different bytes", async () => {
  const cert = parseSealingCertificate((await sealingPair(2048)).certPem);
  const t = { scope: "strict", namespace: "a", name: "x" } as const;
  const pt = Buffer.from("same");
  const a = Buffer.from(sealValue(cert, t, pt), "base64");
  const b = Buffer.from(sealValue(cert, t, pt), "base64");
  assert.notDeepEqual(a.subarray(2 + 256), b.subarray(2 + 256), "GCM bodies differ, so session keys differ");
});

test("an empty value seals and opens", async () => {
  const pair = await sealingPair(2048);
  const label = Buffer.from("a/x");
  assert.deepEqual(hybridDecrypt(pair.privateKey, label, hybridEncrypt(pair.privateKey, label, Buffer.alloc(0))), Buffer.alloc(0));
});

test("scope binding: strict a/x does not open as a/y or b/x, namespace-wide a does not open as b", async () => {
  const pair = await sealingPair(2048);
  const strict = hybridEncrypt(pair.privateKey, sealLabel({ scope: "strict", namespace: "a", name: "x" }), Buffer.from("s"));
  for (const other of [
    { scope: "strict", namespace: "a", name: "y" },
    { scope: "strict", namespace: "b", name: "x" },
    { scope: "namespace-wide", namespace: "a", name: "x" },
    { scope: "cluster-wide", namespace: "a", name: "x" },
  ] as const) {
    assert.throws(() => hybridDecrypt(pair.privateKey, sealLabel(other), strict), InvalidInputError, JSON.stringify(other));
  }
  const nsWide = hybridEncrypt(pair.privateKey, sealLabel({ scope: "namespace-wide", namespace: "a", name: "x" }), Buffer.from("n"));
  assert.deepEqual(hybridDecrypt(pair.privateKey, sealLabel({ scope: "namespace-wide", namespace: "a", name: "other" }), nsWide), Buffer.from("n"));
  assert.throws(() => hybridDecrypt(pair.privateKey, sealLabel({ scope: "namespace-wide", namespace: "b", name: "x" }), nsWide), InvalidInputError);
});

test("truncated, tampered or foreign blobs fail with InvalidInputError and no key material", async () => {
  const pair = await sealingPair(2048);
  const other = await sealingPair(4096);
  const label = Buffer.from("a/x");
  const blob = hybridEncrypt(pair.privateKey, label, Buffer.from("payload"));
  const cases: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from([1]),
    blob.subarray(0, 100),
    blob.subarray(0, blob.length - 1),
    Buffer.concat([blob.subarray(0, blob.length - 3), Buffer.from([0, 0, 0])]),
  ];
  for (const c of cases) {
    assert.throws(() => hybridDecrypt(pair.privateKey, label, c), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError);
      assert.doesNotMatch(e.message, /BEGIN|PRIVATE/);
      return true;
    });
  }
  assert.throws(() => hybridDecrypt(other.privateKey, label, blob), /wrong private key/);
});
