import { test } from "node:test";
import assert from "node:assert/strict";
import { certificatesInChange, MAX_BODY_CHARS, pullRequestMarker, renderPullRequestBody, type CertificateInChange, type PullRequestTenantRow } from "../../src/github/pr-body.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { sync, type SyncOptions } from "../../src/pipeline/sync.ts";
import type { CertFacts } from "../../src/tls/types.ts";
import type { FakeGitHub } from "../helpers/fake-github.ts";
import { remoteBranches } from "../helpers/git-fixtures.ts";
import { makeCertificatesRemote } from "../helpers/several-certificates.ts";
import { sourceOf } from "../pipeline/sync-world.ts";
import { client, tokenAuth, withFake } from "./support.ts";

// The pull request body with several certificates (spec.certificates): a Certificate column in the
// tenant table and, per certificate the change delivers, its fingerprint and notAfter (old → new when
// renewed). With one certificate the body stays byte for byte what it was.

const before: CertFacts = {
  sha256: "1".repeat(64),
  serial: "0A1B",
  subject: "CN=*.example.com",
  issuer: "CN=R10, O=Let's Encrypt, C=US",
  notBefore: new Date("2026-01-01T00:00:00Z"),
  notAfter: new Date("2026-04-01T00:00:00Z"),
  dnsNames: ["*.example.com", "example.com"],
};
const after: CertFacts = { ...before, sha256: "3f2a9c1b0d4e" + "2".repeat(52), serial: "0C2D", notBefore: new Date("2026-03-02T00:00:00Z"), notAfter: new Date("2026-05-31T00:00:00Z") };
const org: CertFacts = { ...after, sha256: "9".repeat(64), subject: "CN=*.example.org", notAfter: new Date("2026-07-01T00:00:00Z"), dnsNames: ["*.example.org"] };
const acme: PullRequestTenantRow = { name: "acme", cluster: "prod-east", namespace: "acme", hosts: ["acme.example.com"], scope: "strict", change: "renew" };

test("one certificate: the body is byte for byte the one-certificate body (no Certificate column, the field table)", () => {
  const body = renderPullRequestBody({
    summary: "renew *.example.com for 2 tenants",
    tenants: [acme, { ...acme, name: "beta", cluster: "prod-west", change: "add" }],
    certBefore: before,
    certAfter: after,
    marker: pullRequestMarker("main"),
  });
  assert.equal(
    body,
    "renew \\*.example.com for 2 tenants\n\n### Tenants (2)\n\n| Tenant | Cluster | Namespace | Hosts | Scope | Change |\n|---|---|---|---|---|---|\n" +
      "| acme | prod-east | acme | acme.example.com | strict | renew |\n| beta | prod-west | acme | acme.example.com | strict | add |\n\n" +
      "### Certificate\n\n| Field | Before | After |\n|---|---|---|\n| Serial ✱ | 0A1B | 0C2D |\n" +
      "| SHA-256 fingerprint ✱ | 1111111111111111111111111111111111111111111111111111111111111111 | 3f2a9c1b0d4e2222222222222222222222222222222222222222222222222222 |\n" +
      "| Not before ✱ | 2026-01-01T00:00:00Z | 2026-03-02T00:00:00Z |\n| Not after ✱ | 2026-04-01T00:00:00Z | 2026-05-31T00:00:00Z |\n" +
      "| SANs | \\*.example.com, example.com | \\*.example.com, example.com |\n| Subject | CN=\\*.example.com | CN=\\*.example.com |\n" +
      "| Issuer | CN=R10, O=Let's Encrypt, C=US | CN=R10, O=Let's Encrypt, C=US |\n\n" +
      "✱ changed. Every rendered SealedSecret (and the Secret it unseals to) carries the annotation `wildseal.dev/cert-sha256`; compare it with the fingerprint above.\n\n" +
      "<sub>Opened by wildseal. Edits to this description are overwritten on the next sync.</sub>\n<!-- wildseal:base=main -->\n",
  );
});

test("several certificates: a Certificate column, and each certificate's name, SHA-256 prefix and notAfter, old → new where renewed", () => {
  const certificates: CertificateInChange[] = [
    { name: "com", renewed: true, before, after },
    { name: "org", renewed: false, after: org },
  ];
  const body = renderPullRequestBody({
    summary: "renew *.example.com for 1 tenant",
    tenants: [
      { ...acme, certificate: "com" },
      { ...acme, name: "orga", namespace: "orga", hosts: ["orga.example.org"], change: "add", certificate: "org" },
    ],
    certAfter: after,
    marker: pullRequestMarker("main"),
    certificates,
  });
  assert.match(body, /^\| Tenant \| Cluster \| Namespace \| Hosts \| Scope \| Certificate \| Change \|$/m);
  assert.match(body, /^\|---\|---\|---\|---\|---\|---\|---\|$/m);
  assert.match(body, /^\| acme \| prod-east \| acme \| acme\.example\.com \| strict \| com \| renew \|$/m);
  assert.match(body, /^\| orga \| prod-east \| orga \| orga\.example\.org \| strict \| org \| add \|$/m);
  assert.match(body, /^### Certificates \(1 renewed\)$/m);
  assert.match(body, /^\| com ✱ \| 1111111111111111 → 3f2a9c1b0d4e2222 \| 2026-04-01T00:00:00Z → 2026-05-31T00:00:00Z \| \\\*\.example\.com, example\.com \|$/m);
  assert.match(body, /^\| org \| 9999999999999999 \(unchanged\) \| 2026-07-01T00:00:00Z \| \\\*\.example\.org \|$/m);
  assert.doesNotMatch(body, /### Certificate\n/, "not the one-certificate field table, which would show the first certificate only");
  assert.ok(body.trimEnd().endsWith("<!-- wildseal:base=main -->"));
});

test("several certificates: a renewal whose old certificate the repository did not record shows (none); a removal-only change says so", () => {
  const renewed = renderPullRequestBody({ summary: "s", tenants: [{ ...acme, certificate: "com" }], certAfter: after, marker: pullRequestMarker("main"), certificates: [{ name: "com", renewed: true, after }] });
  assert.match(renewed, /^\| com ✱ \| \(none\) → 3f2a9c1b0d4e2222 \| \(none\) → 2026-05-31T00:00:00Z \|/m);
  const removal = renderPullRequestBody({ summary: "s", tenants: [{ ...acme, change: "remove", certificate: "com" }], certAfter: after, marker: pullRequestMarker("main"), certificates: [] });
  assert.match(removal, /^### Certificates \(0 renewed\)\n\nThis change delivers no certificate: no tenant is added, updated, renewed or resealed\.$/m);
});

test("several certificates: thousands of tenants and a thousand certificates stay under GitHub's body limit, each cut with a count", () => {
  const many = Array.from({ length: 5000 }, (_, i) => ({ ...acme, name: `tenant-${String(i).padStart(4, "0")}`, hosts: [`t${i}.example.com`], certificate: `cert-${i % 1000}` }));
  const certificates = Array.from({ length: 1000 }, (_, i): CertificateInChange => ({ name: `cert-${String(i).padStart(4, "0")}`, renewed: true, before, after }));
  const body = renderPullRequestBody({ summary: "s", tenants: many, certAfter: after, marker: pullRequestMarker("main"), certificates });
  assert.ok(body.length <= MAX_BODY_CHARS, `${body.length}`);
  const tenantsShown = body.split("\n").filter((l) => l.startsWith("| tenant-")).length;
  const certsShown = body.split("\n").filter((l) => l.startsWith("| cert-")).length;
  assert.ok(tenantsShown > 100 && certsShown > 50, `${tenantsShown} tenants, ${certsShown} certificates`);
  assert.match(body, new RegExp(`…and ${5000 - tenantsShown} more tenants \\(see the diff\\)\\.`));
  assert.match(body, new RegExp(`…and ${1000 - certsShown} more certificates\\.`));
  assert.match(body, /### Certificates \(1000 renewed\)/);
  assert.ok(body.trimEnd().endsWith("<!-- wildseal:base=main -->"));
});

test("certificatesInChange lists only the certificates the change delivers: a kept or removed tenant's is not listed", () => {
  const leaves = new Map([["com", after], ["org", org], ["net", { ...org, sha256: "8".repeat(64) }]]);
  const listed = certificatesInChange(
    [
      { tenant: "acme", cluster: "prod-east", kind: "keep", certificate: "com" },
      { tenant: "beta", cluster: "prod-east", kind: "remove", certificate: "net" },
      { tenant: "orga", cluster: "prod-east", kind: "add", certificate: "org" },
    ],
    leaves,
    undefined,
    "rendered",
  );
  assert.deepEqual(listed, [{ name: "org", renewed: false, after: org }]);
});

/** Git pushes go to the real bare remote; the stand-in learns of the wildseal/* branches as GitHub would. */
function mirrorBranches(fake: FakeGitHub, remote: string): void {
  fake.beforeNext("pulls/create", (f) => {
    for (const b of remoteBranches(remote)) if (b.startsWith("wildseal/") && !f.branchNames().includes(b)) f.pushBranch(b);
  });
}

test("sync in pull-request mode with two certificates: the body names each tenant's certificate and shows the renewed one old → new", async () => {
  const world = await makeCertificatesRemote([{ name: "acme", hosts: ["acme.example.com"] }, { name: "orga", hosts: ["orga.example.org"] }]);
  const { remote } = world;
  try {
    const com = await world.issue(["*.example.com"], 30);
    const oldOrg = await world.issue(["*.example.org"], 30);
    const newOrg = await world.issue(["*.example.org"], 0);
    await withFake({ owner: "acme", repo: "gitops" }, async (fake) => {
      const opts = (o: typeof oldOrg, delivery: SyncOptions["delivery"]): SyncOptions => ({
        repo: remote.path,
        branch: "main",
        source: sourceOf(com),
        certificates: new Map([["com", sourceOf(com)], ["org", sourceOf(o)]]),
        credentials: NO_CREDENTIALS,
        delivery,
      });
      const pullRequest: SyncOptions["delivery"] = {
        kind: "pull-request",
        github: { auth: tokenAuth(), client: client(fake), repository: "acme/gitops", labels: [], autoMerge: false },
      };
      // the first publication goes straight to main, so the renewal's pull request has an old certificate to show
      assert.equal((await sync(opts(oldOrg, { kind: "push" }))).kind, "pushed");

      mirrorBranches(fake, remote.path);
      const r = await sync(opts(newOrg, pullRequest));
      assert.equal(r.kind, "pull-request");
      if (r.kind !== "pull-request") return;
      const body = fake.pull(r.pullRequest.number).body;
      assert.match(body, /^\| orga \| prod-east \| orga \| orga\.example\.org \| strict \| org \| renew \|$/m);
      assert.doesNotMatch(body, /^\| acme /m, "the kept tenant is no row");
      assert.match(body, /^### Certificates \(1 renewed\)$/m);
      const line = body.split("\n").find((l) => l.startsWith("| org ✱ |"));
      assert.equal(
        line,
        `| org ✱ | ${oldOrg.leaf.sha256.slice(0, 16)} → ${newOrg.leaf.sha256.slice(0, 16)} | ${oldOrg.leaf.notAfter.toISOString().replace(/\.\d{3}Z$/, "Z")} → ${newOrg.leaf.notAfter.toISOString().replace(/\.\d{3}Z$/, "Z")} | \\*.example.org |`,
      );
      assert.ok(!body.includes(com.leaf.sha256.slice(0, 16)), "the certificate this change does not deliver is not shown");
    });
  } finally {
    world.cleanup();
  }
});
