import { silentLog } from "../../src/log.ts";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DependencyError } from "../../src/errors.ts";
import { credentialsFromEnv, NO_CREDENTIALS } from "../../src/git/credentials.ts";
import type { GitCredentials } from "../../src/git/credentials.ts";
import { credentialsHint } from "../../src/git/git-process.ts";
import { openWorkspace } from "../../src/git/workspace.ts";
import { makeBareRemote, tempDir } from "../helpers/git-fixtures.ts";
import { type GitHttpServer, startGitHttpServer } from "../helpers/git-http-server.ts";

const TOKEN = "wst_right_token_0123456789";

describe("what an authentication failure tells the user to do, against a real smart-HTTP remote", () => {
  const root = tempDir("wildseal-auth-hint-");
  let server: GitHttpServer;
  before(async () => {
    makeBareRemote({ root: root.path, name: "gitops.git", files: { "wildseal.yaml": "kind: Config\n" } });
    server = await startGitHttpServer({ projectRoot: root.path, token: TOKEN });
  });
  after(async () => {
    await server.close();
    root.cleanup();
  });

  async function openError(credentials: GitCredentials): Promise<DependencyError> {
    try {
      await openWorkspace({ repo: server.url("gitops.git"), branch: "main", credentials, log: silentLog, env: { PATH: process.env.PATH } });
    } catch (e) {
      assert.ok(e instanceof DependencyError, String(e));
      return e;
    }
    assert.fail("the clone succeeded");
  }

  it("a token the remote refuses: says the token was refused and what to check, never to set one, never the token", async () => {
    const wrong = "wst_expired_token_42";
    const e = await openError(credentialsFromEnv({ WILDSEAL_GIT_TOKEN: wrong }));
    assert.equal(e.exitCode, 3);
    assert.match(e.message, /the remote refused the Git token wildseal sent \(from WILDSEAL_GIT_TOKEN, WILDSEAL_GIT_TOKEN_FILE, GITHUB_TOKEN/);
    assert.match(e.message, /expired/);
    assert.match(e.message, /access this repository/);
    assert.match(e.message, /contents: write/);
    assert.doesNotMatch(e.message, /wants credentials|set WILDSEAL_GIT_TOKEN/);
    assert.equal(e.message.includes(wrong), false);
    assert.equal(e.message.includes(Buffer.from(`x-access-token:${wrong}`).toString("base64")), false);
  });

  it("no token at all: keeps asking for one", async () => {
    const e = await openError(NO_CREDENTIALS);
    assert.match(e.message, /the remote wants credentials: set WILDSEAL_GIT_TOKEN or WILDSEAL_GIT_TOKEN_FILE/);
    assert.doesNotMatch(e.message, /refused the Git token/);
  });
});

describe("credentialsHint recognises how hosting services refuse a token", () => {
  const refusals = [
    "remote: Invalid username or password.\nfatal: Authentication failed for 'https://github.com/acme/gitops.git/'",
    "remote: Permission to acme/gitops.git denied to wildseal-bot.\nfatal: unable to access 'https://github.com/acme/gitops.git/': The requested URL returned error: 403",
    "remote: HTTP Basic: Access denied.\nfatal: Authentication failed for 'https://gitlab.com/acme/gitops.git/'",
    "remote: User permission denied for writing.\nfatal: unable to access 'https://gitea.example.com/acme/gitops.git/'",
    "remote: Write access to repository not granted.\nfatal: unable to access 'https://github.com/acme/gitops.git/': The requested URL returned error: 403",
  ];
  for (const output of refusals) {
    it(`a given token is refused: ${output.split("\n")[0]}`, () => {
      assert.match(credentialsHint(output, true), /the remote refused the Git token/);
    });
  }

  it("a local 'Permission denied' is no refused token", () => {
    assert.equal(credentialsHint("error: unable to create temporary file: Permission denied", true), "");
  });

  it("an ssh key refusal points at ssh, token or not", () => {
    assert.match(credentialsHint("git@github.com: Permission denied (publickey).", true), /ssh refused the key/);
  });
});
