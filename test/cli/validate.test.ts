import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { generateSealingKeyPair } from "../../src/tls/generate.ts";
import { githubAnnotation, escapeGithubData, escapeGithubProperty } from "../../src/cli/validate.ts";
import { runCli } from "./run-cli.ts";
import { PROJECT_ROOT, exampleRepo, sourceSecretFile, tempFolder } from "./tenant-fixtures.ts";

/** A tenant with a schema error, a host *.example.com does not cover, and two values the Ingress template needs missing. */
const BAD_TENANT = `apiVersion: wildseal.dev/v1alpha1
kind: Tenant
metadata:
  name: hooli
spec:
  cluster: prod-west
  hosts:
    - hooli.example.com
    - hooli.example.org
  colour: blue
  values:
    service:
      name: web
`;

const HOST_PROBLEM = "host hooli.example.org is not covered by the certificate (DNS names: *.example.com, example.com): remove the host or issue a certificate that covers it";
const SCHEMA_PROBLEM = "unknown field spec.colour: remove it or fix its spelling";
const CLASS_PROBLEM = "spec.values.ingressClass is missing, but templates/ingress.yaml:18:21 uses ${values.ingressClass}: add it under spec.values, or remove the placeholder";
const PORT_PROBLEM = "spec.values.service.port is missing, but templates/ingress.yaml:26:17 uses ${values.service.port}: add it under spec.values, or remove the placeholder";

function repoWithBadTenant(): string {
  const repo = exampleRepo({ ingress: true });
  writeFileSync(join(repo, "tenants/hooli.yaml"), BAD_TENANT);
  return repo;
}

describe("wildseal validate", () => {
  it("accepts the example repository the project ships", async () => {
    const r = await runCli(["validate", "--repo", PROJECT_ROOT]);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^ok: 1 config, 3 tenants, \d+ templates?\n$/);
    assert.equal(r.code, 0);
  });

  it("lists every problem as path:line:col on stderr, a summary on stdout, and exits 1", async () => {
    const repo = exampleRepo();
    writeFileSync(
      join(repo, "tenants/acme.yaml"),
      "apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: acme\nspec:\n  cluster: prod-moon\n  hosts: [acme.example.com]\n",
    );
    writeFileSync(join(repo, "tenants/bad.yaml"), "apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nkind: Tenant\n");
    const r = await runCli(["validate", "--repo", repo]);
    assert.equal(
      r.stderr,
      [
        'tenants/acme.yaml:6:12: unknown cluster "prod-moon": use one of prod-east, prod-west (spec.clusters in wildseal.yaml)',
        'tenants/bad.yaml:3:1: duplicate key "kind": remove one of the two',
        "",
      ].join("\n"),
    );
    assert.equal(r.stdout, "2 problems: 1 config, 2 tenants, 2 invalid tenant files, 1 template\n");
    assert.equal(r.code, 1);
  });

  it("reports a tenant's schema error, uncovered host and missing values together, each at its node", async () => {
    const repo = repoWithBadTenant();
    const r = await runCli(["validate", "--repo", repo, "--source-file", await sourceSecretFile()]);
    assert.equal(
      r.stderr,
      [`tenants/hooli.yaml:9:7: ${HOST_PROBLEM}`, `tenants/hooli.yaml:10:3: ${SCHEMA_PROBLEM}`, `tenants/hooli.yaml:12:5: ${CLASS_PROBLEM}`, `tenants/hooli.yaml:13:7: ${PORT_PROBLEM}`, ""].join("\n"),
    );
    assert.equal(r.stdout, "4 problems: 1 config, 3 tenants, 1 invalid tenant file, 2 templates\n");
    assert.equal(r.code, 1);
  });

  it("checks what templates need without --source-file, and hosts only with it", async () => {
    const r = await runCli(["validate", "--repo", repoWithBadTenant()]);
    assert.equal(r.stderr, [`tenants/hooli.yaml:10:3: ${SCHEMA_PROBLEM}`, `tenants/hooli.yaml:12:5: ${CLASS_PROBLEM}`, `tenants/hooli.yaml:13:7: ${PORT_PROBLEM}`, ""].join("\n"));
    assert.equal(r.code, 1);
  });

  it("--format github prints one ::error workflow command per problem on stdout, the summary on stderr", async () => {
    const repo = repoWithBadTenant();
    const rel = relative(process.cwd(), repo);
    const r = await runCli(["validate", "--format", "github", "--repo", rel, "--source-file", await sourceSecretFile()]);
    const at = (line: number, col: number, message: string): string =>
      `::error file=${rel}/tenants/hooli.yaml,line=${line},col=${col},title=wildseal validate::${message}`;
    assert.equal(r.stdout, [at(9, 7, HOST_PROBLEM), at(10, 3, SCHEMA_PROBLEM), at(12, 5, CLASS_PROBLEM), at(13, 7, PORT_PROBLEM), ""].join("\n"));
    assert.equal(r.stderr, "4 problems: 1 config, 3 tenants, 1 invalid tenant file, 2 templates\n");
    assert.equal(r.code, 1);
  });

  it("--format github escapes % and line breaks in messages, and , and : in properties, as GitHub requires", () => {
    assert.equal(escapeGithubData("50%\r\nnext"), "50%25%0D%0Anext");
    assert.equal(escapeGithubProperty("a,b:c%"), "a%2Cb%3Ac%25");
    assert.equal(
      githubAnnotation({ path: "x", line: 2, col: 3, message: "first: 100%\nsecond, third" }, "dir,1/a:b.yaml"),
      "::error file=dir%2C1/a%3Ab.yaml,line=2,col=3,title=wildseal validate::first: 100%25%0Asecond, third",
    );
  });

  it("--format github on a valid repository prints nothing on stdout and exits 0", async () => {
    const r = await runCli(["validate", "--format", "github", "--repo", relative(process.cwd(), exampleRepo())]);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "ok: 1 config, 3 tenants, 1 template\n");
    assert.equal(r.code, 0);
  });

  it("reports an expired --source-file certificate as one more problem, after the repository's", async () => {
    const repo = exampleRepo();
    const source = await sourceSecretFile(undefined, { notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2020-04-01T00:00:00Z") });
    writeFileSync(join(repo, "tenants/acme.yaml"), "apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: acme\nspec:\n  cluster: prod-east\n  hosts: []\n");
    const r = await runCli(["validate", "--repo", repo, "--source-file", source]);
    assert.equal(
      r.stderr,
      `${source}:1:1: Secret cert-manager/wildcard-example-com: the leaf certificate expired at 2020-04-01T00:00:00.000Z; renew it before sealing\n` +
        "tenants/acme.yaml:7:10: spec.hosts must not be empty\n",
    );
    assert.equal(r.code, 1);
  });

  it("refuses an expired sealing certificate", async () => {
    const repo = exampleRepo();
    const expired = await generateSealingKeyPair({ notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2021-01-01T00:00:00Z") });
    writeFileSync(join(repo, "clusters/prod-west/sealed-secrets.pem"), expired.certPem);
    const r = await runCli(["validate", "--repo", repo]);
    assert.match(r.stderr, /^clusters\/prod-west\/sealed-secrets\.pem:\d+:\d+: .*expired.*\n$/);
    assert.equal(r.code, 1);
  });

  it("outside a repository says there is no wildseal.yaml and to run wildseal init, counting nothing", async () => {
    const empty = tempFolder("wildseal-empty-");
    const r = await runCli(["validate", "--repo", empty]);
    assert.equal(
      r.stderr,
      `wildseal: ${empty} is not a wildseal repository (it has no wildseal.yaml): run \`wildseal init ${empty}\` to create one, or pass --repo with the repository's folder\n`,
    );
    assert.equal(r.stdout, "");
    assert.equal(r.code, 1);
    const gh = await runCli(["validate", "--repo", join(empty, "nowhere"), "--format", "github"]);
    assert.equal(gh.stdout, `::error title=wildseal validate::${join(empty, "nowhere")} does not exist: pass --repo with the GitOps repository's folder\n`);
    assert.equal(gh.code, 1);
  });

  it("still reports a broken wildseal.yaml at its position (a repository, just an invalid one)", async () => {
    const repo = tempFolder("wildseal-broken-");
    mkdirSync(join(repo, "tenants"));
    writeFileSync(join(repo, "wildseal.yaml"), "apiVersion: wildseal.dev/v1alpha1\nkind: Config\n");
    const r = await runCli(["validate", "--repo", repo]);
    assert.match(r.stderr, /^wildseal\.yaml:\d+:\d+: /);
    assert.equal(r.stdout, "2 problems: config invalid, 0 tenants, 1 template\n");
    assert.equal(r.code, 1);
  });

  it("treats an unknown flag or format as a usage error (exit 2)", async () => {
    assert.equal((await runCli(["validate", "--bogus"])).code, 2);
    assert.equal((await runCli(["validate", "--format", "json"])).code, 2);
  });
});
