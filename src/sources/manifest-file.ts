/**
 * Watches a Secret manifest file (`--source-file secret.yaml`) and says `volume-changed` when its
 * tls.crt/tls.key/ca.crt bytes change.
 *
 * A manifest file has no kubelet swap to watch for and editors replace files in every way there is,
 * so it is simply re-read every interval; validation is the reconcile's job (a certificate that fails
 * it is refused there, with its reason counted), this only says "something may have changed".
 */
import { InvalidInputError } from "../errors.ts";
import type { Log } from "../log.ts";
import { readSecretSource } from "../tls/secret-input.ts";
import { TLS_SECRET_TYPE } from "../tls/tls-material.ts";
import type { SecretManifest } from "../tls/types.ts";
import type { TriggerSink } from "../trigger.ts";
import { tlsFingerprint } from "./tls-fingerprint.ts";

export interface ManifestFileSourceOptions {
  readonly path: string;
  readonly onTrigger: TriggerSink;
  readonly log: Log;
  /** re-read period; default 30 s */
  readonly rereadIntervalMs?: number;
}

export interface ManifestFileSource {
  /** the Secret as last read successfully */
  current(): SecretManifest;
  stop(): Promise<void>;
}

/** The single kubernetes.io/tls Secret of a manifest file (validation happens in the reconcile). */
async function readManifest(path: string): Promise<SecretManifest> {
  const secrets = await readSecretSource(path);
  const tls = secrets.filter((s) => s.type === TLS_SECRET_TYPE);
  if (tls.length !== 1) {
    throw new InvalidInputError(`${path}: expected exactly one ${TLS_SECRET_TYPE} Secret, found ${tls.length}`);
  }
  return tls[0] as SecretManifest;
}

/**
 * Reads the file once (an unreadable file at start is an error: there is nothing to publish), then
 * re-reads it every interval; an unreadable re-read keeps the last good content.
 */
export async function startManifestFileSource(options: ManifestFileSourceOptions): Promise<ManifestFileSource> {
  const { path, log } = options;
  let secret = await readManifest(path);
  let fingerprint = tlsFingerprint(secret.data);
  let reading: Promise<void> | undefined;
  const reread = async (): Promise<void> => {
    try {
      const next = await readManifest(path);
      const f = tlsFingerprint(next.data);
      secret = next;
      if (f === fingerprint) return;
      fingerprint = f;
      log.info({ path }, "source manifest content changed");
      options.onTrigger({ kind: "volume-changed", detail: path });
    } catch (e) {
      log.warn({ path, error: e instanceof Error ? e.message : String(e) }, "source manifest could not be read; keeping the last good content");
    }
  };
  // one read at a time: a slow disk must not pile up overlapping reads
  const timer = setInterval(() => {
    reading ??= reread().finally(() => {
      reading = undefined;
    });
  }, options.rereadIntervalMs ?? 30_000);
  return {
    current: () => secret,
    async stop() {
      clearInterval(timer);
      await reading;
    },
  };
}
