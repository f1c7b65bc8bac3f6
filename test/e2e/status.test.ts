import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { StatusRow } from "../../src/rollout/classify.ts";
import { renderRepository } from "../../src/render/render-repository.ts";
import { generateCa, generateLeaf, tlsSecretOf, type GeneratedCertificate } from "../../src/tls/generate.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import { runCli, type Run } from "../cli/run-cli.ts";
import { filesContaining, fixtureEnv, git, tempDir, writeFiles } from "../helpers/git-fixtures.ts";
import { tenantYaml } from "../helpers/tenant-yaml.ts";
import { waitFor } from "../helpers/wait.ts";
import { startCluster, type Cluster } from "./cluster.ts";
import { startSecretIngress, type SecretIngress } from "./secret-ingress.ts";

// Issue 15, in the e2e cluster: wildseal renders and commits a tenant's SealedSecret, the real sealed-secrets
// controller unseals it, a stand-in ingress controller (secret-ingress.ts) reads that Secret from the real
// apiserver with its own ServiceAccount token and serves it on 127.0.0.1, and `wildseal status` (the CLI)
// compares what is served with what is committed: current; after a renewal stale (the Secret is new, the
// ingress has not reloaded) with a lag; current once the ingress reloads. Not part of `npm test`; run with
// `node --import tsx --test test/e2e/status.test.ts`.

const CLUSTER = "e2e";
const SECRET_NAME = "wildcard-tls";
const TENANTS = [
  { name: "acme", namespace: "acme", hosts: ["acme.example.com"] },
  { name: "globex", namespace: "globex", hosts: ["globex.example.com", "shop.example.com"] },
] as const;
const INGRESS_NS = "ingress-system";
const INGRESS_SA = "ingress";

const CONFIG = `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: e2e-status}
spec:
  source: {namespace: cert-manager, name: wildcard-example-com}
  clusters:
    - name: ${CLUSTER}
      sealingCert: clusters/${CLUSTER}/sealed-secrets.pem
  defaults: {secretName: ${SECRET_NAME}, scope: strict}
`;

interface SecretJson {
  readonly data: Readonly<Record<string, string>>;
  readonly metadata: { readonly resourceVersion: string; readonly annotations?: Readonly<Record<string, string>> };
}

/** The hex SHA-256 of the leaf DER: what `wildseal.dev/cert-sha256` holds and what the probe compares. */
const fingerprint = (cert: GeneratedCertificate): string => createHash("sha256").update(new X509Certificate(cert.certPem).raw).digest("hex");

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString("utf8")) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: timeout`)));
    req.on("error", reject);
    req.end();
  });
}

/** An HTTPS request as a visitor's browser makes it: SNI and Host = `host`, the chain verified against `caPem`. */
function visit(address: string, host: string, caPem: string): Promise<{ status: number; body: string }> {
  const [ip = "", port = ""] = address.split(":");
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: ip, port: Number(port), servername: host, headers: { host }, ca: caPem, path: "/", timeout: 10_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error(`https://${host} at ${address}: timeout`)));
    req.on("error", reject);
    req.end();
  });
}

/** `wildseal status` table → tenant → its STATE and LAG columns (DETAIL, the last column, may hold spaces). */
function tableStates(table: string): Map<string, { state: string; lag: string; served: string; committed: string }> {
  const out = new Map<string, { state: string; lag: string; served: string; committed: string }>();
  const [header, ...lines] = table.trimEnd().split("\n");
  assert.match(header ?? "", /^TENANT\s+CLUSTER\s+COMMITTED\s+COMMITTED-NOT-AFTER\s+SERVED\s+SERVED-NOT-AFTER\s+STATE\s+LAG\s+DETAIL$/);
  for (const l of lines) {
    const [tenant = "", , committed = "", , served = "", , state = "", lag = ""] = l.split(/\s+/);
    out.set(tenant, { state, lag, served, committed });
  }
  return out;
}

describe("e2e rollout status: an ingress that loads the unsealed Secret from the real apiserver, probed by `wildseal status`", { timeout: 10 * 60_000 }, () => {
  let cluster: Cluster | undefined;
  let repo: { path: string; cleanup(): void } | undefined;
  let ingress: SecretIngress | undefined;
  let ca: GeneratedCertificate;
  const issued: GeneratedCertificate[] = [];
  let first: { leaf: GeneratedCertificate; commit: string; resourceVersions: Map<string, string> } | undefined;
  const env = fixtureEnv();

  const repoDir = () => {
    assert.ok(repo, "the repository was not set up");
    return repo.path;
  };
  const cl = () => {
    assert.ok(cluster, "the cluster did not start");
    return cluster;
  };

  /**
   * render with `leaf` (in process, as the render command does: the key stays in memory; `render --source-file -`
   * through runCli would read the test process's own stdin, not the one runCli passes), commit as a sync would,
   * apply rendered/<cluster> as Flux would (kustomize build + apply)
   */
  async function publish(leaf: GeneratedCertificate, message: string): Promise<string> {
    const r = await renderRepository({ repoDir: repoDir(), tls: validateTlsSecret(tlsSecretOf(leaf), { source: "e2e source" }) });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.changes.map((c) => c.tenant), TENANTS.map((x) => x.name), "every tenant's SealedSecret is (re)written");
    git(repoDir(), ["add", "--all"]);
    git(repoDir(), ["commit", "--quiet", "-m", message]);
    const built = await cl().kubectl(["kustomize", join(repoDir(), "rendered", CLUSTER)]);
    assert.equal(built.match(/^kind: SealedSecret$/gm)?.length, TENANTS.length, built);
    await cl().kubectl(["apply", "-f", "-"], built);
    return git(repoDir(), ["rev-parse", "HEAD"]).trim();
  }

  /** every tenant's Secret, once the controller has unsealed `leaf` into it */
  async function waitUnsealed(leaf: GeneratedCertificate): Promise<Map<string, SecretJson>> {
    const sha = fingerprint(leaf);
    const out = new Map<string, SecretJson>();
    for (const t of TENANTS) {
      const s = await waitFor(
        `${t.namespace}/${SECRET_NAME} unsealed with ${sha.slice(0, 12)}`,
        async () => {
          const j = JSON.parse(await cl().kubectl(["get", "secret", SECRET_NAME, "-n", t.namespace, "-o", "json"])) as SecretJson;
          return j.metadata.annotations?.["wildseal.dev/cert-sha256"] === sha ? j : undefined;
        },
        90_000,
        250,
      );
      assert.equal(s.data["tls.crt"], Buffer.from(leaf.certPem).toString("base64"), `${t.namespace}/${SECRET_NAME} holds the renewed chain`);
      out.set(t.name, s);
    }
    return out;
  }

  const probeFlags = () => {
    assert.ok(ingress);
    return TENANTS.flatMap((t) => t.hosts.flatMap((h) => ["--probe-address", `${h}=${ingress?.address}`]));
  };

  /**
   * `wildseal status` twice through the CLI: the table (printed for the record, and its columns checked) and
   * --json (asserted on); `window` is when the --json run started and ended (ms), to bound its lag
   */
  async function status(label: string): Promise<{ table: Run; rows: Map<string, StatusRow>; window: { from: number; to: number } }> {
    const table = await runCli(["status", "--repo", repoDir(), ...probeFlags()], { env });
    console.log(`\n(${label}; exit ${table.code})\n$ wildseal status --repo <repo> ${probeFlags().join(" ")}\n${table.stdout}${table.stderr}`);
    const from = Date.now();
    const json = await runCli(["status", "--repo", repoDir(), "--json", ...probeFlags()], { env });
    const to = Date.now();
    assert.equal(json.stderr, "", "status prints no problems or notes for a valid committed repository");
    const rows = JSON.parse(json.stdout) as StatusRow[];
    assert.equal(json.code, table.code, "--json exits like the table");
    return { table, rows: new Map(rows.map((r) => [r.tenant, r])), window: { from, to } };
  }

  before(async () => {
    cluster = await startCluster();
    const c = cluster;
    ca = await generateCa({ commonName: "wildseal e2e CA" });

    // the GitOps repository, sealing with the real controller's certificate
    assert.ok(c.controllerUrl);
    const sealingCert = await httpGet(`${c.controllerUrl}/v1/cert.pem`);
    assert.match(sealingCert, /BEGIN CERTIFICATE/);
    repo = tempDir("wildseal-e2e-status-");
    const files: Record<string, string> = { "wildseal.yaml": CONFIG, [`clusters/${CLUSTER}/sealed-secrets.pem`]: sealingCert };
    for (const t of TENANTS) files[`tenants/${t.name}.yaml`] = tenantYaml({ name: t.name, cluster: CLUSTER, namespace: t.namespace, hosts: t.hosts });
    mkdirSync(repo.path, { recursive: true });
    writeFiles(repo.path, files);
    git(repo.path, ["init", "--quiet", "--initial-branch=main"]);
    git(repo.path, ["add", "--all"]);
    git(repo.path, ["commit", "--quiet", "-m", "seed the repository"]);

    // the tenant namespaces (the platform's), and the ingress controller's identity: it may get the tenants'
    // TLS Secrets by name and nothing else
    for (const t of TENANTS) await c.kubectl(["create", "namespace", t.namespace]);
    await c.kubectl(["create", "namespace", INGRESS_NS]);
    await c.kubectl(["create", "serviceaccount", INGRESS_SA, "-n", INGRESS_NS]);
    await c.kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: TENANTS.flatMap((t) => [
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: "ingress-tls", namespace: t.namespace },
          rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [SECRET_NAME], verbs: ["get", "list", "watch"] }],
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: "ingress-tls", namespace: t.namespace },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "ingress-tls" },
          subjects: [{ kind: "ServiceAccount", name: INGRESS_SA, namespace: INGRESS_NS }],
        },
      ]),
    }));
    const token = (await c.kubectl(["create", "token", INGRESS_SA, "-n", INGRESS_NS, "--duration=1h"])).trim();
    const caData = c.adminKubeConfig.getCurrentCluster()?.caData;
    assert.ok(caData, "the admin kubeconfig carries the cluster CA");
    ingress = await startSecretIngress({
      apiserverUrl: c.apiserverUrl,
      caPem: Buffer.from(caData, "base64").toString("utf8"),
      token,
      routes: TENANTS.flatMap((t) => t.hosts.map((host) => ({ host, namespace: t.namespace, secretName: SECRET_NAME }))),
    });
  });

  after(async () => {
    try {
      await ingress?.close();
    } finally {
      try {
        await cluster?.stop();
      } finally {
        repo?.cleanup();
      }
    }
  });

  test("the controller unseals the committed SealedSecret, the ingress serves the Secret it read from the apiserver, and status says current", async () => {
    assert.ok(ingress);
    const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
    issued.push(leaf);
    const commit = await publish(leaf, "render the first certificate");
    const secrets = await waitUnsealed(leaf);

    // before it has read anything the ingress has no certificate for the host: the handshake fails
    await assert.rejects(visit(ingress.address, "acme.example.com", ca.certPem));
    const loaded = await ingress.reload();
    assert.deepEqual(loaded.map((l) => [l.host, l.sha256]), TENANTS.flatMap((x) => x.hosts.map((h) => [h, fingerprint(leaf)])));
    // it is a working ingress: a browser trusting the CA gets a verified chain for the host
    assert.deepEqual(await visit(ingress.address, "acme.example.com", ca.certPem), { status: 200, body: "hello from acme.example.com\n" });

    const { table, rows } = await status("after the first publish");
    assert.equal(table.code, 0, table.stderr);
    for (const x of TENANTS) {
      const r = rows.get(x.name);
      assert.ok(r, `a row for ${x.name}`);
      assert.equal(r.state, "current", `${x.name}: ${r.detail}`);
      assert.equal(r.cluster, CLUSTER);
      assert.equal(r.committed?.sha256, fingerprint(leaf));
      assert.equal(r.served?.sha256, fingerprint(leaf));
      assert.equal(r.since?.commit, commit, "the commit that brought the certificate");
      assert.equal(r.lagSeconds, null, "a current tenant has no lag");
      assert.deepEqual(r.hosts.map((h) => [h.host, h.address, h.state]), x.hosts.map((h) => [h, ingress?.address, "current"]));
    }
    const cols = tableStates(table.stdout);
    assert.deepEqual([...cols].map(([k, v]) => [k, v.state, v.lag, v.committed, v.served]), TENANTS.map((x) => [x.name, "current", "-", fingerprint(leaf).slice(0, 12), fingerprint(leaf).slice(0, 12)]));
    first = { leaf, commit, resourceVersions: new Map([...secrets].map(([k, s]) => [k, s.metadata.resourceVersion])) };
  });

  test("after a renewal status says stale with a lag while the ingress still serves the old certificate, and current once it reloads the Secret", async () => {
    assert.ok(ingress && first, "the first step did not run");
    const old = fingerprint(first.leaf);
    const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com"] });
    issued.push(leaf);
    const renewed = fingerprint(leaf);
    const commit = await publish(leaf, "render the renewed certificate");
    const secrets = await waitUnsealed(leaf);
    for (const [tenant, s] of secrets) assert.notEqual(s.metadata.resourceVersion, first.resourceVersions.get(tenant), `${tenant}: the controller updated the Secret`);

    // the Secret in the cluster is renewed; the ingress has not reloaded yet
    assert.equal(ingress.serving("acme.example.com")?.sha256, old);
    const commitDate = Date.parse(git(repoDir(), ["log", "-1", "--format=%cI", commit]).trim());
    const stale = await status("renewed and unsealed by the controller, before the ingress reloads");
    assert.equal(stale.table.code, 4, "exit 4: a probed tenant is not current");
    for (const x of TENANTS) {
      const r = stale.rows.get(x.name);
      assert.ok(r, `a row for ${x.name}`);
      assert.equal(r.state, "stale", `${x.name}: ${r.detail}`);
      assert.equal(r.committed?.sha256, renewed);
      assert.equal(r.served?.sha256, old, "the ingress still serves the first certificate");
      assert.equal(r.since?.commit, commit, "the lag counts from the renewal's commit");
      // the lag is the time from the renewal's commit to the probe (whole seconds; the commit date has no fraction)
      const lagBounds = [Math.floor((stale.window.from - commitDate) / 1000), Math.ceil((stale.window.to - commitDate) / 1000)] as const;
      assert.ok(typeof r.lagSeconds === "number" && r.lagSeconds >= lagBounds[0] && r.lagSeconds <= lagBounds[1], `lag ${r.lagSeconds} s within ${lagBounds.join("..")} s of the commit`);
      assert.match(r.detail, new RegExp(`${x.hosts[0]?.replace(/\./g, "\\.")} .*still serves an earlier certificate`));
    }
    const staleCols = tableStates(stale.table.stdout);
    for (const x of TENANTS) {
      const c = staleCols.get(x.name);
      assert.equal(c?.state, "stale");
      assert.match(c?.lag ?? "", /^\d+s$|^\d+m\d+s$/, "the LAG column shows the time since the renewal's commit");
      assert.equal(c?.committed, renewed.slice(0, 12));
      assert.equal(c?.served, old.slice(0, 12));
    }

    // the ingress reloads the Secret from the apiserver, as its sync would after the update
    const loaded = await ingress.reload();
    for (const l of loaded) {
      assert.equal(l.sha256, renewed, `${l.host} loads the renewed certificate`);
      const tenant = TENANTS.find((x) => (x.hosts as readonly string[]).includes(l.host));
      assert.equal(l.resourceVersion, secrets.get(tenant?.name ?? "")?.metadata.resourceVersion, `${l.host}: the Secret version the controller wrote`);
    }
    const current = await status("after the ingress reloaded the Secret from the apiserver");
    assert.equal(current.table.code, 0, current.table.stderr);
    for (const x of TENANTS) {
      const r = current.rows.get(x.name);
      assert.equal(r?.state, "current", `${x.name}: ${r?.detail}`);
      assert.equal(r?.served?.sha256, renewed);
      assert.equal(r?.lagSeconds, null);
    }
    assert.deepEqual([...tableStates(current.table.stdout)].map(([k, v]) => [k, v.state, v.lag]), TENANTS.map((x) => [x.name, "current", "-"]));
  });

  test("no private key of either certificate is in the repository or its Git history", () => {
    assert.equal(issued.length, 2);
    const needles = issued.flatMap((c) => {
      const pem = c.keyPem.reveal().toString("utf8");
      const body = pem.split("\n").filter((l) => l !== "" && !l.startsWith("-----")).join("");
      // past the ASN.1 header every P-256 PKCS#8 key shares: the private scalar, as PEM and as a Secret's base64
      return [body.slice(48, 88), Buffer.from(pem).toString("base64").slice(80, 140)];
    });
    // loose objects are zlib-compressed: read every blob back through git instead of scanning .git
    assert.deepEqual(filesContaining(repoDir(), needles).filter((f) => !f.includes(`${join(repoDir(), ".git")}/`)), []);
    const blobs = git(repoDir(), ["rev-list", "--objects", "--all"]).trim().split("\n").map((l) => l.split(" ")[0] ?? "");
    for (const b of blobs) {
      if (git(repoDir(), ["cat-file", "-t", b]).trim() !== "blob") continue;
      const content = git(repoDir(), ["cat-file", "-p", b]);
      for (const n of needles) assert.ok(!content.includes(n), `blob ${b} carries key material`);
    }
  });
});
