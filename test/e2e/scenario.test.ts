import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { basename, dirname, join, resolve } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { generateCa, generateLeaf, tlsSecretOf, type GeneratedCertificate } from "../../src/tls/generate.ts";
import { secretManifestObject } from "../../src/tls/secret-manifest.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import { git, makeBareRemote, pushAsPerson, remoteFile, remoteLog, type BareRemote } from "../helpers/git-fixtures.ts";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.ts";
import { assertNoKeyMaterial } from "../pipeline/watch-world.ts";
import { CONTROLLER_NAMESPACE, startCluster, tearDownScenario, type Cluster } from "./cluster.ts";
import { FLUX_NAMESPACE, fluxExampleObjects, gitRevision, readyOf, reconcile, waitForFlux, type FluxObject } from "./flux.ts";
import { processesInGroup, run, spawnManaged, stopManaged, tailOf, waitFor, withFifo, type ManagedProcess } from "./processes.ts";

// Issue 6's scenario against the real parts, with real Flux (issue 14): `wildseal watch` (the CLI, as a child)
// reads the cert-manager Secret with a ServiceAccount token that may read that one Secret only and pushes to a
// bare remote; `git http-backend` serves that remote over smart HTTP with basic auth; Flux's source-controller
// fetches it (GitRepository from examples/flux/, credentials in the Secret it names), kustomize-controller
// applies rendered/<cluster> with `prune: true` (the Kustomizations of examples/flux/clusters/), and the real
// sealed-secrets controller unseals into every tenant namespace. Renewal, tenant add and removal, recovery in
// both directions and an apiserver restart follow. After every push the test asks for reconciliation the way
// `flux reconcile kustomization <name> --with-source` does (the reconcile.fluxcd.io/requestedAt annotation on
// the GitRepository, then on the Kustomization); the intervals are set to 1h so that nothing else moves Flux.
// Not part of `npm test`; run with `npm run test:e2e`.

const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
const SOURCE_NS = "cert-manager";
const SOURCE_NAME = "wildcard-example-com";
const OTHER_SECRET = "some-other-secret";
const CLUSTER_NAME = "e2e";
const TENANTS = ["acme", "beta", "gamma"] as const;
const ADDED = "delta";
const REMOVED = "gamma";
const AFTER_CHANGES = [...TENANTS.filter((x) => x !== REMOVED), ADDED];
const SECRET_NAME = "wildcard-tls";
const SA = "wildseal";
const DAY = 86_400_000;

// what examples/flux/ sets to 1m/10m/1h: long here, so every reconcile in this file is the annotation's
const FLUX_INTERVAL = "1h";
const FLUX_GIT_USER = "flux";
const BRANCH = "main";
/** The SealedSecret CRD stands in for examples/flux/infrastructure/sealed-secrets (a HelmRelease: no
 * helm-controller or chart repository here, the controller runs as a process); the example's `sealed-secrets`
 * Kustomization applies it with `wait: true`, and the wildseal Kustomization `dependsOn` it, as in the example. */
const INFRASTRUCTURE_FILE = "infrastructure/sealed-secrets/sealedsecrets.crd.yaml";

const CONFIG = `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: e2e}
spec:
  source: {namespace: ${SOURCE_NS}, name: ${SOURCE_NAME}}
  clusters:
    - name: ${CLUSTER_NAME}
      sealingCert: clusters/${CLUSTER_NAME}/sealed-secrets.pem
  defaults: {secretName: ${SECRET_NAME}, scope: strict}
`;
const tenantYaml = (name: string) =>
  `apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  hosts: [${name}.example.com]\n`;

interface SecretJson {
  type: string;
  data: Record<string, string>;
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
}

/** The source as tests compare it: base64 of tls.crt/tls.key and the leaf's SHA-256 as wildseal annotates it. */
interface Issued {
  readonly crtB64: string;
  readonly keyB64: string;
  readonly sha256: string;
  readonly keyPem: string;
}

function httpGet(url: string): Promise<string> {
  return new Promise((res, rej) => {
    const req = httpRequest(url, { timeout: 5_000 }, (r) => {
      const chunks: Buffer[] = [];
      r.on("data", (c: Buffer) => chunks.push(c));
      r.on("end", () => (r.statusCode === 200 ? res(Buffer.concat(chunks).toString("utf8")) : rej(new Error(`${url}: HTTP ${r.statusCode}`))));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", rej);
    req.end();
  });
}

async function issue(ca: GeneratedCertificate): Promise<{ issued: Issued; manifest: string }> {
  const notBefore = new Date(Date.now() - DAY);
  const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com"], notBefore, notAfter: new Date(notBefore.getTime() + 90 * DAY) });
  const secret = tlsSecretOf(leaf, { namespace: SOURCE_NS, name: SOURCE_NAME });
  const material = validateTlsSecret(secret, { source: "e2e certificate" });
  const obj = secretManifestObject(secret);
  return {
    issued: {
      crtB64: Buffer.from(leaf.certPem).toString("base64"),
      keyB64: leaf.keyPem.reveal().toString("base64"),
      sha256: material.leaf.sha256,
      keyPem: leaf.keyPem.reveal().toString("utf8"),
    },
    manifest: JSON.stringify(obj),
  };
}

describe("e2e scenario: wildseal watch → Git (smart HTTP) → Flux source-controller + kustomize-controller → the real controller unseals", { timeout: 30 * 60_000 }, () => {
  let cluster: Cluster | undefined;
  let remote: BareRemote | undefined;
  let gitServer: GitHttpServer | undefined;
  let flux: ReturnType<typeof fluxExampleObjects>;
  let watch: ManagedProcess | undefined;
  let ca: GeneratedCertificate;
  let current: Issued;
  const everIssued: Issued[] = [];
  let saKubeconfig = "";
  let watchLog = "";
  let fluxReconciles = 0;
  const started = Date.now();

  const c = (): Cluster => {
    assert.ok(cluster, "cluster did not start");
    return cluster;
  };
  const r = (): BareRemote => {
    assert.ok(remote, "remote was not made");
    return remote;
  };
  const baseEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: c().tmpDir,
    LANG: "C.UTF-8",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    ...extra,
  });
  /** kubectl as the wildseal ServiceAccount */
  const asSa = (args: readonly string[]) => run(c().bin("kubectl"), ["--kubeconfig", saKubeconfig, ...args], { env: baseEnv() });
  const wildsealCli = (args: readonly string[], input?: string) =>
    run(process.execPath, ["--import", "tsx", join(REPO_ROOT, "src/cli/main.ts"), ...args], { input, env: baseEnv(), timeoutMs: 60_000 });

  const setSource = async (manifest: string) => {
    await c().kubectl(["apply", "-f", "-"], manifest); // key material over stdin, never a file
  };

  const tipSha = (): string => {
    const sha = remoteLog(r().path, BRANCH)[0]?.sha;
    assert.ok(sha, "the remote has a tip");
    return sha;
  };
  const kustomizationNames = (): string[] => flux.kustomizations.map((k) => k.metadata.name);
  /**
   * `flux reconcile kustomization wildseal-<cluster> --with-source`: the GitRepository first (it must fetch `sha`),
   * then the Kustomization (it must apply it); every Kustomization of the source then carries that revision in
   * status.lastAppliedRevision (the others are requeued by kustomize-controller's watch on the artifact).
   */
  const fluxReconcile = async (sha: string) => {
    const kubectl = c().kubectl;
    const rev = gitRevision(BRANCH, sha);
    const t0 = Date.now();
    const source = await reconcile(kubectl, "gitrepository", flux.gitRepository.metadata.name, (o) => o.status?.artifact?.revision === rev);
    const tFetched = Date.now();
    // Ready reasons the Kustomization went through: DependencyNotReady means it waited for the example's
    // `dependsOn: sealed-secrets` (which reconciles the same new revision) and was requeued after kustomize-controller's
    // --requeue-dependency (default 30 s)
    const seen = new Set<string>();
    const wildseal = await reconcile(kubectl, "kustomization", flux.wildseal.metadata.name, (o) => o.status?.lastAppliedRevision === rev, 120_000, seen);
    const tApplied = Date.now();
    const all: FluxObject[] = [];
    for (const name of kustomizationNames()) {
      all.push(await waitForFlux(kubectl, "kustomization", name, `lastAppliedRevision ${rev}`, (o) => o.status?.lastAppliedRevision === rev));
    }
    fluxReconciles += 1;
    return { rev, source, wildseal, all, fetchMs: tFetched - t0, applyMs: tApplied - tFetched, tApplied, waitedFor: [...seen].join(", ") || "-" };
  };
  /** "<namespace>_<name>_<group>_<kind>" ids of the SealedSecrets in the wildseal Kustomization's inventory */
  const inventoryNamespaces = (k: FluxObject): string[] =>
    (k.status?.inventory?.entries ?? [])
      .map((e) => e.id.split("_"))
      .filter(([, name, group, kind]) => name === SECRET_NAME && group === "bitnami.com" && kind === "SealedSecret")
      .map(([ns]) => ns ?? "")
      .sort();

  const renderedFile = (tenant: string) => remoteFile(r().path, "main", `rendered/${CLUSTER_NAME}/${tenant}/sealed-secret.yaml`);
  /** waits until every listed tenant's SealedSecret at the branch tip was sealed from `want` */
  const waitForPublished = (want: Issued, tenants: readonly string[]) =>
    waitFor(`wildseal to push SealedSecrets for ${want.sha256.slice(0, 12)} (${tenants.join(", ")}); watch log:\n${tailOf(watchLog)}`, async () =>
      tenants.every((t) => renderedFile(t)?.includes(want.sha256)) ? true : undefined,
    );
  const getSecret = async (ns: string, name: string): Promise<SecretJson> =>
    JSON.parse(await c().kubectl(["get", "secret", name, "-n", ns, "-o", "json"])) as SecretJson;
  /** waits until every tenant namespace holds a Secret with `want`'s bytes; returns them */
  const waitForUnsealed = (want: Issued, tenants: readonly string[]) =>
    waitFor(`Secrets ${SECRET_NAME} holding ${want.sha256.slice(0, 12)} in ${tenants.join(", ")}`, async () => {
      const got = await Promise.all(tenants.map((t) => getSecret(t, SECRET_NAME)));
      return got.every((s) => s.data["tls.crt"] === want.crtB64 && s.data["tls.key"] === want.keyB64) ? got : undefined;
    });

  before(async () => {
    // kube-controller-manager's garbage collector removes a Secret whose SealedSecret was pruned; Flux's
    // source-controller and kustomize-controller run as processes (flux.ts)
    cluster = await startCluster({ controllerManager: true, flux: true });
    const cl = cluster;
    ca = await generateCa();
    const first = await issue(ca);
    current = first.issued;
    everIssued.push(current);

    await cl.kubectl(["create", "namespace", SOURCE_NS]);
    await setSource(first.manifest);
    const other = await issue(ca);
    everIssued.push(other.issued);
    await cl.kubectl(["apply", "-f", "-"], JSON.stringify({ ...JSON.parse(other.manifest), metadata: { name: OTHER_SECRET, namespace: SOURCE_NS } }));

    // wildseal's identity: may get/list/watch the source Secret and nothing else
    await cl.kubectl(["create", "serviceaccount", SA, "-n", SOURCE_NS]);
    await cl.kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: SA, namespace: SOURCE_NS },
          rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [SOURCE_NAME], verbs: ["get", "list", "watch"] }],
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: SA, namespace: SOURCE_NS },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: SA },
          subjects: [{ kind: "ServiceAccount", name: SA, namespace: SOURCE_NS }],
        },
      ],
    }));
    const token = (await cl.kubectl(["create", "token", SA, "-n", SOURCE_NS, "--duration=2h"])).trim();
    const admin = cl.adminKubeConfig.getCurrentCluster();
    assert.ok(admin?.caData, "the admin kubeconfig carries the cluster CA");
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "e2e", server: cl.apiserverUrl, caData: admin.caData, skipTLSVerify: false }],
      users: [{ name: SA, token }],
      contexts: [{ name: "wildseal", cluster: "e2e", user: SA, namespace: SOURCE_NS }],
      currentContext: "wildseal",
    });
    // inside the cluster's private temp folder (0700), removed by stop()
    saKubeconfig = join(cl.tmpDir, "wildseal-sa.kubeconfig");
    writeFileSync(saKubeconfig, kc.exportConfig(), { mode: 0o600 });

    // the GitOps repository, sealing with the real controller's certificate
    assert.ok(cl.controllerUrl);
    const sealingCert = await httpGet(`${cl.controllerUrl}/v1/cert.pem`);
    assert.match(sealingCert, /BEGIN CERTIFICATE/);
    const files: Record<string, string> = {
      "wildseal.yaml": CONFIG,
      [`clusters/${CLUSTER_NAME}/sealed-secrets.pem`]: sealingCert,
      [INFRASTRUCTURE_FILE]: readFileSync(join(cl.binDir, "sealedsecrets.crd.yaml"), "utf8"),
    };
    for (const t of TENANTS) files[`tenants/${t}.yaml`] = tenantYaml(t);
    remote = makeBareRemote({ files, branch: BRANCH });
    // what Flux fetches from: the same bare repository over smart HTTP, basic auth with one token
    const gitToken = randomBytes(16).toString("hex");
    gitServer = await startGitHttpServer({ projectRoot: dirname(remote.path), token: gitToken });

    // what the platform does: tenant namespaces (rendered/<cluster> creates none)
    for (const t of TENANTS) await cl.kubectl(["create", "namespace", t]);

    // Flux's objects as examples/flux/ has them (url, cluster name and path, intervals substituted), and the
    // Secret its GitRepository names (username/password: what `flux create secret git` makes), over stdin
    flux = fluxExampleObjects({ url: gitServer.url(basename(remote.path)), clusterName: CLUSTER_NAME, interval: FLUX_INTERVAL });
    await cl.kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: flux.authSecretName, namespace: FLUX_NAMESPACE },
      stringData: { username: FLUX_GIT_USER, password: gitToken },
    }));
    await cl.kubectl(["apply", "--server-side", "--field-manager=wildseal-e2e", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [flux.gitRepository, ...flux.kustomizations] }));
  });

  after(async () => {
    try {
      await tearDownScenario({ watch, cluster, remote: undefined });
    } finally {
      try {
        await gitServer?.close();
      } finally {
        remote?.cleanup();
      }
    }
  });

  test("the ServiceAccount token reads the source Secret and nothing else (RBAC resourceNames)", async () => {
    const own = JSON.parse((await asSa(["get", "secret", SOURCE_NAME, "-n", SOURCE_NS, "-o", "json"])).stdout) as SecretJson;
    assert.equal(own.data["tls.crt"], current.crtB64);
    await assert.rejects(asSa(["get", "secret", OTHER_SECRET, "-n", SOURCE_NS]), /Forbidden|forbidden/);
    await assert.rejects(asSa(["get", "secrets", "-n", SOURCE_NS]), /Forbidden|forbidden/);
    await assert.rejects(asSa(["get", "secrets", "-n", "kube-system"]), /Forbidden|forbidden/);
    // list and watch work only scoped to the one name, which is how wildseal's watch asks
    const listed = JSON.parse((await asSa(["get", "secrets", "-n", SOURCE_NS, "--field-selector", `metadata.name=${SOURCE_NAME}`, "-o", "json"])).stdout) as { items: SecretJson[] };
    assert.deepEqual(listed.items.map((s) => s.metadata.name), [SOURCE_NAME]);
  });

  test("Flux: source-controller fetches the seeded repository over smart HTTP with basic auth; the sealed-secrets Kustomization applies; the wildseal one waits for rendered/", async (t: TestContext) => {
    const cl = c();
    const seed = tipSha();
    const rev = gitRevision(BRANCH, seed);
    const t0 = Date.now();
    const source = await waitForFlux(cl.kubectl, "gitrepository", flux.gitRepository.metadata.name, `artifact ${rev}`, (o) => o.status?.artifact?.revision === rev);
    const tFetched = Date.now();
    const infra = flux.kustomizations.find((k) => k !== flux.wildseal);
    assert.ok(infra, "the example's second Kustomization (sealed-secrets)");
    const applied = await waitForFlux(cl.kubectl, "kustomization", infra.metadata.name, `lastAppliedRevision ${rev}`, (o) => o.status?.lastAppliedRevision === rev);
    // rendered/<cluster> does not exist before wildseal's first push
    const pending = await waitFor(`Kustomization ${flux.wildseal.metadata.name} to report its missing path`, async () => {
      const k = JSON.parse(await cl.kubectl(["get", "kustomization", flux.wildseal.metadata.name, "-n", FLUX_NAMESPACE, "-o", "json"])) as FluxObject;
      return readyOf(k)?.status === "False" ? k : undefined;
    });
    assert.equal(pending.status?.lastAppliedRevision, undefined);
    // source-controller came over HTTP with the Secret's credentials (never anonymously accepted)
    const served = gitServer?.requests ?? [];
    assert.ok(served.some((x) => x.authorized && x.path.endsWith("/git-upload-pack") && x.status === 200), `an authenticated upload-pack: ${JSON.stringify(served)}`);
    assert.ok(served.every((x) => x.authorized || x.status === 401));
    t.diagnostic(`GitRepository ${source.metadata.name}: ${readyOf(source)?.message} (${tFetched - t0} ms after the test began; ${served.length} HTTP requests, ${served.filter((x) => !x.authorized).length} refused 401)`);
    t.diagnostic(`Kustomization ${applied.metadata.name}: ${readyOf(applied)?.message}; Kustomization ${pending.metadata.name}: Ready=False ${readyOf(pending)?.reason}: ${readyOf(pending)?.message}`);
  });

  test("wildseal watch (ServiceAccount kubeconfig) pushes; Flux fetches wildseal's commit and applies it; it unseals in every tenant namespace with wildseal's annotations", async (t: TestContext) => {
    const cl = c();
    watchLog = join(cl.tmpDir, "logs", "wildseal-watch.log");
    const t0 = Date.now();
    watch = spawnManaged(
      "wildseal watch",
      process.execPath,
      [
        "--import", "tsx", join(REPO_ROOT, "src/cli/main.ts"), "watch",
        "--repo", r().path, "--branch", "main",
        "--source-secret", `${SOURCE_NS}/${SOURCE_NAME}`,
        "--interval", "1s", "--debounce", "200ms", "--log-level", "debug",
      ],
      { env: baseEnv({ KUBECONFIG: saKubeconfig }), logPath: watchLog, cwd: REPO_ROOT },
    );
    await waitForPublished(current, TENANTS);
    const tPushed = Date.now();
    const commit = remoteLog(r().path, BRANCH)[0];
    assert.ok(commit && commit.author !== "Pat Person <pat@example.com>", "the tip is wildseal's commit");
    const applied = await fluxReconcile(commit.sha);
    assert.equal(applied.source.status?.artifact?.revision, applied.rev);
    for (const k of applied.all) assert.equal(k.status?.lastAppliedRevision, applied.rev, `${k.metadata.name}: lastAppliedRevision`);
    assert.deepEqual(inventoryNamespaces(applied.wildseal), [...TENANTS].sort(), "the Kustomization's inventory holds one SealedSecret per tenant");
    const secrets = await waitForUnsealed(current, TENANTS);
    t.diagnostic(`GitRepository ${applied.source.metadata.name} fetched wildseal's commit ${applied.rev} ("${commit.message.split("\n")[0]}"): ${readyOf(applied.source)?.message}`);
    for (const k of applied.all) t.diagnostic(`Kustomization ${k.metadata.name}: lastAppliedRevision ${k.status?.lastAppliedRevision}; ${readyOf(k)?.message}`);
    t.diagnostic(`first publish: watch start → pushed ${tPushed - t0} ms; pushed → fetched ${applied.fetchMs} ms, → applied ${applied.applyMs} ms [Ready seen: ${applied.waitedFor}], → Secrets in ${TENANTS.length} namespaces ${Date.now() - tPushed} ms`);

    const sealingSha = createHash("sha256")
      .update(Buffer.from((await httpGet(`${cl.controllerUrl}/v1/cert.pem`)).replace(/-----[^-]+-----|\s/g, ""), "base64"))
      .digest("hex");
    for (const s of secrets) {
      assert.equal(s.type, "kubernetes.io/tls");
      const a = s.metadata.annotations ?? {};
      assert.equal(a["wildseal.dev/cert-sha256"], current.sha256, `${s.metadata.namespace}: cert-sha256`);
      assert.equal(a["wildseal.dev/tenant"], s.metadata.namespace);
      assert.equal(a["wildseal.dev/sealing-cert-sha256"], sealingSha);
      assert.match(a["wildseal.dev/cert-not-after"] ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.deepEqual(s.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`), [`SealedSecret/${SECRET_NAME}`]);
    }
    // the source's plaintext key reached neither Git nor the log
    const history = git(r().path, ["log", "-p", "--all"]);
    assert.ok(!history.includes(current.keyB64) && !history.includes(current.keyPem.split("\n")[1] ?? "<none>"), "the private key is in Git");
    assertNoKeyMaterial(readFileSync(watchLog, "utf8").split("\n"), current.keyPem);
  });

  test("renewal: a new leaf in the source Secret reaches every tenant namespace through Flux", async (t: TestContext) => {
    const next = await issue(ca);
    const t0 = Date.now();
    await setSource(next.manifest);
    current = next.issued;
    everIssued.push(current);
    await waitForPublished(current, TENANTS);
    const tPushed = Date.now();
    const applied = await fluxReconcile(tipSha());
    await waitForUnsealed(current, TENANTS);
    const t1 = Date.now();
    for (const k of applied.all) assert.equal(k.status?.lastAppliedRevision, applied.rev, `${k.metadata.name}: lastAppliedRevision`);
    t.diagnostic(`renewal ${applied.rev} applied by ${applied.all.map((k) => k.metadata.name).join(", ")}`);
    t.diagnostic(`renewal latency: push → Secrets updated in ${TENANTS.length} namespaces through Flux ${t1 - tPushed} ms (GitRepository fetch ${applied.fetchMs} ms, Kustomization apply ${applied.applyMs} ms [Ready seen: ${applied.waitedFor}], → unsealed ${t1 - applied.tApplied} ms); source updated → pushed ${tPushed - t0} ms; total ${t1 - t0} ms`);
  });

  test("kubeseal --recovery-unseal opens wildseal's SealedSecret; wildseal unseal --key opens kubeseal's", async () => {
    const cl = c();
    const keys = await cl.kubectl(["get", "secret", "-n", CONTROLLER_NAMESPACE, "-l", "sealedsecrets.bitnami.com/sealed-secrets-key", "-o", "yaml"]);
    assert.match(keys, /tls\.key/);
    const ours = renderedFile("acme");
    assert.ok(ours);
    // the controller's private key travels through named pipes only
    const { stdout } = await withFifo(join(cl.tmpDir, "keys-kubeseal.fifo"), keys, (path) =>
      run(cl.bin("kubeseal"), ["--kubeconfig", cl.kubeconfigPath, "--recovery-unseal", "--recovery-private-key", path, "--format", "json"], { input: ours, env: baseEnv() }),
    );
    const opened = JSON.parse(stdout) as SecretJson;
    assert.equal(opened.metadata.namespace, "acme");
    assert.equal(opened.metadata.name, SECRET_NAME);
    assert.equal(opened.data["tls.crt"], current.crtB64);
    assert.equal(opened.data["tls.key"], current.keyB64);

    const plain = JSON.stringify({ apiVersion: "v1", kind: "Secret", type: "kubernetes.io/tls", metadata: { name: "by-kubeseal", namespace: "beta" }, data: { "tls.crt": current.crtB64, "tls.key": current.keyB64 } });
    const sealedByKubeseal = (await run(cl.bin("kubeseal"), ["--kubeconfig", cl.kubeconfigPath, "--cert", `${cl.controllerUrl}/v1/cert.pem`, "--format", "yaml"], { input: plain, env: baseEnv() })).stdout;
    assert.match(sealedByKubeseal, /kind: SealedSecret/);
    const out = await withFifo(join(cl.tmpDir, "keys-wildseal.fifo"), keys, (path) => wildsealCli(["unseal", "--key", path, "-f", "-", "-o", "json"], sealedByKubeseal));
    const parsed = JSON.parse(out.stdout) as SecretJson | { items: SecretJson[] };
    const secret = "items" in parsed ? parsed.items[0] : parsed;
    assert.ok(secret);
    assert.equal(secret.metadata.namespace, "beta");
    assert.equal(secret.metadata.name, "by-kubeseal");
    assert.equal(secret.data["tls.crt"], current.crtB64);
    assert.equal(secret.data["tls.key"], current.keyB64);
  });

  test("tenant add: the platform's namespace, a person's tenant file; wildseal renders it, Flux applies it, it unseals there", async (t: TestContext) => {
    const cl = c();
    await cl.kubectl(["create", "namespace", ADDED]);
    pushAsPerson(r().path, BRANCH, { [`tenants/${ADDED}.yaml`]: tenantYaml(ADDED) }, `add tenant ${ADDED}`);
    const t0 = Date.now();
    await waitFor(`wildseal to render rendered/${CLUSTER_NAME}/${ADDED}; watch log:\n${tailOf(watchLog)}`, async () =>
      renderedFile(ADDED)?.includes(current.sha256) && remoteLog(r().path, BRANCH)[0]?.author !== "Pat Person <pat@example.com>" ? true : undefined,
    );
    const tPushed = Date.now();
    const applied = await fluxReconcile(tipSha());
    assert.deepEqual(inventoryNamespaces(applied.wildseal), [...TENANTS, ADDED].sort());
    const [secret] = await waitForUnsealed(current, [ADDED]);
    assert.equal(secret?.metadata.annotations?.["wildseal.dev/tenant"], ADDED);
    t.diagnostic(`tenant add: person's commit → wildseal's ${tPushed - t0} ms; → Flux applied ${applied.rev} ${applied.fetchMs + applied.applyMs} ms [Ready seen: ${applied.waitedFor}]; → Secret ${ADDED}/${SECRET_NAME} ${Date.now() - tPushed} ms after wildseal's push`);
  });

  test("tenant removal: wildseal commits the prune; Flux prunes that SealedSecret (prune: true), the garbage collector its Secret", async (t: TestContext) => {
    const cl = c();
    pushAsPerson(r().path, BRANCH, { [`tenants/${REMOVED}.yaml`]: null }, `remove tenant ${REMOVED}`);
    await waitFor(`wildseal to remove rendered/${CLUSTER_NAME}/${REMOVED}; watch log:\n${tailOf(watchLog)}`, async () =>
      renderedFile(REMOVED) === undefined && remoteLog(r().path, BRANCH)[0]?.author !== "Pat Person <pat@example.com>" ? true : undefined,
    );
    const tPushed = Date.now();
    const applied = await fluxReconcile(tipSha());
    const tApplied = Date.now();
    // Flux's inventory no longer lists it, and the object is gone (kustomize-controller deletes during the
    // reconcile that reports the new revision)
    assert.deepEqual(inventoryNamespaces(applied.wildseal), AFTER_CHANGES.slice().sort());
    await assert.rejects(cl.kubectl(["get", "sealedsecret", SECRET_NAME, "-n", REMOVED]), /NotFound|not found/);
    for (const kept of AFTER_CHANGES) {
      assert.ok(JSON.parse(await cl.kubectl(["get", "sealedsecret", SECRET_NAME, "-n", kept, "-o", "json"])));
    }
    const pruneLog = readFileSync(cl.flux?.kustomizeController.logPath ?? "", "utf8").split("\n").find((l) => l.includes(`SealedSecret/${REMOVED}/${SECRET_NAME}`) && /deleted/.test(l));
    assert.ok(pruneLog, `kustomize-controller logged the prune of SealedSecret/${REMOVED}/${SECRET_NAME}`);
    // the Secret goes with its owner (ownerReference → SealedSecret), through kube-controller-manager's GC
    await waitFor(`the garbage collector to delete Secret ${REMOVED}/${SECRET_NAME}`, async () => {
      try {
        await getSecret(REMOVED, SECRET_NAME);
        return undefined;
      } catch (e) {
        if (/NotFound|not found/.test((e as Error).message)) return true;
        throw e;
      }
    });
    t.diagnostic(`kustomize-controller: ${((JSON.parse(pruneLog) as { msg?: string }).msg ?? pruneLog).slice(0, 300)}`);
    t.diagnostic(`tenant removal: wildseal's prune commit → Flux applied ${applied.rev} ${tApplied - tPushed} ms [Ready seen: ${applied.waitedFor}] → Secret ${REMOVED}/${SECRET_NAME} deleted ${Date.now() - tPushed} ms`);
    for (const kept of AFTER_CHANGES) assert.equal((await getSecret(kept, SECRET_NAME)).data["tls.crt"], current.crtB64);
  });

  test("wildseal watch and Flux survive an apiserver restart; a renewal made after it reaches every namespace", async (t: TestContext) => {
    const cl = c();
    const logLinesBefore = readFileSync(watchLog, "utf8").split("\n").length;
    const tRestart = Date.now();
    await cl.restartApiserver();
    t.diagnostic(`apiserver restart took ${Date.now() - tRestart} ms`);
    const next = await issue(ca);
    const t0 = Date.now();
    await setSource(next.manifest);
    current = next.issued;
    everIssued.push(current);
    await waitForPublished(current, AFTER_CHANGES);
    const tPushed = Date.now();
    const applied = await fluxReconcile(tipSha());
    await waitForUnsealed(current, AFTER_CHANGES);
    t.diagnostic(`after restart: source updated → pushed ${tPushed - t0} ms, → Flux applied ${applied.rev} ${applied.tApplied - t0} ms [Ready seen: ${applied.waitedFor}], → Secrets updated ${Date.now() - t0} ms`);
    assert.equal(watch?.hasExited(), false, "wildseal watch is still running");
    assert.equal(cl.flux?.sourceController.hasExited(), false, "source-controller rode out the restart");
    assert.equal(cl.flux?.kustomizeController.hasExited(), false, "kustomize-controller rode out the restart");
    // the renewal came through a watch that had lost its connection and restarted, not through luck
    const sinceRestart = readFileSync(watchLog, "utf8").split("\n").slice(logLinesBefore - 1).filter((l) => l.startsWith("{"));
    const msgs = sinceRestart.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.ok(msgs.includes("Secret watch restarting"), `the watch noticed the restart; messages since: ${[...new Set(msgs)].join(" | ")}`);
    assert.ok(msgs.includes("source Secret content changed"));
  });

  test("wildseal watch stops on SIGTERM with exit 0; the cluster stops with no stray process", async (t: TestContext) => {
    const cl = c();
    const w = watch;
    assert.ok(w);
    await stopManaged(w);
    assert.equal(await w.exited, 0);
    const log = readFileSync(watchLog, "utf8").split("\n");
    assertNoKeyMaterial(log, ...everIssued.map((i) => i.keyPem));
    const groups = [...cl.processGroups(), w.pid];
    await cl.stop();
    assert.deepEqual(groups.flatMap((g) => processesInGroup(g)), []);
    assert.equal(existsSync(cl.tmpDir), false);
    t.diagnostic(`scenario wall time ${Date.now() - started} ms (cluster start included), ${fluxReconciles} Flux reconciles requested`);
  });
});
