/**
 * Start-up stays small: the built CLI (scripts/build.mjs, code-split into dist/ chunks) loads the
 * heavy libraries only for the commands that use them. Every command is registered on each run (for
 * --help, --version and the docs test), so a command module imports commander and small helpers only
 * and its action imports the work with a dynamic import(); esbuild turns that into a chunk.
 *
 * How it is observed: the CLI is built into a temp folder (with the build's metafile, which says which
 * source files each chunk holds), then run with an ESM loader hook (--import, module.register) that
 * appends every file URL Node loads to a log. A library counts as loaded when a chunk holding any of its
 * files was loaded. The positive control (seal without --cert, fetching from a cluster) shows the hook
 * sees the Kubernetes client when it is loaded, so the negative checks cannot pass by seeing nothing.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSealingKeyPair } from "../../src/tls/generate.ts";
import { fixtureEnv } from "../helpers/git-fixtures.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "wildseal-lazy-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
const dist = join(scratch, "dist");

interface Metafile {
  readonly outputs: Record<string, { readonly inputs: Record<string, unknown>; readonly entryPoint?: string }>;
}
/** chunk file name → the source files (inputs) it holds */
const chunkInputs = new Map<string, readonly string[]>();
let metafile: Metafile;

const HEAVY = {
  kubernetes: "node_modules/@kubernetes/client-node/",
  octokit: "node_modules/@octokit/",
  x509: "node_modules/@peculiar/x509/",
  forge: "node_modules/node-forge/",
  prom: "node_modules/prom-client/",
  pino: "node_modules/pino/",
  zod: "node_modules/zod/",
  git: "node_modules/simple-git/",
} as const;
type Heavy = keyof typeof HEAVY;

before(async () => {
  const { build } = (await import(join(ROOT, "scripts", "build.mjs"))) as { build(o: { outdir: string; clean: boolean }): Promise<{ metafile: Metafile }> };
  metafile = (await build({ outdir: dist, clean: true })).metafile;
  for (const [file, out] of Object.entries(metafile.outputs)) chunkInputs.set(basename(file), Object.keys(out.inputs));
  // the package root (package-info.ts reads the version from it) is one folder up from dist/
  writeFileSync(join(scratch, "package.json"), readFileSync(join(ROOT, "package.json")));
  writeFileSync(join(scratch, "cert.pem"), (await generateSealingKeyPair({ bits: 2048 })).certPem);
  writeFileSync(
    join(scratch, "hook.mjs"),
    `import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(\`import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  if (url.startsWith("file:")) appendFileSync(process.env.WILDSEAL_TEST_LOADED_LOG, url + "\\\\n");
  return next(url, context);
}\`));
`,
  );
});

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** the dist files Node loaded, by name */
  readonly files: readonly string[];
  /** the heavy libraries among their inputs */
  readonly heavy: ReadonlySet<Heavy>;
}

let runs = 0;
function run(args: readonly string[], opts: { input?: string; env?: Record<string, string> } = {}): Run {
  const log = join(scratch, `loaded-${runs++}.log`);
  writeFileSync(log, "");
  const r = spawnSync(process.execPath, ["--import", join(scratch, "hook.mjs"), join(dist, "wildseal.mjs"), ...args], {
    cwd: scratch,
    env: fixtureEnv({ WILDSEAL_TEST_LOADED_LOG: log, KUBECONFIG: join(scratch, "no-such-kubeconfig"), ...opts.env }),
    input: opts.input ?? "",
    encoding: "utf8",
    timeout: 60_000,
  });
  const files = readFileSync(log, "utf8")
    .split("\n")
    .filter((u) => u !== "")
    .map((u) => fileURLToPath(u))
    .filter((p) => dirname(p) === dist)
    .map((p) => basename(p));
  const heavy = new Set<Heavy>();
  for (const f of files) {
    for (const input of chunkInputs.get(f) ?? []) {
      for (const [name, prefix] of Object.entries(HEAVY) as Array<[Heavy, string]>) if (input.includes(prefix)) heavy.add(name);
    }
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, files, heavy };
}

const SECRET = JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "n" }, stringData: { k: "v" } });

describe("the built CLI loads a library only for the commands that use it", () => {
  test("the build writes every chunk into dist/ itself as .mjs, next to both entries", () => {
    const outputs = Object.keys(metafile.outputs).map((f) => join(ROOT, f));
    for (const o of outputs) assert.equal(dirname(o), dist, `${o} is not directly in dist/`);
    // besides the code: source maps and the licence comments esbuild links (*.mjs.LEGAL.txt)
    const code = outputs.filter((o) => !o.endsWith(".map") && !o.endsWith(".LEGAL.txt"));
    for (const o of code) assert.match(basename(o), /\.mjs$/);
    assert.ok(code.length > 2, "the build is split into chunks");
    // seal-batch.ts finds the worker as ./seal-worker.mjs next to whichever chunk it lands in
    const entry = (name: string) => Object.entries(metafile.outputs).find(([f]) => basename(f) === name)?.[1].entryPoint;
    assert.equal(entry("wildseal.mjs"), "src/cli/main.ts");
    assert.equal(entry("seal-worker.mjs"), "src/render/seal-worker.ts");
  });

  test("--version loads commander and the command registrations only", () => {
    const r = run(["--version"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
    assert.deepEqual([...r.heavy], []);
    // not one action module: their work is imported when a command runs
    const actions = r.files.flatMap((f) => chunkInputs.get(f) ?? []).filter((i) => /src\/cli\/[a-z-]+-action\.ts$/.test(i));
    assert.deepEqual(actions, []);
  });

  test("--help and seal --help load no heavy library", () => {
    for (const args of [["--help"], ["seal", "--help"], ["watch", "--help"]]) {
      const r = run(args);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Usage: wildseal/);
      assert.deepEqual([...r.heavy], [], args.join(" "));
    }
  });

  test("seal with --cert seals without the Kubernetes client, Octokit, zod or certificate generation", () => {
    const r = run(["seal", "--cert", join(scratch, "cert.pem"), "-f", "-", "-o", "yaml"], { input: SECRET });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /kind: SealedSecret/);
    assert.deepEqual([...r.heavy], []);
  });

  test("seal without --cert loads the Kubernetes client to ask the cluster (the hook sees it)", () => {
    const kubeconfig = join(scratch, "kubeconfig");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
        "",
      ].join("\n"),
    );
    const r = run(["seal", "-f", "-"], { input: SECRET, env: { KUBECONFIG: kubeconfig } });
    assert.notEqual(r.status, 0, "nothing listens on 127.0.0.1:1");
    assert.ok(r.heavy.has("kubernetes"), `loaded: ${r.files.join(" ")}`);
    assert.ok(!r.heavy.has("octokit"));
  });
});
