/**
 * Watches a folder mounted as a kubelet Secret volume and says `volume-changed` when the tls.crt/tls.key
 * bytes change.
 *
 * kubelet never rewrites the key files in place: it writes a new `..<timestamp>` folder, points a
 * `..data_tmp` symlink at it, renames that over `..data` (atomic) and removes the old folder; the
 * visible `tls.crt` is itself a symlink through `..data`. A watch on the files would miss that, so
 * this watches the folder's entries (the rename shows up there), re-reads shortly after any event
 * (kubelet's steps come in a burst), and re-reads periodically anyway: inotify can overflow, and some
 * mounts (network filesystems, some container runtimes) deliver no events at all.
 */
import { watch, type FSWatcher } from "node:fs";
import { readlink } from "node:fs/promises";
import { join } from "node:path";
import type { Log } from "../log.ts";
import type { TriggerSink } from "../trigger.ts";
import { readSecretVolume } from "../tls/secret-input.ts";
import type { SecretManifest } from "../tls/types.ts";
import { tlsFingerprint } from "./tls-fingerprint.ts";

export interface SecretVolumeSourceOptions {
  readonly dir: string;
  readonly onTrigger: TriggerSink;
  readonly log: Log;
  /** safety-net re-read period; default 60 s; 0 disables */
  readonly rereadIntervalMs?: number;
  /** wait this long after a folder event before reading (coalesces kubelet's burst); default 100 ms */
  readonly settleMs?: number;
  /** watch folder events; default true (tests turn it off to exercise the periodic re-read alone) */
  readonly fsEvents?: boolean;
}

export interface SecretVolumeSource {
  current(): SecretManifest | undefined;
  /** re-read now (also what the timers call); resolves when done */
  reread(): Promise<void>;
  stop(): Promise<void>;
}

/** Reads the volume once (an unreadable volume at start is an error), then watches it. */
export async function startSecretVolumeSource(options: SecretVolumeSourceOptions): Promise<SecretVolumeSource> {
  const { dir, log } = options;
  const settleMs = options.settleMs ?? 100;
  const rereadIntervalMs = options.rereadIntervalMs ?? 60_000;

  let stopped = false;
  let secret: SecretManifest = await readSecretVolume(dir);
  let fingerprint = tlsFingerprint(secret.data);
  let watcher: FSWatcher | undefined;
  let settleTimer: NodeJS.Timeout | undefined;
  let reading: Promise<void> | undefined;
  let again = false;

  options.onTrigger({ kind: "volume-changed", detail: `${dir} (initial read)` });

  async function readOnce(): Promise<void> {
    try {
      const target = await dataTarget(dir);
      const next = await readSecretVolume(dir);
      // kubelet removes the old folder only after `..data` stopped pointing at it: if `..data` still
      // points where it did before the read, no file vanished under the read. Otherwise read again.
      if ((await dataTarget(dir)) !== target) {
        again = true;
        return;
      }
      const nextFingerprint = tlsFingerprint(next.data);
      secret = next;
      if (nextFingerprint === fingerprint) return;
      fingerprint = nextFingerprint;
      log.info({ dir }, "mounted Secret content changed");
      options.onTrigger({ kind: "volume-changed", detail: dir });
    } catch (err) {
      // Mid-swap (old folder removed between resolving ..data and reading) or a broken volume: keep the
      // last good content; the next event or periodic re-read tries again.
      log.warn({ dir, error: err instanceof Error ? err.message : String(err) }, "mounted Secret could not be read");
      if (!stopped) schedule(Math.max(settleMs, 1_000));
    }
  }

  /** One read at a time; a request during a read runs one more read after it. */
  function reread(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      do {
        again = false;
        await readOnce();
      } while (again && !stopped);
    })().finally(() => {
      reading = undefined;
    });
    return reading;
  }

  function schedule(delayMs: number): void {
    if (stopped || settleTimer !== undefined) return;
    settleTimer = setTimeout(() => {
      settleTimer = undefined;
      void reread();
    }, delayMs);
  }

  function startWatcher(): void {
    if (stopped || watcher || options.fsEvents === false) return;
    try {
      watcher = watch(dir, { persistent: true }, () => schedule(settleMs));
      watcher.on("error", (err) => {
        log.warn({ dir, error: err.message }, "folder watch failed; relying on periodic re-reads");
        watcher?.close();
        watcher = undefined;
      });
    } catch (err) {
      log.warn({ dir, error: err instanceof Error ? err.message : String(err) }, "cannot watch folder; relying on periodic re-reads");
    }
  }

  startWatcher();
  const periodic =
    rereadIntervalMs > 0
      ? setInterval(() => {
          startWatcher(); // re-establish after a watcher error
          void reread();
        }, rereadIntervalMs)
      : undefined;

  return {
    current: () => secret,
    reread,
    async stop(): Promise<void> {
      stopped = true;
      if (periodic) clearInterval(periodic);
      if (settleTimer) clearTimeout(settleTimer);
      watcher?.close();
      watcher = undefined;
      await reading;
    },
  };
}

/** Where `..data` points, or undefined for a plain folder. */
async function dataTarget(dir: string): Promise<string | undefined> {
  try {
    return await readlink(join(dir, "..data"));
  } catch {
    return undefined;
  }
}
