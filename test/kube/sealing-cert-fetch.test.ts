import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { DependencyError, InvalidInputError } from "../../src/errors.ts";
import { parseSealingCertificate } from "../../src/seal/sealing-cert.ts";
import { CERT_ACCEPT, fetchControllerCertificate, MAX_CONTROLLER_CERT_BYTES } from "../../src/kube/sealing-cert-fetch.ts";
import { generateSealingKeyPair } from "../../src/tls/generate.ts";
import { FakeApiServer } from "../helpers/fake-apiserver.ts";

const DAY = 86_400_000;
let api: FakeApiServer;
let pem: string;

before(async () => {
  api = await FakeApiServer.start();
  pem = (await generateSealingKeyPair({ bits: 2048 })).certPem;
});
after(async () => {
  await api.close();
});

const fast = { retryDelayMs: 0, timeoutMs: 5_000 } as const;

function requestsSince(n: number) {
  return api.requests.slice(n);
}

test("follows kubeseal's two requests: the Service for its first port's name, then /v1/cert.pem through the service proxy", async () => {
  api.putService("kube-system", "sealed-secrets-controller", [{ name: "http", port: 8080 }, { name: "metrics", port: 8081 }]);
  api.serveBehindService("kube-system", "sealed-secrets-controller", "http", { "/v1/cert.pem": { status: 200, body: pem } });
  const n = api.requests.length;
  const text = await fetchControllerCertificate(api.kubeConfig(), { namespace: "kube-system", name: "sealed-secrets-controller" }, fast);
  assert.equal(text, pem);
  const seen = requestsSince(n);
  assert.deepEqual(
    seen.map((r) => `${r.method} ${r.path}`),
    [
      "GET /api/v1/namespaces/kube-system/services/sealed-secrets-controller",
      "GET /api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem",
    ],
  );
  assert.equal(seen[1]?.headers["accept"], "application/x-pem-file, */*");
  assert.equal(CERT_ACCEPT, "application/x-pem-file, */*");
  // the certificate is what the controller serves, and it parses as a sealing certificate
  assert.equal(parseSealingCertificate(text).modulusBits, 2048);
});

test("an unnamed first port gives `http:{name}:` as kubeseal builds it", async () => {
  api.putService("sealed", "sealed-secrets", [{ port: 8080 }]);
  api.serveBehindService("sealed", "sealed-secrets", "", { "/v1/cert.pem": { status: 200, body: pem } });
  const n = api.requests.length;
  assert.equal(await fetchControllerCertificate(api.kubeConfig(), { namespace: "sealed", name: "sealed-secrets" }, fast), pem);
  assert.deepEqual(
    requestsSince(n).map((r) => r.path),
    ["/api/v1/namespaces/sealed/services/sealed-secrets", "/api/v1/namespaces/sealed/services/http:sealed-secrets:/proxy/v1/cert.pem"],
  );
});

test("a missing Service (a Helm install under another name) is a dependency error that names the Service and hints at the Helm name and RBAC", async () => {
  const n = api.requests.length;
  const err = await fetchControllerCertificate(api.kubeConfig(), { namespace: "kube-system", name: "no-such-controller" }, fast).then(
    () => assert.fail("expected an error"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof DependencyError, String(err));
  assert.equal(err.exitCode, 3);
  assert.match(err.message, /service kube-system\/no-such-controller/);
  assert.match(err.message, /HTTP 404/);
  assert.match(err.message, /"sealed-secrets", not "sealed-secrets-controller"/);
  assert.match(err.message, /fullnameOverride=sealed-secrets-controller/);
  // a 404 is an answer, not a failure to retry; and no proxy request follows
  assert.equal(requestsSince(n).length, 1);
});

test("a controller without ready endpoints (503) is retried once, then a dependency error", async () => {
  api.putService("kube-system", "down", [{ name: "http", port: 8080 }]);
  api.serveBehindService("kube-system", "down", "http", {});
  const n = api.requests.length;
  const err = await fetchControllerCertificate(api.kubeConfig(), { namespace: "kube-system", name: "down" }, fast).catch((e: unknown) => e);
  assert.ok(err instanceof DependencyError, String(err));
  assert.match(err.message, /HTTP 503.*no endpoints available/);
  assert.match(err.message, /controller Pod running/);
  assert.deepEqual(
    requestsSince(n).map((r) => r.path),
    [
      "/api/v1/namespaces/kube-system/services/down",
      "/api/v1/namespaces/kube-system/services/http:down:http/proxy/v1/cert.pem",
      "/api/v1/namespaces/kube-system/services/http:down:http/proxy/v1/cert.pem",
    ],
  );
});

test("a proxied 404 from the controller is a dependency error naming the Service and its port", async () => {
  api.putService("kube-system", "not-a-controller", [{ name: "web", port: 80 }]);
  api.serveBehindService("kube-system", "not-a-controller", "web", { "/index.html": { status: 200, body: "hello" } });
  const err = await fetchControllerCertificate(api.kubeConfig(), { namespace: "kube-system", name: "not-a-controller" }, fast).catch((e: unknown) => e);
  assert.ok(err instanceof DependencyError, String(err));
  assert.match(err.message, /service kube-system\/not-a-controller port "web"/);
  assert.match(err.message, /HTTP 404/);
});

test("a forbidden Service read names the RBAC it needs", async () => {
  api.failReads(403);
  try {
    const err = await fetchControllerCertificate(api.kubeConfig(), { namespace: "kube-system", name: "sealed-secrets-controller" }, fast).catch((e: unknown) => e);
    assert.ok(err instanceof DependencyError, String(err));
    assert.match(err.message, /HTTP 403/);
    assert.match(err.message, /get on services and services\/proxy/);
  } finally {
    api.failReads(undefined);
  }
});

test("an oversized answer is cut off, not buffered", async () => {
  api.putService("kube-system", "huge", [{ name: "http", port: 8080 }]);
  api.serveBehindService("kube-system", "huge", "http", { "/v1/cert.pem": { status: 200, body: Buffer.alloc(MAX_CONTROLLER_CERT_BYTES + 1, 0x41) } });
  const err = await fetchControllerCertificate(api.kubeConfig(), { namespace: "kube-system", name: "huge" }, fast).catch((e: unknown) => e);
  assert.ok(err instanceof DependencyError, String(err));
  assert.match(err.message, /larger than 65536 bytes/);
});

test("an unreachable API server is a dependency error after the retries", async () => {
  const closed = await FakeApiServer.start();
  const kc = closed.kubeConfig();
  await closed.close();
  const err = await fetchControllerCertificate(kc, { namespace: "kube-system", name: "sealed-secrets-controller" }, fast).catch((e: unknown) => e);
  assert.ok(err instanceof DependencyError, String(err));
  assert.match(err.message, /connection failed .* after 2 attempt/);
});

test("what the controller serves is checked like any sealing certificate: EC and expired certificates are refused", async () => {
  const ec = await generateSealingKeyPair({ key: { kind: "ec", curve: "P-256" } });
  const expired = await generateSealingKeyPair({ bits: 2048, notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
  api.putService("kube-system", "odd", [{ name: "http", port: 8080 }]);
  for (const [what, certPem, pattern] of [
    ["EC", ec.certPem, /needs an RSA certificate/],
    ["expired", expired.certPem, /expired certificate/],
  ] as const) {
    api.serveBehindService("kube-system", "odd", "http", { "/v1/cert.pem": { status: 200, body: certPem } });
    const text = await fetchControllerCertificate(api.kubeConfig(), { namespace: "kube-system", name: "odd" }, fast);
    assert.throws(() => parseSealingCertificate(text, { source: "controller kube-system/odd" }), (e: unknown) => e instanceof InvalidInputError && pattern.test(e.message), what);
  }
});
