/**
 * What the `wildseal watch` tests share: a sync world (bare remote, CA, sealing key), certificates as
 * raw PEM (to lay out in a kubelet-style volume, a manifest or the fake apiserver), a captured JSON
 * log, bounded waits, and readers for the metrics. Nothing here asserts on elapsed time.
 */
import assert from "node:assert/strict";
import { mkdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { WildsealMetrics } from "../../src/ops/metrics.ts";
import { generateLeaf, type GeneratedCertificate } from "../../src/tls/generate.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";
import { remoteLog } from "../helpers/git-fixtures.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import type { WatchSource } from "../../src/pipeline/certificate-feed.ts";
import type { WatchOptions } from "../../src/pipeline/watch.ts";
import type { KubernetesSecretTiming } from "../../src/sources/kubernetes-secret.ts";
import type { CapturedLog } from "../helpers/capture-log.ts";
import type { SyncWorld } from "./sync-world.ts";
export { until as waitUntil } from "../helpers/wait.ts";

const DAY = 86_400_000;

/** tls.crt and tls.key as the Secret holds them. */
export interface TlsFiles {
  readonly [item: string]: string;
  readonly "tls.crt": string;
  readonly "tls.key": string;
}

export function filesOf(m: TlsMaterial): TlsFiles {
  return {
    "tls.crt": m.secret.data.get("tls.crt")?.reveal().toString("utf8") ?? "",
    "tls.key": m.secret.data.get("tls.key")?.reveal().toString("utf8") ?? "",
  };
}

/** A leaf whose validity window is already over (validateTlsSecret would refuse it, so raw PEM). */
export async function expiredFiles(ca: GeneratedCertificate): Promise<TlsFiles> {
  const notBefore = new Date(Date.now() - 100 * DAY);
  const leaf = await generateLeaf(ca, { dnsNames: ["*.example.com"], notBefore, notAfter: new Date(Date.now() - DAY) });
  return { "tls.crt": leaf.certPem, "tls.key": leaf.keyPem.reveal().toString("utf8") };
}

/** A valid leaf paired with another leaf's key. */
export async function mismatchedFiles(ca: GeneratedCertificate): Promise<TlsFiles> {
  const notBefore = new Date(Date.now() - DAY);
  const a = await generateLeaf(ca, { dnsNames: ["*.example.com"], notBefore, notAfter: new Date(Date.now() + 60 * DAY) });
  const b = await generateLeaf(ca, { dnsNames: ["*.example.com"], notBefore, notAfter: new Date(Date.now() + 60 * DAY) });
  return { "tls.crt": a.certPem, "tls.key": b.keyPem.reveal().toString("utf8") };
}

/** Lays out and updates a folder as kubelet's AtomicWriter does for a Secret volume. */
export class KubeletVolume {
  #n = 0;
  constructor(readonly dir: string) {}

  private async writeVersion(files: TlsFiles): Promise<string> {
    this.#n += 1;
    const ts = `..2026_11_28_20_00_${String(this.#n).padStart(2, "0")}.00000000${this.#n}`;
    await mkdir(join(this.dir, ts), { mode: 0o700 });
    for (const [name, content] of Object.entries(files)) await writeFile(join(this.dir, ts, name), content, { mode: 0o600 });
    return ts;
  }

  async create(files: TlsFiles): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const ts = await this.writeVersion(files);
    await symlink(ts, join(this.dir, "..data"));
    for (const name of Object.keys(files)) await symlink(join("..data", name), join(this.dir, name));
  }

  /** new timestamped folder → `..data_tmp` symlink → rename over `..data` → remove the old folder */
  async swap(files: TlsFiles): Promise<void> {
    const old = await readlink(join(this.dir, "..data"));
    const ts = await this.writeVersion(files);
    await symlink(ts, join(this.dir, "..data_tmp"));
    await rename(join(this.dir, "..data_tmp"), join(this.dir, "..data"));
    await rm(join(this.dir, old), { recursive: true });
  }
}

/** A `kubectl get secret -o yaml`-style manifest. */
export function manifestOf(files: TlsFiles): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return `apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: wildcard-example-com
  namespace: cert-manager
data:
  tls.crt: ${b64(files["tls.crt"])}
  tls.key: ${b64(files["tls.key"])}
`;
}

export { captureLog, type CapturedLog } from "../helpers/capture-log.ts";

/** Kubernetes Secret feed timings for the fake apiserver: a stall or a dropped watch is noticed and retried within tests' patience. */
export const FAST_KUBE: Partial<KubernetesSecretTiming> = {
  watchTimeoutSeconds: 60,
  stallTimeoutMs: 2_000,
  watchdogIntervalMs: 100,
  resyncIntervalMs: 0,
  requestTimeoutMs: 2_000,
  backoff: { initialMs: 20, maxMs: 200 },
};

/** Options for a watcher on `world` pushing to its remote: no Git polling or resync unless `extra` asks. */
export function watchOptions(world: Pick<SyncWorld, "remote">, source: WatchSource, captured: CapturedLog, extra: Partial<WatchOptions> = {}): WatchOptions {
  return {
    repo: world.remote.path,
    branch: "main",
    source,
    delivery: { kind: "push" },
    credentials: NO_CREDENTIALS,
    log: captured.log,
    pollIntervalMs: 3_600_000,
    debounceMs: 100,
    resyncIntervalMs: 0,
    retry: { initialMs: 50, maxMs: 200, maxRetries: 1 },
    ...extra,
  };
}

/** Polls `cond` every 25 ms until it holds; fails after `ms` (default 30 s). */

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function commitCount(remote: string): number {
  return remoteLog(remote, "main").length;
}

/** Value of a counter/gauge series (0 when absent). */
export async function metricValue(metrics: WildsealMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = metrics.registry.getSingleMetric(name);
  if (m === undefined) return 0;
  const { values } = await m.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return hit?.value ?? 0;
}

export async function reconciles(metrics: WildsealMetrics): Promise<number> {
  let n = 0;
  for (const result of ["published", "unchanged", "failed"]) n += await metricValue(metrics, "wildseal_reconcile_total", { result });
  return n;
}

/** Fails when any captured log line holds a piece of the private key. */
export function assertNoKeyMaterial(lines: readonly string[], ...keys: readonly string[]): void {
  for (const key of keys) {
    const body = key.split("\n").filter((l) => l !== "" && !l.startsWith("-----")).join("");
    for (const probe of [body.slice(0, 40), body.slice(-40)]) {
      assert.ok(!lines.some((l) => l.includes(probe)), "a log line holds private key material");
    }
  }
}
