import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SCOPES } from "../../src/seal/scope.ts";
import { generateCa, generateLeaf, generateSealingKeyPair, type GeneratedCertificate } from "../../src/tls/generate.ts";
import { sealingPair } from "../seal/keys.ts";
import { runCli, type Run } from "./run-cli.ts";


const run = (argv: string[], stdin = "", env: Record<string, string> = {}): Promise<Run> => runCli(argv, { stdin, env });

const b64 = (s: string | Buffer): string => Buffer.from(s).toString("base64");

/** base64 lines of a PEM: what would show if key material leaked */
function pemBodyLines(pem: string): string[] {
  return pem.split("\n").filter((l) => l !== "" && !l.startsWith("-----"));
}

let dir: string;
let pair: GeneratedCertificate;
let certFile: string;
let leaf: GeneratedCertificate;
let tlsSecretYaml: string;
let keyPem: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "wildseal-cli-"));
  pair = await sealingPair(2048);
  certFile = join(dir, "cert.pem"); // public data only
  await writeFile(certFile, pair.certPem);
  keyPem = pair.keyPem.reveal().toString();
  leaf = await generateLeaf(await generateCa(), { dnsNames: ["*.example.com"] });
  tlsSecretYaml = `apiVersion: v1
kind: Secret
metadata:
  name: wildcard-example-com
  namespace: cert-manager
  labels: {app: web}
  annotations: {cert-manager.io/common-name: "*.example.com"}
type: kubernetes.io/tls
data:
  tls.crt: ${b64(leaf.certPem)}
  tls.key: ${b64(leaf.keyPem.reveal())}
`;
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sealedFile(name: string, content: string): Promise<string> {
  const f = join(dir, name);
  await writeFile(f, content);
  return f;
}

test("seal then unseal returns the input TLS Secret in every scope (RSA-2048 and RSA-4096)", async () => {
  const big = await sealingPair(4096);
  const bigCert = await sealedFile("cert4096.pem", big.certPem);
  for (const [cert, key] of [[certFile, keyPem], [bigCert, big.keyPem.reveal().toString()]] as const) {
    for (const scope of SCOPES) {
      const sealed = await run(["seal", "--cert", cert, "-f", "-", "--scope", scope, "-o", "yaml"], tlsSecretYaml);
      assert.equal(sealed.code, 0, sealed.stderr);
      assert.equal(sealed.stderr, "");
      assert.doesNotMatch(sealed.stdout, new RegExp(pemBodyLines(leaf.keyPem.reveal().toString())[1] ?? "@"));
      const f = await sealedFile(`sealed-${scope}.yaml`, sealed.stdout);
      const opened = await run(["unseal", "--key", "-", "-f", f, "-o", "json"], key);
      assert.equal(opened.code, 0, opened.stderr);
      const secret = JSON.parse(opened.stdout);
      assert.deepEqual(secret.metadata.name, "wildcard-example-com");
      assert.deepEqual(secret.metadata.namespace, "cert-manager");
      assert.deepEqual(secret.metadata.labels, { app: "web" });
      assert.equal(secret.metadata.annotations["cert-manager.io/common-name"], "*.example.com");
      assert.equal(secret.type, "kubernetes.io/tls");
      assert.deepEqual(secret.data, { "tls.crt": b64(leaf.certPem), "tls.key": b64(leaf.keyPem.reveal()) });
    }
  }
});

test("seal -f secret.yaml (a file) then unseal, with SEALED_SECRETS_CERT instead of --cert", async () => {
  const input = await sealedFile("secret.yaml", `apiVersion: v1\nkind: Secret\nmetadata: {name: token, namespace: a}\nstringData: {token: s3cr3t}\n`);
  const sealed = await run(["seal", "-f", input], "", { SEALED_SECRETS_CERT: certFile });
  assert.equal(sealed.code, 0, sealed.stderr);
  const opened = await run(["unseal", "--key", "-", "-f", await sealedFile("t.json", sealed.stdout)], keyPem);
  assert.equal(opened.code, 0, opened.stderr);
  assert.deepEqual(JSON.parse(opened.stdout).data, { token: b64("s3cr3t") });
});

test("--name and --namespace replace the input's, and the value is bound to them", async () => {
  const r = await run(["seal", "--cert", certFile, "--name", "wildcard-tls", "--namespace", "acme", "-o", "yaml"], tlsSecretYaml);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^---\napiVersion: bitnami\.com\/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: wildcard-tls\n  namespace: acme\nspec:\n/);
  const opened = await run(["unseal", "--key", "-", "-f", await sealedFile("r.yaml", r.stdout)], keyPem);
  assert.equal(JSON.parse(opened.stdout).metadata.namespace, "acme");
  const moved = await run(["unseal", "--key", "-", "-f", await sealedFile("m.yaml", r.stdout.replace("namespace: acme", "namespace: evil"))], keyPem);
  assert.equal(moved.code, 1);
  assert.match(moved.stderr, /SealedSecret evil\/wildcard-tls \(scope strict\) cannot be unsealed/);
});

test("-o json is kubeseal's layout; YAML is deterministic apart from the ciphertext", async () => {
  const j = await run(["seal", "--cert", certFile, "--scope", "namespace-wide", "-o", "json"], tlsSecretYaml);
  assert.equal(j.code, 0, j.stderr);
  assert.ok(j.stdout.endsWith("}\n"));
  const obj = JSON.parse(j.stdout);
  assert.deepEqual(Object.keys(obj), ["kind", "apiVersion", "metadata", "spec"]);
  assert.deepEqual(Object.keys(obj.spec), ["template", "encryptedData"]);
  assert.deepEqual(obj.metadata.annotations, { "sealedsecrets.bitnami.com/namespace-wide": "true" });
  assert.match(j.stdout, /^\{\n {2}"kind": "SealedSecret",\n {2}"apiVersion": "bitnami\.com\/v1alpha1",/);

  const mask = (s: string): string => s.replace(/(tls\.(?:crt|key)): \S+/g, "$1: <sealed>");
  const y1 = await run(["seal", "--cert", certFile, "--scope", "namespace-wide", "-o", "yaml"], tlsSecretYaml);
  const y2 = await run(["seal", "--cert", certFile, "--scope", "namespace-wide", "-o", "yaml"], tlsSecretYaml);
  assert.notEqual(y1.stdout, y2.stdout, "sealing is randomised");
  assert.equal(mask(y1.stdout), mask(y2.stdout));
  assert.equal(
    mask(y1.stdout),
    `---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  annotations:
    sealedsecrets.bitnami.com/namespace-wide: "true"
  name: wildcard-example-com
  namespace: cert-manager
spec:
  encryptedData:
    tls.crt: <sealed>
    tls.key: <sealed>
  template:
    metadata:
      annotations:
        cert-manager.io/common-name: "*.example.com"
        sealedsecrets.bitnami.com/namespace-wide: "true"
      labels:
        app: web
      name: wildcard-example-com
      namespace: cert-manager
    type: kubernetes.io/tls
`,
  );
});

test("several input Secrets give several documents", async () => {
  const two = `apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: x}\nstringData: {k: "1"}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: x}\nstringData: {k: "2"}\n`;
  const y = await run(["seal", "--cert", certFile, "-o", "yaml"], two);
  assert.equal(y.code, 0, y.stderr);
  assert.equal(y.stdout.split(/^---$/m).length - 1, 2);
  const opened = await run(["unseal", "--key", "-", "-f", await sealedFile("two.yaml", y.stdout), "-o", "yaml"], keyPem);
  assert.equal(opened.code, 0, opened.stderr);
  assert.match(opened.stdout, /^---\napiVersion: v1\ndata:\n  k: MQ==\nkind: Secret\nmetadata:\n  name: a\n  namespace: x\n---\n/);
  const named = await run(["seal", "--cert", certFile, "--name", "c"], two);
  assert.equal(named.code, 2);
});

test("--cert URL from a loopback server", async () => {
  const server = createServer((_req, res) => void res.writeHead(200).end(pair.certPem));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/cert.pem`;
    const r = await run(["seal", "--cert", url, "-o", "yaml"], tlsSecretYaml);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /kind: SealedSecret/);
  } finally {
    server.close();
  }
});

for (const dirName of ["v0.14-strict-rsa4096-pkcs1", "v0.30-strict-rsa2048-pkcs8"]) {
  test(`the published kubeseal vector ${dirName} opens with wildseal unseal`, async () => {
    const base = new URL(`../vectors/kubeseal/${dirName}/`, import.meta.url).pathname;
    const expected = JSON.parse(await readFile(join(base, "expected.json"), "utf8")) as Record<string, string>;
    const r = await run(["unseal", "--key", join(base, "key.pem"), "-f", join(base, "sealed.yaml")]);
    assert.equal(r.code, 0, r.stderr);
    const data = JSON.parse(r.stdout).data as Record<string, string>;
    assert.deepEqual(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()])), expected);
  });
}

test("usage errors exit 2: no --cert, unknown scope, unseal without --key", async () => {
  const noCert = await run(["seal"], tlsSecretYaml);
  assert.equal(noCert.code, 2);
  assert.match(noCert.stderr, /pass --cert/, "no --cert and no cluster access: say how to give either");
  assert.equal((await run(["seal", "--cert", certFile, "--scope", "global"], tlsSecretYaml)).code, 2);
  assert.equal((await run(["unseal", "-f", "x.yaml"])).code, 2);
  assert.equal((await run(["seal", "--cert", certFile, "--namespace", "Bad_NS"], tlsSecretYaml)).code, 2);
});

test("malformed input exits 1 with a clear message and no key material", async () => {
  const sealedYaml = (await run(["seal", "--cert", certFile, "-o", "yaml"], tlsSecretYaml)).stdout;
  const other = await generateSealingKeyPair({ bits: 2048 });
  const ec = await generateSealingKeyPair({ key: { kind: "ec", curve: "P-256" } });
  const short = await generateSealingKeyPair({ bits: 1024 });
  const expired = await generateSealingKeyPair({ notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2021-01-01T00:00:00Z") });
  const mismatched = await generateLeaf(await generateCa(), { dnsNames: ["*.example.com"] });
  const truncated = sealedYaml.replace(/tls\.key: (\S+)/, (_m, v: string) => `tls.key: ${v.slice(0, 40)}`);
  const nonB64 = sealedYaml.replace(/tls\.key: (\S+)/, "tls.key: '***not-base64***'");
  const secrets = [keyPem, other.keyPem.reveal().toString(), leaf.keyPem.reveal().toString(), mismatched.keyPem.reveal().toString()];
  const forbidden = secrets.flatMap(pemBodyLines);

  const cases: { name: string; argv: string[]; stdin: string; expect: RegExp }[] = [
    { name: "truncated ciphertext", argv: ["unseal", "--key", "-", "-f", await sealedFile("trunc.yaml", truncated)], stdin: keyPem, expect: /encryptedData\.tls\.key: sealed value is truncated/ },
    { name: "non-base64 ciphertext", argv: ["unseal", "--key", "-", "-f", await sealedFile("nb64.yaml", nonB64)], stdin: keyPem, expect: /encryptedData\.tls\.key: not valid base64/ },
    { name: "wrong key", argv: ["unseal", "--key", "-", "-f", await sealedFile("ok.yaml", sealedYaml)], stdin: other.keyPem.reveal().toString(), expect: /cannot decrypt the session key: wrong private key/ },
    { name: "EC cert", argv: ["seal", "--cert", await sealedFile("ec.pem", ec.certPem)], stdin: tlsSecretYaml, expect: /ec\.pem: the sealing certificate holds a ec key/ },
    { name: "1024-bit cert", argv: ["seal", "--cert", await sealedFile("short.pem", short.certPem)], stdin: tlsSecretYaml, expect: /1024-bit RSA key; at least 2048/ },
    { name: "expired cert", argv: ["seal", "--cert", await sealedFile("exp.pem", expired.certPem)], stdin: tlsSecretYaml, expect: /expired certificate on January 1, 2021/ },
    { name: "garbage PEM", argv: ["seal", "--cert", await sealedFile("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n")], stdin: tlsSecretYaml, expect: /garbage\.pem:1:1: the CERTIFICATE block does not parse/ },
    { name: "--cert - is a file name, not stdin", argv: ["seal", "--cert", "-"], stdin: tlsSecretYaml, expect: /no such file/ },
    { name: "Secret with no data", argv: ["seal", "--cert", certFile], stdin: "apiVersion: v1\nkind: Secret\nmetadata: {name: e, namespace: x}\n", expect: /has no data or stringData/ },
    {
      name: "TLS Secret whose key does not match",
      argv: ["seal", "--cert", certFile],
      stdin: tlsSecretYaml.replace(/tls\.key: \S+/, `tls.key: ${b64(mismatched.keyPem.reveal())}`),
      expect: /<stdin>: Secret cert-manager\/wildcard-example-com: tls\.key does not match the leaf certificate/,
    },
    { name: "garbage key file", argv: ["unseal", "--key", "-", "-f", await sealedFile("ok2.yaml", sealedYaml)], stdin: "hello", expect: /<stdin>: no RSA private key found/ },
  ];
  for (const c of cases) {
    const r = await run(c.argv, c.stdin);
    assert.equal(r.code, 1, `${c.name}: exit ${r.code}\n${r.stderr}`);
    assert.equal(r.stdout, "", c.name);
    assert.match(r.stderr, c.expect, c.name);
    for (const line of forbidden) assert.ok(!r.stderr.includes(line), `${c.name}: key material in stderr`);
    assert.ok(!r.stderr.includes(b64(leaf.keyPem.reveal()).slice(0, 40)), `${c.name}: base64 key in stderr`);
  }
});
