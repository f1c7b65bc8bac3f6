import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
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

for (const withToken of [false, true]) {
  test(`aborting kills a git command that hangs on the network (${withToken ? "credentialed spawn" : "simple-git"} runner)`, { timeout: 30_000 }, async () => {
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
      setTimeout(() => controller.abort(), 300);
      await assert.rejects(running, (e: unknown) => e instanceof GitFailure || (e instanceof Error && /abort/i.test(e.message)));
    } finally {
      remote.close();
    }
  });
}
