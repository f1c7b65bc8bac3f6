/**
 * `audit` answers "who onboarded acme?": each add, remove or update names the person's commit that
 * changed tenants/<tenant>.yaml (or .yml) since wildseal last published that tenant.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type AuditEntry, auditLog, formatAuditTable, requestsFor } from "../../src/git/audit.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import type { CommitSummary } from "../../src/git/trailers.ts";
import { commitAndPush, withWorkspace } from "../../src/git/workspace.ts";
import { type BareRemote, git, makeBareRemote, PERSON, pushAsPerson, remoteLog, tempDir, writeFiles } from "../helpers/git-fixtures.ts";

const CERT = "c".repeat(64);
const PAT = `${PERSON.name} <${PERSON.email}>`;

/** wildseal's commit of `files` saying `changes`, pushed to main (or to a review branch). */
async function wildsealCommit(r: BareRemote, files: Record<string, string | null>, changes: CommitSummary["changes"], review?: string): Promise<string> {
  const res = await withWorkspace({ repo: r.path, branch: "main", credentials: NO_CREDENTIALS, env: { PATH: process.env.PATH } }, (ws) =>
    commitAndPush(ws, {
      render: async (dir) => {
        writeFiles(dir, files);
        return { summary: { changes, certSha256: CERT, certNotAfter: new Date("2026-06-01T00:00:00Z"), domain: "*.example.com" }, value: undefined };
      },
      ...(review === undefined ? {} : { target: { kind: "review" as const, branch: review } }),
    }),
  );
  assert.equal(res.kind, "pushed");
  return res.kind === "pushed" ? res.commit : "";
}

describe("audit: who asked for a tenant change", () => {
  let r: BareRemote;
  const sha: Record<string, string> = {};
  let entries: AuditEntry[];
  const entry = (subject: string) => entries.find((e) => e.subject === subject);

  before(async () => {
    r = makeBareRemote({ files: { "wildseal.yaml": "kind: Config\n", "tenants/acme.yaml": "name: acme\n" } });
    sha.seed = remoteLog(r.path, "main")[0]?.sha ?? "";
    await wildsealCommit(r, { "rendered/p/acme/s.yaml": "1" }, [{ action: "add", tenants: ["acme"] }]);
    await wildsealCommit(r, { "rendered/p/acme/s.yaml": "2" }, [{ action: "renew", tenants: ["acme"] }]);
    sha.gamma = pushAsPerson(r.path, "main", { "tenants/gamma.yml": "name: gamma\n" }, "onboard gamma");
    pushAsPerson(r.path, "main", { "README.md": "docs\n" }, "docs after the onboarding");
    await wildsealCommit(r, { "rendered/p/gamma/s.yaml": "2" }, [{ action: "add", tenants: ["gamma"] }]);
    pushAsPerson(r.path, "main", { "templates/cm.yaml": "kind: ConfigMap\n" }, "a template for everyone");
    await wildsealCommit(r, { "rendered/p/acme/cm.yaml": "x", "rendered/p/gamma/cm.yaml": "x" }, [{ action: "update", tenants: ["acme", "gamma"] }]);
    sha.removeGamma = pushAsPerson(r.path, "main", { "tenants/gamma.yml": null }, "offboard gamma");
    await wildsealCommit(r, { "rendered/p/gamma/s.yaml": null, "rendered/p/gamma/cm.yaml": null }, [{ action: "remove", tenants: ["gamma"] }]);
    // a pull request: wildseal's commit on wildseal/add-delta, merged by a person with a merge commit
    sha.delta = pushAsPerson(r.path, "main", { "tenants/delta.yaml": "name: delta\n" }, "onboard delta");
    sha.deltaAdd = await wildsealCommit(r, { "rendered/p/delta/s.yaml": "2" }, [{ action: "add", tenants: ["delta"] }], "wildseal/add-delta");
    const work = tempDir();
    try {
      git(work.path, ["clone", "--quiet", r.path, "."]);
      git(work.path, ["fetch", "--quiet", "origin", "wildseal/add-delta"]);
      git(work.path, ["merge", "--quiet", "--no-ff", "-m", "Merge pull request #1", "FETCH_HEAD"]);
      git(work.path, ["push", "--quiet", "origin", "HEAD:refs/heads/main"]);
    } finally {
      work.cleanup();
    }
    entries = await auditLog(r.path);
  });
  after(() => r.cleanup());

  it("names the person whose commit added the tenant's file (the seed commit for acme, a .yml file for gamma)", () => {
    assert.deepEqual(entry("add tenant acme")?.requestedBy, [{ author: PAT, commit: sha.seed, tenants: ["acme"] }]);
    assert.deepEqual(entry("add tenant gamma")?.requestedBy, [{ author: PAT, commit: sha.gamma, tenants: ["gamma"] }]);
  });

  it("names the person whose commit deleted the tenant's file for a removal", () => {
    assert.deepEqual(entry("remove tenant gamma")?.requestedBy, [{ author: PAT, commit: sha.removeGamma, tenants: ["gamma"] }]);
  });

  it("names nobody for a renewal, or for an update no tenant file asked for (a template change)", () => {
    assert.deepEqual(entry("renew *.example.com for 1 tenant")?.requestedBy, []);
    assert.deepEqual(entry("update tenants acme, gamma")?.requestedBy, []);
  });

  it("follows a wildseal commit merged from a pull request branch through its own first-parent history", () => {
    const add = entries.find((e) => e.commit === sha.deltaAdd);
    assert.deepEqual(add?.requestedBy, [{ author: PAT, commit: sha.delta, tenants: ["delta"] }]);
  });

  it("shows 'requested by NAME <email> (commit …)' under the commit in the table, and in --tenant results", async () => {
    const table = formatAuditTable(entries);
    assert.match(table, new RegExp(`add +c{16} +2026-06-01T00:00:00Z +gamma\\n  requested by Pat Person <pat@example\\.com> \\(commit ${sha.gamma?.slice(0, 12)}\\): gamma\\n`));
    const onlyGamma = await auditLog(r.path, { tenant: "gamma" });
    assert.deepEqual(onlyGamma.map((e) => e.requestedBy.map((q) => q.commit)), [[sha.removeGamma], [], [sha.gamma]]);
  });
});

describe("requestsFor", () => {
  const c = (commit: string, files: string[], wildseal = false) => ({ commit, author: `${commit} <${commit}@example.com>`, wildseal, tenantFiles: new Set(files) });

  it("stops at wildseal's last commit naming the tenant, passes wildseal commits naming others, groups tenants by commit", () => {
    const older = [c("p3", ["beta"]), c("w2", [], true), c("p2", ["acme", "beta"]), c("w1", [], true), c("p1", ["acme"])];
    const published = new Map([
      ["w2", new Set(["other"])],
      ["w1", new Set(["acme"])],
    ]);
    assert.deepEqual(requestsFor(["acme", "beta"], older, published), [
      { author: "p3 <p3@example.com>", commit: "p3", tenants: ["beta"] },
      { author: "p2 <p2@example.com>", commit: "p2", tenants: ["acme"] },
    ]);
    assert.deepEqual(requestsFor(["acme"], older.slice(3), published), []);
  });
});
