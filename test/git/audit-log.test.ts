import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { UsageError } from "../../src/errors.ts";
import { type AuditEntry, auditLog, formatAuditTable } from "../../src/git/audit.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import type { CommitSummary } from "../../src/git/trailers.ts";
import { commitAndPush, withWorkspace } from "../../src/git/workspace.ts";
import { type BareRemote, git, makeBareRemote, pushAsPerson, tempDir, writeFiles } from "../helpers/git-fixtures.ts";

const CERT_A = "a".repeat(64);
const CERT_B = "b".repeat(64);
const NOT_AFTER_A = new Date("2026-03-01T00:00:00Z");
const NOT_AFTER_B = new Date("2026-06-01T00:00:00Z");

/** The history a real deployment accumulates: onboarding, a renewal, an add, a removal, a human commit. */
async function buildHistory(r: BareRemote): Promise<void> {
  const step = (files: Record<string, string | null>, summary: Omit<CommitSummary, "domain">) =>
    withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: { PATH: process.env.PATH } }, (ws) =>
      commitAndPush(ws, {
        render: async (dir) => {
          writeFiles(dir, files);
          return { summary: { ...summary, domain: "*.example.com" }, value: undefined };
        },
      }),
    );
  await step(
    { "rendered/prod/acme/s.yaml": "A", "rendered/prod/beta/s.yaml": "A" },
    { changes: [{ action: "add", tenants: ["acme", "beta"] }], certSha256: CERT_A, certNotAfter: NOT_AFTER_A },
  );
  await step(
    { "rendered/prod/acme/s.yaml": "B", "rendered/prod/beta/s.yaml": "B" },
    { changes: [{ action: "renew", tenants: ["acme", "beta"] }], certSha256: CERT_B, certNotAfter: NOT_AFTER_B },
  );
  pushAsPerson(r.path, "main", { "README.md": "docs\n" }, "docs: explain the repository");
  await step(
    { "rendered/prod/gamma/s.yaml": "B" },
    { changes: [{ action: "add", tenants: ["gamma"] }], certSha256: CERT_B, certNotAfter: NOT_AFTER_B },
  );
  await step(
    { "rendered/prod/beta/s.yaml": null },
    { changes: [{ action: "remove", tenants: ["beta"] }], certSha256: CERT_B, certNotAfter: NOT_AFTER_B },
  );
}

function shape(entries: readonly AuditEntry[]) {
  return entries.map((e) => ({ actions: e.actions, tenants: e.tenants, cert: e.certSha256?.[0], notAfter: e.certNotAfter }));
}

describe("audit log", () => {
  let r: BareRemote;
  before(async () => {
    r = makeBareRemote({ files: { "wildseal.yaml": "kind: Config\n" } });
    await buildHistory(r);
  });
  after(() => r.cleanup());

  it("lists wildseal's commits newest first from their trailers, skipping other commits", async () => {
    const entries = await auditLog(r.path);
    assert.deepEqual(shape(entries), [
      { actions: ["remove"], tenants: ["beta"], cert: "b", notAfter: "2026-06-01T00:00:00Z" },
      { actions: ["add"], tenants: ["gamma"], cert: "b", notAfter: "2026-06-01T00:00:00Z" },
      { actions: ["renew"], tenants: ["acme", "beta"], cert: "b", notAfter: "2026-06-01T00:00:00Z" },
      { actions: ["add"], tenants: ["acme", "beta"], cert: "a", notAfter: "2026-03-01T00:00:00Z" },
    ]);
    const newest = entries[0];
    assert.equal(newest?.commit, git(r.path, ["rev-parse", "main"]).trim());
    assert.equal(newest?.author, "wildseal <wildseal@users.noreply.github.com>");
    assert.equal(newest?.subject, "remove tenant beta");
    assert.match(newest?.date ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(newest?.certSha256, CERT_B);
  });

  it("filters by tenant", async () => {
    assert.deepEqual(
      (await auditLog(r.path, { tenant: "beta" })).map((e) => e.subject),
      ["remove tenant beta", "renew *.example.com for 2 tenants", "add tenants acme, beta"],
    );
    assert.deepEqual((await auditLog(r.path, { tenant: "gamma" })).map((e) => e.subject), ["add tenant gamma"]);
    assert.deepEqual(await auditLog(r.path, { tenant: "nobody" }), []);
  });

  it("reads the same from a file:// URL through a private clone, and from a work-tree clone", async () => {
    const local = await auditLog(r.path);
    assert.deepEqual(await auditLog(r.fileUrl), local);
    const work = tempDir();
    try {
      git(work.path, ["clone", "--quiet", r.path, "."]);
      assert.deepEqual(await auditLog(work.path), local);
    } finally {
      work.cleanup();
    }
  });

  it("returns nothing for a repository without commits", async () => {
    const empty = makeBareRemote();
    try {
      assert.deepEqual(await auditLog(empty.path), []);
      assert.deepEqual(await auditLog(empty.fileUrl), []);
    } finally {
      empty.cleanup();
    }
  });

  it("refuses a folder that is not a repository, a bad tenant name and an unknown branch", async () => {
    const plain = tempDir();
    try {
      await assert.rejects(auditLog(plain.path), UsageError);
    } finally {
      plain.cleanup();
    }
    await assert.rejects(auditLog(r.path, { tenant: "Not a name" }), UsageError);
    await assert.rejects(auditLog(r.path, { branch: "nope" }), UsageError);
    await assert.rejects(auditLog(r.fileUrl, { branch: "nope" }), UsageError);
    await assert.rejects(auditLog("ext::sh -c id"), UsageError);
  });

  it("prints an aligned table with the tenants last", async () => {
    const table = formatAuditTable(await auditLog(r.path));
    const lines = table.trimEnd().split("\n");
    assert.equal(lines.length, 5);
    assert.match(lines[0] ?? "", /^DATE\s+COMMIT\s+AUTHOR\s+ACTION\s+CERT-SHA256\s+NOT-AFTER\s+TENANTS$/);
    const columnStarts = (line: string) => [...line.matchAll(/(?<=\s{2})\S/g)].map((m) => m.index);
    const header = columnStarts(lines[0] ?? "");
    for (const line of lines.slice(1)) assert.deepEqual(columnStarts(line).slice(0, header.length), header, line);
    assert.match(lines[3] ?? "", /renew\s+bbbbbbbbbbbbbbbb\s+2026-06-01T00:00:00Z\s+acme,beta$/);
  });
});
