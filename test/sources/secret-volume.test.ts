import assert from "node:assert/strict";
import { mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Trigger } from "../../src/trigger.ts";
import { startSecretVolumeSource, type SecretVolumeSource } from "../../src/sources/secret-volume.ts";
import { captureLog } from "../helpers/capture-log.ts";

const WAIT_MS = 10_000;

function tls(version: number) {
  return {
    "tls.crt": `-----BEGIN CERTIFICATE-----\nleaf v${version}\n-----END CERTIFICATE-----\n`,
    "tls.key": `key v${version}: stands in for a PRIVATE KEY (the sources only hash it)\n`,
  };
}

/** Lays out and updates a folder exactly as kubelet's AtomicWriter does for a Secret volume. */
class KubeletVolume {
  #n = 0;
  constructor(readonly dir: string) {}

  private async writeVersion(files: Record<string, string>): Promise<string> {
    this.#n += 1;
    const ts = `..2026_11_28_20_00_${String(this.#n).padStart(2, "0")}.00000000${this.#n}`;
    await mkdir(join(this.dir, ts), { mode: 0o755 });
    for (const [name, content] of Object.entries(files)) await writeFile(join(this.dir, ts, name), content, { mode: 0o644 });
    return ts;
  }

  async create(files: Record<string, string>): Promise<void> {
    const ts = await this.writeVersion(files);
    await symlink(ts, join(this.dir, "..data"));
    for (const name of Object.keys(files)) await symlink(join("..data", name), join(this.dir, name));
  }

  /** new timestamped dir → `..data_tmp` symlink → rename over `..data` → remove the old dir */
  async swap(files: Record<string, string>): Promise<void> {
    const old = await readlink(join(this.dir, "..data"));
    const ts = await this.writeVersion(files);
    await symlink(ts, join(this.dir, "..data_tmp"));
    await rename(join(this.dir, "..data_tmp"), join(this.dir, "..data"));
    await rm(join(this.dir, old), { recursive: true });
  }
}

function recorder() {
  const triggers: Trigger[] = [];
  return {
    triggers,
    sink: (t: Trigger) => triggers.push(t),
    async waitFor(n: number, what: string): Promise<void> {
      const deadline = Date.now() + WAIT_MS;
      while (triggers.length < n) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for trigger #${n} (${what}): ${JSON.stringify(triggers)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

describe("kubelet Secret volume source", () => {
  let root: string;
  let volume: KubeletVolume;
  let source: SecretVolumeSource | undefined;
  const { log, lines: logLines } = captureLog();

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "wildseal-volume-"));
    volume = new KubeletVolume(join(root, "tls"));
    await mkdir(volume.dir);
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await rm(root, { recursive: true, force: true });
  });

  const crt = (s: SecretVolumeSource) => s.current()?.data.get("tls.crt")?.reveal().toString("utf8");

  it("publishes a renewal delivered by a ..data symlink swap", async () => {
    await volume.create(tls(1));
    const rec = recorder();
    source = await startSecretVolumeSource({ dir: volume.dir, onTrigger: rec.sink, log, rereadIntervalMs: 0, settleMs: 20 });
    assert.equal(rec.triggers.length, 1, "the initial read reports once");
    assert.equal(crt(source), tls(1)["tls.crt"]);
    await volume.swap(tls(2));
    await rec.waitFor(2, "swap to v2");
    assert.equal(rec.triggers[1]?.kind, "volume-changed");
    assert.equal(crt(source), tls(2)["tls.crt"]);
    await volume.swap(tls(3));
    await rec.waitFor(3, "swap to v3");
    assert.equal(crt(source), tls(3)["tls.crt"]);
  });

  it("does not trigger when a swap carries the same certificate and key", async () => {
    await volume.create({ ...tls(1), "extra.txt": "v1" });
    const rec = recorder();
    source = await startSecretVolumeSource({ dir: volume.dir, onTrigger: rec.sink, log, rereadIntervalMs: 0, settleMs: 20 });
    await volume.swap({ ...tls(1), "extra.txt": "v2" }); // only an item wildseal does not seal changed
    await source.reread();
    await volume.swap(tls(2));
    await rec.waitFor(2, "real renewal");
    // Had the first swap triggered, the renewal would be trigger #3.
    await source.reread();
    assert.equal(rec.triggers.length, 2);
    assert.equal(crt(source), tls(2)["tls.crt"]);
  });

  it("never reports a torn read while swaps of the same certificate race with reads", async () => {
    await volume.create({ ...tls(1), "extra.txt": "0" });
    const rec = recorder();
    source = await startSecretVolumeSource({ dir: volume.dir, onTrigger: rec.sink, log, rereadIntervalMs: 0, settleMs: 0 });
    const reads: Promise<void>[] = [];
    for (let i = 1; i <= 30; i++) {
      const swapping = volume.swap({ ...tls(1), "extra.txt": `${i}` });
      reads.push(source.reread());
      await swapping;
      reads.push(source.reread());
    }
    await Promise.all(reads);
    await source.reread();
    assert.equal(rec.triggers.length, 1, JSON.stringify(rec.triggers));
    assert.equal(crt(source), tls(1)["tls.crt"]);
  });

  it("the periodic re-read alone catches a swap when no folder events arrive", async () => {
    await volume.create(tls(1));
    const rec = recorder();
    source = await startSecretVolumeSource({ dir: volume.dir, onTrigger: rec.sink, log, fsEvents: false, rereadIntervalMs: 50 });
    await volume.swap(tls(2));
    await rec.waitFor(2, "periodic re-read");
    assert.equal(crt(source), tls(2)["tls.crt"]);
  });

  it("keeps the last good content while the volume is unreadable and recovers", async () => {
    await volume.create(tls(1));
    const rec = recorder();
    source = await startSecretVolumeSource({ dir: volume.dir, onTrigger: rec.sink, log, rereadIntervalMs: 0, fsEvents: false });
    const old = await readlink(join(volume.dir, "..data"));
    await rm(join(volume.dir, old), { recursive: true }); // ..data now dangles
    await source.reread();
    assert.equal(crt(source), tls(1)["tls.crt"]);
    assert.equal(rec.triggers.length, 1);
    await volume.swap(tls(2)).catch(() => undefined); // old dir already gone: swap's rm fails, the rest happened
    await source.reread();
    assert.equal(crt(source), tls(2)["tls.crt"]);
    assert.equal(rec.triggers.length, 2);
  });

  it("refuses to start on a folder without Secret keys", async () => {
    await assert.rejects(
      startSecretVolumeSource({ dir: volume.dir, onTrigger: () => undefined, log }),
      /holds no Secret keys/,
    );
  });

  it("never logs key material", () => {
    assert.ok(logLines.length > 0);
    assert.doesNotMatch(logLines.join(""), /key v\d|PRIVATE KEY/);
  });
});
