import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import { certificatesInChange } from "../../src/github/pr-body.ts";
import { readExistingTree } from "../../src/render/rendered-files.ts";
import { renderRepository } from "../../src/render/render-repository.ts";
import { certificateSources, certificatesConfig, comAndOrgTenants } from "../helpers/several-certificates.ts";
import { DAY, makeLeaf, makeRepo } from "../render/render-fixture.ts";

test("the PR's certificate rows take 'before' from the shared base a renewed tenant reuses (its own folder holds no SealedSecret)", async () => {
  const dir = await makeRepo({ clusters: ["east"], tenants: comAndOrgTenants("east"), config: certificatesConfig({ layout: "shared", clusters: ["east"], output: "rendered" }) });
  const now = Date.now();
  const com1 = await makeLeaf({ dnsNames: ["*.example.com"], notBefore: new Date(now - 30 * DAY), notAfter: new Date(now + 60 * DAY) });
  const com2 = await makeLeaf({ dnsNames: ["*.example.com"], notBefore: new Date(now - DAY), notAfter: new Date(now + 89 * DAY) });
  const org = await makeLeaf({ dnsNames: ["*.example.org"], notBefore: new Date(now - DAY), notAfter: new Date(now + 80 * DAY) });
  const render = (com: typeof com1) => renderRepository({ repoDir: dir, tls: com.tls, certificates: certificateSources({ com, org }) });
  assert.deepEqual((await render(com1)).diagnostics.map(formatDiagnostic), []);
  const before = await readExistingTree(dir, "rendered");
  const renewed = await render(com2);
  assert.deepEqual(renewed.changes.filter((c) => c.kind === "renew").map((c) => c.tenant), ["acme"]);
  assert.ok(renewed.leaves !== undefined);
  const rows = certificatesInChange(renewed.changes, renewed.leaves, before, "rendered");
  const com = rows.find((r) => r.name === "com");
  assert.equal(com?.renewed, true);
  assert.equal(com?.before?.sha256, com1.tls.leaf.sha256, "the old certificate, read from rendered/east/_shared/com/");
  assert.equal(com?.before?.notAfter.getTime(), com1.tls.leaf.notAfter.getTime());
  assert.equal(com?.after.sha256, com2.tls.leaf.sha256);
});
