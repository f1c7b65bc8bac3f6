import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../src/ops/logger.ts";
import type { Trigger } from "../../src/trigger.ts";
import { authConfig, NO_CREDENTIALS, tokenCredentials } from "../../src/git/credentials.ts";
import { createGitRunner } from "../../src/git/git-process.ts";
import { classifyRemote } from "../../src/git/remote-url.ts";
import { parseLsRemote, startGitPoll, type GitCommandRunner } from "../../src/sources/git-poll.ts";
import { branchNameProblem } from "../../src/git/branch-name.ts";
import { ExitCode, UsageError } from "../../src/errors.ts";
import { captureLog } from "../helpers/capture-log.ts";
import { until as untilWithin } from "../helpers/wait.ts";
import { git } from "../helpers/git-fixtures.ts";

const WAIT_MS = 10_000;


/** Counts ls-remote calls so tests can wait for "n more polls" instead of for time. */
function counting(inner: GitCommandRunner) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    runner: {
      async run(args: readonly string[]) {
        try {
          return await inner.run(args);
        } finally {
          calls += 1;
        }
      },
    } satisfies GitCommandRunner,
  };
}


const until = (cond: () => boolean, what: string) => untilWithin(cond, what, WAIT_MS);

describe("git poll source (real bare repository)", () => {
  let root: string;
  let bare: string;
  let work: string;
  const { log, lines: logLines } = captureLog();

  async function personCommits(file: string): Promise<string> {
    await mkdir(dirname(join(work, file)), { recursive: true });
    await writeFile(join(work, file), `${file}\n`);
    git(work, ["add", file]);
    git(work, ["commit", "-q", "-m", `add ${file}`]);
    git(work, ["push", "-q", "origin", "HEAD:main"]);
    return git(work, ["rev-parse", "HEAD"]).trim();
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "wildseal-gitpoll-"));
    bare = join(root, "origin.git");
    work = join(root, "work");
    git(root, ["init", "-q", "--bare", "-b", "main", bare]);
    git(root, ["clone", "-q", bare, work]);
    git(work, ["checkout", "-q", "-b", "main"]);
    await personCommits("wildseal.yaml");
  });
  after(async () => rm(root, { recursive: true, force: true }));

  it("triggers once when a person pushes, and never while the branch is idle", async () => {
    const triggers: Trigger[] = [];
    const c = counting(createGitRunner({ baseDir: tmpdir(), credentials: NO_CREDENTIALS }));
    const poll = startGitPoll({ remote: bare, branch: "main", intervalMs: 20, onTrigger: (t) => triggers.push(t), log, git: c.runner });
    try {
      const tip = git(work, ["rev-parse", "HEAD"]).trim();
      poll.acknowledge(tip); // what the startup reconcile does with the tip it rendered against
      await until(() => c.calls >= 5, "five idle polls");
      assert.equal(triggers.length, 0, "no trigger while idle");
      const added = await personCommits("tenants/acme.yaml");
      await until(() => triggers.length >= 1, "the person's push to be noticed");
      assert.deepEqual(triggers[0], { kind: "git-poll", detail: `main at ${added}` });
      const after = c.calls;
      await until(() => c.calls >= after + 5, "five more polls");
      assert.equal(triggers.length, 1, "the same tip does not trigger again");
      assert.equal(poll.lastTip(), added);
    } finally {
      await poll.stop();
    }
  });

  it("does not trigger on wildseal's own acknowledged push", async () => {
    const triggers: Trigger[] = [];
    const c = counting(createGitRunner({ baseDir: tmpdir(), credentials: NO_CREDENTIALS }));
    const poll = startGitPoll({ remote: bare, branch: "main", intervalMs: 20, onTrigger: (t) => triggers.push(t), log, git: c.runner });
    try {
      poll.acknowledge(git(work, ["rev-parse", "HEAD"]).trim());
      await poll.pollNow();
      // "our" push: acknowledged before the poll can see it
      await writeFile(join(work, "rendered.yaml"), "x\n");
      git(work, ["add", "rendered.yaml"]);
      git(work, ["commit", "-q", "-m", "renew *.example.com for 1 tenant"]);
      const ours = git(work, ["rev-parse", "HEAD"]).trim();
      poll.acknowledge(ours);
      git(work, ["push", "-q", "origin", "HEAD:main"]);
      const before = c.calls;
      await until(() => c.calls >= before + 5, "five polls after our push");
      assert.equal(triggers.length, 0);
      assert.equal(poll.lastTip(), ours);
      const theirs = await personCommits("templates/ingress.yaml");
      await until(() => triggers.length >= 1, "a person's push on top of ours");
      assert.equal(triggers[0]?.detail, `main at ${theirs}`);
    } finally {
      await poll.stop();
    }
  });

  it("without an acknowledgement, the first tip seen triggers exactly once", async () => {
    const triggers: Trigger[] = [];
    const c = counting(createGitRunner({ baseDir: tmpdir(), credentials: NO_CREDENTIALS }));
    const poll = startGitPoll({ remote: bare, branch: "main", intervalMs: 20, onTrigger: (t) => triggers.push(t), log, git: c.runner });
    try {
      await until(() => c.calls >= 5, "five polls");
      assert.equal(triggers.length, 1);
    } finally {
      await poll.stop();
    }
  });

  it("logs a failing poll without the credential settings and keeps polling", async () => {
    // an http remote on loopback that refuses connections: the token is really handed to git
    const remote = "http://127.0.0.1:9/missing.git";
    const credentials = tokenCredentials(Buffer.from("secret-token-value"), "test");
    const c = counting(createGitRunner({ baseDir: tmpdir(), credentials, auth: authConfig(credentials, classifyRemote(remote)) }));
    const triggers: Trigger[] = [];
    const before = logLines.length;
    const poll = startGitPoll({ remote, branch: "main", intervalMs: 20, onTrigger: (t) => triggers.push(t), log, git: c.runner });
    try {
      await until(() => c.calls >= 3, "three failing polls");
    } finally {
      await poll.stop();
    }
    const failures = logLines.slice(before).filter((l) => l.includes("git poll failed"));
    assert.ok(failures.length >= 3);
    assert.ok(!failures.join("").includes("secret-token-value"));
    assert.ok(!failures.join("").includes(Buffer.from("x-access-token:secret-token-value").toString("base64")));
    assert.equal(triggers.length, 0);
  });
});

describe("git poll parsing and validation", () => {
  it("finds the branch's sha in ls-remote output and only that ref", () => {
    const a = "a".repeat(40);
    const b = "b".repeat(40);
    const out = `${a}\trefs/heads/main-old\n${b}\trefs/heads/main\n`;
    assert.equal(parseLsRemote(out, "main"), b);
    assert.equal(parseLsRemote(out, "dev"), undefined);
    assert.equal(parseLsRemote("", "main"), undefined);
  });

  it("refuses branch names and remotes that could become options or escape refs/heads", () => {
    for (const ok of ["main", "release/1.2", "wildseal_sync-1"]) assert.equal(branchNameProblem(ok), undefined, ok);
    for (const bad of ["-x", "--upload-pack=evil", "a..b", "a/", "x.lock", "a b", "", "/main"]) assert.notEqual(branchNameProblem(bad), undefined, bad);
    assert.throws(() => startGitPoll({ remote: "--upload-pack=touch /tmp/x", branch: "main", intervalMs: 1000, onTrigger: () => undefined, log: createLogger({ level: "silent" }), git: createGitRunner({ baseDir: tmpdir(), credentials: NO_CREDENTIALS }) }));
  });

  it("polls every branch name the CLI accepts (release@2 was an internal error, exit 3) and refuses the others as usage errors", async () => {
    const sha = "c".repeat(40);
    const triggers: Trigger[] = [];
    const asked: string[][] = [];
    const git: GitCommandRunner = { run: async (args) => (asked.push([...args]), `${sha}\trefs/heads/release@2\n`) };
    const poll = startGitPoll({ remote: "/srv/gitops.git", branch: "release@2", intervalMs: 60_000, onTrigger: (t) => triggers.push(t), log: createLogger({ level: "silent" }), git });
    try {
      await poll.pollNow();
      assert.deepEqual(asked, [["ls-remote", "/srv/gitops.git", "refs/heads/release@2"]]);
      assert.deepEqual(triggers.map((t) => t.kind), ["git-poll"]);
    } finally {
      await poll.stop();
    }
    for (const bad of ["a..b", "-x", "x.lock"]) {
      assert.throws(
        () => startGitPoll({ remote: "/srv/gitops.git", branch: bad, intervalMs: 60_000, onTrigger: () => undefined, log: createLogger({ level: "silent" }), git }),
        (e: unknown) => e instanceof UsageError && e.exitCode === ExitCode.usage,
        bad,
      );
    }
  });
});
