import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { secretManifestObject } from "../../src/tls/secret-manifest.ts";
import { generateCa, generateLeaf, generateSealingKeyPair, tlsSecretOf, type GeneratedCertificate } from "../../src/tls/generate.ts";
import { validateTlsSecret } from "../../src/tls/tls-material.ts";
import { makeBareRemote, pushAsPerson, remoteFile, type BareRemote } from "../helpers/git-fixtures.ts";
import { ensureBinaries, startCluster, tearDownScenario, type Cluster } from "./cluster.ts";
import { tenantYaml } from "../pipeline/sync-world.ts";
import { run, stopManaged, tailOf, waitFor, type ManagedProcess } from "./processes.ts";
import {
  CHART, CI, chartTools, find, freePort, podProcess, readyz as readyzOn, RELEASE, RELEASE_NS, spawnChartWatch, tokenKubeconfig,
  type Container, type Deployment, type K8sObject, type PodSpec, type PolicyRule, type Role, type RoleBinding,
  waitForWildsealCommit as waitForCommit,
} from "./chart-support.ts";

// issue 10: the Helm chart deploy/helm/wildseal. helm (built from its Go module by test/e2e/setup) lints and
// renders it; the RBAC it renders is checked rule by rule; then, on the real kube-apiserver, the all-features
// rendering is applied into a namespace enforcing Pod Security "restricted", a Pod made from the Deployment's
// pod template is admitted (a non-compliant variant is not), and a TokenRequest token for the chart's
// ServiceAccount may do exactly what the Roles say (kubectl auth can-i --list, real requests). Finally `wildseal
// watch` runs as a local process with the rendered container's args and env (mounted Secret files are written
// under a private root and absolute paths in args/env are mapped below it) and that token: it publishes the first
// render, a renewal of the source Secret, and a tenant added and one removed by a person's commits. Not part of
// `npm test`; run with `npm run test:e2e` or `node --import tsx --test test/e2e/chart.test.ts`.

const SOURCE_NS = "cert-manager";
const SOURCE_NAME = "wildcard-example-com";
const CONTROLLER_NS = "kube-system";
/**
 * On the cluster the controller Service lives in its own namespace: in kube-system the cluster already binds
 * upstream's sealed-secrets-service-proxier Role to every authenticated user (test/e2e/manifests/controller-rbac.yaml,
 * as upstream does for kubeseal), which would hide whether the chart's own rule works.
 */
const LIVE_CONTROLLER_NS = "sealed-secrets";
const CONTROLLER_SVC = "sealed-secrets-controller";
/** the resource name RBAC sees for services/http:sealed-secrets-controller:http/proxy/v1/cert.pem */
const PROXY_NAME = `http:${CONTROLLER_SVC}:http`;

let binDir = "";
const { helmBin, helm, template } = chartTools(() => binDir);

const kindsOf = (objs: readonly K8sObject[]) => objs.map((o) => `${o.kind} ${o.metadata.namespace ?? "-"}/${o.metadata.name}`).sort();
const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));

const SOURCE_RULE: PolicyRule = { apiGroups: [""], resources: ["secrets"], resourceNames: [SOURCE_NAME], verbs: ["get", "list", "watch"] };
const LEASE_RULES: PolicyRule[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["wildseal"], verbs: ["get", "update"] },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
];
const PROXY_RULES: PolicyRule[] = [
  { apiGroups: [""], resources: ["services"], resourceNames: [CONTROLLER_SVC], verbs: ["get"] },
  { apiGroups: [""], resources: ["services/proxy"], resourceNames: [PROXY_NAME], verbs: ["get"] },
];

function assertRestricted(pod: PodSpec): void {
  assert.equal(pod.securityContext["runAsNonRoot"], true);
  assert.deepEqual(pod.securityContext["seccompProfile"], { type: "RuntimeDefault" });
  const [c] = pod.containers;
  assert.ok(c);
  assert.equal(c.securityContext["allowPrivilegeEscalation"], false);
  assert.equal(c.securityContext["readOnlyRootFilesystem"], true);
  assert.deepEqual(c.securityContext["capabilities"], { drop: ["ALL"] });
  const tmp = c.volumeMounts.find((m) => m.mountPath === "/tmp");
  assert.ok(tmp && pod.volumes.find((v) => v.name === tmp.name)?.emptyDir, "/tmp is an emptyDir");
  assert.equal(envOf(c)["TMPDIR"], "/tmp");
}

/** every env var is a literal that holds no secret: secrets only arrive as mounted files (`*_FILE` paths) */
function assertNoSecretInEnv(c: Container): void {
  for (const e of c.env) {
    assert.equal(e.valueFrom, undefined, `env ${e.name} must not come from a Secret`);
    assert.doesNotMatch(e.name, /TOKEN$|SECRET$|PRIVATE_KEY$/, `env ${e.name} would hold a secret itself`);
  }
}

describe("Helm chart deploy/helm/wildseal", { timeout: 30 * 60_000 }, () => {
  before(async () => {
    binDir = await ensureBinaries();
    assert.ok(existsSync(helmBin()), `${helmBin()} is missing: run test/e2e/setup`);
  });

  test("helm lint --strict passes for every ci/ values file", async () => {
    const files = readdirSync(CI).filter((f) => f.endsWith(".yaml")).sort();
    assert.ok(files.length >= 4, files.join(", "));
    for (const f of files) {
      const { stdout } = await helm(["lint", "--strict", CHART, "--namespace", RELEASE_NS, "-f", join(CI, f)]);
      assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/, `${f}: ${stdout}`);
    }
  });

  test("required values and inconsistent values fail the render with a message", async () => {
    await assert.rejects(helm(["template", RELEASE, CHART]), /source\.namespace is required/);
    await assert.rejects(template(["default-values.yaml"], ["source.name="]), /source\.name is required/);
    await assert.rejects(template(["default-values.yaml"], ["git.repo="]), /git\.repo is required/);
    await assert.rejects(template(["default-values.yaml"], ["git.mode=merge"]), /git\.mode must be push or pull-request/);
    await assert.rejects(template(["default-values.yaml"], ["git.repo=https://u:pw@example.com/r.git"]), /carries a password/);
    await assert.rejects(template(["default-values.yaml"], ["git.mode=pull-request"]), /needs GitHub credentials/);
    await assert.rejects(template(["github-app-values.yaml"], ["git.mode=push"]), /pull-request only/);
    // values.schema.json: a misspelt or mistyped value fails the install instead of being ignored
    await assert.rejects(template(["default-values.yaml"], ["replicas=2"]), /additional properties 'replicas' not allowed/);
    await assert.rejects(template(["default-values.yaml"], ["leaderElection.enable=true"]), /additional properties 'enable' not allowed/);
    await assert.rejects(template(["default-values.yaml"], ["logLevel=loud"]), /\/logLevel': value must be one of/);
    await assert.rejects(template(["default-values.yaml"], ["interval=5"]), /\/interval': got number, want string/);
  });

  test("defaults: only the source Role, no ClusterRole, restricted-compliant pod, probes on :8080", async () => {
    const objs = await template(["default-values.yaml"]);
    assert.deepEqual(kindsOf(objs), [
      `Deployment ${RELEASE_NS}/${RELEASE}`,
      `Role ${SOURCE_NS}/${RELEASE}-source`,
      `RoleBinding ${SOURCE_NS}/${RELEASE}-source`,
      `Service ${RELEASE_NS}/${RELEASE}`,
      `ServiceAccount ${RELEASE_NS}/${RELEASE}`,
    ]);
    assert.deepEqual(find<Role>(objs, "Role", `${RELEASE}-source`).rules, [SOURCE_RULE]);
    const rb = find<RoleBinding>(objs, "RoleBinding", `${RELEASE}-source`);
    assert.deepEqual(rb.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${RELEASE}-source` });
    assert.deepEqual(rb.subjects, [{ kind: "ServiceAccount", name: RELEASE, namespace: RELEASE_NS }]);
    for (const o of objs) {
      assert.equal(o.metadata.labels?.["app.kubernetes.io/name"], "wildseal", `${o.kind} labels`);
      assert.equal(o.metadata.labels?.["app.kubernetes.io/instance"], RELEASE);
      assert.equal(o.metadata.labels?.["app.kubernetes.io/managed-by"], "Helm");
      assert.match(o.metadata.labels?.["helm.sh/chart"] ?? "", /^wildseal-\d+\.\d+\.\d+/);
    }
    const d = find<Deployment>(objs, "Deployment", RELEASE);
    assert.equal(d.spec.replicas, 1);
    const pod = d.spec.template.spec;
    assertRestricted(pod);
    const [c] = pod.containers;
    assert.ok(c);
    assert.match(c.image, /^ghcr\.io\/wildseal\/wildseal:\d+\.\d+\.\d+/);
    assert.deepEqual(c.args, [
      "watch", "--repo=https://github.com/acme/gitops.git", "--branch=main", "--mode=push",
      `--source-secret=${SOURCE_NS}/${SOURCE_NAME}`, "--listen=:8080", "--interval=1m", "--log-level=info",
    ]);
    assert.deepEqual(c.ports.map((p) => [p.name, p.containerPort]), [["http", 8080]]);
    assert.deepEqual(c.livenessProbe.httpGet, { path: "/healthz", port: "http" });
    assert.deepEqual(c.readinessProbe.httpGet, { path: "/readyz", port: "http" });
    assertNoSecretInEnv(c);
    assert.deepEqual(pod.volumes.map((v) => v.name), ["tmp"]);
  });

  test("all features: Lease and service-proxy rules, each scoped by name; credentials only as mounted files", async () => {
    const objs = await template(["all-features-values.yaml"]);
    assert.deepEqual(kindsOf(objs), [
      `Deployment ${RELEASE_NS}/${RELEASE}`,
      `NetworkPolicy ${RELEASE_NS}/${RELEASE}`,
      `PodDisruptionBudget ${RELEASE_NS}/${RELEASE}`,
      `Role ${SOURCE_NS}/${RELEASE}-source`,
      `Role ${CONTROLLER_NS}/${RELEASE}-controller-cert`,
      `RoleBinding ${SOURCE_NS}/${RELEASE}-source`,
      `RoleBinding ${CONTROLLER_NS}/${RELEASE}-controller-cert`,
      `Service ${RELEASE_NS}/${RELEASE}`,
      `ServiceAccount ${RELEASE_NS}/${RELEASE}`,
      `ServiceMonitor ${RELEASE_NS}/${RELEASE}`,
    ]);
    assert.ok(!objs.some((o) => o.kind.startsWith("Cluster")), "no ClusterRole or ClusterRoleBinding");
    assert.deepEqual(find<Role>(objs, "Role", `${RELEASE}-source`, SOURCE_NS).rules, [SOURCE_RULE, ...LEASE_RULES]);
    assert.deepEqual(find<Role>(objs, "Role", `${RELEASE}-controller-cert`, CONTROLLER_NS).rules, PROXY_RULES);
    for (const ns of [SOURCE_NS, CONTROLLER_NS]) {
      const rb = objs.find((o) => o.kind === "RoleBinding" && o.metadata.namespace === ns) as RoleBinding;
      assert.deepEqual(rb.subjects, [{ kind: "ServiceAccount", name: RELEASE, namespace: RELEASE_NS }]);
    }

    const d = find<Deployment>(objs, "Deployment", RELEASE);
    assert.equal(d.spec.replicas, 2);
    const pod = d.spec.template.spec;
    assertRestricted(pod);
    const [c] = pod.containers;
    assert.ok(c);
    assertNoSecretInEnv(c);
    const env = envOf(c);
    assert.equal(env["WILDSEAL_GIT_TOKEN_FILE"], "/var/run/secrets/wildseal/git/token");
    assert.equal(env["WILDSEAL_GITHUB_TOKEN_FILE"], "/var/run/secrets/wildseal/git/token");
    assert.equal(env["WILDSEAL_GIT_USERNAME"], "x-access-token");
    // every *_FILE path and --webhook-secret-file lies in a read-only mount of the named existing Secret
    const mountOf = (path: string) => c.volumeMounts.find((m) => path.startsWith(`${m.mountPath}/`));
    const secretOf = (path: string) => pod.volumes.find((v) => v.name === mountOf(path)?.name)?.secret?.secretName;
    const webhookArg = c.args.find((a) => a.startsWith("--webhook-secret-file="));
    assert.equal(webhookArg, "--webhook-secret-file=/var/run/secrets/wildseal/webhook/secret");
    assert.equal(secretOf(env["WILDSEAL_GIT_TOKEN_FILE"] ?? ""), "wildseal-git");
    assert.equal(secretOf(webhookArg.split("=")[1] ?? ""), "wildseal-webhook");
    assert.ok(c.volumeMounts.filter((m) => m.mountPath.startsWith("/var/run/secrets/wildseal")).every((m) => m.readOnly === true));
    for (const a of ["--leader-elect", "--reseal-on-rotation", "--mode=pull-request", "--label=wildseal", "--label=certificates", "--auto-merge=squash", "--max-attempts=5", "--resync=15m", "--interval=2m"]) {
      assert.ok(c.args.includes(a), `args ${c.args.join(" ")} lack ${a}`);
    }

    const app = await template(["github-app-values.yaml"]);
    const appC = find<Deployment>(app, "Deployment", RELEASE).spec.template.spec.containers[0];
    assert.ok(appC);
    assertNoSecretInEnv(appC);
    const appEnv = envOf(appC);
    assert.equal(appEnv["WILDSEAL_GITHUB_APP_ID"], "123456");
    assert.equal(appEnv["WILDSEAL_GITHUB_APP_INSTALLATION_ID"], "7890123");
    assert.equal(appEnv["WILDSEAL_GITHUB_APP_PRIVATE_KEY_FILE"], "/var/run/secrets/wildseal/github-app/private-key.pem");
    assert.equal(appEnv["WILDSEAL_GIT_TOKEN_FILE"], undefined);
  });

  describe("on a real kube-apiserver", () => {
    let cluster: Cluster | undefined;
    let saKubeconfig = "";
    let watch: ManagedProcess | undefined;
    let remote: BareRemote | undefined;
    let nobodyKubeconfig = "";
    let rendered: K8sObject[] = [];
    const c = (): Cluster => {
      assert.ok(cluster, "cluster did not start");
      return cluster;
    };
    const env = () => ({ PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: c().tmpDir });
    /** kubectl as the chart's ServiceAccount (TokenRequest token) */
    const asSa = (args: readonly string[]) => run(c().bin("kubectl"), ["--kubeconfig", saKubeconfig, ...args], { env: env() });
    /** the `kubectl auth can-i --list` table as rows, header dropped */
    const canIList = async (ns: string, kubeconfig = saKubeconfig) => {
      const { stdout } = await run(c().bin("kubectl"), ["--kubeconfig", kubeconfig, "auth", "can-i", "--list", "-n", ns, "--no-headers"], { env: env() });
      return stdout
        .trim()
        .split("\n")
        .map((l) => l.trim().split(/\s{2,}/).join(" | "))
        .sort();
    };
    const canI = async (args: readonly string[]) => {
      try {
        return (await asSa(["auth", "can-i", ...args])).stdout.trim();
      } catch (e) {
        return /\bno\b/.test((e as Error).message) ? "no" : `error: ${(e as Error).message}`;
      }
    };

    before(async () => {
      cluster = await startCluster({ binDir, controller: false });
      const cl = cluster;
      const psa = { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest", "pod-security.kubernetes.io/warn": "restricted" };
      await cl.kubectl(["apply", "-f", "-"], JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          { apiVersion: "v1", kind: "Namespace", metadata: { name: RELEASE_NS, labels: psa } },
          { apiVersion: "v1", kind: "Namespace", metadata: { name: SOURCE_NS } },
          { apiVersion: "v1", kind: "Namespace", metadata: { name: LIVE_CONTROLLER_NS } },
          // an identity with no bindings at all: what any authenticated user may do is the baseline
          { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "nobody", namespace: RELEASE_NS } },
          // the source, a neighbour it must not read, and the controller's Service (no endpoints: nothing runs)
          { apiVersion: "v1", kind: "Secret", type: "kubernetes.io/tls", metadata: { name: SOURCE_NAME, namespace: SOURCE_NS }, stringData: { "tls.crt": "x", "tls.key": "y" } },
          { apiVersion: "v1", kind: "Secret", metadata: { name: "other-secret", namespace: SOURCE_NS }, stringData: { k: "v" } },
          { apiVersion: "v1", kind: "Service", metadata: { name: CONTROLLER_SVC, namespace: LIVE_CONTROLLER_NS }, spec: { ports: [{ name: "http", port: 8080 }] } },
          { apiVersion: "v1", kind: "Service", metadata: { name: "other-service", namespace: LIVE_CONTROLLER_NS }, spec: { ports: [{ name: "http", port: 8080 }] } },
        ],
      }));
      rendered = await template(["all-features-values.yaml"], [`controllerCert.namespace=${LIVE_CONTROLLER_NS}`]);
      // No Prometheus Operator here: everything but the ServiceMonitor is applied (its shape was checked above).
      const applied = rendered.filter((o) => o.kind !== "ServiceMonitor");
      const { stderr } = await run(c().bin("kubectl"), ["--kubeconfig", cl.kubeconfigPath, "apply", "-f", "-"], {
        input: JSON.stringify({ apiVersion: "v1", kind: "List", items: applied }),
        env: env(),
      });
      // warn=restricted: the API server would print "would violate PodSecurity" for the Deployment's template
      assert.doesNotMatch(stderr, /violate PodSecurity/i, stderr);

      // TokenRequest tokens (kubectl create token) in token kubeconfigs, inside the cluster's 0700 temp folder
      const kubeconfigFor = (sa: string) => tokenKubeconfig(cl, sa, SOURCE_NS);
      saKubeconfig = await kubeconfigFor(RELEASE);
      nobodyKubeconfig = await kubeconfigFor("nobody");
    });

    after(() => tearDownScenario({ watch, cluster, remote }));

    test("NOTES.txt (helm install --dry-run) warns when replicas > 1 run without leader election", async () => {
      const notes = async (set: string[]) =>
        (await helm(["install", "notes", CHART, "--dry-run=client", "--kubeconfig", c().kubeconfigPath, "--namespace", "default", "-f", join(CI, "default-values.yaml"), ...set.flatMap((s) => ["--set", s])])).stdout;
      assert.match(await notes(["replicaCount=2"]), /WARNING: replicaCount is 2 but leaderElection\.enabled is false/);
      assert.doesNotMatch(await notes(["replicaCount=2", "leaderElection.enabled=true"]), /WARNING/);
      assert.doesNotMatch(await notes([]), /WARNING/);
    });

    test("a Pod from the Deployment's template is admitted under PSA restricted; a non-compliant one is rejected", async () => {
      const cl = c();
      const d = find<Deployment>(rendered, "Deployment", RELEASE);
      const pod = (name: string, spec: PodSpec) =>
        JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: RELEASE_NS, labels: d.spec.template.metadata.labels }, spec });
      await cl.kubectl(["create", "-f", "-"], pod("wildseal-template", d.spec.template.spec));
      const created = JSON.parse(await cl.kubectl(["get", "pod", "wildseal-template", "-n", RELEASE_NS, "-o", "json"])) as { spec: PodSpec };
      assert.equal(created.spec.serviceAccountName, RELEASE);

      const [container] = d.spec.template.spec.containers;
      assert.ok(container);
      const bad: PodSpec = {
        ...d.spec.template.spec,
        containers: [{ ...container, securityContext: { ...container.securityContext, allowPrivilegeEscalation: true, capabilities: { drop: [] } } }],
      };
      await assert.rejects(cl.kubectl(["create", "-f", "-"], pod("wildseal-noncompliant", bad)), /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
      const rootish: PodSpec = { ...d.spec.template.spec, securityContext: { ...d.spec.template.spec.securityContext, runAsNonRoot: false, seccompProfile: undefined } };
      const rootishC: PodSpec = { ...rootish, containers: [{ ...container, securityContext: { ...container.securityContext, runAsNonRoot: false, seccompProfile: undefined } }] };
      await assert.rejects(cl.kubectl(["create", "-f", "-"], pod("wildseal-root", rootishC)), /violates PodSecurity "restricted:latest"/);
    });

    test("kubectl auth can-i --list: the ServiceAccount has the chart's rules and nothing else", async () => {
      // The baseline: what an identity without any binding gets (system:basic-user, system:discovery,
      // system:public-info-viewer, and in kube-system upstream's service-proxier bound to system:authenticated).
      const base = await canIList(RELEASE_NS, nobodyKubeconfig);
      for (const d of [
        "selfsubjectreviews.authentication.k8s.io | [] | [] | [create]",
        "selfsubjectaccessreviews.authorization.k8s.io | [] | [] | [create]",
        "selfsubjectrulesreviews.authorization.k8s.io | [] | [] | [create]",
      ]) {
        assert.ok(base.includes(d), `default rule ${d} missing from\n${base.join("\n")}`);
      }
      // everything else in the baseline is a non-resource URL (discovery, /healthz, /version …), get only
      assert.deepEqual(base.filter((r) => !r.includes("selfsubject") && !/^\[\/[^\]]*\] \| \[\] \| \[get\]$/.test(r)), [], base.join("\n"));
      /** the full list as the chart's ServiceAccount, minus the baseline of the same namespace */
      const extra = async (ns: string) => {
        const [own, nobody] = await Promise.all([canIList(ns), canIList(ns, nobodyKubeconfig)]);
        return own.filter((r) => !nobody.includes(r));
      };
      assert.deepEqual(await extra(SOURCE_NS), [
        `leases.coordination.k8s.io | [] | [] | [create]`,
        `leases.coordination.k8s.io | [] | [wildseal] | [get update]`,
        `secrets | [] | [${SOURCE_NAME}] | [get list watch]`,
      ]);
      assert.deepEqual(await extra(LIVE_CONTROLLER_NS), [
        `services | [] | [${CONTROLLER_SVC}] | [get]`,
        `services/proxy | [] | [${PROXY_NAME}] | [get]`,
      ]);
      assert.deepEqual(await extra(RELEASE_NS), [], "nothing in the release namespace");
      assert.deepEqual(await extra("default"), [], "nothing elsewhere");
      assert.deepEqual(await extra(CONTROLLER_NS), [], "nothing in kube-system (the Role went to the controller's namespace)");
      const crbs = JSON.parse(await c().kubectl(["get", "clusterrolebindings", "-o", "json"])) as { items: RoleBinding[] };
      assert.deepEqual(crbs.items.filter((b) => (b.subjects ?? []).some((s) => s.kind === "ServiceAccount" && s.name === RELEASE)).map((b) => b.metadata.name), []);
    });

    test("the token gets and watches the source Secret, and is Forbidden on everything next to it", async () => {
      for (const verb of ["get", "list", "watch"]) assert.equal(await canI([verb, `secrets/${SOURCE_NAME}`, "-n", SOURCE_NS]), "yes", verb);
      assert.equal(await canI(["get", "secrets/other-secret", "-n", SOURCE_NS]), "no");
      assert.equal(await canI(["list", "secrets", "-n", SOURCE_NS]), "no");
      assert.equal(await canI(["update", `secrets/${SOURCE_NAME}`, "-n", SOURCE_NS]), "no");
      assert.equal(await canI(["get", `secrets/${SOURCE_NAME}`, "-n", RELEASE_NS]), "no");

      const own = JSON.parse((await asSa(["get", "secret", SOURCE_NAME, "-n", SOURCE_NS, "-o", "json"])).stdout) as K8sObject;
      assert.equal(own.metadata.name, SOURCE_NAME);
      await assert.rejects(asSa(["get", "secret", "other-secret", "-n", SOURCE_NS]), /Forbidden|forbidden/);
      await assert.rejects(asSa(["get", "secrets", "-n", SOURCE_NS]), /Forbidden|forbidden/);
      // how wildseal lists and watches: the collection with fieldSelector metadata.name=<source>
      const listed = JSON.parse((await asSa(["get", "secrets", "-n", SOURCE_NS, "--field-selector", `metadata.name=${SOURCE_NAME}`, "-o", "json"])).stdout) as { items: K8sObject[] };
      assert.deepEqual(listed.items.map((s) => s.metadata.name), [SOURCE_NAME]);
      const watched = await asSa(["get", "secrets", "-n", SOURCE_NS, "--field-selector", `metadata.name=${SOURCE_NAME}`, "--watch-only", "--request-timeout=2s", "-o", "name"]).then(
        () => "ended",
        (e: Error) => e.message,
      );
      assert.doesNotMatch(watched, /Forbidden|forbidden/, "the field-selected watch is authorized");
    });

    test("Lease and service proxy: only the named objects", async () => {
      assert.equal(await canI(["create", "leases.coordination.k8s.io", "-n", SOURCE_NS]), "yes");
      assert.equal(await canI(["update", "leases.coordination.k8s.io/wildseal", "-n", SOURCE_NS]), "yes");
      assert.equal(await canI(["update", "leases.coordination.k8s.io/someone-else", "-n", SOURCE_NS]), "no");
      assert.equal(await canI(["delete", "leases.coordination.k8s.io/wildseal", "-n", SOURCE_NS]), "no");
      assert.equal(await canI(["create", "leases.coordination.k8s.io", "-n", RELEASE_NS]), "no");

      // The exact path wildseal requests (sealing-cert-fetch.ts): authorization passes, then the proxy finds no
      // endpoints (NotFound) — nothing runs behind the Service here. Any other Service is Forbidden before that.
      const proxied = (svc: string) =>
        asSa(["get", "--raw", `/api/v1/namespaces/${LIVE_CONTROLLER_NS}/services/http:${svc}:http/proxy/v1/cert.pem`]).then(
          () => "ok",
          (e: Error) => e.message,
        );
      const ours = await proxied(CONTROLLER_SVC);
      assert.doesNotMatch(ours, /Forbidden|forbidden/, ours);
      assert.match(ours, /NotFound|ServiceUnavailable|no endpoints|503/i, ours);
      assert.match(await proxied("other-service"), /Forbidden|forbidden/);
      const svc = JSON.parse((await asSa(["get", "service", CONTROLLER_SVC, "-n", LIVE_CONTROLLER_NS, "-o", "json"])).stdout) as K8sObject;
      assert.equal(svc.metadata.name, CONTROLLER_SVC);
      await assert.rejects(asSa(["get", "service", "other-service", "-n", LIVE_CONTROLLER_NS]), /Forbidden|forbidden/);
    });

    /** the current source leaf as the chart-driven watch must publish it */
    let ca: GeneratedCertificate | undefined;
    let watchLog = "";
    const sealedOf = (tenant: string) => remoteFile(r().path, "main", `rendered/e2e/${tenant}/sealed-secret.yaml`);
    const r = (): BareRemote => {
      assert.ok(remote, "the remote was not made");
      return remote;
    };
    /** writes a fresh *.example.com leaf into the source Secret; returns its SHA-256 as wildseal annotates it */
    const renewSource = async (): Promise<string> => {
      ca ??= await generateCa();
      const notBefore = new Date(Date.now() - 86_400_000);
      const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com"], notBefore, notAfter: new Date(notBefore.getTime() + 90 * 86_400_000) });
      const secret = tlsSecretOf(leaf, { namespace: SOURCE_NS, name: SOURCE_NAME });
      await c().kubectl(["replace", "-f", "-"], JSON.stringify(secretManifestObject(secret)));
      return validateTlsSecret(secret, { source: "chart e2e certificate" }).leaf.sha256;
    };
    /** waits for a commit by wildseal (not the person) at the tip of main carrying `action` */
    const waitForWildsealCommit = (action: string, done: () => boolean) =>
      waitForCommit({ remote: () => r().path, process: () => watch, log: () => watchLog }, action, done);

    test("wildseal watch, run with the rendered container's args and env and the ServiceAccount's token, pushes", async (t) => {
      const cl = c();
      // a valid wildcard certificate in the source Secret (it held placeholders so far)
      const firstSha = await renewSource();
      const sealing = await generateSealingKeyPair();
      remote = makeBareRemote({
        files: {
          "wildseal.yaml": `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: chart}
spec:
  source: {namespace: ${SOURCE_NS}, name: ${SOURCE_NAME}}
  clusters:
    - name: e2e
      sealingCert: clusters/e2e/sealed-secrets.pem
  defaults: {secretName: wildcard-tls, scope: strict}
`,
          "clusters/e2e/sealed-secrets.pem": sealing.certPem,
          "tenants/acme.yaml": tenantYaml("acme"),
        },
      });

      // the chart rendered for this remote: push mode, leader election, token and webhook Secrets mounted
      const objs = await template(["default-values.yaml"], [
        `git.repo=${remote.path}`, "leaderElection.enabled=true", "interval=1s", "debounce=200ms",
        "git.credentials.existingSecret=wildseal-git", "webhook.secretRef.name=wildseal-webhook",
      ]);
      const pod = find<Deployment>(objs, "Deployment", RELEASE).spec.template.spec;
      const [container] = pod.containers;
      assert.ok(container);
      const root = join(cl.tmpDir, "pod-root");
      const secretContent: Record<string, string> = { "wildseal-git": "token-a-local-remote-ignores", "wildseal-webhook": "webhook-hmac-secret" };
      const port = await freePort();
      const { args, env: podEnv } = podProcess(pod, root, secretContent, port);
      assert.ok(args.includes("--leader-elect") && args.some((a) => a.startsWith(`--webhook-secret-file=${root}/var/run/secrets/wildseal/webhook/`)), args.join(" "));
      assert.equal(podEnv["WILDSEAL_GIT_TOKEN_FILE"], join(root, "/var/run/secrets/wildseal/git/token"));

      watchLog = join(cl.tmpDir, "logs", "chart-wildseal-watch.log");
      const t0 = Date.now();
      watch = spawnChartWatch("wildseal watch (chart)", { args, env: podEnv }, saKubeconfig, watchLog);
      const readyz = () => readyzOn(port);
      await waitForWildsealCommit("add", () => sealedOf("acme") !== undefined);
      await waitFor(`/readyz 200; watch log:\n${tailOf(watchLog)}`, async () => ((await readyz()) === 200 ? true : undefined), 30_000);
      t.diagnostic(`wildseal watch start → /readyz 200 with the push on the remote: ${Date.now() - t0} ms`);
      assert.match(sealedOf("acme") ?? "", /kind: SealedSecret/);
      assert.match(sealedOf("acme") ?? "", new RegExp(`wildseal.dev/cert-sha256: "?${firstSha}`));
      // the Lease was taken with the chart's Role (create, then get/update by name)
      const lease = JSON.parse(await cl.kubectl(["get", "lease", "wildseal", "-n", SOURCE_NS, "-o", "json"])) as { spec: { holderIdentity?: string } };
      assert.ok(lease.spec.holderIdentity, "the Lease has a holder");
    });

    test("renewal through the chart-driven watch: a new leaf in the source Secret → a renew commit", async (t) => {
      const t0 = Date.now();
      const sha = await renewSource();
      const annotated = new RegExp(`wildseal.dev/cert-sha256: "?${sha}`);
      await waitForWildsealCommit("renew", () => annotated.test(sealedOf("acme") ?? ""));
      t.diagnostic(`source Secret replaced → renew commit on the remote: ${Date.now() - t0} ms`);
    });

    test("tenant add and tenant removal by a person's commit go through the chart-driven watch", async (t) => {
      let t0 = Date.now();
      pushAsPerson(r().path, "main", { "tenants/beta.yaml": tenantYaml("beta") }, "onboard beta");
      await waitForWildsealCommit("add", () => sealedOf("beta") !== undefined);
      t.diagnostic(`tenant file pushed → add commit: ${Date.now() - t0} ms`);
      t0 = Date.now();
      pushAsPerson(r().path, "main", { "tenants/acme.yaml": null }, "offboard acme");
      await waitForWildsealCommit("remove", () => sealedOf("acme") === undefined);
      t.diagnostic(`tenant file deleted → remove commit: ${Date.now() - t0} ms`);
      assert.match(sealedOf("beta") ?? "", /kind: SealedSecret/, "the other tenant stays");
    });

    test("the chart-driven watch logged no RBAC denial and no secret, and stops on SIGTERM with exit 0", async () => {
      assert.ok(watch, "the watch was not started");
      const logText = tailOf(watchLog, 2_000);
      assert.doesNotMatch(logText, /Forbidden|forbidden/, "no RBAC denial in the watch log");
      assert.ok(!logText.includes("token-a-local-remote-ignores") && !logText.includes("webhook-hmac-secret"), "no secret in the log");
      await stopManaged(watch);
      assert.equal(await watch.exited, 0, `SIGTERM → exit 0:\n${tailOf(watchLog)}`);
    });
  });
});
