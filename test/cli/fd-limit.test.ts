/**
 * The shipped artifact runs under `ulimit -n 256` (macOS's default). Node's ESM loader opens a module
 * graph concurrently and @kubernetes/client-node alone is ~970 files, so the unbundled dist/ died with
 * EMFILE before any command ran. scripts/build.mjs (what `npm run build` runs) bundles the CLI into
 * one file; here it is built into a temp folder laid out like the npm package (package.json and the
 * package's `files`, no node_modules anywhere above it, so the bundle must be self-contained), and
 * every command runs as `bash -c 'ulimit -n 256; exec node <bundle> ...'`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WORKER_THRESHOLD } from "../../src/render/seal-batch.ts";
import { parseTrailers } from "../../src/git/trailers.ts";
import { generateSealingKeyPair } from "../../src/tls/generate.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";
import { fixtureEnv, remoteLog } from "../helpers/git-fixtures.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { makeSyncWorld, type SyncWorld } from "../pipeline/sync-world.ts";
import { makeRepo } from "../render/render-fixture.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LIMIT = 256;
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; bin: Record<string, string>; files: string[] };

const scratch = mkdtempSync(join(tmpdir(), "wildseal-fd-limit-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs argv under the fd limit. Arguments travel as "$@", never spliced into the shell text. */
function limited(argv: readonly string[], opts: { cwd?: string; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync("bash", ["-c", `ulimit -n ${LIMIT} && exec "$0" "$@"`, process.execPath, ...argv], {
    cwd: opts.cwd ?? scratch,
    // a private TMPDIR: the clones and demo worlds of these runs never mix with other test files'
    env: fixtureEnv({ TMPDIR: scratch }),
    input: opts.input ?? "",
    encoding: "utf8",
    timeout: 120_000,
  });
}

const show = (r: SpawnSyncReturns<string>): string => `exit ${r.status} ${r.signal ?? ""}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** A Secret manifest as `kubectl get secret -o yaml` prints it (the key lives in the scratch folder only). */
function secretFile(tls: TlsMaterial, name: string): string {
  const item = (k: string) => tls.secret.data.get(k)?.reveal() ?? Buffer.alloc(0);
  return writeSourceSecret(scratch, item("tls.crt"), item("tls.key"), name);
}

/** The first node_modules folder Node would search from `dir` upward, if any. */
function nodeModulesAbove(dir: string): string | undefined {
  for (let d = dir; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, "node_modules"))) return join(d, "node_modules");
  return existsSync("/node_modules") ? "/node_modules" : undefined;
}

/** A copy of the example repository the project ships (wildseal validate / render work on it as is). */
function copyOfExample(): string {
  const dir = mkdtempSync(join(scratch, "example-"));
  for (const p of ["wildseal.yaml", "tenants", "clusters", "templates"]) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  return dir;
}

describe(`the bundled CLI under ulimit -n ${LIMIT}`, () => {
  const pkg = join(scratch, "package");
  let bundle = "";
  let world: SyncWorld;
  let source = "";

  before(async () => {
    // the package as npm would ship it: package.json + `files`, with dist/ built by the real build script
    cpSync(join(ROOT, "package.json"), join(pkg, "package.json"));
    for (const entry of PKG.files) if (entry !== "dist") cpSync(join(ROOT, entry), join(pkg, entry), { recursive: true });
    const built = spawnSync(process.execPath, [join(ROOT, "scripts/build.mjs"), "--outdir", join(pkg, "dist")], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    assert.equal(built.status, 0, show(built));
    bundle = join(pkg, PKG.bin.wildseal ?? "");
    assert.ok(existsSync(bundle), `package.json's bin ${PKG.bin.wildseal} was built`);
    world = await makeSyncWorld(["acme", "beta"]);
    source = secretFile(await world.issue(1), "source.yaml");
  });
  after(() => world?.cleanup());

  test("precondition: no node_modules above the package (as in the Docker image), so every run here uses the bundle alone", (t) => {
    const above = nodeModulesAbove(pkg);
    // e.g. TMPDIR inside a checkout; scripts/build.mjs's unbundled-import check still guards the image
    if (above !== undefined) t.skip(`${above} exists, so a dependency missing from the bundle could be found there`);
  });

  test("control: importing @kubernetes/client-node unbundled works, and fails under the same limit", () => {
    const argv = ["--input-type=module", "-e", 'await import("@kubernetes/client-node")'];
    const free = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    assert.equal(free.status, 0, show(free));
    const r = limited(argv, { cwd: ROOT });
    assert.notEqual(r.status, 0, show(r));
    // EMFILE itself, or (when the resolver hit it reading a package.json) a package "not found" that exists
    assert.match(r.stderr, /EMFILE|ERR_MODULE_NOT_FOUND/);
  });

  test("--help lists the commands, --version prints package.json's version", () => {
    const help = limited([bundle, "--help"]);
    assert.equal(help.status, 0, show(help));
    assert.match(help.stdout, /^Usage: wildseal \[options\] \[command\]/);
    for (const c of ["render", "seal", "unseal", "validate", "tenant", "audit", "sync", "watch", "demo"]) assert.match(help.stdout, new RegExp(`^  ${c} `, "m"));
    const version = limited([bundle, "--version"]);
    assert.equal(version.status, 0, show(version));
    assert.equal(version.stdout, `${PKG.version}\n`);
  });

  test("validate accepts a copy of the example repository", () => {
    const r = limited([bundle, "validate", "--repo", copyOfExample()]);
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /^ok: 1 config, 3 tenants, \d+ templates?\n$/);
  });

  test("render writes every tenant of a copy of the example repository", () => {
    const repo = copyOfExample();
    const r = limited([bundle, "render", "--repo", repo, "--source-file", source]);
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /^add {4}prod-east\/acme\n/m);
    assert.match(r.stdout, /^3 changed, 0 unchanged; certificate [0-9a-f]{64} /m);
    assert.ok(existsSync(join(repo, "rendered/prod-east/acme/sealed-secret.yaml")));
  });

  test("seal --cert seals a Secret that unseal --key opens again", async () => {
    const pair = await generateSealingKeyPair({ bits: 2048 });
    const cert = join(scratch, "seal-cert.pem");
    writeFileSync(cert, pair.certPem);
    const sealed = limited([bundle, "seal", "--cert", cert, "-f", source, "--namespace", "acme", "--name", "wildcard-tls", "-o", "yaml"]);
    assert.equal(sealed.status, 0, show(sealed));
    assert.match(sealed.stdout, /^---\napiVersion: bitnami\.com\/v1alpha1\nkind: SealedSecret\nmetadata:\n {2}name: wildcard-tls\n {2}namespace: acme\n/);
    const sealedFile = join(scratch, "sealed.yaml");
    writeFileSync(sealedFile, sealed.stdout);
    const opened = limited([bundle, "unseal", "--key", "-", "-f", sealedFile, "-o", "json"], { input: pair.keyPem.reveal().toString("utf8") });
    assert.equal(opened.status, 0, show(opened));
    const original = readFileSync(source, "utf8");
    const secret = JSON.parse(opened.stdout) as { data: Record<string, string> };
    for (const k of ["tls.crt", "tls.key"]) assert.ok(original.includes(`${k}: ${secret.data[k]}`), `${k} round-trips`);
  });

  test("sync pushes a commit to a bare remote, and the SealedSecrets open to the source", () => {
    const r = limited([bundle, "sync", "--repo", world.remote.path, "--source-file", source]);
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /^pushed [0-9a-f]+ to main: add tenants acme, beta/);
    const log = remoteLog(world.remote.path, "main");
    assert.equal(log.length, 2, "the seed and wildseal's commit");
    assert.deepEqual(parseTrailers(log[0]?.message ?? "").actions, ["add"]);
    assert.deepEqual([...world.unsealAll().keys()].sort(), ["acme", "beta"]);
  });

  test(
    `a render of ${WORKER_THRESHOLD} tenants (built-in template) seals in worker threads started from the bundle's seal-worker.mjs`,
    { skip: availableParallelism() < 2 ? "one CPU: render seals on the main thread" : false },
    async () => {
      const tenants = Array.from({ length: WORKER_THRESHOLD }, (_, i) => ({ name: `t${String(i).padStart(4, "0")}` }));
      const repo = await makeRepo({ clusters: ["prod"], tenants, dir: mkdtempSync(join(scratch, "many-")) });
      const r = limited([bundle, "render", "--repo", repo, "--source-file", source]);
      assert.equal(r.status, 0, show(r));
      assert.match(r.stdout, new RegExp(`^${WORKER_THRESHOLD} changed, 0 unchanged;`, "m"));
      assert.equal(readdirSync(join(repo, "rendered/prod"), { withFileTypes: true }).filter((d) => d.isDirectory()).length, WORKER_THRESHOLD);

      // The proof that workers (not the main thread) sealed: the same render fails without the worker file.
      const crippled = join(scratch, "no-worker");
      cpSync(pkg, crippled, { recursive: true });
      rmSync(join(crippled, "dist/seal-worker.mjs"));
      rmSync(join(repo, "rendered"), { recursive: true });
      const without = limited([join(crippled, PKG.bin.wildseal ?? ""), "render", "--repo", repo, "--source-file", source]);
      assert.notEqual(without.status, 0, show(without));
      assert.match(without.stderr, /seal-worker\.mjs/);
    },
  );

  test("demo runs the whole pipeline on the repository embedded in the package", () => {
    const r = limited([bundle, "demo"]);
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, new RegExp(`seeded from ${pkg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} `));
    assert.match(r.stdout, /✔ demo finished/);
  });
});
