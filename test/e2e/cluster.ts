import { KubeConfig } from "@kubernetes/client-node";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { dumpYaml } from "../../src/yaml/dump.ts";
import { FLUX_BINARIES, FLUX_NAMESPACE, fluxCommands, spawnFluxController, type FluxControllers } from "./flux.ts";
import { generateClusterPki } from "./pki.ts";
import { processesInGroup, run, spawnManaged, stopManaged, tailOf, type ManagedProcess } from "./processes.ts";

/**
 * A real, throw-away Kubernetes control plane for the e2e suite: etcd and kube-apiserver on 127.0.0.1 (free
 * ports chosen at run time, RBAC, ServiceAccount issuer), the SealedSecret CRD from the controller's module, and
 * the real sealed-secrets controller running outside the cluster with a TokenRequest token; on request
 * kube-controller-manager (garbage collector, namespaces) and Flux's source- and kustomize-controller. Everything lives in a
 * private temp folder that stop() removes, after checking that no process of the cluster is left.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const SETUP = join(HERE, "setup");
const CONTROLLER_RBAC = join(HERE, "manifests", "controller-rbac.yaml");
export const CONTROLLER_NAMESPACE = "kube-system";
export const CONTROLLER_NAME = "sealed-secrets-controller";

export interface StartClusterOptions {
  /** folder with kube-apiserver, etcd, controller, kubeseal, sealedsecrets.crd.yaml; default: run test/e2e/setup */
  binDir?: string;
  /** start the sealed-secrets controller (default true) */
  controller?: boolean;
  /**
   * run kube-controller-manager with only the garbage collector and the namespace controller (default false):
   * without it a Secret owned by a deleted SealedSecret is never removed, and deleted namespaces stay Terminating
   */
  controllerManager?: boolean;
  /**
   * run Flux's source-controller and kustomize-controller (default false), after installing their CRDs
   * (bin/flux-crds) and the flux-system namespace; see flux.ts
   */
  flux?: boolean;
  /** extra controller flags, e.g. ["--key-renew-period=0"] */
  controllerArgs?: readonly string[];
  /** keep process logs here instead of inside the temp folder (which stop() removes) */
  logDir?: string;
  /** how long each component may take to become ready (default 120 s) */
  readyTimeoutMs?: number;
}

export interface Cluster {
  /** admin kubeconfig (client certificate CN=admin, O=system:masters) */
  readonly kubeconfigPath: string;
  readonly apiserverUrl: string;
  readonly adminKubeConfig: KubeConfig;
  /** the controller's HTTP endpoint (/healthz, /v1/cert.pem), or undefined when it was not started */
  readonly controllerUrl: string | undefined;
  /** the Flux controllers, when started with `flux: true` */
  readonly flux: FluxControllers | undefined;
  readonly binDir: string;
  /** the cluster's private temp folder (removed by stop) */
  readonly tmpDir: string;
  /** path of a binary: kube-apiserver, etcd, controller, kubeseal, kubectl (PATH's kubectl when none was built) */
  bin(name: "kube-apiserver" | "etcd" | "controller" | "kubeseal" | "kubectl" | "kube-controller-manager" | "source-controller" | "kustomize-controller"): string;
  /** runs kubectl as admin against this cluster; resolves with stdout */
  kubectl(args: readonly string[], input?: string): Promise<string>;
  /** process-group ids of every component ever started (for stray-process checks after stop) */
  processGroups(): number[];
  /** stops and starts kube-apiserver on the same port with the same identity and keys */
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs test/e2e/setup (idempotent, cached) and returns the bin folder it prints. */
export async function ensureBinaries(): Promise<string> {
  if (process.env["WILDSEAL_E2E_BIN"]) return process.env["WILDSEAL_E2E_BIN"];
  return new Promise((resolve, reject) => {
    const child = execFile("bash", [SETUP], { maxBuffer: 1 << 20, timeout: 85 * 60_000 }, (err, stdout) => {
      if (err) reject(new Error(`test/e2e/setup failed: ${err.message}`));
      else resolve(stdout.trim().split("\n").at(-1) ?? "");
    });
    child.stderr?.pipe(process.stderr);
  });
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const s = createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => resolve(s));
      }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === "string") throw new Error("no port");
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** `ca: "insecure"` skips verification (kube-controller-manager's self-signed serving certificate, /healthz only) */
function get(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const tls = ca === "insecure" ? { rejectUnauthorized: false } : { ca };
    const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(url, { ...tls, timeout: 3_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitReady(
  p: ManagedProcess,
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (p.hasExited()) throw new Error(`${p.name} exited before ${what}; log ${p.logPath}:\n${tailOf(p.logPath)}`);
    try {
      if (await probe()) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${p.name}: ${what} not reached in ${timeoutMs} ms (${last}); log ${p.logPath}:\n${tailOf(p.logPath)}`);
}

// The controller only knows in-cluster config, read from this fixed path (client-go rest.InClusterConfig, no
// override). It runs in its own mount namespace, where the folder holding our token and CA is bind-mounted
// there; the host's /run is untouched. If the path's parent does not exist, a tmpfs is mounted over the
// nearest existing parent inside that namespace only, so nothing is created on the host.
const IN_CLUSTER_MOUNT = `set -eu
sa=/var/run/secrets/kubernetes.io/serviceaccount
if [ ! -d "$sa" ]; then
  if [ -d /var/run/secrets ]; then top=/var/run/secrets; else top=/var/run; fi
  mount -t tmpfs -o mode=0755,size=1m wildseal-e2e "$top"
  mkdir -p "$sa"
fi
mount --bind "$1" "$sa"
shift
exec "$@"`;

function kubeconfigYaml(server: string, caPem: string, certPem: string, keyPem: string): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return dumpYaml({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "e2e", cluster: { server, "certificate-authority-data": b64(caPem) } }],
    users: [{ name: "admin", user: { "client-certificate-data": b64(certPem), "client-key-data": b64(keyPem) } }],
    contexts: [{ name: "e2e", context: { cluster: "e2e", user: "admin" } }],
    "current-context": "e2e",
  });
}

export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const binDir = opts.binDir ?? (await ensureBinaries());
  for (const b of ["kube-apiserver", "etcd", "controller", "kubeseal", "sealedsecrets.crd.yaml", ...(opts.controllerManager ? ["kube-controller-manager"] : []), ...(opts.flux ? FLUX_BINARIES : [])]) {
    if (!existsSync(join(binDir, b))) throw new Error(`${join(binDir, b)} is missing: run test/e2e/setup`);
  }
  const timeout = opts.readyTimeoutMs ?? 120_000;
  const tmpDir = mkdtempSync(join(tmpdir(), "wildseal-e2e-"));
  const logDir = opts.logDir ?? join(tmpDir, "logs");
  for (const d of [logDir, join(tmpDir, "pki"), join(tmpDir, "sa"), join(tmpDir, "etcd"), join(tmpDir, "kcm")]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const file = (rel: string, content: string) => {
    const p = join(tmpDir, rel);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };
  const bin = (name: string) =>
    name === "kubectl" && !existsSync(join(binDir, "kubectl")) ? "kubectl" : join(binDir, name);

  const started: ManagedProcess[] = [];
  const groups: number[] = [];
  const track = (p: ManagedProcess) => {
    started.push(p);
    groups.push(p.pid);
    return p;
  };
  let apiserver: ManagedProcess | undefined;
  let stopped = false;

  const stopAll = async () => {
    const errors: string[] = [];
    for (const p of [...started].reverse()) {
      try {
        await stopManaged(p);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    started.length = 0;
    const strays = groups.flatMap((g) => processesInGroup(g));
    if (strays.length > 0) errors.push(`stray processes after stop: ${strays.join(", ")}`);
    rmSync(tmpDir, { recursive: true, force: true });
    if (errors.length > 0) throw new Error(errors.join("\n"));
  };

  try {
    const pki = await generateClusterPki();
    const caFile = file("pki/ca.crt", pki.caPem);
    const [etcdPort, etcdPeerPort, apiPort, ctlPort, ctlMetricsPort, kcmPort] = (await freePorts(6)) as [number, number, number, number, number, number];
    const apiserverUrl = `https://127.0.0.1:${apiPort}`;
    const baseEnv = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: tmpDir };

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = track(
      spawnManaged("etcd", bin("etcd"), [
        "--name=e2e",
        `--data-dir=${join(tmpDir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=e2e=http://127.0.0.1:${etcdPeerPort}`,
        "--unsafe-no-fsync",
        "--log-level=warn",
      ], { env: baseEnv, logPath: join(logDir, "etcd.log") }),
    );
    await waitReady(etcd, "/health", timeout, async () => {
      const r = await get(`${etcdUrl}/health`);
      return r.status === 200 && JSON.parse(r.body).health === "true";
    });

    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(tmpDir, "pki")}`,
      `--tls-cert-file=${file("pki/apiserver.crt", pki.serving.certPem)}`,
      `--tls-private-key-file=${file("pki/apiserver.key", pki.serving.keyPem)}`,
      `--client-ca-file=${caFile}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      // no controller-manager creates the "default" ServiceAccounts that this admission plugin insists on
      "--disable-admission-plugins=ServiceAccount",
      `--service-account-issuer=${apiserverUrl}`,
      `--service-account-key-file=${file("pki/sa.pub", pki.serviceAccount.publicKeyPem)}`,
      `--service-account-signing-key-file=${file("pki/sa.key", pki.serviceAccount.privateKeyPem)}`,
      "--profiling=false",
      // Without this, open watches (the controller's) hold a graceful stop for the full 60 s server shutdown
      // timeout; with it the apiserver ends them and exits in about a second.
      "--shutdown-watch-termination-grace-period=2s",
    ];
    const startApiserver = async () => {
      apiserver = track(spawnManaged("kube-apiserver", bin("kube-apiserver"), apiserverArgs, { env: baseEnv, logPath: join(logDir, "kube-apiserver.log") }));
      const p = apiserver;
      await waitReady(p, "/readyz", timeout, async () => (await get(`${apiserverUrl}/readyz`, pki.caPem)).status === 200);
    };
    await startApiserver();

    const kubeconfigPath = file("admin.kubeconfig", kubeconfigYaml(apiserverUrl, pki.caPem, pki.admin.certPem, pki.admin.keyPem));
    const kubectl = async (args: readonly string[], input?: string) =>
      (await run(bin("kubectl"), ["--kubeconfig", kubeconfigPath, ...args], { input, env: { ...baseEnv, KUBECONFIG: kubeconfigPath } })).stdout;

    await kubectl(["apply", "-f", join(binDir, "sealedsecrets.crd.yaml"), "-f", CONTROLLER_RBAC]);
    await kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd/sealedsecrets.bitnami.com"]);

    if (opts.controllerManager) {
      const kcm = track(
        spawnManaged("kube-controller-manager", bin("kube-controller-manager"), [
          `--kubeconfig=${kubeconfigPath}`,
          `--authentication-kubeconfig=${kubeconfigPath}`,
          `--authorization-kubeconfig=${kubeconfigPath}`,
          // no Nodes, Pods or token controller here: only ownerReference GC and namespace deletion
          "--controllers=garbagecollector,namespace",
          "--leader-elect=false",
          "--use-service-account-credentials=false",
          "--bind-address=127.0.0.1",
          `--secure-port=${kcmPort}`,
          `--cert-dir=${join(tmpDir, "kcm")}`,
          "--profiling=false",
        ], { env: baseEnv, logPath: join(logDir, "kube-controller-manager.log") }),
      );
      await waitReady(kcm, "/healthz", timeout, async () => (await get(`https://127.0.0.1:${kcmPort}/healthz`, "insecure")).status === 200);
    }

    let controllerUrl: string | undefined;
    if (opts.controller !== false) {
      const token = (await kubectl(["create", "token", CONTROLLER_NAME, "-n", CONTROLLER_NAMESPACE, "--duration=24h"])).trim();
      file("sa/token", token);
      file("sa/ca.crt", pki.caPem);
      file("sa/namespace", CONTROLLER_NAMESPACE);
      controllerUrl = `http://127.0.0.1:${ctlPort}`;
      const controller = track(
        spawnManaged("controller", "unshare", [
          "--mount", "--propagation", "private", "sh", "-c", IN_CLUSTER_MOUNT, "sh", join(tmpDir, "sa"),
          bin("controller"),
          `--listen-addr=127.0.0.1:${ctlPort}`,
          `--listen-metrics-addr=127.0.0.1:${ctlMetricsPort}`,
          ...(opts.controllerArgs ?? []),
        ], {
          env: { ...baseEnv, KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(apiPort), POD_NAMESPACE: CONTROLLER_NAMESPACE },
          logPath: join(logDir, "controller.log"),
        }),
      );
      const url = controllerUrl;
      await waitReady(controller, "/v1/cert.pem", timeout, async () => {
        const r = await get(`${url}/v1/cert.pem`);
        return r.status === 200 && r.body.includes("BEGIN CERTIFICATE");
      });
    }

    let flux: FluxControllers | undefined;
    if (opts.flux) {
      // every CRD both controllers watch: source-controller starts reconcilers for GitRepository, HelmRepository,
      // HelmChart, Bucket and OCIRepository and exits when one of their kinds is not served
      const crds = join(binDir, "flux-crds");
      await kubectl(["apply", "--server-side", "-f", crds]);
      await kubectl(["wait", "--for=condition=Established", "--timeout=60s", "-f", crds]);
      await kubectl(["create", "namespace", FLUX_NAMESPACE]);
      const [sourceMetrics, sourceHealth, storage, kustomizeMetrics, kustomizeHealth] = (await freePorts(5)) as [number, number, number, number, number];
      const storagePath = join(tmpDir, "flux-storage");
      mkdirSync(storagePath, { mode: 0o700 });
      const procs: ManagedProcess[] = [];
      for (const cmd of fluxCommands({ binDir, kubeconfigPath, storagePath, env: baseEnv, ports: { sourceMetrics, sourceHealth, storage, kustomizeMetrics, kustomizeHealth } })) {
        const p = track(spawnFluxController(cmd, logDir));
        procs.push(p);
        await waitReady(p, "/readyz", timeout, async () => (await get(cmd.healthUrl)).status === 200);
      }
      const [sourceController, kustomizeController] = procs as [ManagedProcess, ManagedProcess];
      flux = { sourceController, kustomizeController, storageUrl: `http://127.0.0.1:${storage}` };
    }

    const adminKubeConfig = new KubeConfig();
    adminKubeConfig.loadFromFile(kubeconfigPath);

    return {
      kubeconfigPath,
      apiserverUrl,
      adminKubeConfig,
      controllerUrl,
      flux,
      binDir,
      tmpDir,
      bin,
      kubectl,
      processGroups: () => [...groups],
      async restartApiserver() {
        if (stopped) throw new Error("cluster is stopped");
        if (apiserver) {
          const old = apiserver;
          await stopManaged(old);
          started.splice(started.indexOf(old), 1);
        }
        await startApiserver();
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
  } catch (e) {
    try {
      await stopAll();
    } catch (cleanup) {
      throw new Error(`${(e as Error).message}\n(cleanup also failed: ${(cleanup as Error).message})`);
    }
    throw e;
  }
}

/**
 * The end of a scenario: the wildseal process (when still running), then the cluster, then the remote,
 * each even when the step before it failed.
 */
export async function tearDownScenario(parts: { watch: ManagedProcess | undefined; cluster: Cluster | undefined; remote: { cleanup(): void } | undefined }): Promise<void> {
  try {
    if (parts.watch !== undefined && processesInGroup(parts.watch.pid).length > 0) await stopManaged(parts.watch);
  } finally {
    try {
      await parts.cluster?.stop();
    } finally {
      parts.remote?.cleanup();
    }
  }
}
