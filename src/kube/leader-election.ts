/**
 * Optional leader election on a coordination.k8s.io/v1 Lease (`--leader-elect`), so that replicas do
 * not race each other to render and push. It is an efficiency measure, not the correctness guard: a
 * push from a deposed leader is still rejected by Git as non-fast-forward.
 *
 * The algorithm is client-go's: the holder renews every `retryPeriodMs`; others take the Lease over
 * only after it went unrenewed for `leaseDurationMs` *as measured on their own clock* (the time they
 * last saw the record change, never the holder's timestamps, so clock skew cannot shorten a lease);
 * every write is a PUT conditioned on the resourceVersion read, so two candidates cannot both win.
 * A leader that could not renew for `renewDeadlineMs` (< leaseDurationMs) steps down on its own before
 * anyone else may take over.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Log } from "../log.ts";
import { KubeApiError, kubeJson } from "./http.ts";
import { loadKubeConfig } from "./kubeconfig.ts";

export interface LeaderElectionTiming {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly requestTimeoutMs: number;
}

export const DEFAULT_LEADER_ELECTION_TIMING: LeaderElectionTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  requestTimeoutMs: 5_000,
};

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  /** unique per replica, e.g. the Pod name */
  readonly identity: string;
  readonly log: Log;
  readonly kubeConfig?: KubeConfig;
  readonly timing?: Partial<LeaderElectionTiming>;
  /** called on becoming leader; `signal` aborts when leadership is lost or the elector stops */
  readonly onStartedLeading: (signal: AbortSignal) => void;
  readonly onStoppedLeading?: () => void;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Stop campaigning; a held Lease is released (unless `release: false`, as after a crash) so another replica takes over at once. */
  stop(options?: { release?: boolean }): Promise<void>;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** RFC 3339 with microseconds, as Kubernetes' MicroTime is serialised. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const timing: LeaderElectionTiming = { ...DEFAULT_LEADER_ELECTION_TIMING, ...options.timing };
  if (timing.renewDeadlineMs >= timing.leaseDurationMs) throw new Error("renewDeadlineMs must be shorter than leaseDurationMs");
  const kc = options.kubeConfig ?? loadKubeConfig();
  const { namespace, name, identity, log } = options;
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  const leaseSeconds = Math.max(1, Math.ceil(timing.leaseDurationMs / 1000));

  let stopped = false;
  let leading: AbortController | undefined;
  let lastRenewed = 0;
  let observed: { record: string; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let cycle: Promise<void> | undefined;

  const request = (method: "GET" | "POST" | "PUT", p: string, body?: unknown) =>
    kubeJson(kc, p, { method, body, timeoutMs: timing.requestTimeoutMs }) as Promise<Lease>;

  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    let lease: Lease;
    try {
      lease = await request("GET", path);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.code === 404)) throw err;
      await request("POST", collection, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: leaseSeconds, acquireTime: microTime(new Date(now)), renewTime: microTime(new Date(now)), leaseTransitions: 0 },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (observed?.record !== record) observed = { record, at: now };
    const holder = spec.holderIdentity ?? "";
    const heldByOther = holder !== "" && holder !== identity;
    const duration = (spec.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (heldByOther && observed.at + duration > now) return false;
    const isRenewal = holder === identity;
    const next: Lease = {
      ...lease,
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: leaseSeconds,
        acquireTime: isRenewal && spec.acquireTime ? spec.acquireTime : microTime(new Date(now)),
        renewTime: microTime(new Date(now)),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (isRenewal || holder === "" ? 0 : 1),
      },
    };
    await request("PUT", path, next); // 409 when someone else wrote first: we lost this round
    return true;
  }

  function becomeLeader(): void {
    if (leading || stopped) return;
    leading = new AbortController();
    log.info({ lease: `${namespace}/${name}`, identity }, "became leader");
    options.onStartedLeading(leading.signal);
  }

  function stepDown(why: string): void {
    if (!leading) return;
    const l = leading;
    leading = undefined;
    log.warn({ lease: `${namespace}/${name}`, identity, why }, "stopped leading");
    l.abort(new Error(`leadership lost: ${why}`));
    options.onStoppedLeading?.();
  }

  async function runCycle(): Promise<void> {
    try {
      const won = await tryAcquireOrRenew();
      if (stopped) return;
      if (won) {
        lastRenewed = Date.now();
        becomeLeader();
      } else {
        stepDown("the Lease is held by another replica");
      }
    } catch (err) {
      const conflict = err instanceof KubeApiError && err.code === 409;
      if (!conflict) log.warn({ error: err instanceof Error ? err.message : String(err) }, "Lease update failed");
      if (leading && Date.now() - lastRenewed > timing.renewDeadlineMs) stepDown("could not renew the Lease in time");
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      cycle = runCycle().finally(() => {
        cycle = undefined;
        schedule();
      });
    }, timing.retryPeriodMs);
  }

  cycle = runCycle().finally(() => {
    cycle = undefined;
    schedule();
  });

  return {
    isLeader: () => leading !== undefined,
    async stop(stopOptions: { release?: boolean } = {}): Promise<void> {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      await cycle;
      const wasLeading = leading !== undefined;
      stepDown("stopping");
      if (!wasLeading || stopOptions.release === false) return;
      try {
        const lease = await request("GET", path);
        if (lease.spec?.holderIdentity !== identity) return;
        await request("PUT", path, { ...lease, spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(new Date()) } });
        log.info({ lease: `${namespace}/${name}`, identity }, "released the Lease");
      } catch (err) {
        log.warn({ error: err instanceof Error ? err.message : String(err) }, "could not release the Lease; it expires on its own");
      }
    },
  };
}
