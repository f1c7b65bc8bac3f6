/**
 * Sealing certificates of clusters configured with `controller:` (docs/configuration.md: fetched like kubeseal,
 * committed to `clusters/<cluster>/sealed-secrets.pem` so that every seal is reproducible and audited).
 *
 * The committed copy is what wildseal seals with. The controller renews its key every 30 days and
 * keeps every old key, so a committed certificate older than the controller's newest still decrypts:
 * replacing it (and so re-sealing every tenant of the cluster) is a choice, made with
 * `resealOnRotation`. Without it, a rotation is only reported.
 */
import { lstat, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import { InvalidInputError } from "../errors.ts";
import { readRepoFile } from "../model/read-repo-file.ts";
import { isDnsLabel } from "../model/names.ts";
import type { WildsealConfig } from "../model/types.ts";
import { parseSealingCertificate, type SealingCertificate } from "../seal/sealing-cert.ts";
import { fetchControllerCertificate, type ControllerRef } from "../kube/sealing-cert-fetch.ts";

/** `sync()`'s `controllerCerts` option (and `watch`'s). */
export interface ControllerCertOptions {
  /** default: in-cluster service account, else $KUBECONFIG / ~/.kube/config (loaded only when a cluster needs it) */
  readonly kubeConfig?: KubeConfig;
  /** a rotated controller certificate replaces the committed one, re-sealing the cluster's tenants */
  readonly resealOnRotation: boolean;
  /** deadline per Kubernetes request; default 15 s */
  readonly timeoutMs?: number;
}

/** The committed copy of a cluster's certificate, as read from the repository. */
export type CommittedCopy =
  | { readonly kind: "missing" }
  | { readonly kind: "valid"; readonly cert: SealingCertificate }
  /** present but not usable for sealing (unparsable, expired, not RSA): wildseal's own file, replaced */
  | { readonly kind: "unusable"; readonly reason: string };

/** What to seal a cluster's tenants with, and whether the committed copy is (re)written. */
export type CertDecision =
  | { readonly kind: "adopt"; readonly cert: SealingCertificate; readonly replaces: "missing" | "unusable" }
  | { readonly kind: "unchanged"; readonly cert: SealingCertificate }
  | { readonly kind: "rotate"; readonly cert: SealingCertificate; readonly previous: SealingCertificate }
  | { readonly kind: "rotation-pending"; readonly cert: SealingCertificate; readonly served: SealingCertificate };

/** The policy, on its own: certificates are the same when their DER is (PEM formatting does not count). */
export function decideSealingCert(committed: CommittedCopy, served: SealingCertificate, resealOnRotation: boolean): CertDecision {
  switch (committed.kind) {
    case "missing":
    case "unusable":
      return { kind: "adopt", cert: served, replaces: committed.kind };
    case "valid":
      if (committed.cert.sha256 === served.sha256) return { kind: "unchanged", cert: committed.cert };
      return resealOnRotation
        ? { kind: "rotate", cert: served, previous: committed.cert }
        : { kind: "rotation-pending", cert: committed.cert, served };
  }
}

export function writesCommittedCopy(d: CertDecision): boolean {
  return d.kind === "adopt" || d.kind === "rotate";
}

/** Repository-relative path of a controller cluster's committed certificate. */
export function controllerCertPath(cluster: string): string {
  if (!isDnsLabel(cluster)) throw new InvalidInputError(`cluster name "${cluster}" is not a DNS-1123 label`);
  return `clusters/${cluster}/sealed-secrets.pem`;
}

export interface ClusterCertReport {
  readonly cluster: string;
  readonly controller: ControllerRef;
  readonly path: string;
  readonly decision: CertDecision["kind"];
  /** the certificate the cluster's tenants are sealed with in this render */
  readonly sealingSha256: string;
  /** the controller's certificate, when it differs from the one sealed with */
  readonly servedSha256?: string;
  /** the committed certificate replaced by this render */
  readonly previousSha256?: string;
  readonly message: string;
}

/** Fetches a controller's cert.pem text. */
export type ControllerCertFetcher = (ref: ControllerRef) => Promise<string>;

/**
 * A fetcher for one sync: the kubeconfig is loaded on first use, and each controller is asked once
 * however many push attempts (renders on a fresh tip) the sync makes.
 */
export function controllerCertFetcher(opts: ControllerCertOptions, signal?: AbortSignal): ControllerCertFetcher {
  let kc: KubeConfig | undefined = opts.kubeConfig;
  const memo = new Map<string, Promise<string>>();
  return (ref) => {
    const key = `${ref.namespace}/${ref.name}`;
    let p = memo.get(key);
    if (p === undefined) {
      // imported on first use: the Kubernetes client is loaded only when a controller is asked
      p = import("../kube/kubeconfig.ts").then(({ loadKubeConfig }) => {
        kc ??= loadKubeConfig();
        return fetchControllerCertificate(kc, ref, {
          ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
          ...(signal === undefined ? {} : { signal }),
        });
      });
      // a failure is not cached: the next sync asks again
      p.catch(() => memo.delete(key));
      memo.set(key, p);
    }
    return p;
  };
}

async function readCommittedCopy(repoDir: string, path: string, now: Date): Promise<CommittedCopy> {
  const read = await readRepoFile(repoDir, path, 1024 * 1024);
  if (read.kind === "missing") return { kind: "missing" };
  if (read.kind === "refused") throw new InvalidInputError(`${read.diagnostic.path}: ${read.diagnostic.message}`, [read.diagnostic]);
  try {
    return { kind: "valid", cert: parseSealingCertificate(read.text, { now, source: path }) };
  } catch (e) {
    if (e instanceof InvalidInputError) return { kind: "unusable", reason: e.message };
    throw e;
  }
}

/**
 * Writes the certificate to `clusters/<cluster>/sealed-secrets.pem`: never through a symlinked
 * folder (a committed symlink could point anywhere), and by rename, so a committed symlink at the
 * file itself is replaced, not followed.
 */
async function writeCommittedCopy(repoDir: string, cluster: string, pem: string): Promise<void> {
  const path = controllerCertPath(cluster);
  let dir = repoDir;
  for (const part of ["clusters", cluster]) {
    dir = join(dir, part);
    const st = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return undefined;
      throw e;
    });
    if (st === undefined) await mkdir(dir);
    else if (!st.isDirectory()) {
      throw new InvalidInputError(`${path}: ${dir.slice(repoDir.length + 1)} is ${st.isSymbolicLink() ? "a symlink" : "not a folder"}; make it a plain folder`);
    }
  }
  const target = join(repoDir, path);
  const tmp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, pem, { flag: "wx", mode: 0o644 });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function short(sha: string): string {
  return sha.slice(0, 12);
}

function reportOf(cluster: string, controller: ControllerRef, path: string, d: CertDecision): ClusterCertReport {
  const ctl = `controller ${controller.namespace}/${controller.name}`;
  const base = { cluster, controller, path, decision: d.kind, sealingSha256: d.cert.sha256 };
  switch (d.kind) {
    case "adopt":
      return {
        ...base,
        message:
          d.replaces === "missing"
            ? `cluster ${cluster}: committing ${ctl}'s sealing certificate (sha256 ${short(d.cert.sha256)}) to ${path}`
            : `cluster ${cluster}: the committed ${path} is not usable, replacing it with ${ctl}'s certificate (sha256 ${short(d.cert.sha256)})`,
      };
    case "unchanged":
      return { ...base, message: `cluster ${cluster}: ${ctl} serves the committed certificate (sha256 ${short(d.cert.sha256)})` };
    case "rotate":
      return {
        ...base,
        previousSha256: d.previous.sha256,
        message: `cluster ${cluster}: ${ctl} renewed its key (sha256 ${short(d.previous.sha256)} → ${short(d.cert.sha256)}); resealing the cluster's tenants with the new certificate`,
      };
    case "rotation-pending":
      return {
        ...base,
        servedSha256: d.served.sha256,
        message: `cluster ${cluster}: ${ctl} serves a new certificate (sha256 ${short(d.served.sha256)}); still sealing with the committed one (sha256 ${short(d.cert.sha256)}), whose key keeps decrypting. Rotation pending: run with --reseal-on-rotation to reseal the cluster's tenants with the new one`,
      };
  }
}

export interface ResolvedControllerCerts {
  /** cluster → the certificate to seal its tenants with (controller clusters only) */
  readonly certs: Map<string, SealingCertificate>;
  readonly reports: ClusterCertReport[];
}

/**
 * For each `controller:` cluster of `config`: fetch the served certificate, compare it with the
 * committed copy in `repoDir`, write the copy when the policy says so, and say what to seal with.
 * A controller that cannot be reached (DependencyError) or serves an unusable certificate
 * (InvalidInputError) fails the whole call: nothing gets rendered with a guess.
 */
export async function resolveControllerCerts(
  repoDir: string,
  config: WildsealConfig,
  opts: { readonly fetch: ControllerCertFetcher; readonly resealOnRotation: boolean; readonly now: Date },
): Promise<ResolvedControllerCerts> {
  const certs = new Map<string, SealingCertificate>();
  const reports: ClusterCertReport[] = [];
  for (const cluster of config.clusters) {
    if (cluster.sealing.kind !== "controller") continue;
    const ref: ControllerRef = { namespace: cluster.sealing.namespace, name: cluster.sealing.name };
    const path = controllerCertPath(cluster.name);
    const served = parseSealingCertificate(await opts.fetch(ref), {
      now: opts.now,
      source: `controller ${ref.namespace}/${ref.name} (cluster ${cluster.name}) /v1/cert.pem`,
    });
    const decision = decideSealingCert(await readCommittedCopy(repoDir, path, opts.now), served, opts.resealOnRotation);
    if (writesCommittedCopy(decision)) await writeCommittedCopy(repoDir, cluster.name, decision.cert.pem);
    certs.set(cluster.name, decision.cert);
    reports.push(reportOf(cluster.name, ref, path, decision));
  }
  return { certs, reports };
}
