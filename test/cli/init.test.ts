import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { validateRepository } from "../../src/cli/validate.ts";
import { EXAMPLE_INGRESS_TEMPLATE } from "../../src/model/scaffold.ts";
import { schemaComment } from "../../src/model/schema-url.ts";
import { wildsealVersion } from "../../src/package-info.ts";
import { DEFAULT_SEALED_SECRET_TEMPLATE } from "../../src/render/default-template.ts";
import { validateTemplates } from "../../src/render/load-templates.ts";
import { parseSealedSecrets, unsealSealedSecret } from "../../src/seal/sealed-secret.ts";
import { parseSealingCertificate } from "../../src/seal/sealing-cert.ts";
import { generateCa, generateLeaf, generateSealingKeyPair } from "../../src/tls/generate.ts";
import type { GeneratedCertificate } from "../../src/tls/generate.ts";
import { tempDir } from "../helpers/git-fixtures.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { runCli } from "./run-cli.ts";

const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SOURCE = ["--source-secret", "cert-manager/wildcard-example-com"];

const work = tempDir("wildseal-init-");
after(() => work.cleanup());
let n = 0;
/** A fresh, not yet existing folder for a repository. */
const newDir = (): string => join(work.path, `repo-${++n}`);

const pairs = new Map<string, GeneratedCertificate>();
const certFile = (cluster: string): string => join(work.path, `${cluster}-cert.pem`);
before(async () => {
  for (const c of ["prod-east", "prod-west"]) {
    const pair = await generateSealingKeyPair({ commonName: c });
    pairs.set(c, pair);
    writeFileSync(certFile(c), pair.certPem);
  }
});

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

const SCAFFOLD = [
  ".github/workflows/wildseal-validate.yaml",
  ".gitignore",
  "clusters/prod-east/sealed-secrets.pem",
  "clusters/prod-west/sealed-secrets.pem",
  "templates/examples/ingress.yaml",
  "templates/sealed-secret.yaml",
  "tenants/.gitkeep",
  "wildseal.yaml",
];

describe("wildseal init", () => {
  it("scaffolds two clusters into a repository that validates, renders and kubectl kustomize builds", async () => {
    const dir = newDir();
    const r = await runCli(["init", dir, ...SOURCE, "--cluster", `prod-east=${certFile("prod-east")}`, "--cluster", `prod-west=${certFile("prod-west")}`]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^wrote a wildseal repository in ${dir}:\n`));
    assert.match(r.stdout, /next: wildseal tenant add NAME --host HOST --repo /);
    assert.deepEqual(filesUnder(dir), SCAFFOLD, "exactly these files, no staging folder left behind");

    const config = readFileSync(join(dir, "wildseal.yaml"), "utf8");
    assert.ok(config.startsWith(schemaComment("config")), config);
    for (const f of SCAFFOLD.filter((p) => p !== "wildseal.yaml")) {
      assert.ok(!readFileSync(join(dir, f), "utf8").includes("yaml-language-server"), `${f} carries no schema comment`);
    }
    assert.equal(readFileSync(join(dir, "templates/sealed-secret.yaml"), "utf8"), DEFAULT_SEALED_SECRET_TEMPLATE);
    assert.equal(readFileSync(join(dir, "clusters/prod-west/sealed-secrets.pem"), "utf8"), parseSealingCertificate(pairs.get("prod-west")!.certPem).pem);

    const report = await validateRepository(dir);
    assert.deepEqual(report.diagnostics, []);
    assert.deepEqual(report.model.config?.clusters.map((c) => c.name), ["prod-east", "prod-west"]);
    assert.deepEqual(report.model.config?.source, { namespace: "cert-manager", name: "wildcard-example-com" });

    // the newcomer's path: three tenants through `tenant add` (one with --value), validate against the
    // certificate, render
    const leaf = await generateLeaf(await generateCa(), { dnsNames: ["*.example.com"] });
    const secretDir = tempDir("wildseal-init-source-");
    try {
      const source = writeSourceSecret(secretDir.path, leaf.certPem, leaf.keyPem.reveal());
      for (const args of [
        ["acme", "--host", "acme.example.com", "--cluster", "prod-east"],
        ["initech", "--host", "initech.example.com", "--cluster", "prod-west"],
        ["globex", "--host", "shop.example.com", "--cluster", "prod-east", "--value", "team.name=payments", "--source-file", source],
      ]) {
        const added = await runCli(["tenant", "add", ...args, "--repo", dir]);
        assert.equal(added.code, 0, added.stderr);
      }
      assert.match(readFileSync(join(dir, "tenants/globex.yaml"), "utf8"), /values:\n {4}team:\n {6}name: payments\n/);
      const validated = await runCli(["validate", "--repo", dir, "--source-file", source]);
      assert.equal(validated.code, 0, validated.stderr);
      assert.equal(validated.stdout, "ok: 1 config, 3 tenants, 1 template\n");
      const render = await runCli(["render", "--repo", dir, "--source-file", source]);
      assert.equal(render.stderr, "");
      assert.equal(render.code, 0);
      assert.match(render.stdout, /^add {4}prod-east\/acme\nadd {4}prod-east\/globex\nadd {4}prod-west\/initech\n/);

      // a bad tenant: every problem of the file in one run, each at its position
      writeFileSync(join(dir, "tenants/bad.yaml"), "apiVersion: wildseal.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: bad\nspec:\n  cluster: prod-east\n  hosts: [shop.example.org]\n  scope: everywhere\n");
      const bad = await runCli(["validate", "--repo", dir, "--source-file", source]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^tenants\/bad\.yaml:7:11: host shop\.example\.org is not covered by the certificate/m);
      assert.match(bad.stderr, /^tenants\/bad\.yaml:8:10: spec\.scope must be one of/m);
      assert.match(bad.stdout, /^2 problems: /);
    } finally {
      secretDir.cleanup();
    }
    for (const [cluster, tenant] of [["prod-east", "acme"], ["prod-east", "globex"], ["prod-west", "initech"]] as const) {
      const k = spawnSync("kubectl", ["kustomize", join(dir, "rendered", cluster)], { encoding: "utf8", timeout: 60_000 });
      assert.equal(k.error, undefined, `kubectl could not run: ${String(k.error)}; install kubectl (it is required by this test)`);
      assert.equal(k.status, 0, k.stderr);
      assert.ok([...k.stdout.matchAll(/^kind: (\S+)$/gm)].every((m) => m[1] === "SealedSecret"), "the example Ingress is not rendered");
      const path = join(dir, "rendered", cluster, tenant, "sealed-secret.yaml");
      const [sealed] = parseSealedSecrets(readFileSync(path, "utf8"), path);
      assert.ok(sealed);
      const secret = unsealSealedSecret(sealed, [pairs.get(cluster)!.privateKey], path);
      assert.equal(secret.data.get("tls.crt")?.reveal().toString("utf8"), leaf.certPem);
    }
  });

  it("writes the validate workflow for pull requests touching wildseal's inputs, pinned to this version's action", async () => {
    const dir = newDir();
    assert.equal((await runCli(["init", dir, ...SOURCE, "--cluster", `prod-east=${certFile("prod-east")}`])).code, 0);
    const workflow = readFileSync(join(dir, ".github/workflows/wildseal-validate.yaml"), "utf8");
    assert.match(workflow, /\non:\n {2}pull_request:\n {4}paths:\n {6}- "tenants\/\*\*"\n {6}- "templates\/\*\*"\n {6}- "clusters\/\*\*"\n {6}- "wildseal\.yaml"\n/);
    assert.match(workflow, /- uses: actions\/checkout@v4\n/);
    assert.ok(workflow.includes(`- uses: wildseal/wildseal@v${wildsealVersion()}\n        with:\n          repo: .\n`), workflow);
  });

  it("writes the example Ingress where it is not rendered; it is the project's templates/examples/ingress.yaml", async () => {
    const dir = newDir();
    assert.equal((await runCli(["init", dir, ...SOURCE, "--cluster", `prod-east=${certFile("prod-east")}`])).code, 0);
    const example = readFileSync(join(dir, "templates/examples/ingress.yaml"), "utf8");
    assert.equal(example, EXAMPLE_INGRESS_TEMPLATE);
    assert.equal(readFileSync(join(PROJECT_ROOT, "templates/examples/ingress.yaml"), "utf8"), EXAMPLE_INGRESS_TEMPLATE);
    assert.match(example.split("\n")[1] ?? "", /^# Disabled: only templates\/\*\.yaml at the top level are rendered/);
    const templates = await validateTemplates(dir);
    assert.deepEqual(templates.templates.map((t) => t.file), ["templates/sealed-secret.yaml"]);
  });

  it("a bare --cluster takes the n-th --controller; the config validates without a certificate file", async () => {
    const dir = newDir();
    const r = await runCli([
      "init", dir, ...SOURCE,
      "--cluster", "edge-1", "--cluster", `prod-east=${certFile("prod-east")}`, "--cluster", "edge-2",
      "--controller", "kube-system/sealed-secrets-controller", "--controller", "sealed-secrets/controller.v2",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cluster edge-1: sync and watch fetch its certificate from controller kube-system\/sealed-secrets-controller/);
    assert.deepEqual(filesUnder(join(dir, "clusters")), ["prod-east/sealed-secrets.pem"]);
    const report = await validateRepository(dir);
    assert.deepEqual(report.diagnostics, []);
    assert.deepEqual(report.model.config?.clusters, [
      { name: "edge-1", sealing: { kind: "controller", namespace: "kube-system", name: "sealed-secrets-controller" } },
      { name: "prod-east", sealing: { kind: "file", path: "clusters/prod-east/sealed-secrets.pem" } },
      { name: "edge-2", sealing: { kind: "controller", namespace: "sealed-secrets", name: "controller.v2" } },
    ]);
  });

  it("more bare --cluster than --controller (or the reverse) is a usage error naming both flags, writing nothing", async () => {
    for (const args of [["--cluster", "edge-1", "--cluster", "edge-2", "--controller", "kube-system/ss"], ["--cluster", `prod-east=${certFile("prod-east")}`, "--controller", "kube-system/ss"]]) {
      const dir = newDir();
      const r = await runCli(["init", dir, ...SOURCE, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--cluster without a certificate .* but 1 --controller: each --cluster NAME \(no =CERT\.pem\) takes the next --controller NS\/NAME/);
      assert.equal(existsSync(dir), false);
    }
  });

  it("refuses bad names and a malformed --source-secret or --controller (exit 2)", async () => {
    const cases: [string[], RegExp][] = [
      [["--source-secret", "wildcard-example-com", "--cluster", `a=${certFile("prod-east")}`], /--source-secret "wildcard-example-com": expected NAMESPACE\/NAME/],
      [["--source-secret", "Cert_Manager/x", "--cluster", `a=${certFile("prod-east")}`], /namespace "Cert_Manager" is not a DNS-1123 label/],
      [[...SOURCE, "--cluster", `Prod=${certFile("prod-east")}`], /--cluster "Prod=.*": cluster name "Prod" is not a DNS-1123 label/],
      [[...SOURCE, "--cluster", "a", "--controller", "kube-system/../x"], /--controller "kube-system\/\.\.\/x": expected NAMESPACE\/NAME/],
      [[...SOURCE, "--cluster", `a=${certFile("prod-east")}`, "--cluster", `a=${certFile("prod-west")}`], /--cluster a is given twice/],
      [[...SOURCE], /give at least one --cluster/],
      [["--cluster", `a=${certFile("prod-east")}`], /required option '--source-secret <ns\/name>' not specified/],
    ];
    for (const [args, message] of cases) {
      const dir = newDir();
      const r = await runCli(["init", dir, ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(existsSync(dir), false);
    }
  });

  it("refuses what is not a sealing certificate (exit 1), naming the file, writing nothing", async () => {
    const ec = await generateSealingKeyPair({ key: { kind: "ec", curve: "P-256" } });
    writeFileSync(join(work.path, "ec.pem"), ec.certPem);
    writeFileSync(join(work.path, "text.pem"), "not a certificate\n");
    const cases: [string, RegExp][] = [
      [join(work.path, "ec.pem"), /ec\.pem: the sealing certificate holds a ec key; Sealed Secrets needs an RSA certificate/],
      [join(work.path, "text.pem"), /text\.pem: data does not contain any valid RSA certificate \(no PEM block found\)/],
      [join(work.path, "absent.pem"), /absent\.pem: no such file; fetch cluster prod-east's certificate with kubeseal --fetch-cert/],
    ];
    for (const [file, message] of cases) {
      const dir = newDir();
      const r = await runCli(["init", dir, ...SOURCE, "--cluster", `prod-east=${file}`]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(existsSync(dir), false);
    }
  });

  it("copies the certificate only: a private key in the same file never reaches the repository", async () => {
    const pair = pairs.get("prod-east")!;
    const bundle = join(work.path, "bundle.pem");
    writeFileSync(bundle, `${pair.certPem}${pair.keyPem.reveal().toString("utf8")}`);
    const dir = newDir();
    assert.equal((await runCli(["init", dir, ...SOURCE, "--cluster", `prod-east=${bundle}`])).code, 0);
    const written = readFileSync(join(dir, "clusters/prod-east/sealed-secrets.pem"), "utf8");
    assert.doesNotMatch(written, /PRIVATE KEY/);
    assert.match(written, /^-----BEGIN CERTIFICATE-----\n[\s\S]*-----END CERTIFICATE-----\n$/);
  });

  it("refuses to overwrite: lists every file that exists (exit 1) and writes nothing", async () => {
    const dir = newDir();
    mkdirSync(join(dir, "tenants"), { recursive: true });
    writeFileSync(join(dir, ".gitignore"), "node_modules/\n");
    writeFileSync(join(dir, "tenants/.gitkeep"), "");
    writeFileSync(join(dir, "README.md"), "# gitops\n");
    const r = await runCli(["init", dir, ...SOURCE, "--cluster", `prod-east=${certFile("prod-east")}`]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `wildseal: refusing to write over what is in ${dir} (nothing was written):\n  tenants/.gitkeep exists\n  .gitignore exists\nmove these away, or run wildseal init in another folder\n`);
    assert.deepEqual(filesUnder(dir), [".gitignore", "README.md", "tenants/.gitkeep"]);
    assert.equal(readFileSync(join(dir, ".gitignore"), "utf8"), "node_modules/\n");
  });

  it("initialises an existing folder that holds none of its files, and refuses one whose templates/ is a symbolic link", async () => {
    const dir = newDir();
    mkdirSync(dir);
    writeFileSync(join(dir, "README.md"), "# gitops\n");
    assert.equal((await runCli(["init", dir, ...SOURCE, "--cluster", `prod-east=${certFile("prod-east")}`])).code, 0);
    assert.ok(existsSync(join(dir, "wildseal.yaml")));

    const linked = newDir();
    mkdirSync(linked);
    const elsewhere = join(work.path, "elsewhere");
    mkdirSync(elsewhere, { recursive: true });
    symlinkSync(elsewhere, join(linked, "templates"));
    const r = await runCli(["init", linked, ...SOURCE, "--cluster", `prod-east=${certFile("prod-east")}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\n {2}templates\/ is a symbolic link\n/);
    assert.deepEqual(readdirSync(elsewhere), [], "nothing written through the link");
    assert.deepEqual(readdirSync(linked), ["templates"]);
  });

  it("a failure while writing removes what was written (all files or none)", async (t) => {
    const dir = newDir();
    mkdirSync(join(dir, "clusters"), { recursive: true });
    // an immutable clusters/ makes creating clusters/prod-east fail after wildseal.yaml and the templates were linked
    const chattr = spawnSync("chattr", ["+i", join(dir, "clusters")], { encoding: "utf8" });
    if (chattr.status !== 0) {
      t.skip(`needs chattr +i (root on ext4): ${chattr.stderr.trim()}`);
      return;
    }
    try {
      const r = await runCli(["init", dir, ...SOURCE, "--cluster", `prod-east=${certFile("prod-east")}`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /clusters\/prod-east\/sealed-secrets\.pem cannot be written \(EPERM\): nothing was written/);
      assert.deepEqual(readdirSync(dir), ["clusters"]);
      assert.deepEqual(readdirSync(join(dir, "clusters")), []);
    } finally {
      spawnSync("chattr", ["-i", join(dir, "clusters")]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
