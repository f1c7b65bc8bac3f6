/**
 * The shutdown path as production runs it: the real `wildseal watch` process (cli/watch.ts wires
 * handleTermination to startWatch's shutdownSteps), signalled while a reconcile is stuck on the network.
 * The remote is an HTTP server that accepts git's first request and never answers, so the reconcile is
 * certainly running when the signal arrives and can only end by being abandoned after the grace.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { generateCa, generateLeaf } from "../../src/tls/generate.ts";
import { fixtureEnv, tempDir } from "../helpers/git-fixtures.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { until } from "../helpers/wait.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/**
 * An HTTP "Git remote" that never answers. close() drops the connections it holds: killing git on
 * abort leaves its git-remote-http helper behind, still waiting on this server.
 */
async function stalledRemote() {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage) => {
    requests.push(req.url ?? "");
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stalled.git`,
    requests,
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, "close");
    },
  };
}


describe("SIGTERM", () => {
  it("during a reconcile: the reconcile is abandoned, the process exits 0", { timeout: 60_000 }, async () => {
    const dir = tempDir("wildseal-shutdown-");
    const remote = await stalledRemote();
    const leaf = await generateLeaf(await generateCa(), { dnsNames: ["*.example.com"] });
    const source = writeSourceSecret(dir.path, leaf.certPem, leaf.keyPem.reveal());
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "watch", "--repo", remote.url, "--source-file", source, "--listen", "127.0.0.1:0", "--debounce", "50ms"], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...fixtureEnv(), NODE_OPTIONS: "" },
    });
    const records: Array<{ msg: string; [k: string]: unknown }> = [];
    let text = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      text += d;
    });
    createInterface(child.stderr).on("line", (line) => {
      try {
        records.push(JSON.parse(line) as { msg: string });
      } catch {
        records.push({ msg: `(not JSON) ${line}` });
      }
    });
    const exited = once(child, "exit");
    const messages = () => records.map((r) => r.msg);
    const seen = () => text.slice(-2_000);
    try {
      await until(() => messages().includes("ops endpoint listening"), () => `the ops endpoint; so far: ${seen()}`);
      const url = `http://${String(records.find((r) => r.msg === "ops endpoint listening")?.["listen"])}`;
      // git asked the remote for its refs: the reconcile is inside sync, stuck on the network
      await until(() => remote.requests.length > 0, () => `git's first request to the remote; so far: ${seen()}`);
      assert.ok(messages().includes("reconcile started"), messages().join(" | "));
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/readyz`)).status, 503, "not ready before a successful reconcile");

      child.kill("SIGTERM");
      const [code, signal] = (await exited) as [number | null, string | null];
      const msgs = messages();
      assert.equal(signal, null);
      assert.equal(code, 0, msgs.join(" | "));
      const stopping = msgs.indexOf("shutting down");
      const abandoned = msgs.indexOf("reconcile abandoned: stopping");
      assert.ok(stopping !== -1 && stopping < abandoned, `the signal started the shutdown, which abandoned the reconcile: ${msgs.join(" | ")}`);
      assert.equal(msgs.at(-1), "shut down cleanly");
      assert.ok(!msgs.includes("shutdown step failed"), msgs.join(" | "));
    } finally {
      child.kill("SIGKILL");
      await remote.close();
      dir.cleanup();
    }
  });
});
