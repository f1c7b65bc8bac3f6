import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { pollRunner } from "../../src/pipeline/poll-runner.ts";
import { SecretBytes } from "../../src/tls/types.ts";
import { client, withFake } from "../github/support.ts";
import { startGitHttpServer } from "../helpers/git-http-server.ts";
import { makeBareRemote, tempDir } from "../helpers/git-fixtures.ts";

test("in pull-request mode with a GitHub App, the Git poll authenticates with the App's installation token", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const root = tempDir("wildseal-app-poll-");
  makeBareRemote({ root: root.path, name: "gitops.git", files: { "README.md": "gitops\n" } });
  try {
    await withFake({ token: "unused", app: { appId: "123456", publicKey, installationId: 42 } }, async (fake) => {
      const git = await startGitHttpServer({ projectRoot: root.path, token: (password) => fake.isInstallationToken(password) });
      try {
        const auth = { kind: "app", appId: "123456", privateKey: new SecretBytes(Buffer.from(pem)), installationId: 42 } as const;
        const delivery = {
          kind: "pull-request",
          github: { auth, client: client(fake, { auth }), repository: "acme/gitops", labels: [], autoMerge: false },
        } as const;
        const runner = pollRunner(git.url("gitops.git"), NO_CREDENTIALS, delivery);
        const out = await runner.run(["ls-remote", git.url("gitops.git"), "refs/heads/main"]);
        assert.match(out, /^[0-9a-f]{40}\trefs\/heads\/main$/m);
        assert.ok(git.requests.some((r) => r.authorized), "git presented a token the stand-in issued");
        assert.equal(fake.exchangesFor("apps/create-installation-access-token").length, 1);
        // without the App, the same poll is refused
        await assert.rejects(pollRunner(git.url("gitops.git"), NO_CREDENTIALS, { kind: "push" }).run(["ls-remote", git.url("gitops.git")]));
      } finally {
        await git.close();
      }
    });
  } finally {
    root.cleanup();
  }
});
