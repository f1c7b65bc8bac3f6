import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { silentLog } from "../../src/log.ts";
import { startManifestFileSource } from "../../src/sources/manifest-file.ts";
import type { Trigger } from "../../src/trigger.ts";
import { tempDir } from "../helpers/git-fixtures.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { until } from "../helpers/wait.ts";


describe("Secret manifest file source", () => {
  it("triggers when the certificate bytes change, not on a rewrite with the same bytes; an unreadable file keeps the last good content", async () => {
    const dir = tempDir("wildseal-manifest-source-");
    const path = writeSourceSecret(dir.path, "crt 1", "key 1");
    const triggers: Trigger[] = [];
    const source = await startManifestFileSource({ path, onTrigger: (t) => triggers.push(t), log: silentLog, rereadIntervalMs: 20 });
    try {
      assert.equal(source.current().data.get("tls.crt")?.reveal().toString(), "crt 1");
      writeSourceSecret(dir.path, "crt 1", "key 1");
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(triggers, [], "the same bytes are no change");

      writeSourceSecret(dir.path, "crt 2", "key 2");
      await until(() => triggers.length === 1, "a trigger", 5_000);
      assert.deepEqual(triggers[0], { kind: "volume-changed", detail: path });
      assert.equal(source.current().data.get("tls.crt")?.reveal().toString(), "crt 2");

      writeFileSync(path, "not: [a secret");
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(source.current().data.get("tls.crt")?.reveal().toString(), "crt 2");
      assert.equal(triggers.length, 1);
    } finally {
      await source.stop();
      dir.cleanup();
    }
  });

  it("a file without exactly one kubernetes.io/tls Secret is refused at start", async () => {
    const dir = tempDir("wildseal-manifest-source-");
    const path = `${dir.path}/opaque.yaml`;
    writeFileSync(path, "apiVersion: v1\nkind: Secret\ntype: Opaque\nmetadata: {name: x}\ndata: {a: YQ==}\n");
    try {
      await assert.rejects(startManifestFileSource({ path, onTrigger: () => undefined, log: silentLog }), /expected exactly one kubernetes.io\/tls Secret, found 0/);
    } finally {
      dir.cleanup();
    }
  });
});
