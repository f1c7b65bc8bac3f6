import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { generateCa, generateLeaf, generateSealingKeyPair } from "../../src/tls/generate.ts";

test("a generated wildcard leaf is signed by its CA, carries its SANs and matches its key", async () => {
  const ca = await generateCa();
  const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com", "example.com"] });
  const [leafPem] = leaf.certPem.split(/(?<=-----END CERTIFICATE-----\n)/);
  const cert = new X509Certificate(leafPem ?? "");
  assert.equal(cert.subjectAltName, "DNS:*.example.com, DNS:example.com");
  assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
  assert.ok(cert.checkPrivateKey(leaf.privateKey));
  assert.equal(JSON.stringify({ k: leaf.keyPem }), '{"k":"[redacted]"}');
});

test("a generated sealing certificate is RSA of the requested size", async () => {
  const s = await generateSealingKeyPair({ bits: 2048 });
  const cert = new X509Certificate(s.certPem);
  assert.equal(cert.publicKey.asymmetricKeyType, "rsa");
  assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
});
