/**
 * Finding 10: a `kill -9`'d sync left its clone in TMPDIR forever. Clones now carry their owner in
 * their name and every workspace opened sweeps those of owners that are gone — and nothing else.
 * Every test works in a private temporary root, never in the shared TMPDIR.
 */
import assert from "node:assert/strict";
import { lineLog } from "../../src/line-log.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chownSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, describe, it } from "node:test";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import {
  CLONE_PREFIX,
  currentProcess,
  ownedName,
  parseOwnedName,
  sweepDeadOwners,
} from "../../src/git/temp-clones.ts";
import { withWorkspace } from "../../src/git/workspace.ts";
import { type BareRemote, makeBareRemote, tempDir } from "../helpers/git-fixtures.ts";

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

function remote(): BareRemote {
  const r = makeBareRemote({ files: { "wildseal.yaml": "kind: Config\n" } });
  cleanups.push(() => r.cleanup());
  return r;
}

function privateRoot(): string {
  const t = tempDir("wildseal-tmproot-");
  cleanups.push(() => t.cleanup());
  return t.path;
}

/** No process has this pid: Linux caps pids at 2^22. */
const NO_SUCH_PID = 99_999_999;

async function openAndClose(r: BareRemote, root: string, log?: (l: string) => void): Promise<string> {
  return withWorkspace(
    { repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {}, tempRoot: root, ...(log === undefined ? {} : { log: lineLog(log) }) },
    async (ws) => ws.dir,
  );
}

/** A separate wildseal process holding an open workspace under `root` until it is killed. */
async function processWithOpenWorkspace(r: BareRemote, root: string): Promise<{ child: ChildProcess; dir: string }> {
  const workspace = new URL("../../src/git/workspace.ts", import.meta.url).href;
  const credentials = new URL("../../src/git/credentials.ts", import.meta.url).href;
  const script = `
    const { openWorkspace } = await import(${JSON.stringify(workspace)});
    const { NO_CREDENTIALS } = await import(${JSON.stringify(credentials)});
    const ws = await openWorkspace({ repo: process.argv[1], branch: "main", credentials: NO_CREDENTIALS, env: { PATH: process.env.PATH }, tempRoot: process.argv[2] });
    console.log(ws.dir);
    setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, r.path, root], {
    env: { PATH: process.env.PATH },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanups.push(() => child.kill("SIGKILL"));
  let out = "";
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  const dir = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    child.on("exit", (code) => reject(new Error(`the workspace process exited (${code}): ${err}`)));
  });
  return { child, dir };
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

describe("clones left behind by dead processes", () => {
  it("names each clone after its owner, in a private 0700 folder", async () => {
    const root = privateRoot();
    const self = await currentProcess();
    await withWorkspace({ repo: remote().path, branch: "main", credentials: NO_CREDENTIALS, env: {}, tempRoot: root }, async (ws) => {
      assert.equal(join(root, basename(ws.dir)), ws.dir);
      assert.deepEqual(parseOwnedName(CLONE_PREFIX, basename(ws.dir)), self);
      assert.equal(statSync(ws.dir).mode & 0o777, 0o700);
    });
    assert.deepEqual(readdirSync(root), []);
  });

  it("leaves a live process's clone alone, and removes it once that process was kill -9'd", async () => {
    const r = remote();
    const root = privateRoot();
    const { child, dir } = await processWithOpenWorkspace(r, root);
    assert.ok(existsSync(join(dir, ".git")), "the other process's clone exists");

    await openAndClose(r, root);
    assert.ok(existsSync(join(dir, ".git")), "a live owner's clone is kept");

    await kill9(child);
    assert.ok(existsSync(dir), "kill -9 leaves the clone behind");
    const lines: string[] = [];
    await openAndClose(r, root, (l) => lines.push(l));
    assert.equal(existsSync(dir), false, "the next workspace swept it");
    assert.deepEqual(readdirSync(root), []);
    assert.ok(lines.some((l) => l.includes(dir) && l.includes(`process ${child.pid}`)), lines.join("\n"));
  });

  it("removes the clone of a pid that no longer exists, without following the symlinks inside it", async () => {
    const root = privateRoot();
    const outside = privateRoot();
    writeFileSync(join(outside, "precious"), "keep me\n");
    const self = await currentProcess();
    const dead = join(root, ownedName(CLONE_PREFIX, { ...self, pid: NO_SUCH_PID, start: 0 }, "aB3xYz"));
    mkdirSync(join(dead, ".git", "objects"), { recursive: true });
    writeFileSync(join(dead, ".git", "objects", "x"), "x");
    symlinkSync(outside, join(dead, "rendered"));
    await openAndClose(remote(), root);
    assert.equal(existsSync(dead), false);
    assert.deepEqual(readdirSync(outside), ["precious"]);
  });

  it("does not mistake a recycled pid for the owner: same pid, other start time", { skip: !existsSync("/proc/self/stat") }, async () => {
    const root = privateRoot();
    const self = await currentProcess();
    assert.notEqual(self.start, 0, "Linux records the start time");
    // this very process's pid, recorded with another start: the clone's owner was an earlier process
    const recycled = join(root, ownedName(CLONE_PREFIX, { ...self, start: self.start - 1 }, "Rcy1ed"));
    mkdirSync(recycled);
    const verdicts = await sweepDeadOwners(root, CLONE_PREFIX);
    assert.deepEqual(verdicts, [{ kind: "removed", path: recycled, owner: self.pid }]);
    assert.equal(existsSync(recycled), false);
  });

  it("touches nothing else: other scopes, other names, files, symlinks, other users' folders", async () => {
    const root = privateRoot();
    const outside = privateRoot();
    const self = await currentProcess();
    const deadOwner = { ...self, pid: NO_SUCH_PID, start: 0 };
    writeFileSync(join(outside, "precious"), "keep me\n");
    const kept = {
      otherScope: ownedName(CLONE_PREFIX, { ...deadOwner, scope: self.scope === "00000000" ? "11111111" : "00000000" }, "aaaaaa"),
      oldUnownedFormat: `${CLONE_PREFIX}Ab12Cd`,
      similarPrefix: ownedName("wildseal-gitx-", deadOwner, "bbbbbb"),
      trailingJunk: `${ownedName(CLONE_PREFIX, deadOwner, "cccccc")}.bak`,
      unrelated: "unrelated-folder",
    };
    for (const name of Object.values(kept)) mkdirSync(join(root, name));
    const file = ownedName(CLONE_PREFIX, deadOwner, "dddddd");
    writeFileSync(join(root, file), "a file, not a clone\n");
    const link = ownedName(CLONE_PREFIX, deadOwner, "eeeeee");
    symlinkSync(outside, join(root, link));
    const names = [...Object.values(kept), file, link];
    if (process.getuid?.() === 0) {
      const foreign = ownedName(CLONE_PREFIX, deadOwner, "ffffff");
      mkdirSync(join(root, foreign));
      chownSync(join(root, foreign), 65534, 65534);
      names.push(foreign);
    }
    const control = ownedName(CLONE_PREFIX, deadOwner, "gggggg");
    mkdirSync(join(root, control));

    await openAndClose(remote(), root);
    assert.deepEqual(readdirSync(root).sort(), names.sort(), "only the dead owner's clone (the control) is gone");
    assert.deepEqual(readdirSync(outside), ["precious"], "the symlink was not followed");
  });

  it("an unreadable temporary folder is logged and skipped, never thrown", async () => {
    const notAFolder = join(privateRoot(), "file");
    writeFileSync(notAFolder, "");
    const lines: string[] = [];
    assert.deepEqual(await sweepDeadOwners(notAFolder, CLONE_PREFIX, { log: lineLog((l) => lines.push(l)) }), []);
    assert.match(lines.join("\n"), /cannot look for leftover clones in .*file \(ENOTDIR/);
  });
});
