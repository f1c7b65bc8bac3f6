import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const FIXTURE = fileURLToPath(new URL("./fixtures/watch-like-process.ts", import.meta.url));

describe("SIGTERM", () => {
  it("during a reconcile: the reconcile is abandoned, the process exits 0", { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, ["--import", "tsx", FIXTURE], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const exited = once(child, "exit");
    try {
      const lines = createInterface(child.stdout);
      const [line] = (await once(lines, "line")) as [string];
      const url = /^RECONCILING (\S+)$/.exec(line)?.[1];
      assert.ok(url, line);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/readyz`)).status, 503, "not ready before a successful reconcile");
      child.kill("SIGTERM");
      const [code, signal] = (await exited) as [number | null, string | null];
      assert.equal(signal, null);
      assert.equal(code, 0, stderr);
      const messages = stderr.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { msg: string }).msg);
      assert.ok(messages.includes("reconcile abandoned: stopping"), messages.join(" | "));
      assert.equal(messages.at(-1), "shut down cleanly");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
