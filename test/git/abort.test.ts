import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { authConfig, NO_CREDENTIALS, tokenCredentials } from "../../src/git/credentials.ts";
import { createGitRunner, GitFailure } from "../../src/git/git-process.ts";
import { classifyRemote } from "../../src/git/remote-url.ts";

/** An HTTP "remote" that accepts the request and never answers: git would wait out its stall timer (120 s). */
async function hungRemote(): Promise<{ url: string; close(): void }> {
  const hung = new Set<ServerResponse>();
  const server = createServer((_req, res) => void hung.add(res));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/gitops.git`,
    close() {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Processes whose command line mentions `needle` (Linux /proc): git and its remote helpers. */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

for (const withToken of [false, true]) {
  test(`aborting kills a git command that hangs on the network and its remote helper (${withToken ? "with" : "without"} a token)`, { timeout: 30_000 }, async () => {
    const remote = await hungRemote();
    try {
      const credentials = withToken ? tokenCredentials(Buffer.from("t0ken"), "test") : NO_CREDENTIALS;
      const controller = new AbortController();
      const runner = createGitRunner({
        baseDir: tmpdir(),
        credentials,
        auth: authConfig(credentials, classifyRemote(remote.url)),
        signal: controller.signal,
      });
      const running = runner.run(["ls-remote", remote.url]);
      // wait until git's HTTP helper is up: it is the process that would outlive a killed git
      for (let i = 0; i < 100 && !processesMentioning(remote.url).some((p) => p.includes("remote-http")); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(processesMentioning(remote.url).some((p) => p.includes("remote-http")), `git-remote-http did not start: ${processesMentioning(remote.url).join("; ")}`);
      controller.abort();
      await assert.rejects(running, (e: unknown) => e instanceof GitFailure || (e instanceof Error && /abort/i.test(e.message)));
      // the whole process group went: a helper left behind could still finish a push after an abort
      for (let i = 0; i < 40 && processesMentioning(remote.url).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(processesMentioning(remote.url), []);
    } finally {
      remote.close();
    }
  });
}
