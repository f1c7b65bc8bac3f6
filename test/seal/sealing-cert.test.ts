import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fetchSealingCertificate, parseSealingCertificate } from "../../src/seal/sealing-cert.ts";
import { generateSealingKeyPair } from "../../src/tls/generate.ts";
import { DependencyError, InvalidInputError, UsageError } from "../../src/errors.ts";
import { sealingPair } from "./keys.ts";

test("the first certificate of a bundle is used and its DER fingerprint reported", async () => {
  const a = await sealingPair(2048);
  const b = await sealingPair(4096);
  const cert = parseSealingCertificate(`# comment\n${a.certPem}${b.certPem}`);
  const der = new X509Certificate(a.certPem).raw;
  assert.equal(cert.sha256, createHash("sha256").update(der).digest("hex"));
  assert.equal(cert.modulusBits, 2048);
  assert.equal(new X509Certificate(cert.pem).raw.equals(der), true);
  assert.match(cert.pem, /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
  assert.ok(cert.notAfter.getTime() > Date.now());
});

test("an expired certificate is refused in kubeseal's words, naming the source", async () => {
  const old = await generateSealingKeyPair({ notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2021-03-04T00:00:00Z") });
  assert.throws(
    () => parseSealingCertificate(old.certPem, { source: "clusters/x/sealed-secrets.pem" }),
    (e: unknown) =>
      e instanceof InvalidInputError &&
      /^clusters\/x\/sealed-secrets\.pem: failed to encrypt using an expired certificate on March 4, 2021/.test(e.message),
  );
  // the same certificate is fine before its expiry
  assert.equal(parseSealingCertificate(old.certPem, { now: new Date("2021-01-01T00:00:00Z") }).modulusBits, 2048);
});

test("an EC certificate is refused", async () => {
  const ec = await generateSealingKeyPair({ key: { kind: "ec", curve: "P-256" } });
  assert.throws(() => parseSealingCertificate(ec.certPem, { source: "ec.pem" }), /ec\.pem: .*holds a ec key; Sealed Secrets needs an RSA/);
});

test("a 1024-bit RSA certificate is refused", async () => {
  const short = await generateSealingKeyPair({ bits: 1024 });
  assert.throws(() => parseSealingCertificate(short.certPem, { source: "s.pem" }), /s\.pem: .*1024-bit RSA key; at least 2048/);
});

test("garbage, a bare public key and a broken CERTIFICATE block are refused clearly", async () => {
  const pair = await sealingPair(2048);
  assert.throws(() => parseSealingCertificate("hello", { source: "g.pem" }), /g\.pem: .*no PEM block found/);
  const spki = createPublicKey(pair.privateKey).export({ type: "spki", format: "pem" }).toString();
  assert.throws(() => parseSealingCertificate(spki, { source: "k.pem" }), /found only PUBLIC KEY block/);
  assert.throws(
    () => parseSealingCertificate("\n\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", { source: "b.pem" }),
    / b\.pem:3:1: the CERTIFICATE block does not parse/,
  );
  const keyPem = pair.keyPem.reveal().toString();
  assert.throws(
    () => parseSealingCertificate(keyPem, { source: "key.pem" }),
    (e: unknown) => e instanceof InvalidInputError && !e.message.includes(keyPem.split("\n")[1] ?? "@@"),
  );
});

test("--cert URL: fetched from a loopback HTTP server; 404 and plain http elsewhere are refused", async () => {
  const pair = await sealingPair(2048);
  const server = createServer((req, res) => {
    if (req.url === "/v1/cert.pem") {
      res.writeHead(200, { "content-type": "application/x-pem-file" }).end(pair.certPem);
    } else if (req.url === "/big") {
      res.writeHead(200).end("x".repeat(4096));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.equal(await fetchSealingCertificate(`${base}/v1/cert.pem`), pair.certPem);
    await assert.rejects(fetchSealingCertificate(`${base}/missing`), (e: unknown) => e instanceof DependencyError && /HTTP 404/.test(e.message));
    await assert.rejects(fetchSealingCertificate(`${base}/big`, { maxBytes: 1000 }), InvalidInputError);
    await assert.rejects(fetchSealingCertificate("http://example.com/v1/cert.pem"), UsageError);
    await assert.rejects(fetchSealingCertificate("https://u:p@example.com/cert.pem"), UsageError);
  } finally {
    server.close();
  }
});
