import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { publishPullRequest } from "../../src/github/pull-request.ts";
import { createGitHubClient, installationToken } from "../../src/github/client.ts";
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DependencyError, ExitCode } from "../../src/errors.ts";
import { SecretBytes } from "../../src/tls/types.ts";
import { ACME, CERT_B, TOKEN, change, client, tokenAuth, withFake } from "./support.ts";
import { captureLog } from "../helpers/capture-log.ts";
import { rejectionOf } from "../helpers/thrown.ts";


test("502 Bad Gateway twice is retried and the PR is published once", async () => {
  await withFake({}, async (fake) => {
    fake.failNext(2, 502);
    const r = await publishPullRequest(client(fake), change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }));
    assert.equal(r.kind, "created");
    assert.deepEqual(fake.exchangesFor("pulls/list").map((e) => e.status), [502, 502, 200]);
    assert.equal(fake.pulls().length, 1);
  });
});

test("a 502 on the create itself is retried without opening two PRs", async () => {
  await withFake({}, async (fake) => {
    fake.beforeNext("pulls/create", (f) => f.failNext(1, 502));
    const r = await publishPullRequest(client(fake), change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }));
    assert.equal(r.kind, "created");
    assert.deepEqual(fake.exchangesFor("pulls/create").map((e) => e.status), [502, 201]);
    assert.equal(fake.pulls().length, 1);
  });
});

test("a secondary-rate-limit 403 with retry-after is waited out and retried", async () => {
  await withFake({}, async (fake) => {
    const { log, lines } = captureLog();
    fake.beforeNext("pulls/create", (f) => f.secondaryRateLimitNext(2));
    const r = await publishPullRequest(client(fake, { log }), change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }));
    assert.equal(r.kind, "created");
    assert.deepEqual(fake.exchangesFor("pulls/create").map((e) => e.status), [403, 201]);
    assert.equal(fake.pulls().length, 1);
    const warn = lines.find((l) => l.includes("secondary rate limit: waiting"));
    assert.ok(warn !== undefined, lines.join("\n"));
    assert.equal((JSON.parse(warn) as { retryAfter: number }).retryAfter, 2);
    assert.equal((JSON.parse(warn) as { component: string }).component, "github", "the client narrows the caller's logger to its component");
  });
});

test("a primary rate limit (x-ratelimit-remaining: 0) is waited out and retried", async () => {
  await withFake({}, async (fake) => {
    const { log, lines } = captureLog();
    fake.rateLimitNext(0);
    const r = await publishPullRequest(client(fake, { log }), change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }));
    assert.equal(r.kind, "created");
    assert.deepEqual(fake.exchangesFor("pulls/list").map((e) => e.status), [403, 200]);
    assert.ok(lines.some((l) => l.includes("GitHub rate limit: waiting")));
  });
});

test("GitHub still failing after the retries is a DependencyError (exit 3) naming the call", async () => {
  await withFake({}, async (fake) => {
    fake.failNext(3, 502);
    const err = await rejectionOf(publishPullRequest(client(fake, { retries: 2 }), change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] })));
    assert.ok(err instanceof DependencyError, String(err));
    assert.equal(err.exitCode, ExitCode.dependency);
    assert.match(err.message, /GitHub listing open pull requests of acme\/gitops failed: HTTP 502/);
    assert.equal(fake.exchanges.length, 3);
    assert.equal(fake.pulls().length, 0);
  });
  await withFake({}, async (fake) => {
    for (let i = 0; i < 3; i++) fake.secondaryRateLimitNext(1);
    const err = await rejectionOf(publishPullRequest(client(fake, { retries: 2 }), change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] })));
    assert.ok(err instanceof DependencyError);
    assert.match(err.message, /HTTP 403: You have exceeded a secondary rate limit/);
    assert.equal(fake.exchanges.length, 3);
  });
});

test("a bad token fails at once with a hint, and no token appears in errors or logs", async () => {
  await withFake({}, async (fake) => {
    const { log, lines } = captureLog();
    const wrong = "ghp_wrongTokenThatMustNotLeak987654321";
    const err = await rejectionOf(
      publishPullRequest(client(fake, { log, auth: tokenAuth(wrong) }), { ...change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }), log }),
    );
    assert.ok(err instanceof DependencyError);
    assert.match(err.message, /HTTP 401: Bad credentials.*check the GitHub token/);
    assert.equal(fake.exchanges.length, 1, "401 is not retried");
    assert.equal(fake.exchanges[0]?.authorization, `token ${wrong}`);
    const everything = [err.message, String(err.stack), ...lines, JSON.stringify(tokenAuth(wrong))].join("\n");
    assert.doesNotMatch(everything, /wrongTokenThatMustNotLeak/);
  });
  await withFake({}, async (fake) => {
    const { log, lines } = captureLog();
    fake.failNext(1, 502);
    fake.beforeNext("pulls/create", (f) => f.secondaryRateLimitNext(1));
    await publishPullRequest(client(fake, { log }), { ...change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }), log });
    assert.ok(lines.length > 0);
    assert.ok(!lines.join("\n").includes(TOKEN));
  });
});

test("a GitHub App authenticates with a signed JWT, and its installation token serves the API and git push", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  // PKCS#1, as GitHub hands out App keys
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  await withFake({ token: "unused", app: { appId: "123456", publicKey, installationId: 42 } }, async (fake) => {
    const octokit = client(fake, { auth: { kind: "app", appId: "123456", privateKey: new SecretBytes(Buffer.from(pem)), installationId: 42 } });
    const r = await publishPullRequest(octokit, change(fake, { actions: ["renew"], cert: CERT_B, tenants: [ACME] }));
    assert.equal(r.kind, "created");
    const exchange = fake.exchangesFor("apps/create-installation-access-token");
    assert.equal(exchange.length, 1, "the installation token is cached across requests");
    assert.equal(exchange[0]?.path, "/app/installations/42/access_tokens");
    const issued = fake.exchangesFor("pulls/create")[0]?.authorization?.replace(/^token /, "");
    assert.match(issued ?? "", /^ghs_[0-9a-f]{36}$/);
    const forGit = await installationToken(octokit);
    assert.equal(forGit.reveal().toString(), issued);
    assert.equal(String(forGit), "[redacted]");
  });
});

test("a token client hands its own token to git", async () => {
  await withFake({}, async (fake) => {
    const t = await installationToken(client(fake));
    assert.equal(t.reveal().toString(), TOKEN);
    assert.equal(fake.exchanges.length, 0);
  });
});

test("a GitHub that accepts the connection and never answers fails after the request deadline, as exit 3", async () => {
  const hung = new Set<ServerResponse>();
  const server = createServer((_req, res) => void hung.add(res)); // never answers
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const { port } = server.address() as AddressInfo;
    const octokit = createGitHubClient({ auth: tokenAuth(), baseUrl: `http://127.0.0.1:${port}`, retries: 0, requestTimeoutMs: 300, timing: { unitMs: 1, writeSpacingMs: 0 } });
    const opts = { owner: "acme", repo: "gitops", base: "main", head: "wildseal/renew-aaaaaaaaaaaa", title: "t", body: "b" };
    await assert.rejects(publishPullRequest(octokit, opts), (e: unknown) => e instanceof DependencyError && e.exitCode === ExitCode.dependency);
  } finally {
    for (const res of hung) res.destroy();
    server.closeAllConnections();
    server.close();
  }
});
