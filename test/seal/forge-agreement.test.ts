import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { hybridDecrypt, sealLabel } from "../../src/seal/hybrid.ts";
import { parseSealingCertificate } from "../../src/seal/sealing-cert.ts";
import { sealValue } from "../../src/seal/seal-value.ts";
import { SCOPES } from "../../src/seal/scope.ts";
import { forgeDecrypt, forgeEncrypt, forgePrivateKey, forgePublicKey } from "./forge-hybrid.ts";
import { sealingPair } from "./keys.ts";

for (const bits of [2048, 4096] as const) {
  test(`RSA-${bits}: node-forge opens what we seal, in every scope`, async () => {
    const pair = await sealingPair(bits);
    const cert = parseSealingCertificate(pair.certPem);
    const priv = forgePrivateKey(pair.privateKey);
    for (const scope of SCOPES) {
      const target = { scope, namespace: "team-a", name: "wildcard-tls" };
      const pt = randomBytes(1500);
      const blob = Buffer.from(sealValue(cert, target, pt), "base64");
      assert.deepEqual(forgeDecrypt(priv, sealLabel(target), blob), pt);
    }
  });

  test(`RSA-${bits}: we open what node-forge seals, in every scope`, async () => {
    const pair = await sealingPair(bits);
    const pub = forgePublicKey(parseSealingCertificate(pair.certPem).publicKey);
    for (const scope of SCOPES) {
      const target = { scope, namespace: "team-a", name: "wildcard-tls" };
      const pt = randomBytes(777);
      const blob = forgeEncrypt(pub, sealLabel(target), pt);
      assert.deepEqual(hybridDecrypt(pair.privateKey, sealLabel(target), blob), pt);
    }
  });
}
