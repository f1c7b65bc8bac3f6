import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, constants, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { waitFor as waitForEvery } from "../helpers/wait.ts";

/**
 * Long-running children of the e2e cluster. Each one leads its own process group (detached), so stopping
 * it kills the whole group, and "no stray processes" is checkable by scanning /proc for that group.
 */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** resolves with the exit code (or the signal name) once the group leader has exited */
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
}

const live = new Set<number>();

// A test that crashes before stop() must not leave etcd or kube-apiserver behind.
process.once("exit", () => {
  for (const pgid of live) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

export function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  opts: { env: NodeJS.ProcessEnv; logPath: string; cwd?: string },
): ManagedProcess {
  const log = openSync(opts.logPath, "a", 0o600);
  let child: ChildProcess;
  try {
    child = spawn(command, [...args], { detached: true, stdio: ["ignore", log, log], env: opts.env, cwd: opts.cwd });
  } finally {
    closeSync(log);
  }
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once("error", (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
    child.once("exit", (code, signal) => {
      done = true;
      resolve(code ?? signal ?? "unknown");
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${name} (${command}): see ${opts.logPath}`);
  live.add(pid);
  void exited.then(() => {
    if (processesInGroup(pid).length === 0) live.delete(pid);
  });
  return { name, pid, logPath: opts.logPath, exited, hasExited: () => done };
}

/** pids whose process group is `pgid` (Linux /proc; zombies included, they still hold the group) */
export function processesInGroup(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while scanning
    }
    // fields after the parenthesised command: state ppid pgrp ...
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(rest[2]) === pgid) found.push(Number(entry));
  }
  return found;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM the group, wait up to graceMs, then SIGKILL; resolves when no process of the group is left. */
export async function stopManaged(p: ManagedProcess, graceMs = 15_000): Promise<void> {
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-p.pid, sig);
    } catch {
      // group already empty
    }
  };
  signalGroup("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (processesInGroup(p.pid).length > 0 && Date.now() < deadline) await sleep(100);
  if (processesInGroup(p.pid).length > 0) signalGroup("SIGKILL");
  await Promise.race([p.exited, sleep(5_000)]);
  const killDeadline = Date.now() + 5_000;
  while (processesInGroup(p.pid).length > 0 && Date.now() < killDeadline) await sleep(100);
  const left = processesInGroup(p.pid);
  if (left.length > 0) throw new Error(`${p.name} (process group ${p.pid}) still has processes ${left.join(", ")} after SIGKILL`);
  live.delete(p.pid);
}

export function tailOf(path: string, lines = 40): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Runs a short command to completion; rejects with its stderr on a non-zero exit. */
export function run(
  command: string,
  args: readonly string[],
  opts: {
    input?: string | Buffer;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
  } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    if (!child.stdout || !child.stderr || !child.stdin) throw new Error("stdio pipes missing");
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${e.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code ?? signal}: ${stderr.trim() || stdout.trim()}`));
    });
    // a child that exits without reading all of its input (e.g. on an error) must report its exit, not EPIPE
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/**
 * Hands `content` to a program that only reads files (e.g. kubeseal --recovery-private-key) through a named
 * pipe at `path`, so key material never lands on disk. `use` gets the path; the pipe is removed afterwards.
 */
export async function withFifo<T>(path: string, content: string | Buffer, use: (path: string) => Promise<T>): Promise<T> {
  await run("mkfifo", ["-m", "600", path]);
  // opening the write end blocks (on libuv's thread pool) until the reader opens the pipe
  const writer = open(path, "w").then(async (h) => {
    try {
      await h.writeFile(content);
    } finally {
      await h.close();
    }
  });
  writer.catch(() => undefined);
  try {
    return await use(path);
  } finally {
    // if the reader never opened the pipe, open it ourselves (non-blocking) so the pending writer finishes
    let fd: number | undefined;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      await Promise.race([writer.catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))]);
    } catch {
      // already gone
    } finally {
      if (fd !== undefined) closeSync(fd);
      rmSync(path, { force: true });
    }
  }
}

/** The shared wait (test/helpers/wait.ts), polling every 250 ms: e2e probes are API calls and processes. */
export const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> => waitForEvery(what, probe, ms, 250);
