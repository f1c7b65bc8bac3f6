import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { auditLog } from "../../src/git/audit.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import type { CommitSummary } from "../../src/git/trailers.ts";
import { commitAndPush, withWorkspace } from "../../src/git/workspace.ts";
import { type BareRemote, makeBareRemote, remoteLog, tempDir, writeFiles } from "../helpers/git-fixtures.ts";
import { runCli } from "./run-cli.ts";

const wildseal = runCli;

describe("wildseal audit", () => {
  let r: BareRemote;
  before(async () => {
    r = makeBareRemote({ files: { "wildseal.yaml": "kind: Config\n" } });
    const steps: [Record<string, string | null>, CommitSummary["changes"], string][] = [
      [{ "rendered/p/acme/s.yaml": "1", "rendered/p/beta/s.yaml": "1" }, [{ action: "add", tenants: ["acme", "beta"] }], "1"],
      [{ "rendered/p/acme/s.yaml": "2", "rendered/p/beta/s.yaml": "2" }, [{ action: "renew", tenants: ["acme", "beta"] }], "2"],
      [{ "rendered/p/beta/s.yaml": null }, [{ action: "remove", tenants: ["beta"] }], "2"],
    ];
    for (const [files, changes, cert] of steps) {
      await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: { PATH: process.env.PATH } }, (ws) =>
        commitAndPush(ws, {
          render: async (dir) => {
            writeFiles(dir, files);
            return { summary: { changes, certSha256: cert.repeat(64), certNotAfter: new Date("2026-06-01T00:00:00Z"), domain: "*.example.com" }, value: undefined };
          },
        }),
      );
    }
  });
  after(() => r.cleanup());

  it("prints a table of wildseal's commits, newest first", async () => {
    const out = await wildseal(["audit", "--repo", r.path]);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 4);
    assert.match(lines[0] ?? "", /^DATE +COMMIT +AUTHOR +ACTION +CERT-SHA256 +NOT-AFTER +TENANTS$/);
    assert.match(lines[1] ?? "", /remove +2222222222222222 +2026-06-01T00:00:00Z +beta$/);
    assert.match(lines[3] ?? "", /add +1111111111111111 +2026-06-01T00:00:00Z +acme,beta$/);
  });

  it("prints JSON with --json, filtered with --tenant, from a file:// URL too", async () => {
    const out = await wildseal(["audit", "--repo", r.fileUrl, "--tenant", "acme", "--json"]);
    assert.equal(out.code, 0, out.stderr);
    const parsed = JSON.parse(out.stdout) as unknown[];
    assert.deepEqual(parsed, JSON.parse(JSON.stringify(await auditLog(r.path, { tenant: "acme" }))));
    assert.deepEqual(
      parsed.map((e) => (e as { actions: string[] }).actions),
      [["renew"], ["add"]],
    );
  });

  it("answers who onboarded a tenant: 'requested by' in the table, requestedBy in --json", async () => {
    const onboarded = makeBareRemote({ files: { "wildseal.yaml": "kind: Config\n", "tenants/acme.yaml": "name: acme\n" } });
    try {
      const seed = remoteLog(onboarded.path, "main")[0]?.sha ?? "";
      await withWorkspace({ repo: onboarded.path, branch: "main", credentials: NO_CREDENTIALS, env: { PATH: process.env.PATH } }, (ws) =>
        commitAndPush(ws, {
          render: async (dir) => {
            writeFiles(dir, { "rendered/p/acme/s.yaml": "1" });
            return { summary: { changes: [{ action: "add", tenants: ["acme"] }], certSha256: "1".repeat(64), certNotAfter: new Date("2026-06-01T00:00:00Z"), domain: "*.example.com" }, value: undefined };
          },
        }),
      );
      const table = await wildseal(["audit", "--repo", onboarded.path]);
      assert.equal(table.code, 0, table.stderr);
      assert.equal(table.stdout.split("\n")[2], `  requested by Pat Person <pat@example.com> (commit ${seed.slice(0, 12)}): acme`);
      const json = await wildseal(["audit", "--repo", onboarded.path, "--json"]);
      assert.equal(json.code, 0, json.stderr);
      const [entry] = JSON.parse(json.stdout) as { requestedBy: unknown }[];
      assert.deepEqual(entry?.requestedBy, [{ author: "Pat Person <pat@example.com>", commit: seed, tenants: ["acme"] }]);
    } finally {
      onboarded.cleanup();
    }
  });

  it("exits 2 for a folder that is not a repository or a forbidden remote", async () => {
    const plain = tempDir();
    try {
      const out = await wildseal(["audit", "--repo", plain.path]);
      assert.equal(out.code, 2);
      assert.match(out.stderr, /is not a Git repository/);
    } finally {
      plain.cleanup();
    }
    assert.equal((await wildseal(["audit", "--repo", "ext::sh -c id"])).code, 2);
  });
});
