import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import { committedCertificates } from "../../src/pipeline/committed-certificate.ts";
import { readExistingTree } from "../../src/render/rendered-files.ts";
import { renderRepository } from "../../src/render/render-repository.ts";
import { certificateSources, certificatesConfig, comAndOrgTenants } from "../helpers/several-certificates.ts";
import { DAY, makeLeaf, makeRepo } from "../render/render-fixture.ts";

/** The pull request's "certificate before": what the committed tree's SealedSecrets record. */

describe("committedCertificates: the newest and the earliest notAfter", () => {
  test("with several certificates in the shared layout, reads the _shared/<certificate>/ bases (tenant folders hold no SealedSecret) and takes the newest", async () => {
    const dir = await makeRepo({ clusters: ["east"], tenants: comAndOrgTenants("east"), config: certificatesConfig({ layout: "shared", clusters: ["east"], output: "rendered" }) });
    const now = Date.now();
    // org expires later than com, so "the newest" is only found in the second base
    const com = await makeLeaf({ dnsNames: ["*.example.com"], notBefore: new Date(now - DAY), notAfter: new Date(now + 60 * DAY) });
    const org = await makeLeaf({ dnsNames: ["*.example.org"], notBefore: new Date(now - DAY), notAfter: new Date(now + 80 * DAY) });
    const r = await renderRepository({ repoDir: dir, tls: com.tls, certificates: certificateSources({ com, org }) });
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
    for (const base of ["com", "org"]) assert.ok(existsSync(join(dir, "rendered/east/_shared", base, "sealed-secret.yaml")), `the ${base} base is rendered`);
    assert.ok(!existsSync(join(dir, "rendered/east/acme/sealed-secret.yaml")), "a shared tenant's folder holds no SealedSecret");

    const { newest: facts, earliestNotAfter } = committedCertificates(await readExistingTree(dir, "rendered"), "rendered");
    assert.equal(facts?.sha256, org.tls.leaf.sha256);
    assert.equal(facts?.notAfter.getTime(), org.tls.leaf.notAfter.getTime());
    // escalation watches what expires first: com, which the newest (org) would hide
    assert.equal(earliestNotAfter?.getTime(), com.tls.leaf.notAfter.getTime());
  });
});
