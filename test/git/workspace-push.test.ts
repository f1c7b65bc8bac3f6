import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DependencyError, UsageError } from "../../src/errors.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { type CommitSummary, commitMessage, parseTrailers } from "../../src/git/trailers.ts";
import {
  commitAndPush,
  DEFAULT_AUTHOR,
  openWorkspace,
  type Rendered,
  withWorkspace,
  type Workspace,
} from "../../src/git/workspace.ts";
import {
  type BareRemote,
  git,
  isAncestor,
  makeBareRemote,
  PERSON,
  pushAsPerson,
  remoteBranches,
  remoteFile,
  remoteLog,
  tempDir,
  writeFiles,
} from "../helpers/git-fixtures.ts";

const SHA = "c0ffee".padEnd(64, "0");
const SEED = { "wildseal.yaml": "kind: Config\n", "tenants/acme.yaml": "name: acme\n" };
const FAST = { initialMs: 5, maxMs: 20 };
const remotes: BareRemote[] = [];
after(() => {
  for (const r of remotes) r.cleanup();
});

function remote(files: Record<string, string> | "empty" = SEED, branch = "main"): BareRemote {
  const r = makeBareRemote(files === "empty" ? { branch } : { files, branch });
  remotes.push(r);
  return r;
}

function summary(action: CommitSummary["changes"][number]["action"], tenants: string[]): CommitSummary {
  return { changes: [{ action, tenants }], certSha256: SHA, certNotAfter: new Date("2026-06-01T00:00:00Z"), domain: "*.example.com" };
}

/** A renderer that writes one file per tenant, like rendered/<cluster>/<tenant>/. */
function renderTenants(tenants: string[], content = "v1", action: "add" | "renew" = "add") {
  return async (dir: string): Promise<Rendered<undefined>> => {
    writeFiles(dir, Object.fromEntries(tenants.map((t) => [`rendered/prod/${t}/secret.yaml`, `${t}: ${content}\n`])));
    return { summary: summary(action, tenants), value: undefined };
  };
}

function open(r: BareRemote, extra: Partial<Parameters<typeof openWorkspace>[0]> = {}): Promise<Workspace> {
  return openWorkspace({ repo: r.path, branch: r.branch, credentials: NO_CREDENTIALS, env: {}, ...extra });
}

describe("commit and push to a bare remote", () => {
  it("commits the rendered tree with the contract's subject and trailers, then a rerun commits nothing", async () => {
    const r = remote();
    const first = await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
      commitAndPush(ws, { render: renderTenants(["beta", "acme"]) }),
    );
    assert.equal(first.kind, "pushed");
    const log = remoteLog(r.path, "main");
    assert.equal(log.length, 2);
    const [tip] = log;
    assert.equal(tip?.sha, first.kind === "pushed" ? first.commit : "");
    assert.equal(tip?.message, commitMessage(summary("add", ["acme", "beta"])));
    assert.equal(tip?.message.split("\n")[0], "add tenants acme, beta");
    assert.deepEqual(parseTrailers(tip?.message ?? ""), {
      actions: ["add"],
      tenants: ["acme", "beta"],
      certSha256: SHA,
      certNotAfter: new Date("2026-06-01T00:00:00Z"),
    });
    assert.equal(tip?.author, `${DEFAULT_AUTHOR.name} <${DEFAULT_AUTHOR.email}>`);
    assert.equal(remoteFile(r.path, "main", "rendered/prod/acme/secret.yaml"), "acme: v1\n");
    assert.equal(remoteFile(r.path, "main", "wildseal.yaml"), SEED["wildseal.yaml"]);

    const second = await withWorkspace({ repo: r.fileUrl, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
      commitAndPush(ws, { render: renderTenants(["beta", "acme"]) }),
    );
    assert.deepEqual(second, { kind: "unchanged", value: undefined });
    assert.equal(remoteLog(r.path, "main").length, 2);
  });

  it("treats a render that reports nothing to publish as unchanged", async () => {
    const r = remote();
    const out = await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
      commitAndPush(ws, {
        render: async (dir) => {
          writeFiles(dir, { "stray.txt": "x" });
          return { summary: null, value: "held back" };
        },
      }),
    );
    assert.deepEqual(out, { kind: "unchanged", value: "held back" }, "the render's value comes back with the outcome");
    assert.equal(remoteLog(r.path, "main").length, 1);
  });

  it("stages deletions too: a removed tenant's folder is gone from the remote", async () => {
    const r = remote({ ...SEED, "rendered/prod/old/secret.yaml": "old\n" });
    await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
      commitAndPush(ws, {
        render: async (dir) => {
          writeFiles(dir, { "rendered/prod/old/secret.yaml": null });
          return { summary: summary("remove", ["old"]), value: undefined };
        },
      }),
    );
    assert.equal(remoteFile(r.path, "main", "rendered/prod/old/secret.yaml"), undefined);
    assert.equal(remoteLog(r.path, "main")[0]?.message.split("\n")[0], "remove tenant old");
  });

  it("uses the given author, else GIT_AUTHOR_NAME/EMAIL from the environment", async () => {
    const r = remote();
    await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
      commitAndPush(ws, { render: renderTenants(["acme"]), author: { name: "Ops Bot", email: "ops@example.com" } }),
    );
    assert.equal(remoteLog(r.path, "main")[0]?.author, "Ops Bot <ops@example.com>");
    const env = { GIT_AUTHOR_NAME: "Env Bot", GIT_AUTHOR_EMAIL: "env@example.com" };
    await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env }, (ws) =>
      commitAndPush(ws, { render: renderTenants(["beta"]) }),
    );
    assert.equal(remoteLog(r.path, "main")[0]?.author, "Env Bot <env@example.com>");
  });

  it("creates the branch on an empty remote", async () => {
    const r = remote("empty");
    const out = await withWorkspace({ repo: r.fileUrl, branch: "main", credentials: NO_CREDENTIALS, env: {} }, async (ws) => {
      assert.equal(ws.baseCommit, null);
      assert.equal(await ws.head(), null);
      return commitAndPush(ws, { render: renderTenants(["acme"]) });
    });
    assert.equal(out.kind, "pushed");
    const log = remoteLog(r.path, "main");
    assert.equal(log.length, 1);
    assert.deepEqual(log[0]?.parents, []);
  });

  it("refuses a branch the remote does not have, unless asked to start it from the default branch", async () => {
    const r = remote();
    await assert.rejects(open(r, { branch: "mian" }), (e: unknown) => e instanceof UsageError && /has: main/.test(e.message));
    await withWorkspace(
      { repo: r.path, branch: "staging", credentials: NO_CREDENTIALS, env: {}, missingBranch: "from-default-branch" },
      (ws) => commitAndPush(ws, { render: renderTenants(["acme"]) }),
    );
    assert.deepEqual(remoteBranches(r.path).sort(), ["main", "staging"]);
    assert.equal(remoteFile(r.path, "staging", "wildseal.yaml"), SEED["wildseal.yaml"]);
    assert.equal(remoteLog(r.path, "main").length, 1);
  });

  it("rejects option-like and malformed branch names before running git", async () => {
    const r = remote();
    for (const branch of ["--upload-pack=x", "a..b", "x.lock", "has space", ""]) {
      await assert.rejects(open(r, { branch }), UsageError, branch);
    }
  });

  it("clones shallow into a private 0700 folder and removes it afterwards, also when the caller fails", async () => {
    const r = remote();
    let dir = "";
    await assert.rejects(
      withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, async (ws) => {
        dir = ws.dir;
        assert.equal(statSync(ws.dir).mode & 0o777, 0o700);
        assert.equal(git(ws.dir, ["config", "--local", "remote.origin.url"]).trim(), r.path);
        assert.equal(git(ws.dir, ["rev-parse", "--is-shallow-repository"]).trim(), "true");
        throw new Error("render blew up");
      }),
      /render blew up/,
    );
    assert.notEqual(dir, "");
    assert.equal(existsSync(dir), false);
  });
});

describe("a person pushes while we render", () => {
  it("re-renders on the new tip so both changes land, without a force push", async () => {
    const r = remote();
    let renders = 0;
    let personCommit = "";
    const seenOnRender: boolean[] = [];
    const out = await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
      commitAndPush(ws, {
        retry: FAST,
        render: async (dir) => {
          renders++;
          seenOnRender.push(existsSync(join(dir, "tenants/zeta.yaml")));
          if (renders === 1) personCommit = pushAsPerson(r.path, "main", { "tenants/zeta.yaml": "name: zeta\n" }, "onboard zeta");
          return { ...(await renderTenants(["acme"])(dir)), value: renders };
        },
      }),
    );
    assert.equal(out.kind === "pushed" ? out.attempts : 0, 2);
    assert.equal(out.kind === "pushed" ? out.value : 0, 2, "the value is the last render's, the one on the new tip");
    assert.deepEqual(seenOnRender, [false, true], "the second render ran on the person's commit");
    const log = remoteLog(r.path, "main");
    assert.equal(log.length, 3);
    assert.equal(log[0]?.parents[0], personCommit);
    assert.ok(isAncestor(r.path, personCommit, "refs/heads/main"));
    assert.equal(remoteFile(r.path, "main", "tenants/zeta.yaml"), "name: zeta\n");
    assert.equal(remoteFile(r.path, "main", "rendered/prod/acme/secret.yaml"), "acme: v1\n");
    assert.equal(log[1]?.author, `${PERSON.name} <${PERSON.email}>`);
  });

  it("creates the branch of an empty remote even when a person created it first", async () => {
    const r = remote("empty");
    let renders = 0;
    const out = await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
      commitAndPush(ws, {
        retry: FAST,
        render: async (dir) => {
          if (++renders === 1) pushAsPerson(r.path, "main", { "README.md": "hello\n" }, "initial");
          return renderTenants(["acme"])(dir);
        },
      }),
    );
    assert.equal(out.kind, "pushed");
    assert.equal(remoteLog(r.path, "main").length, 2);
    assert.equal(remoteFile(r.path, "main", "README.md"), "hello\n");
  });

  it("gives up with a DependencyError when the branch keeps moving, having lost nobody's commit", async () => {
    const r = remote();
    let renders = 0;
    const persons: string[] = [];
    await assert.rejects(
      withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
        commitAndPush(ws, {
          maxAttempts: 3,
          retry: FAST,
          render: async (dir) => {
            renders++;
            persons.push(pushAsPerson(r.path, "main", { [`person-${renders}.txt`]: "x\n" }, `person ${renders}`));
            return renderTenants(["acme"])(dir);
          },
        }),
      ),
      (e: unknown) => e instanceof DependencyError && e.exitCode === 3 && /failed 3 times/.test(e.message),
    );
    assert.equal(renders, 3);
    const log = remoteLog(r.path, "main");
    assert.deepEqual(log.slice(0, 3).map((c) => c.sha), persons.reverse());
    assert.equal(remoteFile(r.path, "main", "rendered/prod/acme/secret.yaml"), undefined);
  });

  it("fails at once with a DependencyError when the remote refuses for good (a hook)", async () => {
    const r = remote();
    writeFiles(r.path, { "hooks/pre-receive": "#!/bin/sh\necho 'protected branch' >&2\nexit 1\n" });
    chmodSync(join(r.path, "hooks/pre-receive"), 0o755);
    let renders = 0;
    await assert.rejects(
      withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
        commitAndPush(ws, {
          retry: FAST,
          render: async (dir) => {
            renders++;
            return renderTenants(["acme"])(dir);
          },
        }),
      ),
      (e: unknown) => e instanceof DependencyError && /refused/.test(e.message) && /protected branch/.test(e.message),
    );
    assert.equal(renders, 1);
  });
});

describe("pushing to a review branch", () => {
  it("pushes wildseal/<action>-<fingerprint>, leaves the base alone, and does not push the same change twice", async () => {
    const r = remote();
    const run = (content: string) =>
      withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
        commitAndPush(ws, { render: renderTenants(["acme"], content, "renew"), target: { kind: "review" } }),
      );
    const first = await run("v1");
    const branch = `wildseal/renew-${SHA.slice(0, 12)}`;
    assert.equal(first.kind === "pushed" ? first.branch : "", branch);
    assert.equal(remoteLog(r.path, "main").length, 1, "base untouched");
    assert.equal(remoteFile(r.path, branch, "rendered/prod/acme/secret.yaml"), "acme: v1\n");

    const again = await run("v1");
    assert.equal(again.kind, "up-to-date");
    assert.equal(again.kind === "up-to-date" ? again.commit : "", first.kind === "pushed" ? first.commit : "x");

    const updated = await run("v2");
    assert.equal(updated.kind, "pushed");
    const log = remoteLog(r.path, branch);
    assert.equal(log.length, 2, "the review branch is replaced, not stacked");
    assert.equal(remoteFile(r.path, branch, "rendered/prod/acme/secret.yaml"), "acme: v2\n");
  });

  it("force-pushes only wildseal/* branches", async () => {
    const r = remote();
    await assert.rejects(
      withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: {} }, (ws) =>
        commitAndPush(ws, { render: renderTenants(["acme"]), target: { kind: "review", branch: "release" } }),
      ),
      UsageError,
    );
    assert.deepEqual(remoteBranches(r.path), ["main"]);
  });
});

describe("commit signing", () => {
  it("signs with an ssh key through git config when asked", async () => {
    const r = remote();
    const keys = tempDir("wildseal-sshkey-");
    try {
      const key = join(keys.path, "id_ed25519");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "wildseal-test", "-f", key]);
      const pub = readFileSync(`${key}.pub`, "utf8").trim();
      await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: { PATH: process.env.PATH } }, (ws) =>
        commitAndPush(ws, {
          render: renderTenants(["acme"]),
          author: { name: "Signer", email: "signer@example.com" },
          sign: { kind: "ssh", path: key },
        }),
      );
      const signers = join(keys.path, "allowed_signers");
      writeFiles(keys.path, { allowed_signers: `signer@example.com ${pub}\n` });
      const out = git(r.path, ["-c", "gpg.format=ssh", "-c", `gpg.ssh.allowedSignersFile=${signers}`, "log", "-1", "--format=%G?", "main"]);
      assert.equal(out.trim(), "G");
    } finally {
      keys.cleanup();
    }
  });
});
