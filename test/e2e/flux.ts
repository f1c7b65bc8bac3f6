import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadAll } from "js-yaml";
import { spawnManaged, waitFor, type ManagedProcess } from "./processes.ts";

/**
 * The real Flux controllers for the e2e suite (issue 14): source-controller and kustomize-controller v1.9.6, built
 * by test/e2e/setup from their Go modules, run as processes next to kube-apiserver (admin kubeconfig through
 * KUBECONFIG: neither has a --kubeconfig flag), each with its own metrics/health ports on 127.0.0.1.
 * source-controller serves artifacts from a folder in the cluster's temp folder at 127.0.0.1:<port> and advertises
 * that address, which is where kustomize-controller downloads them. No leader election (the default is off).
 *
 * Also: the objects of examples/flux/ with only what a user changes substituted, and `flux reconcile` done the way
 * the flux CLI does it (the `reconcile.fluxcd.io/requestedAt` annotation, then waiting for
 * status.lastHandledReconcileAt to echo it).
 */

const REPO_ROOT = resolve(import.meta.dirname, "..", "..");
export const FLUX_NAMESPACE = "flux-system";
export const FLUX_BINARIES = ["source-controller", "kustomize-controller", "flux-crds"] as const;
/** what `flux reconcile` sets (github.com/fluxcd/pkg/apis/meta ReconcileRequestAnnotation) */
export const RECONCILE_ANNOTATION = "reconcile.fluxcd.io/requestedAt";

export interface FluxControllers {
  readonly sourceController: ManagedProcess;
  readonly kustomizeController: ManagedProcess;
  /** source-controller's artifact server, http://127.0.0.1:<port> */
  readonly storageUrl: string;
}

export interface FluxPorts {
  sourceMetrics: number;
  sourceHealth: number;
  storage: number;
  kustomizeMetrics: number;
  kustomizeHealth: number;
}

/** arguments and environment of the two controllers (the caller spawns, tracks and waits for /readyz) */
export function fluxCommands(o: {
  binDir: string;
  kubeconfigPath: string;
  storagePath: string;
  ports: FluxPorts;
  env: NodeJS.ProcessEnv;
}): { name: "source-controller" | "kustomize-controller"; command: string; args: string[]; env: NodeJS.ProcessEnv; healthUrl: string }[] {
  const env = { ...o.env, KUBECONFIG: o.kubeconfigPath, RUNTIME_NAMESPACE: FLUX_NAMESPACE };
  const p = o.ports;
  const common = ["--log-encoding=json", "--log-level=info"];
  return [
    {
      name: "source-controller",
      command: join(o.binDir, "source-controller"),
      args: [
        ...common,
        `--metrics-addr=127.0.0.1:${p.sourceMetrics}`,
        `--health-addr=127.0.0.1:${p.sourceHealth}`,
        `--storage-path=${o.storagePath}`,
        `--storage-addr=127.0.0.1:${p.storage}`,
        `--storage-adv-addr=127.0.0.1:${p.storage}`,
      ],
      env,
      healthUrl: `http://127.0.0.1:${p.sourceHealth}/readyz`,
    },
    {
      name: "kustomize-controller",
      command: join(o.binDir, "kustomize-controller"),
      args: [...common, `--metrics-addr=127.0.0.1:${p.kustomizeMetrics}`, `--health-addr=127.0.0.1:${p.kustomizeHealth}`],
      // the artifact URL already names 127.0.0.1:<port>; set anyway, as an in-cluster install would not
      env: { ...env, SOURCE_CONTROLLER_LOCALHOST: `127.0.0.1:${p.storage}` },
      healthUrl: `http://127.0.0.1:${p.kustomizeHealth}/readyz`,
    },
  ];
}

export function spawnFluxController(c: ReturnType<typeof fluxCommands>[number], logDir: string): ManagedProcess {
  return spawnManaged(c.name, c.command, c.args, { env: c.env, logPath: join(logDir, `${c.name}.log`) });
}

// ---- examples/flux/ with the user's substitutions -------------------------------------------------------------

export interface FluxObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: FluxStatus;
}

export interface FluxCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface FluxStatus {
  conditions?: FluxCondition[];
  observedGeneration?: number;
  lastHandledReconcileAt?: string;
  /** GitRepository */
  artifact?: { revision: string; url: string; digest?: string };
  /** Kustomization */
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  inventory?: { entries: { id: string; v: string }[] };
}

function exampleDocs(rel: string): FluxObject[] {
  return (loadAll(readFileSync(join(REPO_ROOT, "examples", "flux", rel), "utf8")) as unknown[]).filter((d) => d != null) as FluxObject[];
}

/**
 * examples/flux/gitrepository.yaml and clusters/prod-east/kustomizations.yaml, changed only where their comments
 * and examples/flux/README.md tell a user to: the GitRepository's url, the cluster's name and path (the
 * Kustomization for rendered/<cluster>), and the intervals. Everything else (secretRef, ignore, prune, wait,
 * timeout, dependsOn, retryInterval) is the example's. Fails if the example no longer has the shape relied on.
 */
export function fluxExampleObjects(o: { url: string; clusterName: string; interval: string }): {
  gitRepository: FluxObject;
  kustomizations: FluxObject[];
  /** the Kustomization for rendered/<clusterName> */
  wildseal: FluxObject;
  /** the Secret name spec.secretRef names (the example's) */
  authSecretName: string;
} {
  const [gitRepository, ...restGit] = exampleDocs("gitrepository.yaml");
  assert.ok(gitRepository && restGit.length === 0 && gitRepository.kind === "GitRepository", "examples/flux/gitrepository.yaml: one GitRepository");
  assert.equal(typeof gitRepository.spec["url"], "string");
  gitRepository.spec["url"] = o.url;
  gitRepository.spec["interval"] = o.interval;
  const secretRef = gitRepository.spec["secretRef"] as { name?: string } | undefined;
  assert.ok(secretRef?.name, "the example GitRepository names a secretRef");

  const example = "prod-east";
  const kustomizations = exampleDocs(join("clusters", example, "kustomizations.yaml"));
  assert.ok(kustomizations.every((k) => k.kind === "Kustomization"), `clusters/${example}: Kustomizations only`);
  const wildseal = kustomizations.find((k) => k.spec["path"] === `./rendered/${example}`);
  assert.ok(wildseal, `clusters/${example}/kustomizations.yaml has a Kustomization for ./rendered/${example}`);
  assert.equal(wildseal.metadata.name, `wildseal-${example}`);
  assert.equal(wildseal.spec["prune"], true, "the example prunes");
  wildseal.metadata.name = `wildseal-${o.clusterName}`;
  wildseal.spec["path"] = `./rendered/${o.clusterName}`;
  for (const k of kustomizations) {
    assert.equal((k.spec["sourceRef"] as { name?: string }).name, gitRepository.metadata.name, `${k.metadata.name}: sourceRef`);
    k.spec["interval"] = o.interval;
  }
  return { gitRepository, kustomizations, wildseal, authSecretName: secretRef.name };
}

// ---- status and `flux reconcile` ------------------------------------------------------------------------------

type Kubectl = (args: readonly string[], input?: string) => Promise<string>;

export async function getFlux(kubectl: Kubectl, kind: "gitrepository" | "kustomization", name: string): Promise<FluxObject> {
  return JSON.parse(await kubectl(["get", `${kind}.${kind === "gitrepository" ? "source" : "kustomize"}.toolkit.fluxcd.io`, name, "-n", FLUX_NAMESPACE, "-o", "json"])) as FluxObject;
}

export function readyOf(o: FluxObject): FluxCondition | undefined {
  return o.status?.conditions?.find((c) => c.type === "Ready");
}

function describeStatus(o: FluxObject): string {
  const r = readyOf(o);
  const s = o.status ?? {};
  return `${o.kind} ${o.metadata.name}: Ready=${r?.status ?? "?"} ${r?.reason ?? ""} "${r?.message ?? ""}", lastHandledReconcileAt=${s.lastHandledReconcileAt ?? "-"}, artifact=${s.artifact?.revision ?? "-"}, lastAppliedRevision=${s.lastAppliedRevision ?? "-"}, lastAttemptedRevision=${s.lastAttemptedRevision ?? "-"}`;
}

/**
 * Waits until `kind/name` is Ready=True for its current generation and `accept` holds; the error on timeout
 * quotes the last status seen.
 */
export async function waitForFlux(
  kubectl: Kubectl,
  kind: "gitrepository" | "kustomization",
  name: string,
  what: string,
  accept: (o: FluxObject) => boolean,
  ms = 120_000,
  /** collects the distinct Ready reasons seen while waiting (e.g. DependencyNotReady) */
  seen?: Set<string>,
): Promise<FluxObject> {
  return waitFor(`${kind}/${name}: ${what}`, async () => {
    const o = await getFlux(kubectl, kind, name);
    const ready = readyOf(o);
    if (ready?.reason) seen?.add(`${ready.status}/${ready.reason}`);
    const current = o.status?.observedGeneration === (o.metadata as { generation?: number }).generation;
    if (ready?.status === "True" && current && accept(o)) return o;
    throw new Error(describeStatus(o));
  }, ms);
}

/**
 * What `flux reconcile <kind> <name>` does: sets reconcile.fluxcd.io/requestedAt to now (RFC 3339, as the CLI),
 * then waits for status.lastHandledReconcileAt to equal it with Ready=True and `accept` holding.
 */
export async function reconcile(
  kubectl: Kubectl,
  kind: "gitrepository" | "kustomization",
  name: string,
  accept: (o: FluxObject) => boolean = () => true,
  ms = 120_000,
  seen?: Set<string>,
): Promise<FluxObject> {
  const requestedAt = new Date().toISOString();
  await kubectl(["annotate", "--overwrite", "-n", FLUX_NAMESPACE, `${kind}.${kind === "gitrepository" ? "source" : "kustomize"}.toolkit.fluxcd.io/${name}`, `${RECONCILE_ANNOTATION}=${requestedAt}`]);
  return waitForFlux(kubectl, kind, name, `reconcile requested at ${requestedAt} handled`, (o) => o.status?.lastHandledReconcileAt === requestedAt && accept(o), ms, seen);
}

/** Flux's revision string for a Git branch commit (source-controller v1 artifact, Kustomization lastAppliedRevision) */
export const gitRevision = (branch: string, sha: string): string => `${branch}@sha1:${sha}`;
