/**
 * Watches ONE Secret through the Kubernetes API and says `secret-changed` when its tls.crt/tls.key
 * bytes change.
 *
 * Built on @kubernetes/client-node 1.4 `ListWatch`, scoped by a `metadata.name` field selector to the
 * source namespace, so a Role with `resourceNames: [<name>]` (get, list, watch) is all it needs and no
 * cluster-wide Secret cache exists. ListWatch itself resumes from the last resourceVersion after a
 * clean close and relists after 410 Gone, but stops for good on any other error, and a half-open
 * connection can stay silent for minutes. So this module supervises it:
 * - every (re)start is a fresh ListWatch "generation"; callbacks from older generations are ignored
 *   (ListWatch.stop() itself fires an `error`, which must not revive anything);
 * - an error restarts with jittered exponential backoff; abandoning a generation destroys its HTTP
 *   agents, which also kills a connect that never got response headers (stop() cannot abort those);
 * - a watchdog restarts when no watch activity (event, bookmark, (re)connect) was seen for
 *   `stallTimeoutMs`; the server-side `timeoutSeconds` makes a healthy idle watch reconnect well
 *   inside that window, so silence means a dead connection;
 * - a periodic GET (level-triggered safety net) catches anything the watch machinery lost.
 */
import type { Agent } from "node:http";
import { type KubeConfig, ListWatch, type KubernetesListObject, type V1Secret } from "@kubernetes/client-node";
import type { Log } from "../log.ts";
import { backoffDelay } from "../backoff.ts";
import type { TriggerSink } from "../trigger.ts";
import type { SecretManifest } from "../tls/types.ts";
import { KubeApiError, kubeJson } from "../kube/http.ts";
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { agentTrackingConfig, BookmarkingWatch } from "../kube/watch.ts";
import { secretManifestFromApi, type SecretObjectLike } from "../kube/secret-object.ts";
import { tlsFingerprint } from "./tls-fingerprint.ts";

export interface KubernetesSecretTiming {
  /** asked of the server: it closes each watch after this long (a healthy watch then reconnects) */
  readonly watchTimeoutSeconds: number;
  /** no watch activity for this long → restart */
  readonly stallTimeoutMs: number;
  readonly watchdogIntervalMs: number;
  /** safety-net GET period; 0 disables */
  readonly resyncIntervalMs: number;
  /** deadline for each LIST and GET */
  readonly requestTimeoutMs: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number };
  /** this many watch (re)connects inside `stallTimeoutMs` means the watch ends at once: back off */
  readonly maxReconnectsPerWindow: number;
}

export const DEFAULT_KUBERNETES_SECRET_TIMING: KubernetesSecretTiming = {
  watchTimeoutSeconds: 300,
  stallTimeoutMs: 420_000,
  watchdogIntervalMs: 30_000,
  resyncIntervalMs: 600_000,
  requestTimeoutMs: 30_000,
  backoff: { initialMs: 1_000, maxMs: 60_000 },
  maxReconnectsPerWindow: 20,
};

export interface KubernetesSecretSourceOptions {
  readonly namespace: string;
  readonly name: string;
  readonly onTrigger: TriggerSink;
  readonly log: Log;
  /** default: loadKubeConfig() */
  readonly kubeConfig?: KubeConfig;
  readonly timing?: Partial<KubernetesSecretTiming>;
  readonly random?: () => number;
}

export interface KubernetesSecretSourceStats {
  readonly generation: number;
  readonly restarts: number;
  readonly resourceVersion: string | undefined;
}

export interface KubernetesSecretSource {
  /** the Secret as last seen, or undefined (not seen yet, or deleted) */
  current(): SecretManifest | undefined;
  /** resolves once the first LIST or GET has answered (the Secret may be absent) */
  synced(): Promise<void>;
  stats(): KubernetesSecretSourceStats;
  stop(): Promise<void>;
}

interface Generation {
  readonly id: number;
  readonly informer: ListWatch<V1Secret>;
  readonly agents: Set<Agent>;
  readonly startedAt: number;
}

export function startKubernetesSecretSource(options: KubernetesSecretSourceOptions): KubernetesSecretSource {
  const timing: KubernetesSecretTiming = { ...DEFAULT_KUBERNETES_SECRET_TIMING, ...options.timing };
  const random = options.random ?? Math.random;
  const kc = options.kubeConfig ?? loadKubeConfig();
  const { namespace, name, log } = options;
  const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const fieldSelector = `metadata.name=${name}`;
  const where = { namespace, name };

  let stopping = false;
  let generationId = 0;
  let generation: Generation | undefined;
  let restarts = 0;
  let attempt = 0;
  let lastActivity = Date.now();
  let reconnects: number[] = [];
  let restartTimer: NodeJS.Timeout | undefined;
  let resyncRunning = false;

  let secret: SecretManifest | undefined;
  let fingerprint: string | undefined;
  let lastRv: string | undefined;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  function observe(obj: SecretObjectLike & { metadata?: { resourceVersion?: string } }, via: string): void {
    const rv = obj.metadata?.resourceVersion;
    if (isOlder(rv, lastRv)) return; // a lagging watch must not flip the state back
    lastRv = rv ?? lastRv;
    const manifest = secretManifestFromApi(obj);
    const next = tlsFingerprint(manifest.data);
    secret = manifest;
    if (next === fingerprint) return;
    fingerprint = next;
    log.info({ ...where, resourceVersion: rv, via }, "source Secret content changed");
    options.onTrigger({ kind: "secret-changed", detail: `${namespace}/${name} resourceVersion ${rv ?? "?"}` });
  }

  function observeAbsent(via: string): void {
    if (secret === undefined) return;
    secret = undefined;
    fingerprint = undefined;
    log.warn({ ...where, via }, "source Secret is gone");
    options.onTrigger({ kind: "secret-changed", detail: `${namespace}/${name} deleted` });
  }

  function activity(): void {
    lastActivity = Date.now();
  }

  function startGeneration(): void {
    const id = ++generationId;
    const current = (): boolean => id === generationId && !stopping;
    const agents = new Set<Agent>();
    const watch = new BookmarkingWatch(agentTrackingConfig(kc, agents), timing.watchTimeoutSeconds, () => {
      if (current()) activity();
    });
    const list = async (): Promise<KubernetesListObject<V1Secret>> => {
      const body = (await kubeJson(kc, collection, {
        query: { fieldSelector },
        timeoutMs: timing.requestTimeoutMs,
      })) as KubernetesListObject<V1Secret>;
      if (current()) {
        activity();
        markSynced();
        // ListWatch diffs by resourceVersion; an empty list means the Secret is absent.
        if (body.items.length === 0) observeAbsent("list");
      }
      return body;
    };
    const informer = new ListWatch<V1Secret>(collection, watch, list, false, undefined, fieldSelector);
    informer.on("add", (obj) => current() && observe(obj as SecretObjectLike, "watch"));
    informer.on("update", (obj) => current() && observe(obj as SecretObjectLike, "watch"));
    informer.on("delete", () => current() && observeAbsent("watch"));
    informer.on("connect", () => {
      if (!current()) return;
      activity();
      const now = Date.now();
      reconnects = [...reconnects.filter((t) => now - t < timing.stallTimeoutMs), now];
      if (reconnects.length > timing.maxReconnectsPerWindow) restart("the watch keeps ending right after it starts");
    });
    informer.on("error", (err) => {
      if (current()) restart(err);
    });
    generation = { id, informer, agents, startedAt: Date.now() };
    activity();
    informer.start().catch((err: unknown) => {
      if (current()) restart(err);
    });
  }

  function abandon(g: Generation | undefined): void {
    if (!g) return;
    // stop() fires an `error` on the old informer: ignored, the generation is no longer current.
    void g.informer.stop().catch(() => undefined);
    for (const agent of g.agents) agent.destroy();
  }

  function restart(reason: unknown): void {
    if (stopping || restartTimer !== undefined) return;
    const old = generation;
    generation = undefined;
    generationId++; // late callbacks from `old` are now ignored
    abandon(old);
    reconnects = [];
    // A generation that lived a full stall window was healthy: start the backoff from scratch.
    if (old && Date.now() - old.startedAt >= timing.stallTimeoutMs) attempt = 0;
    attempt++;
    restarts++;
    const delay = backoffDelay(timing.backoff, attempt, random);
    log.warn({ ...where, error: describeError(reason), attempt, retryInMs: delay }, "Secret watch restarting");
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (!stopping) startGeneration();
    }, delay);
  }

  async function resync(): Promise<void> {
    if (resyncRunning || stopping) return;
    resyncRunning = true;
    try {
      const obj = (await kubeJson(kc, `${collection}/${encodeURIComponent(name)}`, {
        timeoutMs: timing.requestTimeoutMs,
      })) as SecretObjectLike;
      markSynced();
      if (!stopping) observe(obj, "resync");
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) {
        markSynced();
        if (!stopping) observeAbsent("resync");
      } else {
        log.warn({ ...where, error: describeError(err) }, "Secret resync GET failed");
      }
    } finally {
      resyncRunning = false;
    }
  }

  const watchdog = setInterval(() => {
    if (generation && Date.now() - lastActivity > timing.stallTimeoutMs) restart("no watch activity (stalled connection)");
  }, timing.watchdogIntervalMs);
  const resyncTimer = timing.resyncIntervalMs > 0 ? setInterval(() => void resync(), timing.resyncIntervalMs) : undefined;

  startGeneration();

  return {
    current: () => secret,
    synced: () => synced,
    stats: () => ({ generation: generationId, restarts, resourceVersion: lastRv }),
    async stop(): Promise<void> {
      if (stopping) return;
      stopping = true;
      clearInterval(watchdog);
      if (resyncTimer) clearInterval(resyncTimer);
      if (restartTimer) clearTimeout(restartTimer);
      generationId++;
      abandon(generation);
      generation = undefined;
    },
  };
}

/** resourceVersions are opaque strings; compare only when both are plain integers (etcd revisions). */
function isOlder(rv: string | undefined, than: string | undefined): boolean {
  if (rv === undefined || than === undefined || !/^\d+$/.test(rv) || !/^\d+$/.test(than)) return false;
  return BigInt(rv) < BigInt(than);
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
