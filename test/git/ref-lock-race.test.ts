/**
 * Finding 6: concurrent pushes to one remote race for the branch's ref lock inside receive-pack.
 * The loser's `[remote rejected] … (failed to update ref)` / `(cannot lock ref …)` is a moved branch
 * in disguise: it must be retried like a non-fast-forward, while a hook's or branch protection's
 * `[remote rejected]` stays fatal.
 */
import assert from "node:assert/strict";
import { lineLog } from "../../src/line-log.ts";
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DependencyError } from "../../src/errors.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { classifyFailure, createGitRunner, type FailureKind, GitFailure } from "../../src/git/git-process.ts";
import type { CommitSummary } from "../../src/git/trailers.ts";
import { commitAndPush, type Rendered, withWorkspace } from "../../src/git/workspace.ts";
import {
  type BareRemote,
  git,
  makeBareRemote,
  pushAsPerson,
  remoteFile,
  remoteLog,
  tempDir,
  writeFiles,
} from "../helpers/git-fixtures.ts";

const SEED = { "wildseal.yaml": "kind: Config\n" };
const FAST = { initialMs: 5, maxMs: 20 };
const SUMMARY: CommitSummary = {
  changes: [{ action: "add", tenants: ["acme"] }],
  certSha256: "ab".repeat(32),
  certNotAfter: new Date("2026-06-01T00:00:00Z"),
  domain: "*.example.com",
};

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

function remote(files: Record<string, string> | "empty" = SEED): BareRemote {
  const r = makeBareRemote(files === "empty" ? {} : { files });
  cleanups.push(() => r.cleanup());
  return r;
}

function hook(r: BareRemote, name: "pre-receive" | "update", body: string): void {
  writeFiles(r.path, { [`hooks/${name}`]: `#!/bin/sh\n${body}\n` });
  chmodSync(join(r.path, "hooks", name), 0o755);
}

function renderAcme(content = "v1") {
  return async (dir: string): Promise<Rendered<undefined>> => {
    writeFiles(dir, { "rendered/prod/acme/secret.yaml": `acme: ${content}\n` });
    return { summary: SUMMARY, value: undefined };
  };
}

/** renderAcme that counts its calls: one render per push attempt. */
function countedRenderAcme(): { render: (dir: string) => Promise<Rendered<undefined>>; readonly count: number } {
  let count = 0;
  const render = renderAcme();
  return {
    render: (dir) => {
      count++;
      return render(dir);
    },
    get count() {
      return count;
    },
  };
}

const OLD = "9d6449ed761a10e52f516c9011a8b39d371481ca";
const NEW = "2110822ccb7556a672ca60ae095870b1aa5953df";
const LOCK_BANNER = [
  "remote: ",
  "remote: Another git process seems to be running in this repository, e.g.        ",
  "remote: an editor opened by 'git commit'. Please make sure all processes        ",
  "remote: are terminated then try again. If it still fails, a git process        ",
  "remote: may have crashed in this repository earlier:        ",
  "remote: remove the file manually to continue.        ",
].join("\n");

/**
 * `push --porcelain` output as GitFailure.output holds it (stderr, then stdout). Captured from git 2.39
 * unless the row says otherwise; git ≥ 2.50 reasons are refs.c ref_transaction_error_msg()'s texts.
 */
const TABLE: readonly { readonly name: string; readonly output: string; readonly kind: FailureKind }[] = [
  {
    name: "ref lock held by a concurrent receive-pack (porcelain)",
    output: `remote: error: cannot lock ref 'refs/heads/main': Unable to create '/srv/r.git/./refs/heads/main.lock': File exists.        \n${LOCK_BANNER}\nerror: failed to push some refs to '/srv/r.git'\nTo /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)\nDone\n`,
    kind: "rejected",
  },
  {
    name: "ref lock held by a concurrent receive-pack (human-readable)",
    output: `remote: error: cannot lock ref 'refs/heads/main': Unable to create '/srv/r.git/./refs/heads/main.lock': File exists.        \n${LOCK_BANNER}\nTo /srv/r.git\n ! [remote rejected] HEAD -> main (failed to update ref)\nerror: failed to push some refs to '/srv/r.git'\n`,
    kind: "rejected",
  },
  {
    name: "branch moved between the advertisement and the lock",
    output: `remote: error: cannot lock ref 'refs/heads/main': is at ${NEW} but expected ${OLD}        \nerror: failed to push some refs to '/srv/r.git'\nTo /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)\nDone\n`,
    kind: "rejected",
  },
  {
    name: "branch created meanwhile by someone else",
    output: `remote: error: cannot lock ref 'refs/heads/main': reference already exists        \nerror: failed to push some refs to '/srv/r.git'\nTo /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)\nDone\n`,
    kind: "rejected",
  },
  {
    name: "GitHub quotes the cause as the reason (github.com/ad-m/github-push-action#61)",
    output: `To https://github.com/acme/gitops.git\n ! [remote rejected] HEAD -> main (cannot lock ref 'refs/heads/main': is at 98bf7e54a615d7e23cbcf8688d22c4099a1d2240 but expected 00da1b358846ae9a8ffa71b34eb1e330e3a37e3d)\nerror: failed to push some refs to 'https://github.com/acme/gitops.git'\n`,
    kind: "rejected",
  },
  {
    name: "git >= 2.50: whole transaction failed on the held lock",
    output: `remote: error: cannot lock ref 'refs/heads/main': Unable to create '/srv/r.git/./refs/heads/main.lock': File exists.\nTo /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (failed to update refs)\nDone\n`,
    kind: "rejected",
  },
  {
    name: "git >= 2.50: incorrect old value provided",
    output: `To /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (incorrect old value provided)\nDone\n`,
    kind: "rejected",
  },
  {
    name: "git >= 2.50: reference already exists",
    output: `To /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (reference already exists)\nDone\n`,
    kind: "rejected",
  },
  {
    name: "pre-receive hook declined (porcelain)",
    output: `remote: main is protected: changes go through review        \nerror: failed to push some refs to '/srv/r.git'\nTo /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)\nDone\n`,
    kind: "fatal",
  },
  {
    name: "pre-receive hook declined (human-readable)",
    output: `remote: main is protected: changes go through review        \nTo /srv/r.git\n ! [remote rejected] HEAD -> main (pre-receive hook declined)\nerror: failed to push some refs to '/srv/r.git'\n`,
    kind: "fatal",
  },
  {
    name: "update hook declined",
    output: `remote: nope from update hook        \nremote: error: hook declined to update refs/heads/main        \nerror: failed to push some refs to '/srv/r.git'\nTo /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (hook declined)\nDone\n`,
    kind: "fatal",
  },
  {
    name: "a declining hook whose own output talks about ref locks stays fatal",
    output: `remote: error: cannot lock ref 'refs/heads/main': Unable to create 'x/main.lock': File exists.        \nTo /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)\nDone\n`,
    kind: "fatal",
  },
  {
    name: "GitHub branch protection",
    output: `remote: error: GH006: Protected branch update failed for refs/heads/main.        \nremote: error: Changes must be made through a pull request.        \nTo https://github.com/acme/gitops.git\n ! [remote rejected] main -> main (protected branch hook declined)\nerror: failed to push some refs to 'https://github.com/acme/gitops.git'\n`,
    kind: "fatal",
  },
  {
    name: "a ref name conflict is no race (github.com/desktop/desktop#17597)",
    output: `To https://github.com/acme/gitops.git\n ! [remote rejected] topic -> topic (cannot lock ref 'refs/heads/topic': 'refs/heads/topic/x' exists; cannot create 'refs/heads/topic')\nerror: failed to push some refs to 'https://github.com/acme/gitops.git'\n`,
    kind: "fatal",
  },
  {
    name: "a branch deleted meanwhile is not resurrected",
    output: `remote: error: cannot lock ref 'refs/heads/main': reference is missing but expected ${OLD}        \nTo /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)\nDone\n`,
    kind: "fatal",
  },
  {
    name: "a remote that cannot write its ref",
    output: `remote: error: cannot lock ref 'refs/heads/main': Unable to create '/srv/r.git/./refs/heads/main.lock': Permission denied        \nTo /srv/r.git\n!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)\nDone\n`,
    kind: "fatal",
  },
  {
    name: "non-fast-forward (unchanged)",
    output: `To /srv/r.git\n!\tHEAD:refs/heads/main\t[rejected] (fetch first)\nDone\nhint: Updates were rejected because the remote contains work that you do\n`,
    kind: "rejected",
  },
  {
    name: "authentication (unchanged)",
    output: "remote: Invalid username or password.\nfatal: Authentication failed for 'https://github.com/acme/gitops.git/'\n",
    kind: "fatal",
  },
];

describe("classifying a refused push", () => {
  for (const row of TABLE) {
    it(`${row.kind}: ${row.name}`, () => {
      assert.equal(classifyFailure(row.output), row.kind);
    });
  }
});

/** Pushes a new commit on `branch` of `r` with the installed git and returns the failure's output. */
async function failedPushOutput(r: BareRemote, branch = "main"): Promise<string> {
  const work = tempDir("wildseal-person-");
  try {
    git(work.path, ["clone", "--quiet", "--branch", branch, r.path, "."]);
    git(work.path, ["commit", "--quiet", "--allow-empty", "-m", "mine"]);
    const runner = createGitRunner({ baseDir: work.path, credentials: NO_CREDENTIALS, env: {} });
    await runner.run(["push", "--porcelain", "--no-verify", r.path, `HEAD:refs/heads/${branch}`]);
    throw new Error("the push was expected to fail");
  } catch (e) {
    if (!(e instanceof GitFailure)) throw e;
    return e.output;
  } finally {
    work.cleanup();
  }
}

describe("classifying what the installed git prints", () => {
  it("a held ref lock is a race", async () => {
    const r = remote();
    writeFileSync(join(r.path, "refs/heads/main.lock"), "");
    const out = await failedPushOutput(r);
    assert.match(out, /\[remote rejected\]/);
    assert.equal(classifyFailure(out), "rejected", out);
  });

  it("a branch moved while receive-pack held the push is a race", async () => {
    const r = remote();
    // what a concurrent push does between our advertisement and our lock, done by an update hook
    const other = pushAsPerson(r.path, "other", { "x.txt": "x\n" }, "someone else");
    hook(r, "update", `git update-ref "$1" ${other}`);
    const out = await failedPushOutput(r);
    assert.equal(classifyFailure(out), "rejected", out);
  });

  it("a declining pre-receive hook is fatal", async () => {
    const r = remote();
    hook(r, "pre-receive", "echo 'main is protected: changes go through review' >&2\nexit 1");
    const out = await failedPushOutput(r);
    assert.equal(classifyFailure(out), "fatal", out);
  });
});

describe("pushing while another push holds the branch's lock", () => {
  it("retries when the lock is released and the holder's commit landed: both commits are kept", async () => {
    const r = remote();
    const lock = join(r.path, "refs/heads/main.lock");
    writeFileSync(lock, ""); // what a concurrent receive-pack does while it updates main
    const lines: string[] = [];
    let holder = "";
    const out = await withWorkspace(
      {
        repo: r.path,
        branch: "main",
        credentials: NO_CREDENTIALS,
        env: {},
        log: lineLog((line) => {
          lines.push(line);
          if (holder === "" && /got there first/.test(line)) {
            // the concurrent push finishes: its lock goes, its commit lands
            rmSync(lock);
            holder = pushAsPerson(r.path, "main", { "tenants/zeta.yaml": "name: zeta\n" }, "the lock holder's push");
          }
        }),
      },
      (ws) => commitAndPush(ws, { retry: FAST, render: renderAcme() }),
    );
    assert.equal(out.kind, "pushed");
    assert.equal(out.kind === "pushed" ? out.attempts : 0, 2);
    assert.ok(lines.some((l) => /main\.lock': File exists/.test(l)), lines.join("\n"));
    const log = remoteLog(r.path, "main");
    assert.equal(log.length, 3, "seed, the holder's commit, ours");
    assert.equal(log[0]?.sha, out.kind === "pushed" ? out.commit : "");
    assert.deepEqual(log[0]?.parents, [holder]);
    assert.equal(remoteFile(r.path, "main", "tenants/zeta.yaml"), "name: zeta\n");
    assert.equal(remoteFile(r.path, "main", "rendered/prod/acme/secret.yaml"), "acme: v1\n");
  });

  it("retries when the lock is released without a change (the holder failed): the push lands on the same tip", async () => {
    const r = remote();
    const seed = remoteLog(r.path, "main")[0]?.sha;
    const lock = join(r.path, "refs/heads/main.lock");
    writeFileSync(lock, "");
    const out = await withWorkspace(
      {
        repo: r.path,
        branch: "main",
        credentials: NO_CREDENTIALS,
        env: {},
        log: lineLog((line) => {
          if (/got there first/.test(line)) rmSync(lock, { force: true });
        }),
      },
      (ws) => commitAndPush(ws, { retry: FAST, render: renderAcme() }),
    );
    assert.equal(out.kind === "pushed" ? out.attempts : 0, 2);
    const log = remoteLog(r.path, "main");
    assert.equal(log.length, 2);
    assert.deepEqual(log[0]?.parents, [seed]);
  });

  it("a branch moved by a racing push (is at … but expected …) is re-rendered on and both land", async () => {
    const r = remote();
    const other = pushAsPerson(r.path, "other", { "tenants/zeta.yaml": "name: zeta\n" }, "someone else");
    const marker = join(r.path, "raced");
    hook(r, "update", `[ -e ${marker} ] && exit 0\ntouch ${marker}\ngit update-ref "$1" ${other}`);
    const renders = countedRenderAcme();
    const lines: string[] = [];
    const out = await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {}, log: lineLog((l) => lines.push(l)) }, (ws) =>
      commitAndPush(ws, {
        retry: FAST,
        render: renders.render,
      }),
    );
    assert.equal(out.kind, "pushed");
    assert.equal(renders.count, 2);
    assert.ok(lines.some((l) => new RegExp(`is at ${other} but expected`).test(l)), lines.join("\n"));
    assert.deepEqual(remoteLog(r.path, "main")[0]?.parents, [other]);
    assert.equal(remoteFile(r.path, "main", "tenants/zeta.yaml"), "name: zeta\n");
  });

  it("a branch created by a racing push on an empty remote (reference already exists) is built upon", async () => {
    const r = remote("empty");
    const other = pushAsPerson(r.path, "other", { "README.md": "hello\n" }, "someone else");
    // kept outside refs/heads: the remote still looks empty to the clone
    git(r.path, ["update-ref", "refs/keep/other", other]);
    git(r.path, ["update-ref", "-d", "refs/heads/other"]);
    const marker = join(r.path, "raced");
    hook(r, "update", `[ -e ${marker} ] && exit 0\ntouch ${marker}\ngit update-ref "$1" ${other}`);
    const out = await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
      commitAndPush(ws, { retry: FAST, render: renderAcme() }),
    );
    assert.equal(out.kind, "pushed");
    assert.deepEqual(remoteLog(r.path, "main")[0]?.parents, [other]);
    assert.equal(remoteFile(r.path, "main", "README.md"), "hello\n");
  });

  it("gives up with exit 3 naming the lock file when the lock never goes away, having pushed nothing", async () => {
    const r = remote();
    writeFileSync(join(r.path, "refs/heads/main.lock"), "");
    const renders = countedRenderAcme();
    await assert.rejects(
      withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
        commitAndPush(ws, {
          maxAttempts: 3,
          retry: FAST,
          render: renders.render,
        }),
      ),
      (e: unknown) =>
        e instanceof DependencyError &&
        e.exitCode === 3 &&
        /failed 3 times/.test(e.message) &&
        /refs\/heads\/main\.lock': File exists/.test(e.message) &&
        /crashed git left that lock file/.test(e.message),
    );
    assert.equal(renders.count, 3);
    assert.equal(remoteLog(r.path, "main").length, 1);
  });
});

describe("a remote that refuses for good", () => {
  it("a declining pre-receive hook fails at once with exit 3 and the hook's reason", async () => {
    const r = remote();
    hook(r, "pre-receive", "echo 'main is protected: changes go through review' >&2\nexit 1");
    const renders = countedRenderAcme();
    await assert.rejects(
      withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
        commitAndPush(ws, {
          retry: FAST,
          render: renders.render,
        }),
      ),
      (e: unknown) =>
        e instanceof DependencyError &&
        e.exitCode === 3 &&
        /refused/.test(e.message) &&
        /main is protected: changes go through review/.test(e.message) &&
        /pre-receive hook declined/.test(e.message),
    );
    assert.equal(renders.count, 1, "not retried");
    assert.equal(remoteLog(r.path, "main").length, 1);
  });
});
