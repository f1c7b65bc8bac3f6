import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderRepository } from "../../src/render/render-repository.ts";
import { readTlsSource } from "../../src/tls/tls-material.ts";
import { schemaComment } from "../../src/model/schema-url.ts";
import { git } from "../helpers/git-fixtures.ts";
import { runCli } from "./run-cli.ts";
import { exampleRepo, sourceSecretFile, tempFolder } from "./tenant-fixtures.ts";

const tenantFiles = (repo: string): string[] => readdirSync(join(repo, "tenants")).sort();
const NOT_CHECKED = "note: the hosts were not checked against the certificate; pass --source-file to check them before the next sync does\n";

describe("wildseal tenant add", () => {
  it("writes a minimal, deterministic tenant file under the schema comment, which then validates", async () => {
    const repo = exampleRepo();
    const r = await runCli(["tenant", "add", "hooli", "--host", "hooli.example.com", "--host", "API.Hooli.example.com.", "--cluster", "prod-west", "--scope", "strict", "--repo", repo]);
    assert.equal(r.stderr, NOT_CHECKED);
    assert.equal(r.stdout, "added tenant hooli: tenants/hooli.yaml (cluster prod-west, namespace hooli, 2 hosts)\n");
    assert.equal(r.code, 0);
    assert.equal(
      readFileSync(join(repo, "tenants/hooli.yaml"), "utf8"),
      [
        schemaComment("tenant").trimEnd(),
        "apiVersion: wildseal.dev/v1alpha1",
        "kind: Tenant",
        "metadata:",
        "  name: hooli",
        "spec:",
        "  cluster: prod-west",
        "  hosts:",
        "    - hooli.example.com",
        "    - api.hooli.example.com",
        "",
      ].join("\n"),
    );
    assert.deepEqual(tenantFiles(repo), ["acme.yaml", "globex.yaml", "hooli.yaml", "initech.yaml"], "no temporary file left behind");
    const v = await runCli(["validate", "--repo", repo]);
    assert.equal(v.stderr, "");
    assert.match(v.stdout, /^ok: 1 config, 4 tenants, /);
  });

  it("keeps a non-default namespace and scope", async () => {
    const repo = exampleRepo();
    const r = await runCli(["tenant", "add", "umbrella", "--host", "umbrella.example.com", "--cluster", "prod-east", "--namespace", "umbrella-prod", "--scope", "cluster-wide", "--repo", repo]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(readFileSync(join(repo, "tenants/umbrella.yaml"), "utf8"), /\n {2}namespace: umbrella-prod\n {2}scope: cluster-wide\n$/);
  });

  it("--value nests dotted keys under spec.values and keeps every value a string", async () => {
    const repo = exampleRepo({ ingress: true });
    const r = await runCli([
      "tenant", "add", "hooli", "--host", "hooli.example.com", "--cluster", "prod-west",
      "--value", "ingressClass=nginx", "--value", "service.name=web", "--value", "service.port=8080", "--value", "service.tls.enabled=true",
      "--source-file", await sourceSecretFile(), "--repo", repo,
    ]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.match(
      readFileSync(join(repo, "tenants/hooli.yaml"), "utf8"),
      /\n {2}values:\n {4}ingressClass: nginx\n {4}service:\n {6}name: web\n {6}port: "8080"\n {6}tls:\n {8}enabled: "true"\n$/,
    );
    const v = await runCli(["validate", "--repo", repo]);
    assert.equal(v.stderr, "");
    assert.equal(v.code, 0);
  });

  it("refuses a host the --source-file certificate does not cover, naming --host, and writes nothing", async () => {
    const repo = exampleRepo();
    const r = await runCli(["tenant", "add", "hooli", "--host", "hooli.example.com", "--host", "Hooli.Example.ORG", "--cluster", "prod-west", "--source-file", await sourceSecretFile(), "--repo", repo]);
    assert.equal(
      r.stderr,
      'wildseal: refusing to add tenant hooli:\n  --host "Hooli.Example.ORG" is not covered by the certificate (DNS names: *.example.com, example.com): remove the host or issue a certificate that covers it\n',
    );
    assert.equal(r.code, 1);
    assert.deepEqual(tenantFiles(repo), ["acme.yaml", "globex.yaml", "initech.yaml"]);
  });

  it("lists every problem at once, each naming its flag: cluster, uncovered host, values templates need", async () => {
    const repo = exampleRepo({ ingress: true });
    const r = await runCli([
      "tenant", "add", "x", "--host", "x.example.org", "--host", "y.example.com", "--cluster", "moon",
      "--value", "service.name=a", "--source-file", await sourceSecretFile(), "--repo", repo,
    ]);
    assert.equal(
      r.stderr,
      [
        "wildseal: refusing to add tenant x:",
        '  --cluster "moon" is not a cluster in wildseal.yaml (clusters: prod-east, prod-west)',
        '  --host "x.example.org" is not covered by the certificate (DNS names: *.example.com, example.com): remove the host or issue a certificate that covers it',
        "  --value ingressClass=… is required: templates/ingress.yaml:18:21 uses ${values.ingressClass}",
        "  --value service.port=… is required: templates/ingress.yaml:26:17 uses ${values.service.port}",
        "",
      ].join("\n"),
    );
    assert.equal(r.code, 1);
    assert.equal(existsSync(join(repo, "tenants/x.yaml")), false);
  });

  it("refuses an existing tenant name (exit 1) and leaves its file alone", async () => {
    const repo = exampleRepo();
    const before = readFileSync(join(repo, "tenants/acme.yaml"), "utf8");
    const r = await runCli(["tenant", "add", "acme", "--host", "x.example.com", "--cluster", "prod-east", "--repo", repo]);
    assert.equal(r.stderr, "wildseal: tenant acme already exists (tenants/acme.yaml): edit that file instead\n");
    assert.equal(r.code, 1);
    assert.equal(readFileSync(join(repo, "tenants/acme.yaml"), "utf8"), before);
  });

  it("refuses a Secret another tenant already delivers, even when the new file sorts first (exit 1)", async () => {
    const repo = exampleRepo();
    for (const name of ["acme2", "aaa"]) {
      const r = await runCli(["tenant", "add", name, "--host", `${name}.example.com`, "--cluster", "prod-east", "--namespace", "acme", "--repo", repo]);
      assert.equal(
        r.stderr,
        `wildseal: refusing to add tenant ${name}:\n  Secret wildcard-tls in namespace acme on cluster prod-east is already delivered by tenant acme (tenants/acme.yaml): pass another --namespace\n`,
      );
      assert.equal(r.code, 1);
    }
    assert.deepEqual(tenantFiles(repo), ["acme.yaml", "globex.yaml", "initech.yaml"]);
  });

  it("refuses a bad name, a bad host, an unknown or missing cluster (exit 1), naming the flag, writing nothing", async () => {
    const repo = exampleRepo();
    const bad = await runCli(["tenant", "add", "Bad_Name", "--host", "b.example.com", "--cluster", "prod-east", "--repo", repo]);
    assert.equal(
      bad.stderr,
      'wildseal: tenant name "Bad_Name" is not a valid DNS-1123 label (lower-case letters, digits and "-", at most 63 characters, starting and ending with a letter or digit): choose another name\n',
    );
    assert.equal(bad.code, 1);
    const host = await runCli(["tenant", "add", "wild", "--host", "*.example.com", "--cluster", "prod-east", "--repo", repo]);
    assert.equal(host.stderr, 'wildseal: refusing to add tenant wild:\n  --host "*.example.com": host "*.example.com" is a wildcard, which tenant hosts can not be: list each host name\n');
    assert.equal(host.code, 1);
    const cluster = await runCli(["tenant", "add", "lost", "--host", "lost.example.com", "--cluster", "prod-moon", "--repo", repo]);
    assert.equal(cluster.stderr, 'wildseal: refusing to add tenant lost:\n  --cluster "prod-moon" is not a cluster in wildseal.yaml (clusters: prod-east, prod-west)\n');
    assert.equal(cluster.code, 1);
    const noCluster = await runCli(["tenant", "add", "lost", "--host", "lost.example.com", "--repo", repo]);
    assert.equal(noCluster.stderr, "wildseal: refusing to add tenant lost:\n  --cluster is required: wildseal.yaml has 2 clusters (prod-east, prod-west)\n");
    assert.equal(noCluster.code, 1);
    assert.deepEqual(tenantFiles(repo), ["acme.yaml", "globex.yaml", "initech.yaml"]);
  });

  it("outside a repository says so and how to create one (exit 1)", async () => {
    const repo = tempFolder("wildseal-tenant-empty-");
    mkdirSync(join(repo, "tenants"));
    const r = await runCli(["tenant", "add", "a", "--host", "a.example.com", "--repo", repo]);
    assert.equal(
      r.stderr,
      `wildseal: ${repo} is not a wildseal repository (it has no wildseal.yaml): run \`wildseal init ${repo}\` to create one, or pass --repo with the repository's folder\n`,
    );
    assert.equal(r.code, 1);
  });

  it("treats bad flags as usage errors (exit 2), all --value problems in one message", async () => {
    const repo = exampleRepo();
    for (const argv of [
      ["tenant", "add", "x", "--repo", repo], // --host missing
      ["tenant", "add", "--host", "x.example.com", "--repo", repo], // NAME missing
      ["tenant", "add", "x", "--host", "x.example.com", "--scope", "global", "--repo", repo],
      ["tenant", "add", "x", "--host", "x.example.com", "--colour", "blue", "--repo", repo],
    ]) {
      const r = await runCli(argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.notEqual(r.stderr, "");
    }
    const values = await runCli([
      "tenant", "add", "x", "--host", "x.example.com", "--cluster", "prod-east", "--repo", repo,
      "--value", "novalue", "--value", "a=1", "--value", "a.b=2", "--value", "bad key=1", "--value", "c=1", "--value", "c=2",
    ]);
    assert.equal(
      values.stderr,
      [
        'wildseal: --value "novalue" is not key=value: write e.g. --value ingress.class=nginx',
        '--value "a.b=2" and --value "a=1" conflict: a cannot be both text and a mapping',
        '--value "bad key=1": key part "bad key" cannot be named by a template placeholder: use letters, digits, "_" and "-", starting with a letter or "_"',
        "--value c is given twice (c=1, c=2): keep one",
        "",
      ].join("\n"),
    );
    assert.equal(values.code, 2);
    assert.deepEqual(tenantFiles(repo), ["acme.yaml", "globex.yaml", "initech.yaml"]);
  });
});

const PAT = "Pat Person <pat@example.com>";
const SAM = "Sam Other <sam@example.com>";
const NOT_AFTER = "2098-01-01T00:00:00Z";

/**
 * The example repository as a Git work tree: everything committed by Pat on 2025-01-01, then
 * globex changed by Sam on 2025-02-03; rendered/ written (not committed) with a certificate valid
 * until 2098; and hooli added afterwards, neither rendered nor committed.
 */
async function gitRepoWithHistory(): Promise<{ repo: string; first: string; second: string }> {
  const repo = exampleRepo();
  git(repo, ["init", "--quiet", "--initial-branch=main"]);
  git(repo, ["add", "--all"]);
  git(repo, ["commit", "--quiet", "--no-verify", `--author=${PAT}`, "--date=2025-01-01T00:00:00Z", "-m", "seed"]);
  const first = git(repo, ["rev-parse", "HEAD"]).trim();
  const globex = join(repo, "tenants/globex.yaml");
  writeFileSync(globex, readFileSync(globex, "utf8").replace("port: 8080", "port: 8081"));
  git(repo, ["commit", "--quiet", "--no-verify", "-a", `--author=${SAM}`, "--date=2025-02-03T04:05:06Z", "-m", "globex: port 8081"]);
  const second = git(repo, ["rev-parse", "HEAD"]).trim();
  const source = await sourceSecretFile(undefined, { notBefore: new Date("2024-01-01T00:00:00Z"), notAfter: new Date(NOT_AFTER) });
  const rendered = await renderRepository({ repoDir: repo, tls: await readTlsSource(source), parallel: false });
  assert.deepEqual(rendered.diagnostics, []);
  const add = await runCli(["tenant", "add", "hooli", "--host", "hooli.example.com", "--cluster", "prod-west", "--repo", repo]);
  assert.equal(add.code, 0, add.stderr);
  return { repo, first, second };
}

describe("wildseal tenant list", () => {
  it("prints a table of each tenant's place, hosts, committed certificate expiry and last commit", async () => {
    const { repo, first, second } = await gitRepoWithHistory();
    const r = await runCli(["tenant", "list", "--repo", repo]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    const pat = `2025-01-01T00:00:00Z ${first.slice(0, 7)} ${PAT}`;
    const sam = `2025-02-03T04:05:06Z ${second.slice(0, 7)} ${SAM}`;
    assert.equal(
      r.stdout,
      [
        "NAME     CLUSTER    NAMESPACE   HOSTS                                NOT-AFTER             LAST-CHANGE",
        `acme     prod-east  acme        acme.example.com                     ${NOT_AFTER}  ${pat}`,
        `globex   prod-east  globex-web  globex.example.com,shop.example.com  ${NOT_AFTER}  ${sam}`,
        "hooli    prod-west  hooli       hooli.example.com                    -                     -",
        `initech  prod-west  initech     initech.example.com                  ${NOT_AFTER}  ${pat}`,
        "",
      ].join("\n"),
    );
  });

  it("--json prints the same as an array, with null for what is not known", async () => {
    const { repo, first, second } = await gitRepoWithHistory();
    const r = await runCli(["tenant", "list", "--json", "--repo", repo]);
    assert.equal(r.code, 0, r.stderr);
    const change = (commit: string, author: string, date: string) => ({ commit, author, date });
    assert.deepEqual(JSON.parse(r.stdout), [
      { name: "acme", cluster: "prod-east", namespace: "acme", hosts: ["acme.example.com"], certificateNotAfter: NOT_AFTER, lastChange: change(first, PAT, "2025-01-01T00:00:00Z") },
      {
        name: "globex",
        cluster: "prod-east",
        namespace: "globex-web",
        hosts: ["globex.example.com", "shop.example.com"],
        certificateNotAfter: NOT_AFTER,
        lastChange: change(second, SAM, "2025-02-03T04:05:06Z"),
      },
      { name: "hooli", cluster: "prod-west", namespace: "hooli", hosts: ["hooli.example.com"], certificateNotAfter: null, lastChange: null },
      { name: "initech", cluster: "prod-west", namespace: "initech", hosts: ["initech.example.com"], certificateNotAfter: NOT_AFTER, lastChange: change(first, PAT, "2025-01-01T00:00:00Z") },
    ]);
  });

  it("outside a Git repository lists every lastChange as null", async () => {
    const r = await runCli(["tenant", "list", "--json", "--repo", exampleRepo()]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { name: string; lastChange: unknown; certificateNotAfter: unknown }[];
    assert.deepEqual(rows.map((x) => [x.name, x.lastChange, x.certificateNotAfter]), [["acme", null, null], ["globex", null, null], ["initech", null, null]]);
  });
});

describe("wildseal tenant list with a broken tenant file", () => {
  it("lists the valid tenants, prints the problem at its position and exits 1, so a script never takes a partial list for the whole", async () => {
    const repo = exampleRepo();
    writeFileSync(join(repo, "tenants", "globex.yaml"), readFileSync(join(repo, "tenants", "globex.yaml"), "utf8").replace(/namespace: .*/, "namespace: Not_A_Namespace"));
    const r = await runCli(["tenant", "list", "--json", "--repo", repo]);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { name: string }[]).map((x) => x.name), ["acme", "initech"]);
    assert.match(r.stderr, /^tenants\/globex\.yaml:\d+:\d+: .*namespace/m);
    assert.match(r.stderr, /note: 1 problem above; tenants with problems are not listed \(wildseal validate\)/);
  });
});

describe("wildseal tenant remove", () => {
  it("deletes the tenant file and says which output the next sync prunes", async () => {
    const { repo } = await gitRepoWithHistory();
    const r = await runCli(["tenant", "remove", "globex", "--repo", repo]);
    assert.equal(r.stdout, "removed tenant globex: deleted tenants/globex.yaml; the next sync prunes rendered/prod-east/globex/ (commit and push the deletion, or let sync do it)\n");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(tenantFiles(repo), ["acme.yaml", "hooli.yaml", "initech.yaml"]);
    assert.equal(existsSync(join(repo, "rendered/prod-east/globex")), true, "the output stays until a sync removes it");
    assert.equal(git(repo, ["status", "--porcelain", "--", "tenants/globex.yaml"]), " D tenants/globex.yaml\n");
  });

  it("refuses an unknown tenant (exit 1), listing the known ones", async () => {
    const repo = exampleRepo();
    for (const name of ["umbrella", "../wildseal"]) {
      const r = await runCli(["tenant", "remove", name, "--repo", repo]);
      assert.equal(r.stderr, `wildseal: no tenant ${JSON.stringify(name)} in tenants/: known tenants: acme, globex, initech\n`);
      assert.equal(r.code, 1);
    }
    assert.deepEqual(tenantFiles(repo), ["acme.yaml", "globex.yaml", "initech.yaml"]);
    assert.equal(existsSync(join(repo, "wildseal.yaml")), true);
  });
});
