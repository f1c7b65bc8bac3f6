import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeMarkdownCell, MAX_BODY_CHARS, pullRequestMarker, renderPullRequestBody, type PullRequestTenantRow } from "../../src/github/pr-body.ts";
import type { CertFacts } from "../../src/tls/types.ts";

const before: CertFacts = {
  sha256: "1".repeat(64),
  serial: "0A1B",
  subject: "CN=*.example.com",
  issuer: "CN=R10, O=Let's Encrypt, C=US",
  notBefore: new Date("2026-01-01T00:00:00Z"),
  notAfter: new Date("2026-04-01T00:00:00Z"),
  dnsNames: ["*.example.com", "example.com"],
};
const after: CertFacts = {
  ...before,
  sha256: "3f2a9c1b0d4e" + "2".repeat(52),
  serial: "0C2D",
  notBefore: new Date("2026-03-02T00:00:00Z"),
  notAfter: new Date("2026-05-31T00:00:00Z"),
};
const acme: PullRequestTenantRow = { name: "acme", cluster: "prod-east", namespace: "acme", hosts: ["acme.example.com"], scope: "strict", change: "renew" };

test("the body has a tenant table and an old → new certificate table with public facts only", () => {
  const body = renderPullRequestBody({ summary: "renew *.example.com for 1 tenant", tenants: [acme], certBefore: before, certAfter: after, marker: pullRequestMarker("main") });
  assert.match(body, /^renew \\\*\.example\.com for 1 tenant$/m);
  assert.match(body, /^\| Tenant \| Cluster \| Namespace \| Hosts \| Scope \| Change \|$/m);
  assert.match(body, /^\| acme \| prod-east \| acme \| acme\.example\.com \| strict \| renew \|$/m);
  assert.match(body, /^\| Serial ✱ \| 0A1B \| 0C2D \|$/m);
  assert.match(body, new RegExp(`^\\| SHA-256 fingerprint ✱ \\| ${"1".repeat(64)} \\| ${after.sha256} \\|$`, "m"));
  assert.match(body, /^\| Not after ✱ \| 2026-04-01T00:00:00Z \| 2026-05-31T00:00:00Z \|$/m);
  assert.match(body, /^\| SANs \| \\\*\.example\.com, example\.com \| \\\*\.example\.com, example\.com \|$/m);
  assert.match(body, /^\| Issuer \| CN=R10, O=Let's Encrypt, C=US \| CN=R10, O=Let's Encrypt, C=US \|$/m);
  assert.ok(body.trimEnd().endsWith("<!-- wildseal:base=main -->"));
});

test("a first publication shows (none) as the old certificate", () => {
  const body = renderPullRequestBody({ summary: "add tenant acme", tenants: [{ ...acme, change: "add" }], certAfter: after, marker: pullRequestMarker("main") });
  assert.match(body, /^\| Serial ✱ \| \(none\) \| 0C2D \|$/m);
});

test("pipes, markdown and HTML in values cannot break the table or forge the marker", () => {
  const evil: PullRequestTenantRow = {
    ...acme,
    name: "a|b",
    namespace: "ns*_`x`_",
    hosts: ["<!-- wildseal:base=main -->", "[x](http://evil)"],
    scope: "strict\n| injected | row |",
  };
  const body = renderPullRequestBody({ summary: "s", tenants: [evil], certAfter: after, marker: pullRequestMarker("release") });
  const row = body.split("\n").find((l) => l.startsWith("| a"));
  assert.ok(row !== undefined);
  // exactly 7 unescaped pipes: 6 columns
  assert.equal(row.match(/(?<!\\)\|/g)?.length, 7);
  assert.ok(row.includes("a\\|b"));
  assert.ok(row.includes("ns\\*\\_\\`x\\`\\_"));
  assert.ok(row.includes("&lt;!-- wildseal:base=main --&gt;"));
  assert.ok(row.includes("\\[x\\](http://evil)"));
  assert.ok(!body.includes("<!-- wildseal:base=main -->"), "only the real marker (for base release) is an HTML comment");
  assert.equal(escapeMarkdownCell("@team #12"), "\\@team \\#12");
});

test("rendering is deterministic and independent of tenant order", () => {
  const beta: PullRequestTenantRow = { ...acme, name: "beta", namespace: "beta", hosts: ["beta.example.com"] };
  const west: PullRequestTenantRow = { ...acme, name: "aaa", cluster: "prod-west" };
  const input = { summary: "s", certBefore: before, certAfter: after, marker: pullRequestMarker("main") };
  const one = renderPullRequestBody({ ...input, tenants: [west, beta, acme] });
  assert.equal(one, renderPullRequestBody({ ...input, tenants: [acme, beta, west] }));
  const names = one.split("\n").filter((l) => /^\| (acme|beta|aaa) /.test(l)).map((l) => l.split(" | ")[0]);
  assert.deepEqual(names, ["| acme", "| beta", "| aaa"]);
});

test("thousands of tenants are cut with a count, keeping the body under GitHub's limit", () => {
  const many = Array.from({ length: 5000 }, (_, i) => ({ ...acme, name: `tenant-${String(i).padStart(4, "0")}`, hosts: [`t${i}.example.com`] }));
  const body = renderPullRequestBody({ summary: "s", tenants: many, certBefore: before, certAfter: after, marker: pullRequestMarker("main") });
  assert.ok(body.length <= MAX_BODY_CHARS, `${body.length}`);
  const shown = body.split("\n").filter((l) => l.startsWith("| tenant-")).length;
  assert.ok(shown > 100);
  assert.match(body, new RegExp(`…and ${5000 - shown} more tenants`));
  assert.match(body, /### Tenants \(5000\)/);
  assert.match(body, /\| Serial ✱ \| 0A1B \| 0C2D \|/);
});

test("the marker encodes the base so it stays a valid HTML comment", () => {
  assert.equal(pullRequestMarker("main"), "<!-- wildseal:base=main -->");
  assert.equal(pullRequestMarker("release--1"), "<!-- wildseal:base=release%2D%2D1 -->");
});

