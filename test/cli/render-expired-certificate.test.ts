import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { certificatesConfig } from "../helpers/several-certificates.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { DAY, makeLeaf, makeRepo, tempDir, tenantYaml, writeFiles } from "../render/render-fixture.ts";
import { runCli } from "./run-cli.ts";

test("render with several certificates: an expired one holds only its own tenants, the others are rendered (exit 1)", async () => {
  const dir = await makeRepo({ clusters: ["prod"], tenants: [] });
  writeFiles(dir, {
    "wildseal.yaml": certificatesConfig({ clusters: ["prod"], defaults: "{secretName: wildcard-tls}", output: "rendered" }),
    "tenants/acme.yaml": tenantYaml({ name: "acme", cluster: "prod", hosts: ["acme.example.com"] }),
    "tenants/orga.yaml": tenantYaml({ name: "orga", cluster: "prod", hosts: ["orga.example.org"] }),
  });
  const com = (await makeLeaf({ dnsNames: ["*.example.com"] })).generated;
  const org = (await makeLeaf({ dnsNames: ["*.example.org"], notBefore: new Date(Date.now() - 100 * DAY), notAfter: new Date(Date.now() - DAY) })).generated;
  const sources = tempDir();
  const comFile = writeSourceSecret(sources, com.certPem, com.keyPem.reveal(), "com.yaml");
  const orgFile = writeSourceSecret(sources, org.certPem, org.keyPem.reveal(), "org.yaml");

  const r = await runCli(["render", "--repo", dir, "--source-file", `com=${comFile}`, "--source-file", `org=${orgFile}`]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /org\.yaml:1:1: the certificate expired at .*; its tenants were left as they are/);
  assert.ok(existsSync(join(dir, "rendered/prod/acme/sealed-secret.yaml")), "the com tenant is rendered");
  assert.ok(!existsSync(join(dir, "rendered/prod/orga")), "the org tenant is held: nothing is sealed with an expired certificate");
});
