import { after, before, test } from "node:test";
import fs from "node:fs";
import fsPromises from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { basename } from "node:path";
import { lineLog } from "../../src/line-log.ts";
import assert from "node:assert/strict";
import type { KeyObject } from "node:crypto";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DependencyError, InvalidInputError } from "../../src/errors.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { parseTrailers } from "../../src/git/trailers.ts";
import { decideSealingCert, writesCommittedCopy, type ClusterCertReport } from "../../src/pipeline/cluster-certs.ts";
import { sync } from "../../src/pipeline/sync.ts";
import { startWatch } from "../../src/pipeline/watch.ts";
import { parseSealedSecrets, unsealSealedSecret } from "../../src/seal/sealed-secret.ts";
import { parseSealingCertificate } from "../../src/seal/sealing-cert.ts";
import { generateSealingKeyPair } from "../../src/tls/generate.ts";
import { FakeApiServer } from "../helpers/fake-apiserver.ts";
import { client, tokenAuth, withFake } from "../github/support.ts";
import { fixtureEnv, git, makeBareRemote, remoteFile, remoteLog, tempDir, type BareRemote } from "../helpers/git-fixtures.ts";
import { makeSyncWorld, sourceOf, tenantYaml } from "./sync-world.ts";
import { captureLog, commitCount, filesOf, manifestOf, waitUntil } from "./watch-world.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

const DAY = 86_400_000;
const PEM_PATH = "clusters/prod-east/sealed-secrets.pem";
const NS = "kube-system";
const SVC = "sealed-secrets-controller";

const CONTROLLER_CONFIG = `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: test}
spec:
  source: {namespace: cert-manager, name: wildcard-example-com}
  clusters:
    - name: prod-east
      controller: {namespace: ${NS}, name: ${SVC}}
  defaults: {secretName: wildcard-tls, scope: strict}
`;

interface ControllerKey {
  readonly certPem: string;
  readonly privateKey: KeyObject;
}

let api: FakeApiServer;
let keyA: ControllerKey;
let keyB: ControllerKey;

before(async () => {
  api = await FakeApiServer.start();
  api.putService(NS, SVC, [{ name: "http", port: 8080 }]);
  [keyA, keyB] = await Promise.all([generateSealingKeyPair({ bits: 2048 }), generateSealingKeyPair({ bits: 2048 })]);
});
after(async () => {
  await api.close();
});

function controllerServes(pem: string): void {
  api.serveBehindService(NS, SVC, "http", { "/v1/cert.pem": { status: 200, body: pem } });
}

function controllerRemote(tenants: readonly string[], extra: Record<string, string> = {}): BareRemote {
  const files: Record<string, string> = { "wildseal.yaml": CONTROLLER_CONFIG, ...extra };
  for (const t of tenants) files[`tenants/${t}.yaml`] = tenantYaml(t);
  return makeBareRemote({ files });
}

/** Each tenant's SealedSecret at the tip, unsealed with `keys` (throws when none decrypts). */
function unsealTip(remote: string, tenants: readonly string[], keys: readonly KeyObject[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const t of tenants) {
    const path = `rendered/prod-east/${t}/sealed-secret.yaml`;
    const text = remoteFile(remote, "main", path);
    assert.ok(text !== undefined, `${path} is committed`);
    const [ss] = parseSealedSecrets(text, path);
    assert.ok(ss !== undefined);
    out.set(t, unsealSealedSecret(ss, keys, path).data.get("tls.crt")?.reveal() ?? Buffer.alloc(0));
  }
  return out;
}

function filesOfTip(remote: string): string[] {
  return git(remote, ["show", "--name-only", "--format=", "main"]).trim().split("\n").sort();
}

function sameDer(a: string | undefined, b: string): boolean {
  return a !== undefined && parseSealingCertificate(a).sha256 === parseSealingCertificate(b).sha256;
}

test("policy: adopt when nothing usable is committed, keep an equal copy, and on rotation replace only when asked", async () => {
  const a = parseSealingCertificate(keyA.certPem);
  const b = parseSealingCertificate(keyB.certPem);
  const cases = [
    [{ kind: "missing" } as const, false, "adopt", a.sha256, true],
    [{ kind: "unusable", reason: "expired" } as const, false, "adopt", a.sha256, true],
    [{ kind: "valid", cert: a } as const, false, "unchanged", a.sha256, false],
    [{ kind: "valid", cert: a } as const, true, "unchanged", a.sha256, false],
    [{ kind: "valid", cert: b } as const, true, "rotate", a.sha256, true],
    [{ kind: "valid", cert: b } as const, false, "rotation-pending", b.sha256, false],
  ] as const;
  for (const [committed, reseal, kind, sealWith, writes] of cases) {
    const d = decideSealingCert(committed, a, reseal);
    const what = `${committed.kind}${committed.kind === "valid" ? (committed.cert === a ? " (same)" : " (older)") : ""}, resealOnRotation ${reseal}`;
    assert.equal(d.kind, kind, what);
    assert.equal(d.cert.sha256, sealWith, what);
    assert.equal(writesCommittedCopy(d), writes, what);
  }
});

test("a repository whose only cluster uses controller: gets the certificate committed with the tenants, sealed for the controller's key", async () => {
  const world = await makeSyncWorld([]);
  const remote = controllerRemote(["acme", "beta"]);
  try {
    controllerServes(keyA.certPem);
    const material = await world.issue(5);
    const base = {
      repo: remote.path,
      branch: "main",
      delivery: { kind: "push" } as const,
      credentials: NO_CREDENTIALS,
      source: sourceOf(material),
      controllerCerts: { kubeConfig: api.kubeConfig(), resealOnRotation: false },
    };
    const n = api.requests.length;
    const reports: ClusterCertReport[] = [];
    const r1 = await sync({ ...base, onClusterCert: (r) => reports.push(r) });
    assert.equal(r1.kind, "pushed");
    assert.deepEqual(
      api.requests.slice(n).map((q) => q.path),
      [`/api/v1/namespaces/${NS}/services/${SVC}`, `/api/v1/namespaces/${NS}/services/http:${SVC}:http/proxy/v1/cert.pem`],
    );
    assert.deepEqual(reports.map((r) => [r.cluster, r.decision, r.path]), [["prod-east", "adopt", PEM_PATH]]);
    // one commit holds the certificate and the rendered tenants
    assert.deepEqual(filesOfTip(remote.path), [
      PEM_PATH,
      "rendered/prod-east/acme/kustomization.yaml",
      "rendered/prod-east/acme/sealed-secret.yaml",
      "rendered/prod-east/beta/kustomization.yaml",
      "rendered/prod-east/beta/sealed-secret.yaml",
      "rendered/prod-east/kustomization.yaml",
    ]);
    assert.deepEqual(parseTrailers(remoteLog(remote.path, "main")[0]?.message ?? "").actions, ["add"]);
    assert.ok(sameDer(remoteFile(remote.path, "main", PEM_PATH), keyA.certPem), "the committed copy is the controller's certificate");
    const crt = material.secret.data.get("tls.crt")?.reveal();
    for (const [t, got] of unsealTip(remote.path, ["acme", "beta"], [keyA.privateKey])) assert.ok(crt !== undefined && got.equals(crt), `${t} unseals to the leaf`);
    const ss = remoteFile(remote.path, "main", "rendered/prod-east/acme/sealed-secret.yaml") ?? "";
    assert.match(ss, new RegExp(`wildseal.dev/sealing-cert-sha256: ${parseSealingCertificate(keyA.certPem).sha256}`));

    // the same controller certificate again: nothing to do
    const r2 = await sync(base);
    assert.equal(r2.kind, "unchanged");
    assert.equal(remoteLog(remote.path, "main").length, 2);
  } finally {
    remote.cleanup();
    world.cleanup();
  }
});

test("a rotated controller certificate with resealOnRotation is one reseal commit; the tenants then unseal only with the new key", async () => {
  const world = await makeSyncWorld([]);
  const remote = controllerRemote(["acme", "beta"], { [PEM_PATH]: keyA.certPem });
  try {
    const material = await world.issue(5);
    const base = { repo: remote.path, branch: "main", delivery: { kind: "push" } as const, credentials: NO_CREDENTIALS, source: sourceOf(material) };
    controllerServes(keyA.certPem);
    assert.equal((await sync({ ...base, controllerCerts: { kubeConfig: api.kubeConfig(), resealOnRotation: true } })).kind, "pushed");
    const before = remoteLog(remote.path, "main").length;

    controllerServes(keyB.certPem);
    const logged: string[] = [];
    const r = await sync({ ...base, controllerCerts: { kubeConfig: api.kubeConfig(), resealOnRotation: true }, log: lineLog((l) => logged.push(l)) });
    assert.equal(r.kind, "pushed");
    const log = remoteLog(remote.path, "main");
    assert.equal(log.length, before + 1, "exactly one commit");
    const trailers = parseTrailers(log[0]?.message ?? "");
    assert.deepEqual(trailers.actions, ["reseal"]);
    assert.deepEqual(trailers.tenants, ["acme", "beta"]);
    assert.ok(filesOfTip(remote.path).includes(PEM_PATH), "the new certificate is in the reseal commit");
    assert.ok(sameDer(remoteFile(remote.path, "main", PEM_PATH), keyB.certPem));
    assert.ok(logged.some((l) => /renewed its key/.test(l)), logged.join("\n"));
    assert.equal(unsealTip(remote.path, ["acme", "beta"], [keyB.privateKey]).size, 2);
    assert.throws(
      () => unsealTip(remote.path, ["acme"], [keyA.privateKey]),
      (e: unknown) => !(e instanceof assert.AssertionError),
      "the old key no longer opens them",
    );
  } finally {
    remote.cleanup();
    world.cleanup();
  }
});

test("a rotated controller certificate without resealOnRotation commits nothing: the committed key keeps sealing and the rotation is reported", async () => {
  const world = await makeSyncWorld([]);
  const remote = controllerRemote(["acme"], { [PEM_PATH]: keyA.certPem });
  try {
    const material = await world.issue(5);
    const base = {
      repo: remote.path,
      branch: "main",
      delivery: { kind: "push" } as const,
      credentials: NO_CREDENTIALS,
      source: sourceOf(material),
      controllerCerts: { kubeConfig: api.kubeConfig(), resealOnRotation: false },
    };
    controllerServes(keyA.certPem);
    assert.equal((await sync(base)).kind, "pushed");
    const before = remoteLog(remote.path, "main").length;

    controllerServes(keyB.certPem);
    const reports: ClusterCertReport[] = [];
    const r = await sync({ ...base, onClusterCert: (x) => reports.push(x) });
    assert.equal(r.kind, "unchanged");
    assert.equal(remoteLog(remote.path, "main").length, before);
    assert.deepEqual(reports.map((x) => x.decision), ["rotation-pending"]);
    assert.equal(reports[0]?.servedSha256, parseSealingCertificate(keyB.certPem).sha256);
    assert.match(reports[0]?.message ?? "", /--reseal-on-rotation/);
    assert.ok(sameDer(remoteFile(remote.path, "main", PEM_PATH), keyA.certPem));

    // a renewal meanwhile is still sealed with the committed key
    const renewed = await world.issue(0);
    assert.equal((await sync({ ...base, source: sourceOf(renewed) })).kind, "pushed");
    const crt = renewed.secret.data.get("tls.crt")?.reveal();
    assert.ok(crt !== undefined && unsealTip(remote.path, ["acme"], [keyA.privateKey]).get("acme")?.equals(crt));
  } finally {
    remote.cleanup();
    world.cleanup();
  }
});

test("a controller Service that does not exist fails the sync with exit 3 and the Helm hint; nothing is published", async () => {
  const world = await makeSyncWorld([]);
  try {
    // a Helm release "sealed-secrets" names the Service "sealed-secrets"; here nothing answers to it
    const config = CONTROLLER_CONFIG.replace(`name: ${SVC}}`, "name: sealed-secrets}");
    const seeded = makeBareRemote({ files: { "wildseal.yaml": config, "tenants/acme.yaml": tenantYaml("acme") } });
    try {
      const err = await sync({
        repo: seeded.path,
        branch: "main",
        delivery: { kind: "push" },
        credentials: NO_CREDENTIALS,
        source: sourceOf(await world.issue(5)),
        controllerCerts: { kubeConfig: api.kubeConfig(), resealOnRotation: true, timeoutMs: 5_000 },
      }).then(
        () => assert.fail("expected the sync to fail"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DependencyError, String(err));
      assert.equal(err.exitCode, 3);
      assert.match(err.message, /service kube-system\/sealed-secrets .*HTTP 404/);
      assert.match(err.message, /fullnameOverride=sealed-secrets-controller/);
      assert.equal(remoteLog(seeded.path, "main").length, 1, "only the seed commit");
    } finally {
      seeded.cleanup();
    }
  } finally {
    world.cleanup();
  }
});

test("an expired or EC certificate from the controller is refused and nothing is published", async () => {
  const world = await makeSyncWorld([]);
  const ec = await generateSealingKeyPair({ key: { kind: "ec", curve: "P-256" } });
  const expired = await generateSealingKeyPair({ bits: 2048, notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - DAY) });
  for (const [what, pem, pattern] of [
    ["EC", ec.certPem, /needs an RSA certificate/],
    ["expired", expired.certPem, /expired certificate/],
  ] as const) {
    const remote = controllerRemote(["acme"], { [PEM_PATH]: keyA.certPem });
    try {
      controllerServes(pem);
      const err = await sync({
        repo: remote.path,
        branch: "main",
        delivery: { kind: "push" },
        credentials: NO_CREDENTIALS,
        source: sourceOf(await world.issue(5)),
        controllerCerts: { kubeConfig: api.kubeConfig(), resealOnRotation: true },
      }).catch((e: unknown) => e);
      assert.ok(err instanceof InvalidInputError, `${what}: ${String(err)}`);
      assert.match(err.message, pattern, what);
      assert.match(err.message, /controller kube-system\/sealed-secrets-controller \(cluster prod-east\)/, what);
      assert.equal(remoteLog(remote.path, "main").length, 1, `${what}: only the seed commit`);
    } finally {
      remote.cleanup();
    }
  }
  world.cleanup();
});

test("a committed clusters/<cluster> symlink is refused: the certificate is never written through it", async () => {
  const world = await makeSyncWorld([]);
  const remote = controllerRemote(["acme"]);
  const outside = tempDir("wildseal-outside-");
  const work = tempDir("wildseal-person-");
  try {
    git(work.path, ["clone", "--quiet", remote.path, "."]);
    mkdirSync(join(work.path, "clusters"));
    symlinkSync(outside.path, join(work.path, "clusters", "prod-east"));
    git(work.path, ["add", "--all"]);
    git(work.path, ["commit", "--quiet", "-m", "symlink"]);
    git(work.path, ["push", "--quiet", "origin", "HEAD:main"]);
    controllerServes(keyA.certPem);
    const err = await sync({
      repo: remote.path,
      branch: "main",
      delivery: { kind: "push" },
      credentials: NO_CREDENTIALS,
      source: sourceOf(await world.issue(5)),
      controllerCerts: { kubeConfig: api.kubeConfig(), resealOnRotation: false },
    }).catch((e: unknown) => e);
    assert.ok(err instanceof InvalidInputError, String(err));
    assert.match(err.message, /^clusters\/prod-east: is a symbolic link; .*replace the link with the folder itself/);
    assert.equal(existsSync(join(outside.path, "sealed-secrets.pem")), false, "nothing written outside the clone");
    assert.equal(remoteLog(remote.path, "main").length, 2, "seed + the person's commit only");
  } finally {
    work.cleanup();
    outside.cleanup();
    remote.cleanup();
    world.cleanup();
  }
});

/** `wildseal sync` as a child process, with $KUBECONFIG as its only way to the cluster. */
function runSync(args: readonly string[], kubeconfig: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MAIN, "sync", ...args],
      { env: { ...fixtureEnv({ KUBECONFIG: kubeconfig }), NODE_OPTIONS: "" }, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: typeof error?.code === "number" ? error.code : error ? -1 : 0, stdout, stderr }),
    );
  });
}

test("wildseal sync: the controller is reached through $KUBECONFIG, a rotation waits for --reseal-on-rotation, a missing Service exits 3", async () => {
  const world = await makeSyncWorld([]);
  const remote = controllerRemote(["acme"], { [PEM_PATH]: keyA.certPem });
  const dir = tempDir("wildseal-cli-");
  try {
    const kubeconfig = join(dir.path, "kubeconfig");
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "${api.url}", insecure-skip-tls-verify: true}}]
users: [{name: fake, user: {token: fake-token}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
`,
    );
    const manifest = join(dir.path, "secret.yaml");
    const material = await world.issue(5);
    writeFileSync(manifest, manifestOf(filesOf(material)));
    const args = ["--repo", remote.path, "--source-file", manifest];

    controllerServes(keyB.certPem);
    const r1 = await runSync(args, kubeconfig);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stderr, /Rotation pending: run with --reseal-on-rotation/);
    assert.deepEqual(parseTrailers(remoteLog(remote.path, "main")[0]?.message ?? "").actions, ["add"]);
    assert.equal(unsealTip(remote.path, ["acme"], [keyA.privateKey]).size, 1, "sealed with the committed key");

    const r2 = await runSync([...args, "--reseal-on-rotation"], kubeconfig);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(parseTrailers(remoteLog(remote.path, "main")[0]?.message ?? "").actions, ["reseal"]);
    assert.ok(sameDer(remoteFile(remote.path, "main", PEM_PATH), keyB.certPem));
    assert.equal(unsealTip(remote.path, ["acme"], [keyB.privateKey]).size, 1, "resealed with the new key");

    const commits = remoteLog(remote.path, "main").length;
    const broken = makeBareRemote({
      files: { "wildseal.yaml": CONTROLLER_CONFIG.replace(`name: ${SVC}}`, "name: sealed-secrets}"), "tenants/acme.yaml": tenantYaml("acme") },
    });
    try {
      const r3 = await runSync(["--repo", broken.path, "--source-file", manifest], kubeconfig);
      assert.equal(r3.code, 3, r3.stderr);
      assert.match(r3.stderr, /service kube-system\/sealed-secrets .*HTTP 404.*fullnameOverride=sealed-secrets-controller/s);
      assert.equal(remoteLog(broken.path, "main").length, 1);
    } finally {
      broken.cleanup();
    }
    assert.equal(remoteLog(remote.path, "main").length, commits, "the failed runs published nothing");
  } finally {
    dir.cleanup();
    remote.cleanup();
    world.cleanup();
  }
});

test("watch: a key the controller renews is picked up by the next resync and resealed in one commit", { timeout: 90_000 }, async () => {
  const world = await makeSyncWorld([]);
  const remote = controllerRemote(["acme", "beta"]);
  const dir = tempDir("wildseal-manifest-");
  const captured = captureLog();
  try {
    const path = join(dir.path, "secret.yaml");
    writeFileSync(path, manifestOf(filesOf(await world.issue(5))), { mode: 0o600 });
    controllerServes(keyA.certPem);
    const watcher = await startWatch({
      repo: remote.path,
      branch: "main",
      source: { kind: "manifest", path, rereadIntervalMs: 60_000 },
      delivery: { kind: "push" },
      credentials: NO_CREDENTIALS,
      log: captured.log,
      pollIntervalMs: 3_600_000,
      debounceMs: 50,
      resyncIntervalMs: 1_000,
      retry: { initialMs: 50, maxMs: 100, maxRetries: 1 },
      controllerCerts: { kubeConfig: api.kubeConfig(), resealOnRotation: true },
    });
    try {
      await waitUntil(() => commitCount(remote.path) === 2, "the first commit");
      assert.ok(filesOfTip(remote.path).includes(PEM_PATH));
      controllerServes(keyB.certPem);
      await waitUntil(() => commitCount(remote.path) === 3, "the reseal commit");
      await watcher.idle();
      assert.deepEqual(parseTrailers(remoteLog(remote.path, "main")[0]?.message ?? "").actions, ["reseal"]);
      assert.equal(unsealTip(remote.path, ["acme", "beta"], [keyB.privateKey]).size, 2);
      assert.ok(captured.messages().some((m) => /renewed its key/.test(m)), "the rotation is logged");
    } finally {
      await watcher.stop();
    }
    assert.equal(commitCount(remote.path), 3, "resyncs after the reseal commit nothing");
  } finally {
    dir.cleanup();
    remote.cleanup();
    world.cleanup();
  }
});

/**
 * Counts the files named `name` opened while `fn` runs, by wrapping node:fs's openSync (what
 * readRepoFile reads with, through readRegularFileSync) and fs/promises' open for every module, so a
 * reader moved from one to the other is still counted; git runs in child processes and is not.
 */
async function countOpens<T>(name: string, fn: () => Promise<T>): Promise<{ result: T; opens: number }> {
  const originalSync = fs.openSync;
  const originalAsync = fsPromises.open;
  let opens = 0;
  const count = (path: unknown): void => {
    if (basename(String(path)) === name) opens++;
  };
  fs.openSync = ((path: Parameters<typeof originalSync>[0], ...rest: unknown[]) => {
    count(path);
    return (originalSync as (...a: unknown[]) => number)(path, ...rest);
  }) as typeof originalSync;
  fsPromises.open = ((path: Parameters<typeof originalAsync>[0], ...rest: unknown[]) => {
    count(path);
    return (originalAsync as (...a: unknown[]) => ReturnType<typeof originalAsync>)(path, ...rest);
  }) as typeof originalAsync;
  syncBuiltinESMExports();
  try {
    return { result: await fn(), opens };
  } finally {
    fs.openSync = originalSync;
    fsPromises.open = originalAsync;
    syncBuiltinESMExports();
  }
}

test("one pull-request attempt with a controller: cluster reads wildseal.yaml once, and its PR still shows the committed certificate", async () => {
  const world = await makeSyncWorld([]);
  const remote = controllerRemote(["acme"], { [PEM_PATH]: keyA.certPem });
  try {
    controllerServes(keyA.certPem);
    const controllerCerts = { kubeConfig: api.kubeConfig(), resealOnRotation: false };
    const base = { repo: remote.path, branch: "main", credentials: NO_CREDENTIALS, controllerCerts };
    const first = await world.issue(30);
    assert.equal((await sync({ ...base, source: sourceOf(first), delivery: { kind: "push" } })).kind, "pushed");

    await withFake({ owner: "acme", repo: "gitops" }, async (fake) => {
      fake.beforeNext("pulls/create", (f) => {
        for (const b of git(remote.path, ["for-each-ref", "--format=%(refname:short)", "refs/heads/wildseal/"]).trim().split("\n")) {
          if (b !== "" && !f.branchNames().includes(b)) f.pushBranch(b);
        }
      });
      const renewed = await world.issue(0);
      const github = { auth: tokenAuth(), client: client(fake), repository: "acme/gitops", labels: ["wildseal"], autoMerge: false } as const;
      const { result, opens } = await countOpens("wildseal.yaml", () =>
        sync({ ...base, source: sourceOf(renewed), delivery: { kind: "pull-request", github } }),
      );
      assert.equal(result.kind, "pull-request");
      if (result.kind !== "pull-request") return;
      assert.equal(opens, 1, "the committed certificate, the controllers' certificates, the render and the PR rows share one load");
      const body = fake.pull(result.pullRequest.number).body;
      assert.ok(body.includes(first.leaf.sha256), "the certificate the branch held, read from that one load");
      assert.ok(body.includes(renewed.leaf.sha256));
      assert.match(body, /^\| acme \| prod-east \| acme \| acme\.example\.com \| strict \| renew \|$/m);
    });
  } finally {
    remote.cleanup();
    world.cleanup();
  }
});
