import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { loadAll } from "js-yaml";
import type { Cluster } from "./cluster.ts";
import { PERSON, remoteLog, type LoggedCommit } from "../helpers/git-fixtures.ts";
import { run, spawnManaged, tailOf, waitFor, type ManagedProcess } from "./processes.ts";

// What the chart e2e files (chart.test.ts, chart-certificates.test.ts) share: helm on the chart, the rendered
// objects' shapes, a TokenRequest kubeconfig for the chart's ServiceAccount, and `wildseal watch` run as a local
// process from the rendered container (its args and env, Secret volumes written under a private root).

export const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
export const CHART = join(REPO_ROOT, "deploy", "helm", "wildseal");
export const CI = join(CHART, "ci");
export const RELEASE = "wildseal";
export const RELEASE_NS = "wildseal";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}
export interface Role extends K8sObject {
  rules: PolicyRule[];
}
export interface RoleBinding extends K8sObject {
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
export interface Container {
  name: string;
  image: string;
  args: string[];
  env: EnvVar[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
export interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: { name: string; emptyDir?: Record<string, unknown>; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
  [k: string]: unknown;
}
export interface Deployment extends K8sObject {
  spec: { replicas: number; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

/** helm from `binDir()` (read at each call: the folder is only known once setup ran) with private, empty homes */
export function chartTools(binDir: () => string) {
  const helmBin = () => join(binDir(), "helm");
  const helm = (args: readonly string[]) => run(helmBin(), args, { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: "/nonexistent", HELM_CACHE_HOME: "/tmp/wildseal-helm-cache", HELM_CONFIG_HOME: "/tmp/wildseal-helm-config", HELM_DATA_HOME: "/tmp/wildseal-helm-data" } });
  /** `helm template` with ci/ values files (by name) and --set values; the rendered objects */
  const template = async (valuesFiles: readonly string[], set: readonly string[] = []): Promise<K8sObject[]> => {
    const { stdout } = await helm([
      "template", RELEASE, CHART, "--namespace", RELEASE_NS,
      ...valuesFiles.flatMap((f) => ["-f", join(CI, f)]),
      ...set.flatMap((s) => ["--set", s]),
    ]);
    return (loadAll(stdout) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null && typeof o === "object");
  };
  return { helmBin, helm, template };
}

export const find = <T extends K8sObject>(objs: readonly K8sObject[], kind: string, name: string, namespace?: string): T => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name && (namespace === undefined || x.metadata.namespace === namespace));
  assert.ok(o, `rendered chart has no ${kind} ${namespace ?? "*"}/${name}; it has ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")}`);
  return o as T;
};

/**
 * A TokenRequest token (kubectl create token) for ServiceAccount `sa` of `RELEASE_NS` in a token kubeconfig
 * whose context namespace is `contextNamespace`, written into the cluster's 0700 temp folder; returns its path.
 */
export async function tokenKubeconfig(cl: Cluster, sa: string, contextNamespace: string, fileName = `chart-sa-${sa}.kubeconfig`): Promise<string> {
  const token = (await cl.kubectl(["create", "token", sa, "-n", RELEASE_NS, "--duration=1h"])).trim();
  const admin = cl.adminKubeConfig.getCurrentCluster();
  assert.ok(admin?.caData);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "e2e", server: cl.apiserverUrl, caData: admin.caData, skipTLSVerify: false }],
    users: [{ name: sa, token }],
    contexts: [{ name: sa, cluster: "e2e", user: sa, namespace: contextNamespace }],
    currentContext: sa,
  });
  const path = join(cl.tmpDir, fileName);
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}

export function freePort(): Promise<number> {
  return new Promise<number>((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => (a !== null && typeof a === "object" ? res(a.port) : rej(new Error("no port"))));
    });
  });
}

/** The rendered container as a local process: its args and env with absolute paths moved below `root`. */
export interface PodProcess {
  readonly args: string[];
  readonly env: Record<string, string>;
}

/**
 * The container's file system, under a private root: every Secret volume's items as files at their mount
 * paths (content from `secretContent` by Secret name, else "x"); absolute paths in args and env are moved below
 * that root, and `--listen=:8080` becomes 127.0.0.1:`port`.
 */
export function podProcess(pod: PodSpec, root: string, secretContent: Readonly<Record<string, string>>, port: number): PodProcess {
  const [container] = pod.containers;
  assert.ok(container);
  for (const m of container.volumeMounts) {
    const vol = pod.volumes.find((v) => v.name === m.name);
    mkdirSync(join(root, m.mountPath), { recursive: true, mode: 0o700 });
    for (const item of vol?.secret?.items ?? []) {
      const file = join(root, m.mountPath, item.path);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, `${secretContent[vol?.secret?.secretName ?? ""] ?? "x"}\n`, { mode: 0o400 });
    }
  }
  const mapPath = (v: string) => (v.startsWith("/") ? join(root, v) : v);
  const args = container.args.map((a) => {
    if (a === "--listen=:8080") return `--listen=127.0.0.1:${port}`;
    const eq = a.indexOf("=");
    return eq > 0 ? `${a.slice(0, eq + 1)}${a.startsWith("--repo=") ? a.slice(eq + 1) : mapPath(a.slice(eq + 1))}` : a;
  });
  const env = Object.fromEntries(container.env.map((e) => [e.name, mapPath(e.value ?? "")]));
  return { args, env };
}

/** `wildseal watch` (src/cli/main.ts through tsx) with the pod's args and env and `KUBECONFIG` = `kubeconfig` */
export function spawnChartWatch(name: string, pod: PodProcess, kubeconfig: string, logPath: string): ManagedProcess {
  return spawnManaged(name, process.execPath, ["--import", "tsx", join(REPO_ROOT, "src/cli/main.ts"), ...pod.args], {
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      LANG: "C.UTF-8",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_TERMINAL_PROMPT: "0",
      KUBECONFIG: kubeconfig,
      ...pod.env,
    },
    logPath,
    cwd: REPO_ROOT,
  });
}

/** GET /readyz on the watch's ops port: the status code, 0 when unreachable */
export function readyz(port: number): Promise<number> {
  return new Promise<number>((res) => {
    const req = httpRequest(`http://127.0.0.1:${port}/readyz`, { timeout: 2_000 }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => res(0));
    req.end();
  });
}

/**
 * Waits (90 s at most) for a commit by wildseal — not the person — at the tip of `remote`'s main,
 * carrying `Wildseal-Action: action`, for which `done` holds; fails at once if the watch exited,
 * with the tail of its log either way.
 */
export function waitForWildsealCommit(
  watch: { readonly remote: () => string; readonly process: () => ManagedProcess | undefined; readonly log: () => string },
  action: string,
  done: () => boolean,
): Promise<LoggedCommit> {
  return waitFor(`a wildseal "${action}" commit on main; watch log:\n${tailOf(watch.log())}`, async () => {
    assert.ok(!watch.process()?.hasExited(), `wildseal watch exited:\n${tailOf(watch.log())}`);
    const tip = remoteLog(watch.remote(), "main")[0];
    return tip && tip.author !== `${PERSON.name} <${PERSON.email}>` && tip.message.includes(`Wildseal-Action: ${action}`) && done() ? tip : undefined;
  }, 90_000);
}
