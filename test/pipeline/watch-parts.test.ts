import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { InvalidInputError } from "../../src/errors.ts";
import { watchSourceForPath } from "../../src/pipeline/certificate-feed.ts";
import { tenantCounts } from "../../src/pipeline/watch-reconcile.ts";
import type { ChangeKind } from "../../src/render/plan.ts";
import type { RenderChange } from "../../src/render/render-repository.ts";
import { tempDir } from "../helpers/git-fixtures.ts";

describe("watch parts", () => {
  it("--source-file: a folder is a mounted Secret volume, a file a manifest, anything unreadable an input error naming the flag", async () => {
    const dir = tempDir("wildseal-watch-parts-");
    try {
      writeFileSync(`${dir.path}/secret.yaml`, "");
      assert.deepEqual(await watchSourceForPath(dir.path), { kind: "volume", dir: dir.path });
      assert.deepEqual(await watchSourceForPath(`${dir.path}/secret.yaml`), { kind: "manifest", path: `${dir.path}/secret.yaml` });
      await assert.rejects(
        watchSourceForPath(`${dir.path}/absent.yaml`),
        (e: unknown) => e instanceof InvalidInputError && /^--source-file .*absent\.yaml: cannot read it \(ENOENT\)/.test(e.message),
      );
    } finally {
      dir.cleanup();
    }
  });

  it("tenant counts per cluster: held tenants count (their Secret is live), removed ones and cluster-less changes do not", () => {
    const change = (cluster: string, tenant: string, kind: ChangeKind): RenderChange => ({ cluster, tenant, kind });
    const counts = tenantCounts([
      change("east", "a", "keep"),
      change("east", "b", "hold"),
      change("east", "c", "remove"),
      change("west", "a", "add"),
      change("", "", "keep"),
    ]);
    assert.deepEqual([...counts], [["east", 2], ["west", 1]]);
  });
});
