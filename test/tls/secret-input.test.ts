import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { parseSecretManifests, readSecretSource, readSecretVolume } from "../../src/tls/secret-input.ts";
import { InvalidInputError } from "../../src/errors.ts";

const b64 = (s: string): string => Buffer.from(s).toString("base64");
const text = (m: ReadonlyMap<string, { reveal(): Buffer }>): Record<string, string> =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.reveal().toString()]));

function diagnostics(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InvalidInputError, String(e));
    return e.diagnostics.map((d) => `${d.path}:${d.line}:${d.col}: ${d.message}`);
  }
  assert.fail("expected an InvalidInputError");
}

test("kubectl -o yaml output: data decoded, stringData wins, server-set annotations dropped", () => {
  const yaml = `apiVersion: v1
kind: Secret
metadata:
  name: wildcard-example-com
  namespace: cert-manager
  uid: 1234
  resourceVersion: "99"
  creationTimestamp: "2026-01-01T00:00:00Z"
  labels: {app: web}
  annotations:
    cert-manager.io/common-name: "*.example.com"
    kubectl.kubernetes.io/last-applied-configuration: '{"secret":"${b64("x")}"}'
type: kubernetes.io/tls
data:
  tls.crt: ${b64("CRT")}
  both: ${b64("from-data")}
stringData:
  both: from-stringData
`;
  const [s, ...rest] = parseSecretManifests(yaml, "in.yaml");
  assert.equal(rest.length, 0);
  assert.ok(s);
  assert.equal(s.name, "wildcard-example-com");
  assert.equal(s.namespace, "cert-manager");
  assert.equal(s.type, "kubernetes.io/tls");
  assert.deepEqual(s.labels, { app: "web" });
  assert.deepEqual(s.annotations, { "cert-manager.io/common-name": "*.example.com" });
  assert.deepEqual(text(s.data), { both: "from-stringData", "tls.crt": "CRT" });
  assert.deepEqual([...s.data.keys()], ["both", "tls.crt"], "keys sorted");
});

test("JSON, several YAML documents and a v1 List are all read", () => {
  const json = JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "a" }, data: { k: b64("1") } });
  assert.equal(parseSecretManifests(json, "a.json")[0]?.name, "a");
  const multi = `---\n${json}\n---\nkind: Secret\napiVersion: v1\nmetadata: {name: b}\nstringData: {k: "2"}\n---\n`;
  assert.deepEqual(parseSecretManifests(multi, "m.yaml").map((s) => s.name), ["a", "b"]);
  const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: [JSON.parse(json), { ...JSON.parse(json), metadata: { name: "c" } }] });
  assert.deepEqual(parseSecretManifests(list, "l.json").map((s) => s.name), ["a", "c"]);
});

test("non-base64 data is reported with file, line, column and key, without the value", () => {
  const yaml = `kind: Secret\napiVersion: v1\nmetadata: {name: a}\ndata:\n  good: ${b64("ok")}\n  tls.key: "not base64!!"\n`;
  const d = diagnostics(() => parseSecretManifests(yaml, "s.yaml"));
  assert.equal(d.length, 1);
  assert.match(d[0] ?? "", /^s\.yaml:6:12: data\.tls\.key is not valid base64/);
  assert.doesNotMatch(d[0] ?? "", /not base64!!/);
});

test("every problem is listed: wrong kind, bad name, non-string label, bad key", () => {
  const yaml = `kind: ConfigMap\nmetadata: {name: x}\n---\nkind: Secret\nmetadata:\n  name: Bad_Name\n  labels: {a: 1}\ndata:\n  "a/b": ${b64("x")}\n`;
  const d = diagnostics(() => parseSecretManifests(yaml, "p.yaml"));
  assert.equal(d.length, 4, d.join("\n"));
  assert.match(d[0] ?? "", /^p\.yaml:1:7: expected kind Secret, found "ConfigMap"/);
  assert.match(d.join("\n"), /p\.yaml:6:9: metadata\.name must be a DNS-1123 subdomain/);
  assert.match(d.join("\n"), /p\.yaml:7:15: label "a" must be a string/);
  assert.match(d.join("\n"), /p\.yaml:9:3: data key "a\/b" is not a valid Secret key/);
});

test("YAML aliases and oversized input are refused", () => {
  const alias = `kind: Secret\napiVersion: v1\nmetadata: &m {name: a}\nstringData: {x: *m}\n`;
  assert.ok(diagnostics(() => parseSecretManifests(alias, "a.yaml")).some((d) => /alias|anchor/i.test(d)));
  const big = `kind: Secret\nmetadata: {name: a}\nstringData: {x: "${"a".repeat(1024 * 1024)}"}\n`;
  assert.ok(diagnostics(() => parseSecretManifests(big, "big.yaml")).some((d) => /limit/.test(d)));
});

test("a file without any Secret is an error, not an empty result", () => {
  assert.match(diagnostics(() => parseSecretManifests("---\n", "e.yaml"))[0] ?? "", /no Secret found/);
});

test("a kubelet Secret volume is read through ..data; a plain folder works too", async () => {
  const root = await mkdtemp(join(tmpdir(), "wildseal-vol-"));
  try {
    const vol = join(root, "wildcard-tls");
    const ts = join(vol, "..2026_11_28_20_00_00.123456789");
    await mkdir(ts, { recursive: true });
    await writeFile(join(ts, "tls.crt"), "CRT");
    await writeFile(join(ts, "tls.key"), "KEY");
    await writeFile(join(ts, "ca.crt"), "CA");
    await symlink("..2026_11_28_20_00_00.123456789", join(vol, "..data"));
    for (const k of ["tls.crt", "tls.key", "ca.crt"]) await symlink(join("..data", k), join(vol, k));
    // a stale version kubelet has not removed yet must not be read
    await mkdir(join(vol, "..2020_01_01_00_00_00.1"));
    await writeFile(join(vol, "..2020_01_01_00_00_00.1", "tls.key"), "OLD");
    const [s] = await readSecretSource(vol);
    assert.ok(s);
    assert.equal(s.name, "wildcard-tls");
    assert.equal(s.namespace, undefined);
    assert.equal(s.type, "kubernetes.io/tls");
    assert.deepEqual(text(s.data), { "ca.crt": "CA", "tls.crt": "CRT", "tls.key": "KEY" });

    const plain = join(root, "plain");
    await mkdir(plain);
    await writeFile(join(plain, "token"), "T");
    const [p] = await readSecretSource(plain);
    assert.equal(p?.type, undefined);
    assert.deepEqual(text(p?.data ?? new Map()), { token: "T" });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("stdin (-) and a missing file", async () => {
  const yaml = `kind: Secret\napiVersion: v1\nmetadata: {name: from-stdin}\nstringData: {a: b}\n`;
  const [s] = await readSecretSource("-", Readable.from([Buffer.from(yaml)]));
  assert.equal(s?.name, "from-stdin");
  await assert.rejects(readSecretSource("/nonexistent/secret.yaml"), /\/nonexistent\/secret\.yaml: no such file or folder/);
});

test("a Secret volume file that vanishes while being read is never returned as a partial Secret", async () => {
  const dir = await mkdtemp(join(tmpdir(), "wildseal-volume-"));
  try {
    await writeFile(join(dir, "tls.crt"), "certificate");
    await symlink(join(dir, "gone-with-the-old-version"), join(dir, "tls.key")); // what a reader sees mid-rotation
    await assert.rejects(readSecretVolume(dir), (e: unknown) => e instanceof InvalidInputError && /kept changing while it was read/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
