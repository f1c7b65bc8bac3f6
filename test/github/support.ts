/** Shared set-up for the GitHub tests: a token client against the stand-in, a log that keeps every line. */
import { createGitHubClient, type GitHubAuth, type GitHubClient } from "../../src/github/client.ts";
import type { Log } from "../../src/log.ts";
import { pullRequestMarker, renderPullRequestBody, type PullRequestTenantRow } from "../../src/github/pr-body.ts";
import type { PublishPullRequestOptions } from "../../src/github/pull-request.ts";
import { reviewBranchName } from "../../src/git/branch-name.ts";
import type { WildsealAction } from "../../src/git/trailers.ts";
import { SecretBytes, type CertFacts } from "../../src/tls/types.ts";
import { FakeGitHub, type FakeGitHubOptions } from "../helpers/fake-github.ts";

export const TOKEN = "ghp_wildsealTestToken0123456789abcdefXYZ";

export function tokenAuth(token = TOKEN): GitHubAuth {
  return { kind: "token", token: new SecretBytes(Buffer.from(token, "utf8")) };
}

/** Real Octokit + retry + throttling; back-off seconds become milliseconds so tests stay fast. */
export function client(fake: FakeGitHub, opts: { log?: Log; retries?: number; auth?: GitHubAuth; baseUrl?: string } = {}): GitHubClient {
  return createGitHubClient({
    auth: opts.auth ?? tokenAuth(),
    baseUrl: opts.baseUrl ?? fake.baseUrl,
    timing: { unitMs: 1, writeSpacingMs: 0 },
    ...(opts.retries === undefined ? {} : { retries: opts.retries }),
    ...(opts.log === undefined ? {} : { log: opts.log }),
  });
}

/** Starts a stand-in, runs the scenario, then fails on any OpenAPI violation. */
export async function withFake(opts: FakeGitHubOptions, fn: (fake: FakeGitHub) => Promise<void>): Promise<void> {
  const fake = await FakeGitHub.start({ token: TOKEN, ...opts });
  try {
    await fn(fake);
    fake.assertValid();
  } finally {
    await fake.close();
  }
}

export function cert(sha256: string, serial: string, notAfter: string): CertFacts {
  return {
    sha256,
    serial,
    subject: "CN=*.example.com",
    issuer: "CN=R11, O=Let's Encrypt, C=US",
    notBefore: new Date(Date.parse(notAfter) - 90 * 86_400_000),
    notAfter: new Date(notAfter),
    dnsNames: ["*.example.com", "example.com"],
  };
}

export const CERT_A = cert("aaaaaaaaaaaa" + "0".repeat(52), "0A", "2026-03-01T00:00:00Z");
export const CERT_B = cert("bbbbbbbbbbbb" + "1".repeat(52), "0B", "2026-05-30T00:00:00Z");
export const ACME: PullRequestTenantRow = { name: "acme", cluster: "prod-east", namespace: "acme", hosts: ["acme.example.com"], scope: "strict", change: "renew" };
export const BETA: PullRequestTenantRow = { name: "beta", cluster: "prod-east", namespace: "beta", hosts: ["beta.example.com"], scope: "strict", change: "renew" };

/**
 * What the integrator will do for one sync: branch from the actions and the leaf, push it (here: tell the
 * stand-in), render the body, and hand it all to publishPullRequest.
 */
export function change(
  fake: FakeGitHub,
  p: { actions: string[]; cert: CertFacts; before?: CertFacts; tenants: PullRequestTenantRow[]; base?: string; labels?: string[] },
): PublishPullRequestOptions {
  const base = p.base ?? "main";
  const head = reviewBranchName({
    changes: p.actions.map((action) => ({ action: action as WildsealAction, tenants: p.tenants.map((t) => t.name) })),
    certSha256: p.cert.sha256,
    certNotAfter: p.cert.notAfter,
    domain: "*.example.com",
  });
  fake.pushBranch(head);
  const summary = `${p.actions.join(", ")} *.example.com for ${p.tenants.length} tenant${p.tenants.length === 1 ? "" : "s"}`;
  return {
    owner: fake.owner,
    repo: fake.repo,
    base,
    head,
    title: summary,
    body: renderPullRequestBody({
      summary,
      tenants: p.tenants,
      certAfter: p.cert,
      ...(p.before === undefined ? {} : { certBefore: p.before }),
      marker: pullRequestMarker(base),
    }),
    labels: p.labels ?? ["wildseal", "tls"],
  };
}
