/**
 * The Git poll's ls-remote runs with the credentials the sync uses — a GitHub App's installation token
 * included, fetched anew as it expires — so that a branch the sync can push is a branch the poll can
 * see. The token-in-URL rule is git/remote-access.ts's, the same as the workspace's.
 */
import { tmpdir } from "node:os";
import { authConfig, type GitCredentials } from "../git/credentials.ts";
import { createGitRunner, type GitRunner } from "../git/git-process.ts";
import { remoteAccess } from "../git/remote-access.ts";
import { gitCredentialSource, type Delivery } from "./sync.ts";

/** A runner for the poll's ls-remote, the credentials passed to git through the environment. */
export function pollRunner(repo: string, given: GitCredentials, delivery: Delivery): GitRunner {
  const current = gitCredentialSource(repo, delivery, given);
  return {
    async run(args) {
      const { remote, credentials } = remoteAccess(repo, await current());
      return createGitRunner({ baseDir: tmpdir(), credentials, auth: authConfig(credentials, remote) }).run(args);
    },
  };
}
