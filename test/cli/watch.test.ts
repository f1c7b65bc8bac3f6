import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseDuration } from "../../src/cli/watch.ts";
import { UsageError } from "../../src/errors.ts";
import { fixtureEnv, tempDir } from "../helpers/git-fixtures.ts";
import { makeSyncWorld } from "../pipeline/sync-world.ts";
import { commitCount, filesOf, KubeletVolume, waitUntil } from "../pipeline/watch-world.ts";
import { runCli } from "./run-cli.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

describe("wildseal watch: flags", () => {
  it("parses Go-style durations", () => {
    assert.equal(parseDuration("30s", "--interval"), 30_000);
    assert.equal(parseDuration("1m", "--interval"), 60_000);
    assert.equal(parseDuration("2m30s", "--interval"), 150_000);
    assert.equal(parseDuration("1h", "--interval"), 3_600_000);
    assert.equal(parseDuration("1h2m3s", "--interval"), 3_723_000);
    assert.equal(parseDuration("250ms", "--debounce"), 250);
  });

  it("rejects anything else as a usage error naming the flag", () => {
    for (const bad of ["", "1", "1x", "-1s", "0s", "1s1m", "1.5m", "25h", "m", "1 m", "30S"]) {
      assert.throws(() => parseDuration(bad, "--interval"), (e: unknown) => e instanceof UsageError && e.message.startsWith("--interval"), bad);
    }
  });

  it("usage errors exit 2 before anything starts", async () => {
    const base = ["watch", "--repo", "/nonexistent/remote.git"];
    const cases: Array<[string[], RegExp]> = [
      [[...base, "--source-file", "x", "--interval", "5 minutes"], /--interval "5 minutes": not a duration/],
      [[...base, "--source-file", "x", "--debounce", "0s"], /--debounce/],
      [[...base, "--source-file", "x", "--source-secret", "a/b"], /exactly one of --source-file/],
      [[...base], /exactly one of --source-file/],
      [[...base, "--source-secret", "a/b", "--webhook-secret-file", "/etc/hostname"], /needs --listen/],
      [[...base, "--source-secret", "a/b", "--listen", "127.0.0.1:0", "--webhook-secret-file", "/nonexistent/webhook.key"], /--webhook-secret-file .* cannot be read/],
      [[...base, "--source-secret", "a/b", "--webhook-secret", "s3cret"], /unknown option '--webhook-secret'/],
      [[...base, "--source-secret", "a/b", "--listen", "nowhere"], /--listen "nowhere"/],
      [[...base, "--source-file", "x", "--leader-elect"], /--leader-elect needs --source-secret/],
      [[...base, "--source-file", "com=x", "--source-file", "org=y", "--leader-elect"], /--leader-elect needs --source-secret/],
      // files and Secrets mixed: the Lease goes to the Secret's namespace, so only the next check (--mode) speaks
      [[...base, "--source-file", "com=x", "--source-secret", "org=a/b", "--leader-elect", "--mode", "carrier-pigeon"], /^wildseal: --mode must be push or pull-request/],
      [[...base, "--source-secret", "a/b", "--mode", "carrier-pigeon"], /--mode must be push or pull-request/],
      [[...base, "--source-secret", "a/b", "--log-level", "loud"], /--log-level/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /s3cret/, "the webhook secret is not echoed");
    }
  });
});

interface Child {
  readonly proc: ChildProcess;
  readonly messages: Array<{ msg: string; [k: string]: unknown }>;
  next(msg: string | RegExp, timeoutMs?: number): Promise<{ msg: string; [k: string]: unknown }>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** The real CLI as a child process; its stderr is JSON log lines. */
function spawnWatch(args: readonly string[]): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", MAIN, "watch", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...fixtureEnv(), NODE_OPTIONS: "" },
  });
  const messages: Array<{ msg: string; [k: string]: unknown }> = [];
  let wake: () => void = () => undefined;
  createInterface(proc.stderr!).on("line", (line) => {
    try {
      messages.push(JSON.parse(line) as { msg: string });
    } catch {
      messages.push({ msg: `(not JSON) ${line}` });
    }
    wake();
  });
  const exited = once(proc, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    proc,
    messages,
    exited,
    async next(msg, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      const match = (m: { msg: string }) => (typeof msg === "string" ? m.msg === msg : msg.test(m.msg));
      for (;;) {
        const hit = messages.find(match);
        if (hit) return hit;
        if (Date.now() > deadline || proc.exitCode !== null) assert.fail(`no log line ${String(msg)}; got: ${messages.map((m) => m.msg).join(" | ")}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 100);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
  };
}

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? Number.NaN);
}

describe("wildseal watch: the real CLI as a process", () => {
  it("publishes, turns ready, idles, and exits 0 on SIGTERM", { timeout: 120_000 }, async () => {
    const world = await makeSyncWorld(["acme", "beta"]);
    const dir = tempDir("wildseal-cli-volume-");
    const volume = new KubeletVolume(`${dir.path}/secret`);
    await volume.create(filesOf(await world.issue(5)));
    const child = spawnWatch(["--repo", world.remote.path, "--source-file", volume.dir, "--listen", "127.0.0.1:0", "--debounce", "100ms"]);
    try {
      const listening = await child.next("ops endpoint listening");
      const url = `http://${String(listening["listen"])}`;
      await child.next("reconcile published");
      assert.equal(commitCount(world.remote.path), 2);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      await waitUntil(async () => (await fetch(`${url}/readyz`)).status === 200, "/readyz 200");
      assert.match(await (await fetch(`${url}/metrics`)).text(), /^wildseal_tenants\{cluster="prod-east"\} 2$/m);
      await new Promise((r) => setTimeout(r, 1_000));
      console.log(`# idle RSS of wildseal watch (node --import tsx, 2 tenants) after the first reconcile: ${rssKiB(child.proc.pid ?? 0)} KiB`);
      child.proc.kill("SIGTERM");
      const [code, signal] = await child.exited;
      assert.equal(signal, null);
      assert.equal(code, 0, child.messages.map((m) => m.msg).join(" | "));
      assert.equal(child.messages.at(-1)?.msg, "shut down cleanly");
    } finally {
      child.proc.kill("SIGKILL");
      dir.cleanup();
      world.cleanup();
    }
  });

  it("SIGTERM during a reconcile: the reconcile finishes or is abandoned before its push, the process exits 0", { timeout: 120_000 }, async () => {
    const tenants = Array.from({ length: 40 }, (_, i) => `t${String(i).padStart(2, "0")}`);
    const world = await makeSyncWorld(tenants);
    const dir = tempDir("wildseal-cli-volume-");
    const volume = new KubeletVolume(`${dir.path}/secret`);
    await volume.create(filesOf(await world.issue(5)));
    const child = spawnWatch(["--repo", world.remote.path, "--source-file", volume.dir, "--debounce", "50ms"]);
    try {
      await child.next("reconcile started");
      child.proc.kill("SIGTERM");
      const [code, signal] = await child.exited;
      const msgs = child.messages.map((m) => m.msg);
      assert.equal(signal, null);
      assert.equal(code, 0, msgs.join(" | "));
      assert.equal(msgs.at(-1), "shut down cleanly");
      const started = msgs.indexOf("reconcile started");
      const stopping = msgs.indexOf("shutting down");
      const ended = msgs.findIndex((m) => m === "reconcile published" || m === "reconcile abandoned: stopping");
      assert.ok(started < stopping && stopping < ended, `the signal arrived during the reconcile: ${msgs.join(" | ")}`);
      // atomic either way: the whole rendered tree, or nothing
      assert.equal(commitCount(world.remote.path), msgs[ended] === "reconcile published" ? 2 : 1);
      console.log(`# SIGTERM during a reconcile ended with: ${msgs[ended]}`);
    } finally {
      child.proc.kill("SIGKILL");
      dir.cleanup();
      world.cleanup();
    }
  });
});
