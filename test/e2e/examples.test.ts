import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { load, loadAll } from "js-yaml";
import { startCluster, type Cluster } from "./cluster.ts";

// Issue 10 item 4: the GitOps wiring examples under examples/ (Flux, Argo CD, cert-manager) are applied with
// `kubectl apply --server-side --validate=strict` to a real kube-apiserver that serves the upstream CRDs
// (test/e2e/fetch-crds takes them from the controllers' Go modules), so every field is checked against the real
// schemas. No controller runs: this proves the manifests are accepted as written, not that they reconcile.

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const EXAMPLES = join(ROOT, "examples");
const FETCH_CRDS = join(HERE, "fetch-crds");
const FIELD_MANAGER = "wildseal-examples-e2e";

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}
interface ExampleFile {
  rel: string;
  path: string;
  docs: Obj[];
}

/** Runs test/e2e/fetch-crds (idempotent, cached) and returns the CRD folder it prints; WILDSEAL_E2E_CRDS skips it. */
function fetchCrds(): Promise<string> {
  if (process.env["WILDSEAL_E2E_CRDS"]) return Promise.resolve(process.env["WILDSEAL_E2E_CRDS"]);
  return new Promise((resolve, reject) => {
    const child = execFile("bash", [FETCH_CRDS], { maxBuffer: 1 << 20, timeout: 15 * 60_000 }, (err, stdout) => {
      if (err) reject(new Error(`test/e2e/fetch-crds failed: ${err.message}`));
      else resolve(stdout.trim().split("\n").at(-1) ?? "");
    });
    child.stderr?.pipe(process.stderr);
  });
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []))
    .sort();
}

function readExamples(): ExampleFile[] {
  return yamlFiles(EXAMPLES).map((path) => {
    const docs = (loadAll(readFileSync(path, "utf8")) as unknown[]).filter((d) => d !== null && d !== undefined) as Obj[];
    return { rel: relative(ROOT, path), path, docs };
  });
}

/** every key path of a plain-object tree, e.g. ["git", "credentials", "existingSecret"] */
function leafPaths(v: unknown, prefix: string[] = []): string[][] {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return [prefix];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leafPaths(x, [...prefix, k]));
}

function at(v: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((o, k) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), v);
}

describe("examples/ against the upstream CRDs on a real kube-apiserver", { timeout: 10 * 60_000 }, () => {
  let cluster: Cluster | undefined;
  const examples = readExamples();
  const all = examples.flatMap((f) => f.docs.map((d) => ({ file: f.rel, doc: d })));
  const config = load(readFileSync(join(ROOT, "wildseal.yaml"), "utf8")) as {
    spec: { source: { namespace: string; name: string }; clusters: { name: string }[] };
  };

  const c = (): Cluster => {
    assert.ok(cluster, "cluster did not start");
    return cluster;
  };
  const find = (kind: string, pred: (d: Obj) => boolean = () => true): Obj[] => all.map((x) => x.doc).filter((d) => d.kind === kind && pred(d));

  before(async () => {
    const [started, crdDir] = await Promise.all([startCluster({ controller: false }), fetchCrds()]);
    cluster = started;
    const crdFiles = readdirSync(crdDir).filter((f) => f.endsWith(".yaml")).map((f) => join(crdDir, f));
    assert.ok(crdFiles.length > 0, `no CRDs in ${crdDir}`);
    // server-side: Argo CD's ApplicationSet CRD is too large for the last-applied annotation of a client-side apply
    await cluster.kubectl(["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, ...crdFiles.flatMap((f) => ["-f", f])]);
    const names = crdFiles.map((f) => `crd/${(load(readFileSync(f, "utf8")) as Obj).metadata.name}`);
    await cluster.kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...names]);
  });

  after(async () => {
    await cluster?.stop();
  });

  test("the examples are present and consistent with wildseal.yaml", () => {
    for (const f of examples) {
      assert.ok(f.docs.length > 0, `${f.rel} holds no document`);
      for (const d of f.docs) assert.ok(d.apiVersion && d.kind && d.metadata?.name, `${f.rel}: a document without apiVersion, kind or metadata.name`);
    }
    for (const dir of ["flux", "argocd", "cert-manager"]) assert.ok(existsSync(join(EXAMPLES, dir, "README.md")), `examples/${dir}/README.md`);

    // cert-manager writes the very Secret wildseal watches
    const [cert] = find("Certificate");
    assert.ok(cert, "a Certificate");
    assert.equal(cert.metadata.namespace, config.spec.source.namespace);
    assert.equal(cert.spec?.["secretName"], config.spec.source.name);
    assert.deepEqual([...(cert.spec?.["dnsNames"] as string[])].sort(), ["*.example.com", "example.com"]);
    const issuerName = at(cert.spec, ["issuerRef", "name"]);
    const [issuer] = find("ClusterIssuer", (d) => d.metadata.name === issuerName);
    assert.ok(issuer, `the Certificate's ClusterIssuer ${String(issuerName)}`);
    const azure = at(issuer.spec, ["acme", "solvers", "0", "dns01", "azureDNS"]) as Record<string, unknown> | undefined;
    for (const k of ["subscriptionID", "resourceGroupName", "hostedZoneName"]) assert.ok(azure?.[k], `azureDNS.${k}`);
    assert.ok(at(azure, ["managedIdentity", "clientID"]), "azureDNS.managedIdentity.clientID (workload identity)");

    // Flux: one pruning Kustomization per cluster of wildseal.yaml, over the GitRepository, after sealed-secrets
    const repos = new Set(find("GitRepository").map((d) => d.metadata.name));
    for (const { name } of config.spec.clusters) {
      const [k] = find("Kustomization", (d) => d.spec?.["path"] === `./rendered/${name}`);
      assert.ok(k, `a Flux Kustomization for ./rendered/${name}`);
      assert.equal(k.spec?.["prune"], true);
      assert.ok(repos.has(String(at(k.spec, ["sourceRef", "name"]))), `${k.metadata.name} uses a GitRepository of the examples`);
      const deps = (k.spec?.["dependsOn"] as { name: string }[] | undefined) ?? [];
      assert.ok(deps.length > 0 && deps.every((dep) => find("Kustomization", (d) => d.metadata.name === dep.name).length > 0), `${k.metadata.name} dependsOn an example Kustomization`);
    }

    // Flux: wildseal's own chart, with the values the chart reads
    const [hr] = find("HelmRelease", (d) => d.metadata.name === "wildseal");
    assert.ok(hr, "a HelmRelease for wildseal");
    const values = hr.spec?.["values"];
    assert.deepEqual(at(values, ["source"]), config.spec.source);
    for (const p of [["git", "repo"], ["git", "branch"], ["git", "mode"], ["git", "credentials", "existingSecret"]]) assert.ok(at(values, p), `values.${p.join(".")}`);
    const ref = hr.spec?.["chartRef"] as { kind: string; name: string } | undefined;
    assert.ok(ref && find(ref.kind, (d) => d.metadata.name === ref.name && d.metadata.namespace === hr.metadata.namespace).length === 1, "chartRef names an example source in the same namespace");
    // HelmRelease.spec.values is schemaless in the CRD: check the keys against the chart when it is in the tree
    const chartValues = join(ROOT, "deploy", "helm", "wildseal", "values.yaml");
    if (existsSync(chartValues)) {
      const defaults = load(readFileSync(chartValues, "utf8"));
      for (const p of leafPaths(values)) assert.notEqual(at(defaults, p), undefined, `values.${p.join(".")} is not a key of the chart's values.yaml`);
    }

    // Argo CD: every folder under rendered/, synced automatically with prune
    const [appset] = find("ApplicationSet");
    assert.ok(appset, "an ApplicationSet");
    assert.equal(at(appset.spec, ["generators", "0", "git", "directories", "0", "path"]), "rendered/*");
    assert.equal(at(appset.spec, ["template", "spec", "syncPolicy", "automated", "prune"]), true);
  });

  test("every example file is accepted by server-side apply with strict field validation", async () => {
    const namespaces = [...new Set(all.map((x) => x.doc.metadata.namespace).filter((n): n is string => !!n))].sort();
    const nsList = { apiVersion: "v1", kind: "List", items: namespaces.map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })) };
    await c().kubectl(["apply", "--server-side", `--field-manager=${FIELD_MANAGER}-ns`, "-f", "-"], JSON.stringify(nsList));
    for (const f of examples) {
      try {
        await c().kubectl(["apply", "--server-side", "--validate=strict", `--field-manager=${FIELD_MANAGER}`, "-f", f.path]);
      } catch (e) {
        assert.fail(`${f.rel} was rejected:\n${(e as Error).message}`);
      }
      const got = (await c().kubectl(["get", "-f", f.path, "-o", "name"])).trim().split("\n");
      assert.equal(got.length, f.docs.length, `${f.rel}: every object exists (${got.join(", ")})`);
    }
  });

  test("validation is active: an unknown or mistyped field is rejected", async () => {
    const apply = (obj: unknown) =>
      c().kubectl(["apply", "--server-side", "--validate=strict", `--field-manager=${FIELD_MANAGER}`, "-f", "-"], JSON.stringify(obj));
    const [cert] = find("Certificate");
    assert.ok(cert);
    // server-side apply builds a typed patch from the CRD's structural schema: an undeclared field fails there
    await assert.rejects(apply({ ...cert, spec: { ...cert.spec, secretNmae: "typo" } }), /\.spec\.secretNmae: field not declared in schema/);
    // the same through create with fieldValidation=Strict (a dry run on the server): the strict decoder's message
    await assert.rejects(
      c().kubectl(["create", "--dry-run=server", "--validate=strict", "-f", "-"], JSON.stringify({ ...cert, metadata: { ...cert.metadata, name: "strict-probe" }, spec: { ...cert.spec, secretNmae: "typo" } })),
      /strict decoding error: unknown field "spec\.secretNmae"/,
    );
    const [k] = find("Kustomization", (d) => String(d.spec?.["path"]).startsWith("./rendered/"));
    assert.ok(k);
    await assert.rejects(apply({ ...k, spec: { ...k.spec, prune: "yes" } }), /\.spec\.prune: expected boolean/);
    // value constraints of the OpenAPI schema (pattern, enum) are enforced too, not only field names and types
    await assert.rejects(apply({ ...k, spec: { ...k.spec, interval: "10 minutes" } }), /spec\.interval in body should match/);
    const [issuer] = find("ClusterIssuer");
    assert.ok(issuer);
    const badEnv = JSON.parse(JSON.stringify(issuer).replace('"AzurePublicCloud"', '"AzureMoonCloud"')) as Obj;
    await assert.rejects(apply(badEnv), /spec\.acme\.solvers\[0\]\.dns01\.azureDNS\.environment: Unsupported value: "AzureMoonCloud"/);
    // a field deep in Argo CD's ApplicationSet template schema
    const [appset] = find("ApplicationSet");
    assert.ok(appset);
    const template = appset.spec?.["template"] as { spec: Record<string, unknown> };
    const nested = { ...appset, spec: { ...appset.spec, template: { ...template, spec: { ...template.spec, syncPolicy: { automated: { prune: true, prunne: true } } } } } };
    await assert.rejects(apply(nested), /\.spec\.template\.spec\.syncPolicy\.automated\.prunne: field not declared in schema/);
  });
});
