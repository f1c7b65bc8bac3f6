import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { makeLeaf, makeRepo, tempDir, tenantYaml, writeFiles } from "../render/render-fixture.ts";
import { certificatesConfig } from "../helpers/several-certificates.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { runCli } from "./run-cli.ts";

const TWO_CERTS = certificatesConfig({ clusters: ["prod"], defaults: "{secretName: wildcard-tls, scope: strict}", output: "rendered" });

async function sourceFile(dnsNames: readonly string[], name: string): Promise<string> {
  const { generated } = await makeLeaf({ dnsNames });
  return writeSourceSecret(tempDir(), generated.certPem, generated.keyPem.reveal(), name);
}

describe("wildseal render --source-file NAME=PATH", () => {
  test("renders each tenant with its certificate and lists both in the summary; refuses a bare path or a missing name", async () => {
    const dir = await makeRepo({ clusters: ["prod"], tenants: [] });
    writeFiles(dir, {
      "wildseal.yaml": TWO_CERTS,
      "tenants/acme.yaml": tenantYaml({ name: "acme", hosts: ["acme.example.com"] }),
      "tenants/orga.yaml": tenantYaml({ name: "orga", hosts: ["orga.example.org"] }),
    });
    const com = await sourceFile(["*.example.com"], "com.yaml");
    const org = await sourceFile(["*.example.org"], "org.yaml");
    const r = await runCli(["render", "--repo", dir, "--source-file", `com=${com}`, "--source-file", `org=${org}`]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^add {4}prod\/acme\nadd {4}prod\/orga\n2 changed, 0 unchanged; certificates com [0-9a-f]{64} \(notAfter [^)]+\), org [0-9a-f]{64} \(notAfter /);

    const bare = await runCli(["render", "--repo", dir, "--source-file", com]);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /wildseal\.yaml lists 2 certificates \(com, org\): name the one this file holds/);
    const one = await runCli(["render", "--repo", dir, "--source-file", `com=${com}`]);
    assert.equal(one.code, 2);
    assert.match(one.stderr, /give --source-file NAME=PATH for org too/);
  });
});
