import assert from "node:assert/strict";
import { lineLog } from "../../src/line-log.ts";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { DependencyError, isWildsealError } from "../../src/errors.ts";
import { credentialsFromEnv, NO_CREDENTIALS } from "../../src/git/credentials.ts";
import type { CommitSummary } from "../../src/git/trailers.ts";
import { commitAndPush, openWorkspace, withWorkspace } from "../../src/git/workspace.ts";
import { filesContaining, git, makeBareRemote, remoteFile, remoteLog, tempDir, writeFiles } from "../helpers/git-fixtures.ts";
import { type GitHttpServer, startGitHttpServer } from "../helpers/git-http-server.ts";

const TOKEN = "wst_0123456789abcdefSECRET";
const BASIC = Buffer.from(`x-access-token:${TOKEN}`).toString("base64");
const NEEDLES = [TOKEN, BASIC];
const SUMMARY: CommitSummary = {
  changes: [{ action: "add", tenants: ["acme"] }],
  certSha256: "ab".repeat(32),
  certNotAfter: new Date("2026-06-01T00:00:00Z"),
  domain: "*.example.com",
};

/** Command lines of every process on the machine that mention a secret (what `ps` shows to anyone). */
function processesShowingToken(): string[] {
  const hits: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`);
      if (NEEDLES.some((n) => cmdline.includes(Buffer.from(n)))) hits.push(cmdline.toString("utf8").replace(/\0/g, " "));
    } catch {
      // the process ended meanwhile
    }
  }
  return hits;
}

describe("a smart-HTTP remote behind basic auth", () => {
  const root = tempDir("wildseal-http-root-");
  let server: GitHttpServer;
  const cmdlineLeaks: string[] = [];
  before(async () => {
    makeBareRemote({ root: root.path, name: "tenants.git", files: { "wildseal.yaml": "kind: Config\n" } });
    server = await startGitHttpServer({
      projectRoot: root.path,
      token: TOKEN,
      onAuthorized: () => cmdlineLeaks.push(...processesShowingToken()),
    });
  });
  after(async () => {
    await server.close();
    root.cleanup();
  });

  it("clones and pushes with the token, which lands in no file of the clone, no log line and no command line", async () => {
    const lines: string[] = [];
    const credentials = credentialsFromEnv({ WILDSEAL_GIT_TOKEN: TOKEN });
    const before = server.requests.length;
    const out = await withWorkspace(
      { repo: server.url("tenants.git"), branch: "main", credentials, log: lineLog((l) => lines.push(l)), env: { PATH: process.env.PATH } },
      async (ws) => {
        const result = await commitAndPush(ws, {
          render: async (dir) => {
            writeFiles(dir, { "rendered/prod/acme/secret.yaml": "acme\n" });
            return { summary: SUMMARY, value: undefined };
          },
        });
        assert.deepEqual(filesContaining(ws.dir, NEEDLES), [], "token found in the clone");
        assert.equal(git(ws.dir, ["config", "--local", "remote.origin.url"]).trim(), server.url("tenants.git"));
        return result;
      },
    );
    assert.equal(out.kind, "pushed");
    assert.equal(remoteFile(`${root.path}/tenants.git`, "main", "rendered/prod/acme/secret.yaml"), "acme\n");
    const mine = server.requests.slice(before);
    assert.ok(mine.some((r) => r.path.endsWith("/git-receive-pack") && r.status === 200), "pushed over smart HTTP");
    assert.ok(mine.every((r) => r.authorized), "every request carried the token");
    assert.ok(lines.length > 0);
    assert.deepEqual(lines.filter((l) => NEEDLES.some((n) => l.includes(n))), []);
    assert.deepEqual(cmdlineLeaks, [], "token visible in a process command line");
  });

  it("keeps the token out of simple-git's debug output (DEBUG=simple-git*)", async () => {
    const workspace = new URL("../../src/git/workspace.ts", import.meta.url).href;
    const credentialsModule = new URL("../../src/git/credentials.ts", import.meta.url).href;
    const script = `
      const { openWorkspace, closeWorkspace } = await import(${JSON.stringify(workspace)});
      const { credentialsFromEnv } = await import(${JSON.stringify(credentialsModule)});
      const ws = await openWorkspace({ repo: process.argv[1], branch: "main", credentials: credentialsFromEnv(process.env), env: { PATH: process.env.PATH } });
      await closeWorkspace(ws);
      console.log("opened");`;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script, server.url("tenants.git")],
      { env: { PATH: process.env.PATH, DEBUG: "simple-git,simple-git:*", WILDSEAL_GIT_TOKEN: TOKEN }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const code = await new Promise((r) => child.on("close", r));
    assert.equal(code, 0, output);
    assert.match(output, /opened/);
    assert.match(output, /simple-git/, "debug output was on (control)");
    assert.deepEqual(NEEDLES.filter((n) => output.includes(n)), []);
  });

  it("has a command-line check that does see a token when a process shows one (control)", async () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 5000)", TOKEN], { stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(processesShowingToken().length > 0, true);
    } finally {
      child.kill();
    }
  });

  it("takes a token written into the URL, but keeps it out of the clone's config and the logs", async () => {
    const lines: string[] = [];
    const url = server.url("tenants.git").replace("http://", `http://x-access-token:${TOKEN}@`);
    await withWorkspace(
      { repo: url, branch: "main", credentials: NO_CREDENTIALS, log: lineLog((l) => lines.push(l)), env: { PATH: process.env.PATH } },
      async (ws) => {
        assert.equal(ws.remoteDisplay, server.url("tenants.git"));
        assert.deepEqual(filesContaining(ws.dir, NEEDLES), []);
        await commitAndPush(ws, {
          render: async (dir) => {
            writeFiles(dir, { "rendered/prod/beta/secret.yaml": "beta\n" });
            return { summary: { ...SUMMARY, changes: [{ action: "add", tenants: ["beta"] }] }, value: undefined };
          },
        });
      },
    );
    assert.equal(remoteLog(`${root.path}/tenants.git`, "main")[0]?.message.split("\n")[0], "add tenant beta");
    assert.deepEqual(lines.filter((l) => NEEDLES.some((n) => l.includes(n))), []);
  });

  it("fails with a DependencyError (exit 3) without a token, naming the remote", async () => {
    await assert.rejects(
      openWorkspace({ repo: server.url("tenants.git"), branch: "main", credentials: NO_CREDENTIALS, env: { PATH: process.env.PATH } }),
      (e: unknown) =>
        e instanceof DependencyError && e.exitCode === 3 && e.message.includes(server.url("tenants.git")),
    );
  });

  it("retries a remote that does not answer, then fails with a DependencyError", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    const lines: string[] = [];
    await assert.rejects(
      openWorkspace({
        repo: `http://127.0.0.1:${port}/gone.git`,
        branch: "main",
        credentials: credentialsFromEnv({ WILDSEAL_GIT_TOKEN: TOKEN }),
        retry: { maxAttempts: 3, initialMs: 5, maxMs: 10 },
        log: lineLog((l) => lines.push(l)),
        env: { PATH: process.env.PATH },
      }),
      (e: unknown) => e instanceof DependencyError && /Couldn't connect|Failed to connect/.test(e.message),
    );
    assert.equal(lines.filter((l) => /retrying in/.test(l)).length, 2);
  });

  it("fails with a DependencyError that does not echo a wrong token", async () => {
    const wrong = "wst_WRONG_token_value_42";
    const credentials = credentialsFromEnv({ WILDSEAL_GIT_TOKEN: wrong });
    const lines: string[] = [];
    try {
      await openWorkspace({
        repo: server.url("tenants.git"),
        branch: "main",
        credentials,
        log: lineLog((l) => lines.push(l)),
        env: { PATH: process.env.PATH },
      });
      assert.fail("opened with a wrong token");
    } catch (e) {
      assert.ok(isWildsealError(e) && e.exitCode === 3, String(e));
      const wrongBasic = Buffer.from(`x-access-token:${wrong}`).toString("base64");
      for (const text of [e.message, String(e.stack), ...lines]) {
        assert.equal(text.includes(wrong), false);
        assert.equal(text.includes(wrongBasic), false);
      }
    }
  });
});
