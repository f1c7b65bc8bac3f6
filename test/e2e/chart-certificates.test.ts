import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseTrailers } from "../../src/git/trailers.ts";
import { generateCa, generateLeaf, tlsSecretOf, type GeneratedCertificate } from "../../src/tls/generate.ts";
import { secretManifestObject } from "../../src/tls/secret-manifest.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import { git, makeBareRemote, remoteFile, type BareRemote, type LoggedCommit } from "../helpers/git-fixtures.ts";
import { tenantYaml } from "../helpers/tenant-yaml.ts";
import { assertNoKeyMaterial } from "../pipeline/watch-world.ts";
import { ensureBinaries, startCluster, tearDownScenario, type Cluster } from "./cluster.ts";
import {
  CHART, CI, chartTools, find, freePort, podProcess, readyz, RELEASE, RELEASE_NS, spawnChartWatch, tokenKubeconfig,
  type Deployment, type K8sObject, type Role,
  waitForWildsealCommit as waitForCommit,
} from "./chart-support.ts";
import { run, stopManaged, tailOf, waitFor, type ManagedProcess } from "./processes.ts";

// issue 15: several certificates, for real. The chart rendered with ci/certificates-values.yaml (two
// certificates, com and org, both Secrets in cert-manager) has one source Role naming both Secrets; its
// ServiceAccount, Role and RoleBinding are applied to the real kube-apiserver, and a TokenRequest token of that
// ServiceAccount reads and watches exactly those two Secrets. The real CLI `wildseal watch`, run with the
// rendered container's args (one --source-secret=NAME=NS/NAME per certificate) and that token, publishes every
// tenant; renewing only the org certificate re-seals only the org tenants, and the real sealed-secrets
// controller unseals a tenant of each certificate to its own source. Not part of `npm test`; run with
// `npm run test:e2e` or `node --import tsx --test test/e2e/chart-certificates.test.ts`.

const VALUES = "certificates-values.yaml";
const SOURCE_NS = "cert-manager";
/** the certificates as ci/certificates-values.yaml and the seeded wildseal.yaml list them */
const CERTS = {
  com: { secret: "wildcard-example-com", domain: "example.com" },
  org: { secret: "wildcard-example-org", domain: "example.org" },
} as const;
type CertName = keyof typeof CERTS;
/** a kubernetes.io/tls Secret next to the sources that the token must not read */
const NEIGHBOUR = "wildcard-example-net";
const CLUSTER = "e2e";
const SECRET_NAME = "wildcard-tls";
const TENANTS: Readonly<Record<CertName, readonly string[]>> = { com: ["acme", "globex"], org: ["initech", "umbrella"] };
const ALL_TENANTS = [...TENANTS.com, ...TENANTS.org].sort();
const DAY = 86_400_000;

/** one issued leaf as the tests compare it; keyPem only to prove it never reaches the log */
interface Issued {
  readonly sha256: string;
  readonly crtB64: string;
  readonly keyB64: string;
  readonly keyPem: string;
  /** the Secret as `kubectl apply/replace -f -` takes it (over stdin: key material never lands in a file) */
  readonly manifest: string;
}

interface SecretJson {
  type: string;
  data: Record<string, string>;
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
}

function httpGet(url: string): Promise<string> {
  return new Promise((res, rej) => {
    const req = httpRequest(url, { timeout: 5_000 }, (r) => {
      const chunks: Buffer[] = [];
      r.on("data", (c: Buffer) => chunks.push(c));
      r.on("end", () => (r.statusCode === 200 ? res(Buffer.concat(chunks).toString("utf8")) : rej(new Error(`${url}: HTTP ${r.statusCode}`))));
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: timeout`)));
    req.on("error", rej);
    req.end();
  });
}

async function issue(ca: GeneratedCertificate, domain: string, name: string): Promise<Issued> {
  const notBefore = new Date(Date.now() - DAY);
  const leaf = await generateLeaf(ca, { dnsNames: [`*.${domain}`], notBefore, notAfter: new Date(notBefore.getTime() + 90 * DAY) });
  const secret = tlsSecretOf(leaf, { namespace: SOURCE_NS, name });
  return {
    sha256: validateTlsSecret(secret, { source: `e2e certificate ${name}` }).leaf.sha256,
    crtB64: Buffer.from(leaf.certPem).toString("base64"),
    keyB64: leaf.keyPem.reveal().toString("base64"),
    keyPem: leaf.keyPem.reveal().toString("utf8"),
    manifest: JSON.stringify(secretManifestObject(secret)),
  };
}

describe("Helm chart with two certificates: the chart's RBAC on a real kube-apiserver, wildseal watch renews one certificate's tenants only", { timeout: 20 * 60_000 }, () => {
  let binDir = "";
  const { helmBin, helm, template } = chartTools(() => binDir);
  let cluster: Cluster | undefined;
  let remote: BareRemote | undefined;
  let watch: ManagedProcess | undefined;
  let saKubeconfig = "";
  let watchLog = "";
  let ca: GeneratedCertificate;
  /** the leaf each source Secret holds now */
  const current = {} as Record<CertName, Issued>;
  /** every leaf ever written to any Secret here, for the no-key-material check */
  const everIssued: Issued[] = [];
  /** the first publish (wildseal's add commit) */
  let firstPublish: LoggedCommit | undefined;

  const c = (): Cluster => {
    assert.ok(cluster, "cluster did not start");
    return cluster;
  };
  const r = (): BareRemote => {
    assert.ok(remote, "the remote was not made");
    return remote;
  };
  const kubectlEnv = () => ({ PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: c().tmpDir });
  /** kubectl as the chart's ServiceAccount (TokenRequest token) */
  const asSa = (args: readonly string[]) => run(c().bin("kubectl"), ["--kubeconfig", saKubeconfig, ...args], { env: kubectlEnv() });
  const canI = async (args: readonly string[]) => {
    try {
      return (await asSa(["auth", "can-i", ...args])).stdout.trim();
    } catch (e) {
      return /\bno\b/.test((e as Error).message) ? "no" : `error: ${(e as Error).message}`;
    }
  };
  const sealedPath = (tenant: string) => `rendered/${CLUSTER}/${tenant}/sealed-secret.yaml`;
  const sealedOf = (tenant: string) => remoteFile(r().path, "main", sealedPath(tenant));
  const sealedFor = (tenant: string, sha: string) => new RegExp(`wildseal.dev/cert-sha256: "?${sha}`).test(sealedOf(tenant) ?? "");
  /** waits for a commit by wildseal (not the person) at the tip of main carrying `action`, for which `done` holds */
  const waitForWildsealCommit = (action: string, done: () => boolean) =>
    waitForCommit({ remote: () => r().path, process: () => watch, log: () => watchLog }, action, done);
  /** what the platform's Flux would do: apply the tenant's SealedSecret from the branch tip (as admin) */
  const applySealed = async (tenant: string) => {
    const text = sealedOf(tenant);
    assert.ok(text, `no SealedSecret for ${tenant} on main`);
    await c().kubectl(["apply", "-f", "-"], text);
  };
  /** waits until the controller's Secret in the tenant's namespace holds `want` */
  const waitForUnsealed = (tenant: string, want: Issued) =>
    waitFor(`the controller to unseal ${tenant}/${SECRET_NAME} holding ${want.sha256.slice(0, 12)}; controller log:\n${tailOf(join(c().tmpDir, "logs", "controller.log"))}`, async () => {
      let s: SecretJson;
      try {
        s = JSON.parse(await c().kubectl(["get", "secret", SECRET_NAME, "-n", tenant, "-o", "json"])) as SecretJson;
      } catch {
        return undefined;
      }
      return s.data["tls.crt"] === want.crtB64 && s.data["tls.key"] === want.keyB64 ? s : undefined;
    }, 60_000);

  before(async () => {
    binDir = await ensureBinaries();
    assert.ok(existsSync(helmBin()), `${helmBin()} is missing: run test/e2e/setup`);
    cluster = await startCluster({ binDir });
    const cl = cluster;
    ca = await generateCa();
    for (const name of Object.keys(CERTS) as CertName[]) {
      current[name] = await issue(ca, CERTS[name].domain, CERTS[name].secret);
      everIssued.push(current[name]);
    }
    const neighbour = await issue(ca, "example.net", NEIGHBOUR);
    everIssued.push(neighbour);
    await cl.kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [RELEASE_NS, SOURCE_NS, ...ALL_TENANTS].map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })),
    }));
    for (const issued of [current.com, current.org, neighbour]) await cl.kubectl(["apply", "-f", "-"], issued.manifest);

    // the GitOps repository: two certificates, tenants on each, sealed with the real controller's certificate
    assert.ok(cl.controllerUrl, "the controller runs");
    const sealingCert = await httpGet(`${cl.controllerUrl}/v1/cert.pem`);
    assert.match(sealingCert, /BEGIN CERTIFICATE/);
    const files: Record<string, string> = {
      "wildseal.yaml": `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: chart-certificates}
spec:
  certificates:
${(Object.keys(CERTS) as CertName[]).map((n) => `    - name: ${n}\n      source: {namespace: ${SOURCE_NS}, name: ${CERTS[n].secret}}`).join("\n")}
  clusters:
    - name: ${CLUSTER}
      sealingCert: clusters/${CLUSTER}/sealed-secrets.pem
  defaults: {secretName: ${SECRET_NAME}, scope: strict}
`,
      [`clusters/${CLUSTER}/sealed-secrets.pem`]: sealingCert,
    };
    for (const name of Object.keys(TENANTS) as CertName[]) {
      for (const t of TENANTS[name]) files[`tenants/${t}.yaml`] = tenantYaml({ name: t, hosts: [`${t}.${CERTS[name].domain}`] });
    }
    remote = makeBareRemote({ files });
  });

  after(() => tearDownScenario({ watch, cluster, remote }));

  test("helm lint --strict passes for ci/certificates-values.yaml", async () => {
    const { stdout } = await helm(["lint", "--strict", CHART, "--namespace", RELEASE_NS, "-f", join(CI, VALUES)]);
    assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/, stdout);
  });

  let rendered: K8sObject[] = [];
  test("the rendered chart: one source Role in cert-manager naming both Secrets, bound to the ServiceAccount; one --source-secret=NAME=NS/NAME each", async () => {
    rendered = await template([VALUES], [`git.repo=${r().path}`, "interval=1s", "debounce=200ms"]);
    const roles = rendered.filter((o): o is Role => o.kind === "Role");
    assert.deepEqual(roles.map((o) => `${o.metadata.namespace}/${o.metadata.name}`), [`${SOURCE_NS}/${RELEASE}-source`]);
    assert.deepEqual(find<Role>(rendered, "Role", `${RELEASE}-source`, SOURCE_NS).rules, [
      { apiGroups: [""], resources: ["secrets"], resourceNames: [CERTS.com.secret, CERTS.org.secret], verbs: ["get", "list", "watch"] },
    ]);
    assert.ok(!rendered.some((o) => o.kind.startsWith("Cluster")), "no ClusterRole or ClusterRoleBinding");
    const args = find<Deployment>(rendered, "Deployment", RELEASE).spec.template.spec.containers[0]?.args ?? [];
    assert.deepEqual(args.filter((a) => a.startsWith("--source-secret")), [
      `--source-secret=com=${SOURCE_NS}/${CERTS.com.secret}`,
      `--source-secret=org=${SOURCE_NS}/${CERTS.org.secret}`,
    ]);

    // the chart's identity on the cluster: its ServiceAccount, Role and RoleBinding exactly as rendered
    const rbac = rendered.filter((o) => ["ServiceAccount", "Role", "RoleBinding"].includes(o.kind));
    assert.equal(rbac.length, 3, rbac.map((o) => o.kind).join(", "));
    await c().kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: rbac }));
    saKubeconfig = await tokenKubeconfig(c(), RELEASE, SOURCE_NS);
  });

  test("the ServiceAccount's token gets and watches both source Secrets, and is Forbidden on the neighbour and on unscoped requests", async () => {
    assert.ok(saKubeconfig, "the chart's RBAC was not applied");
    for (const { secret } of Object.values(CERTS)) {
      for (const verb of ["get", "list", "watch"]) assert.equal(await canI([verb, `secrets/${secret}`, "-n", SOURCE_NS]), "yes", `${verb} ${secret}`);
      const got = JSON.parse((await asSa(["get", "secret", secret, "-n", SOURCE_NS, "-o", "json"])).stdout) as SecretJson;
      assert.equal(got.metadata.name, secret);
      // how wildseal watches: the collection with fieldSelector metadata.name=<source>, here ended by the server
      // after 1 s; without a resourceVersion the server first sends the object as a synthetic ADDED event
      const { stdout } = await asSa(["get", "--raw", `/api/v1/namespaces/${SOURCE_NS}/secrets?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3D${secret}`]);
      const events = stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; object: SecretJson });
      assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), [`ADDED ${secret}`]);
    }
    assert.equal(await canI(["get", `secrets/${NEIGHBOUR}`, "-n", SOURCE_NS]), "no");
    assert.equal(await canI(["update", `secrets/${CERTS.org.secret}`, "-n", SOURCE_NS]), "no");
    assert.equal(await canI(["get", `secrets/${CERTS.com.secret}`, "-n", RELEASE_NS]), "no");
    const forbidden = /Forbidden|forbidden/;
    await assert.rejects(asSa(["get", "secret", NEIGHBOUR, "-n", SOURCE_NS]), forbidden);
    await assert.rejects(asSa(["get", "secrets", "-n", SOURCE_NS]), forbidden, "unscoped list");
    await assert.rejects(asSa(["get", "secrets", "-n", SOURCE_NS, "--field-selector", `metadata.name=${NEIGHBOUR}`]), forbidden, "the neighbour by field selector");
    await assert.rejects(asSa(["get", "--raw", `/api/v1/namespaces/${SOURCE_NS}/secrets?watch=true&timeoutSeconds=1`]), forbidden, "unscoped watch");
  });

  test("wildseal watch, run with the rendered container's args and the token, publishes every tenant with its own certificate; the controller unseals one of each", async (t) => {
    assert.ok(saKubeconfig, "the chart's RBAC was not applied");
    const cl = c();
    const pod = find<Deployment>(rendered, "Deployment", RELEASE).spec.template.spec;
    const port = await freePort();
    const proc = podProcess(pod, join(cl.tmpDir, "pod-root"), {}, port);
    assert.ok(proc.args.includes(`--repo=${r().path}`), proc.args.join(" "));
    watchLog = join(cl.tmpDir, "logs", "chart-certificates-watch.log");
    const t0 = Date.now();
    watch = spawnChartWatch("wildseal watch (chart, two certificates)", proc, saKubeconfig, watchLog);

    firstPublish = await waitForWildsealCommit("add", () => ALL_TENANTS.every((x) => sealedOf(x) !== undefined));
    await waitFor(`/readyz 200; watch log:\n${tailOf(watchLog)}`, async () => ((await readyz(port)) === 200 ? true : undefined), 30_000);
    t.diagnostic(`wildseal watch start → first publish on the remote and /readyz 200: ${Date.now() - t0} ms`);
    assert.deepEqual(parseTrailers(firstPublish.message).tenants, ALL_TENANTS, firstPublish.message);
    for (const name of Object.keys(TENANTS) as CertName[]) {
      for (const x of TENANTS[name]) assert.ok(sealedFor(x, current[name].sha256), `${x} is sealed with the ${name} certificate`);
    }

    const t1 = Date.now();
    for (const x of [TENANTS.com[0], TENANTS.org[0]]) {
      assert.ok(x);
      await applySealed(x);
    }
    for (const name of Object.keys(TENANTS) as CertName[]) {
      const x = TENANTS[name][0];
      assert.ok(x);
      const s = await waitForUnsealed(x, current[name]);
      assert.equal(s.type, "kubernetes.io/tls");
      assert.equal(s.metadata.annotations?.["wildseal.dev/tenant"], x);
      assert.equal(s.metadata.annotations?.["wildseal.dev/cert-sha256"], current[name].sha256);
    }
    t.diagnostic(`SealedSecrets of ${TENANTS.com[0]} and ${TENANTS.org[0]} applied → unsealed by the controller: ${Date.now() - t1} ms`);
  });

  test("renewing only the org certificate: one renew commit naming org that changes only the org tenants' SealedSecrets", async (t) => {
    const first = firstPublish;
    assert.ok(first, "the first publish did not happen");
    const treeOf = (commit: string, tenant: string) => git(r().path, ["ls-tree", "-r", commit, "--", `rendered/${CLUSTER}/${tenant}/`]);
    const comBefore = Object.fromEntries(TENANTS.com.map((x) => [x, { tree: treeOf(first.sha, x), text: sealedOf(x) }]));

    const t0 = Date.now();
    const renewed = await issue(ca, CERTS.org.domain, CERTS.org.secret);
    everIssued.push(renewed);
    await c().kubectl(["replace", "-f", "-"], renewed.manifest);
    current.org = renewed;
    const tip = await waitForWildsealCommit("renew", () => TENANTS.org.every((x) => sealedFor(x, renewed.sha256)));
    t.diagnostic(`org Secret replaced → renew commit on the remote: ${Date.now() - t0} ms`);

    assert.deepEqual(tip.parents, [first.sha], "the renewal is the one commit after the first publish");
    const trailers = parseTrailers(tip.message);
    assert.deepEqual(trailers.actions, ["renew"], tip.message);
    assert.deepEqual(trailers.certificates, ["org"], tip.message);
    assert.deepEqual(trailers.tenants, [...TENANTS.org].sort(), tip.message);
    assert.equal(trailers.certSha256, renewed.sha256, tip.message);

    const changed = git(r().path, ["diff", "--name-only", `${tip.sha}^`, tip.sha]).trim().split("\n").sort();
    assert.deepEqual(changed, TENANTS.org.map(sealedPath).sort(), "only the org tenants' SealedSecrets changed");
    for (const x of TENANTS.com) {
      assert.equal(treeOf(tip.sha, x), comBefore[x]?.tree, `${x}'s rendered files keep their blobs`);
      assert.equal(sealedOf(x), comBefore[x]?.text, `${x}'s SealedSecret is byte-identical`);
      assert.ok(sealedFor(x, current.com.sha256), `${x} still carries the com certificate`);
    }

    const org = TENANTS.org[0];
    assert.ok(org);
    await applySealed(org);
    await waitForUnsealed(org, renewed);
  });

  test("the watch logged no RBAC denial and no key material, and stops on SIGTERM with exit 0", async () => {
    assert.ok(watch, "the watch was not started");
    const lines = readFileSync(watchLog, "utf8").split("\n");
    assert.deepEqual(lines.filter((l) => /\b403\b|Forbidden|forbidden/.test(l)), [], "no RBAC denial in the watch log");
    // each Secret had its own feed: com's saw its first content only, org's its first and the renewal
    const changes = (secret: string) => lines.filter((l) => l.includes("source Secret content changed") && l.includes(secret)).length;
    assert.deepEqual({ com: changes(CERTS.com.secret), org: changes(CERTS.org.secret) }, { com: 1, org: 2 }, tailOf(watchLog));
    assertNoKeyMaterial(lines, ...everIssued.map((i) => i.keyPem));
    assert.ok(!lines.some((l) => everIssued.some((i) => l.includes(i.keyB64.slice(0, 40)))), "no base64 key in the watch log");
    await stopManaged(watch);
    assert.equal(await watch.exited, 0, `SIGTERM → exit 0:\n${tailOf(watchLog)}`);
  });
});
