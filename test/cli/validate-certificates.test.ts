import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { certificatesBlock } from "../helpers/several-certificates.ts";
import { runCli } from "./run-cli.ts";
import { exampleRepo, sourceSecretFile } from "./tenant-fixtures.ts";

/** The example repository with two certificates (com: *.example.com; org: *.example.org) instead of spec.source. */
function twoCertificateRepo(): string {
  const repo = exampleRepo();
  const config = readFileSync(join(repo, "wildseal.yaml"), "utf8").replace(
    /  source:.*\n.*\n.*\n/,
    certificatesBlock(),
  );
  writeFileSync(join(repo, "wildseal.yaml"), config);
  const tenant = (name: string, extra: string, hosts: string) =>
    `apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  cluster: prod-east\n${extra}  hosts: [${hosts}]\n`;
  writeFileSync(join(repo, "tenants/hooli.yaml"), tenant("hooli", "", "hooli.example.org"));
  writeFileSync(join(repo, "tenants/both.yaml"), tenant("both", "", "both.example.net"));
  writeFileSync(join(repo, "tenants/nowhere.yaml"), tenant("nowhere", "", "nowhere.example.io"));
  writeFileSync(join(repo, "tenants/named.yaml"), tenant("named", "  certificate: org\n", "named.example.net"));
  return repo;
}

describe("wildseal validate with several certificates", () => {
  it("refuses ambiguous and uncovered tenants at their positions, given every certificate by name", async () => {
    const repo = twoCertificateRepo();
    const com = await sourceSecretFile(["*.example.com", "*.example.net"]);
    const org = await sourceSecretFile(["*.example.org", "*.example.net"]);
    const r = await runCli(["validate", "--repo", repo, "--source-file", `com=${com}`, "--source-file", `org=${org}`]);
    assert.equal(
      r.stderr,
      [
        "tenants/both.yaml:7:10: the hosts are covered by 2 certificates (com, org): add spec.certificate: com (or org) to say which one seals this tenant",
        "tenants/nowhere.yaml:7:11: host nowhere.example.io is covered by no certificate (com: *.example.com, *.example.net; org: *.example.org, *.example.net): remove the host or add a certificate that covers it to spec.certificates",
        "",
      ].join("\n"),
    );
    assert.equal(r.code, 1);
  });

  it("accepts the repository once each tenant has one certificate", async () => {
    const repo = twoCertificateRepo();
    writeFileSync(join(repo, "tenants/both.yaml"), readFileSync(join(repo, "tenants/both.yaml"), "utf8").replace("  hosts:", "  certificate: com\n  hosts:"));
    writeFileSync(join(repo, "tenants/nowhere.yaml"), readFileSync(join(repo, "tenants/nowhere.yaml"), "utf8").replace("example.io", "example.org"));
    const com = await sourceSecretFile(["*.example.com", "*.example.net"]);
    const org = await sourceSecretFile(["*.example.org", "*.example.net"]);
    const r = await runCli(["validate", "--repo", repo, "--source-file", `com=${com}`, "--source-file", `org=${org}`]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
  });

  it("refuses a bare --source-file when the config has several certificates, and an unknown name", async () => {
    const repo = twoCertificateRepo();
    const com = await sourceSecretFile();
    const bare = await runCli(["validate", "--repo", repo, "--source-file", com]);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /wildseal\.yaml lists 2 certificates \(com, org\): name the one this file holds \(--source-file NAME=PATH\)/);
    const unknown = await runCli(["validate", "--repo", repo, "--source-file", `net=${com}`]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /wildseal\.yaml has no certificate net \(it has com, org\)/);
  });
});
