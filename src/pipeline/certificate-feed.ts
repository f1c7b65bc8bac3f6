/**
 * The watch's certificate feed: whichever source holds the certificate (the Secret through the
 * Kubernetes API, a mounted Secret volume, a manifest file), behind one shape the reconcile reads
 * from — "the Secret as the source holds it now" — plus the triggers the source sends when it changes.
 */
import { stat } from "node:fs/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import { InvalidInputError } from "../errors.ts";
import type { Log } from "../log.ts";
import type { KubernetesSecretTiming } from "../sources/kubernetes-secret.ts";
import { startManifestFileSource } from "../sources/manifest-file.ts";
import { startSecretVolumeSource } from "../sources/secret-volume.ts";
import type { SecretManifest } from "../tls/types.ts";
import type { TriggerSink } from "../trigger.ts";

/** Where the certificate comes from. */
export type WatchSource =
  | {
      readonly kind: "secret";
      readonly namespace: string;
      readonly name: string;
      readonly kubeConfig?: KubeConfig;
      readonly timing?: Partial<KubernetesSecretTiming>;
    }
  /** a folder laid out as a kubelet Secret volume (`..data` symlink swaps) */
  | { readonly kind: "volume"; readonly dir: string; readonly rereadIntervalMs?: number; readonly settleMs?: number }
  /** a Secret manifest file, re-read periodically */
  | { readonly kind: "manifest"; readonly path: string; readonly rereadIntervalMs?: number };

/** The certificate as a source holds it now, plus how to stop watching it. */
export interface CertificateFeed {
  readonly label: string;
  current(): SecretManifest | undefined;
  /** resolves once the source has answered for the first time */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

/** `--source-file PATH`: a folder is a mounted Secret volume, anything else a manifest file. */
export async function watchSourceForPath(path: string): Promise<WatchSource> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    throw new InvalidInputError(`--source-file ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? "error"}); give a Secret manifest or a mounted Secret folder`);
  }
  return isDir ? { kind: "volume", dir: path } : { kind: "manifest", path };
}

/** Starts the source `source` names; a volume or manifest that cannot be read at start is an error. */
export async function startFeed(source: WatchSource, sink: TriggerSink, log: Log): Promise<CertificateFeed> {
  switch (source.kind) {
    case "secret": {
      // the Kubernetes client (~20 MB of memory) is loaded only for this source
      const { startKubernetesSecretSource } = await import("../sources/kubernetes-secret.ts");
      const s = startKubernetesSecretSource({
        namespace: source.namespace,
        name: source.name,
        onTrigger: sink,
        log,
        ...(source.kubeConfig === undefined ? {} : { kubeConfig: source.kubeConfig }),
        ...(source.timing === undefined ? {} : { timing: source.timing }),
      });
      return { label: `secret ${source.namespace}/${source.name}`, current: s.current, ready: s.synced, stop: s.stop };
    }
    case "volume": {
      const s = await startSecretVolumeSource({
        dir: source.dir,
        onTrigger: sink,
        log,
        ...(source.rereadIntervalMs === undefined ? {} : { rereadIntervalMs: source.rereadIntervalMs }),
        ...(source.settleMs === undefined ? {} : { settleMs: source.settleMs }),
      });
      return { label: source.dir, current: s.current, ready: () => Promise.resolve(), stop: s.stop };
    }
    case "manifest": {
      const s = await startManifestFileSource({
        path: source.path,
        onTrigger: sink,
        log,
        rereadIntervalMs: source.rereadIntervalMs ?? 30_000,
      });
      return { label: source.path, current: s.current, ready: () => Promise.resolve(), stop: s.stop };
    }
  }
}
