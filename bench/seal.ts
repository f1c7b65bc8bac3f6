/**
 * Sealing benchmark (not part of npm test): µs to seal ONE TLS Secret (tls.crt chain + tls.key, two
 * items) for an RSA-4096 sealing certificate like the controller's, on node:crypto (what wildseal
 * ships) vs node-forge (pure JS, the usual alternative). Median and p90 over N runs after warm-up.
 *
 *   node --import tsx bench/seal.ts          # N = 200 for node:crypto, 40 for node-forge
 *   node --import tsx bench/seal.ts 500 100
 */
import forge from "node-forge";
import { hybridDecrypt, sealLabel } from "../src/seal/hybrid.ts";
import { buildSealedSecret } from "../src/seal/sealed-secret.ts";
import { parseSealingCertificate } from "../src/seal/sealing-cert.ts";
import { generateCa, generateLeaf, generateSealingKeyPair, tlsSecretOf } from "../src/tls/generate.ts";
import type { SecretManifest } from "../src/tls/types.ts";
import { forgeDecrypt, forgeEncrypt, forgePrivateKey } from "../test/seal/forge-hybrid.ts";

const nNode = Number(process.argv[2] ?? 200);
const nForge = Number(process.argv[3] ?? 40);

function stats(samples: number[]): { median: number; p90: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { median: at(0.5), p90: at(0.9) };
}

function measure(n: number, fn: () => void): { median: number; p90: number } {
  for (let i = 0; i < Math.min(10, n); i++) fn(); // warm-up (JIT, OpenSSL init)
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return stats(samples);
}

const sealing = await generateSealingKeyPair({ bits: 4096 });
const leaf = await generateLeaf(await generateCa(), { dnsNames: ["*.example.com", "example.com"] });
const secret: SecretManifest = tlsSecretOf(leaf, { name: "wildcard-tls", namespace: "acme" });
const target = { scope: "strict", namespace: "acme", name: "wildcard-tls" } as const;
const label = sealLabel(target);
const items = [...secret.data.values()].map((v) => v.reveal());
const cert = parseSealingCertificate(sealing.certPem);
const forgePub = forge.pki.certificateFromPem(sealing.certPem).publicKey as forge.pki.rsa.PublicKey;

// correctness first: each side's output opens with the other implementation
const ours = buildSealedSecret(secret, cert, { scope: "strict" });
for (const [k, v] of Object.entries(ours.spec.encryptedData)) {
  if (!forgeDecrypt(forgePrivateKey(sealing.privateKey), label, Buffer.from(v, "base64")).equals(secret.data.get(k)?.reveal() ?? Buffer.alloc(0))) {
    throw new Error("bench: forge cannot open our output");
  }
}
if (!hybridDecrypt(sealing.privateKey, label, forgeEncrypt(forgePub, label, items[0] ?? Buffer.alloc(0))).equals(items[0] ?? Buffer.alloc(0))) {
  throw new Error("bench: we cannot open forge's output");
}

const rows: [string, number, { median: number; p90: number }][] = [
  ["node:crypto  buildSealedSecret (cert parsed once)", nNode, measure(nNode, () => void buildSealedSecret(secret, cert, { scope: "strict" }))],
  [
    "node:crypto  parse cert.pem + buildSealedSecret",
    nNode,
    measure(nNode, () => void buildSealedSecret(secret, parseSealingCertificate(sealing.certPem), { scope: "strict" })),
  ],
  [
    "node-forge   seal both items (key parsed once)",
    nForge,
    measure(nForge, () => {
      for (const it of items) forgeEncrypt(forgePub, label, it).toString("base64");
    }),
  ],
  [
    "node-forge   parse cert.pem + seal both items",
    nForge,
    measure(nForge, () => {
      const pub = forge.pki.certificateFromPem(sealing.certPem).publicKey as forge.pki.rsa.PublicKey;
      for (const it of items) forgeEncrypt(pub, label, it).toString("base64");
    }),
  ],
];

const bytes = items.reduce((n, b) => n + b.length, 0);
console.log(`\nseal one kubernetes.io/tls Secret: 2 items, ${bytes} bytes plaintext, RSA-4096 sealing cert, Node ${process.version}`);
console.log(`${"implementation".padEnd(50)} ${"runs".padStart(5)} ${"median µs".padStart(11)} ${"p90 µs".padStart(10)}`);
for (const [name, n, s] of rows) {
  console.log(`${name.padEnd(50)} ${String(n).padStart(5)} ${s.median.toFixed(0).padStart(11)} ${s.p90.toFixed(0).padStart(10)}`);
}
const speedup = (rows[2]?.[2].median ?? NaN) / (rows[0]?.[2].median ?? NaN);
console.log(`node:crypto is ${speedup.toFixed(0)}x faster than node-forge (median, cert parsed once)\n`);
