import { test } from "node:test";
import assert from "node:assert/strict";
import { auditLog, formatAuditTable } from "../../src/git/audit.ts";
import { NO_CREDENTIALS } from "../../src/git/credentials.ts";
import { parseTrailers } from "../../src/git/trailers.ts";
import { sync } from "../../src/pipeline/sync.ts";
import { pushAsPerson, remoteLog } from "../helpers/git-fixtures.ts";
import { tenantYaml } from "../helpers/tenant-yaml.ts";
import { makeCertificatesRemote } from "../helpers/several-certificates.ts";
import { sourceOf } from "./sync-world.ts";

test("two certificates: each tenant gets its own, a renewal of one commits only its tenants and names it in Wildseal-Certificate, audit shows it", async () => {
  const world = await makeCertificatesRemote([{ name: "acme", hosts: ["acme.example.com"] }, { name: "beta", hosts: ["beta.example.com"] }, { name: "orga", hosts: ["orga.example.org"] }]);
  const { remote } = world;
  try {
    const com = await world.issue(["*.example.com"], 30);
    const org = await world.issue(["*.example.org"], 30);
    const base = { repo: remote.path, branch: "main", delivery: { kind: "push" } as const, credentials: NO_CREDENTIALS, source: sourceOf(com) };
    const both = (c: typeof com, o: typeof org) => new Map([["com", sourceOf(c)], ["org", sourceOf(o)]]);

    const first = await sync({ ...base, certificates: both(com, org) });
    assert.equal(first.kind, "pushed");
    assert.deepEqual(first.diagnostics, []);
    assert.deepEqual(first.changes.map((c) => `${c.kind} ${c.tenant} ${c.certificate}`), ["add acme com", "add beta com", "add orga org"]);
    assert.deepEqual(parseTrailers(remoteLog(remote.path, "main")[0]?.message ?? "").certificates, ["com", "org"], "the first publish seals tenants with both");

    // an onboarding on org alone: the commit's certificate is org's, not the first listed (com)
    pushAsPerson(remote.path, "main", { "tenants/orgb.yaml": tenantYaml({ name: "orgb", cluster: "prod-east", hosts: ["orgb.example.org"] }) }, "onboard orgb");
    const onboard = await sync({ ...base, certificates: both(com, org) });
    assert.equal(onboard.kind, "pushed");
    assert.deepEqual(onboard.changes.filter((c) => c.kind !== "keep").map((c) => `${c.kind} ${c.tenant} ${c.certificate}`), ["add orgb org"]);
    const added = parseTrailers(remoteLog(remote.path, "main")[0]?.message ?? "");
    assert.deepEqual(added.certificates, ["org"]);
    assert.equal(added.certSha256, org.leaf.sha256);

    const renewedOrg = await world.issue(["*.example.org"], 0);
    const second = await sync({ ...base, certificates: both(com, renewedOrg) });
    assert.equal(second.kind, "pushed");
    assert.deepEqual(second.changes.map((c) => `${c.kind} ${c.tenant}`), ["keep acme", "keep beta", "renew orga", "renew orgb"]);
    const message = remoteLog(remote.path, "main")[0]?.message ?? "";
    assert.equal(message.split("\n")[0], "renew *.example.org for 2 tenants");
    const trailers = parseTrailers(message);
    assert.deepEqual(trailers.certificates, ["org"]);
    assert.deepEqual(trailers.tenants, ["orga", "orgb"]);
    assert.equal(trailers.certSha256, renewedOrg.leaf.sha256);
    assert.match(message, /^Wildseal-Certificate: org$/m);

    const entries = await auditLog(remote.path);
    assert.deepEqual(entries.map((e) => e.certificates), [["org"], ["org"], ["com", "org"]]);
    const table = formatAuditTable(entries).split("\n");
    assert.match(table[0] ?? "", /^DATE +COMMIT +AUTHOR +ACTION +CERTIFICATE +CERT-SHA256/);
    assert.match(table[1] ?? "", /renew +org +[0-9a-f]{16} .* orga,orgb$/);
  } finally {
    world.cleanup();
  }
});
