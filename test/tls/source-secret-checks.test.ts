import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InvalidInputError } from "../../src/errors.ts";
import { generateCa, generateLeaf, tlsSecretOf } from "../../src/tls/generate.ts";
import type { GeneratedCertificate } from "../../src/tls/generate.ts";
import { readTlsSource, validateTlsSecret } from "../../src/tls/tls-material.ts";
import { SecretBytes, type SecretManifest } from "../../src/tls/types.ts";
import { thrownBy } from "../helpers/thrown.ts";

const b64 = (b: Buffer | string): string => Buffer.from(b).toString("base64");

let ca: GeneratedCertificate;
let leaf: GeneratedCertificate;
let dir: string;
before(async () => {
  ca = await generateCa();
  leaf = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
  dir = await mkdtemp(join(tmpdir(), "wildseal-source-checks-"));
});
after(() => rm(dir, { recursive: true, force: true }));

function withItem(secret: SecretManifest, key: string, value: string | Buffer): SecretManifest {
  return { ...secret, data: new Map([...secret.data, [key, new SecretBytes(Buffer.from(value))]]) };
}


describe("a source Secret that is not kubernetes.io/tls", () => {
  it("an Opaque Secret with tls.crt and tls.key is refused, pointing at the Certificate's spec.secretName", () => {
    const e = thrownBy(() => validateTlsSecret({ ...tlsSecretOf(leaf), type: "Opaque" }, { source: "wildcard.yaml" }), InvalidInputError);
    assert.match(e.message, /^wildcard\.yaml: Secret cert-manager\/wildcard-example-com: is of type Opaque, not kubernetes\.io\/tls; /);
    assert.match(e.message, /cert-manager writes the certificate into a kubernetes\.io\/tls Secret named by the Certificate's spec\.secretName/);
    assert.match(e.message, /kubectl get certificates -A/);
  });

  it("--source-file holding only an Opaque Secret: lists what it found and says where cert-manager's Secret is", async () => {
    const f = join(dir, "opaque.yaml");
    await writeFile(f, `apiVersion: v1\nkind: Secret\nmetadata: {name: copy, namespace: web}\ntype: Opaque\ndata:\n  tls.crt: ${b64(leaf.certPem)}\n  tls.key: ${b64(leaf.keyPem.reveal())}\n`);
    await assert.rejects(readTlsSource(f), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError);
      assert.match(e.message, /expected exactly one kubernetes\.io\/tls Secret, found 0 among: copy \(Opaque\); cert-manager writes the certificate into a kubernetes\.io\/tls Secret named by the Certificate's spec\.secretName/);
      assert.ok(!e.message.includes("PRIVATE KEY") && !e.message.includes(b64(leaf.keyPem.reveal())), "no key material in the message");
      return true;
    });
  });
});

describe("ca.crt in the source Secret", () => {
  it("is kept as given when it holds certificates", () => {
    const m = validateTlsSecret(withItem(tlsSecretOf(leaf), "ca.crt", ca.certPem), { source: "s" });
    assert.equal(m.ca, ca.certPem);
  });

  it("is absent when missing or empty", () => {
    assert.equal(validateTlsSecret(tlsSecretOf(leaf), { source: "s" }).ca, undefined);
    assert.equal(validateTlsSecret(withItem(tlsSecretOf(leaf), "ca.crt", ""), { source: "s" }).ca, undefined);
  });

  it("a private key pasted into ca.crt is refused by its label, never echoed", () => {
    const key = leaf.keyPem.reveal().toString("utf8");
    const e = thrownBy(() => validateTlsSecret(withItem(tlsSecretOf(leaf), "ca.crt", key), { source: "s" }), InvalidInputError);
    assert.match(e.message, /ca\.crt block 1 is a PRIVATE KEY, not a CERTIFICATE$/);
    assert.ok(!e.message.includes(key.split("\n")[1] ?? "-"));
  });

  it("text that is no PEM is refused, saying what is expected", () => {
    const e = thrownBy(() => validateTlsSecret(withItem(tlsSecretOf(leaf), "ca.crt", "not a certificate"), { source: "s" }), InvalidInputError);
    assert.match(e.message, /ca\.crt holds no PEM block; expected the issuing CA's PEM certificate\(s\), or no ca\.crt at all/);
  });

  it("a CERTIFICATE block that does not parse is named with its line", () => {
    const e = thrownBy(() =>
      validateTlsSecret(withItem(tlsSecretOf(leaf), "ca.crt", `${ca.certPem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`), { source: "s" }),
      InvalidInputError,
    );
    assert.match(e.message, /ca\.crt certificate 2 \(line \d+\) does not parse as X\.509/);
  });
});
