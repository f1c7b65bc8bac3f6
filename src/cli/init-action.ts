import { link, mkdir, mkdtemp, readFile, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { InvalidInputError, UsageError } from "../errors.ts";
import { DNS_LABEL_HINT, DNS_SUBDOMAIN_HINT, isDnsLabel, isDnsSubdomain } from "../model/names.ts";
import { scaffoldFiles, type ScaffoldCluster, type ScaffoldFile } from "../model/scaffold.ts";
import { wildsealVersion } from "../package-info.ts";
import { DEFAULT_SEALED_SECRET_TEMPLATE } from "../render/default-template.ts";
import { parseSealingCertificate } from "../seal/sealing-cert.ts";
import { cliContext } from "./io.ts";
import type { InitFlags } from "./init.ts";
import { lstatOrUndefined } from "../lstat-or-undefined.ts";

/**
 * `wildseal init`'s work (the command and its flags are registered in init.ts): writes a new GitOps
 * repository (model/scaffold.ts) that `wildseal validate` accepts as it is. All files appear or none: they are written into a staging folder inside DIR, then hard-linked into
 * place (a link never replaces a file), and removed again if any link fails.
 */

export interface NamespacedName {
  readonly namespace: string;
  readonly name: string;
}

/** `NS/NAME` from a flag: a namespace (DNS-1123 label) and a name (DNS-1123 subdomain). */
export function parseNamespacedName(value: string, flag: string): NamespacedName {
  const parts = value.split("/");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    throw new UsageError(`${flag} ${JSON.stringify(value)}: expected NAMESPACE/NAME, e.g. ${flag} cert-manager/wildcard-example-com`);
  }
  const [namespace, name] = parts as [string, string];
  if (!isDnsLabel(namespace)) throw new UsageError(`${flag} ${JSON.stringify(value)}: namespace "${namespace}" is not a DNS-1123 label (${DNS_LABEL_HINT})`);
  if (!isDnsSubdomain(name)) throw new UsageError(`${flag} ${JSON.stringify(value)}: name "${name}" is not a DNS-1123 subdomain (${DNS_SUBDOMAIN_HINT})`);
  return { namespace, name };
}

export type ClusterFlag =
  | { readonly name: string; readonly sealing: { readonly kind: "file"; readonly certPath: string } }
  | { readonly name: string; readonly sealing: { readonly kind: "controller" } & NamespacedName };

/**
 * The clusters the flags describe: `--cluster NAME=CERT.pem` takes a certificate file; each bare
 * `--cluster NAME` takes the next `--controller NS/NAME`, in order.
 */
export function parseClusterFlags(clusters: readonly string[], controllers: readonly string[]): ClusterFlag[] {
  if (clusters.length === 0) {
    throw new UsageError("give at least one --cluster NAME=CERT.pem (the controller's certificate, from kubeseal --fetch-cert) or --cluster NAME with --controller NS/NAME");
  }
  const bare = clusters.filter((c) => !c.includes("="));
  if (bare.length !== controllers.length) {
    throw new UsageError(
      `${bare.length} --cluster without a certificate (${bare.join(", ") || "none"}) but ${controllers.length} --controller: ` +
        "each --cluster NAME (no =CERT.pem) takes the next --controller NS/NAME, in order; give one --controller per such --cluster, or --cluster NAME=CERT.pem",
    );
  }
  const seen = new Set<string>();
  let nextController = 0;
  return clusters.map((flag) => {
    const eq = flag.indexOf("=");
    const name = eq === -1 ? flag : flag.slice(0, eq);
    if (!isDnsLabel(name)) throw new UsageError(`--cluster ${JSON.stringify(flag)}: cluster name "${name}" is not a DNS-1123 label (${DNS_LABEL_HINT})`);
    if (seen.has(name)) throw new UsageError(`--cluster ${name} is given twice: one --cluster per cluster`);
    seen.add(name);
    if (eq !== -1) {
      const certPath = flag.slice(eq + 1);
      if (certPath === "") throw new UsageError(`--cluster ${flag}: the certificate file is missing after "=" (--cluster ${name}=clusters-cert.pem)`);
      return { name, sealing: { kind: "file", certPath } };
    }
    const controller = parseNamespacedName(controllers[nextController++] as string, "--controller");
    return { name, sealing: { kind: "controller", ...controller } };
  });
}

const MAX_CERT_FILE_BYTES = 1024 * 1024;

/** The certificate only, re-encoded: whatever else the file holds (a private key…) is never committed. */
async function readSealingCert(cluster: string, path: string, now: Date): Promise<string> {
  let bytes: Buffer;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new InvalidInputError(`${path}: not a file; pass the controller's certificate (--cluster ${cluster}=cert.pem)`);
    if (st.size > MAX_CERT_FILE_BYTES) throw new InvalidInputError(`${path}: larger than ${MAX_CERT_FILE_BYTES} bytes; not a certificate`);
    bytes = await readFile(path);
  } catch (e) {
    if (e instanceof InvalidInputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidInputError(
      `${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : "cannot be read"}; ` +
        `fetch cluster ${cluster}'s certificate with kubeseal --fetch-cert > ${path}, or use --cluster ${cluster} with --controller NS/NAME`,
    );
  }
  return parseSealingCertificate(bytes, { now, source: path }).pem;
}

export interface InitOptions {
  readonly source: NamespacedName;
  readonly clusters: readonly ClusterFlag[];
  readonly now?: Date;
}

/** Writes the new repository into `dir` (created when missing); returns the files written. */
export async function initRepository(dir: string, opts: InitOptions): Promise<ScaffoldFile[]> {
  const now = opts.now ?? new Date();
  const clusters: ScaffoldCluster[] = [];
  for (const c of opts.clusters) {
    clusters.push(
      c.sealing.kind === "file"
        ? { name: c.name, sealing: { kind: "file", pem: await readSealingCert(c.name, c.sealing.certPath, now) } }
        : { name: c.name, sealing: { kind: "controller", namespace: c.sealing.namespace, name: c.sealing.name } },
    );
  }
  const files = scaffoldFiles({ source: opts.source, clusters, version: wildsealVersion(), sealedSecretTemplate: DEFAULT_SEALED_SECRET_TEMPLATE });

  const createdDir = await mkdirCreated(dir);
  const problems = await obstacles(dir, files);
  if (problems.length > 0) {
    if (createdDir) await rmdir(dir).catch(() => {});
    throw new InvalidInputError(
      `refusing to write over what is in ${dir} (nothing was written):\n${problems.map((p) => `  ${p}`).join("\n")}\n` +
        "move these away, or run wildseal init in another folder",
    );
  }
  await writeAllOrNothing(dir, files, createdDir);
  return files;
}

async function mkdirCreated(dir: string): Promise<boolean> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new InvalidInputError(`${dir}: exists and is not a folder; pass a folder for the new repository`);
    return false;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  await mkdir(dir, { recursive: true });
  return true;
}


/**
 * Why a file can not be written: it exists, or a folder on its way is a symbolic link (it could
 * lead outside the repository; validate refuses such folders anyway) or a file.
 */
async function obstacles(dir: string, files: readonly ScaffoldFile[]): Promise<string[]> {
  const out = new Set<string>();
  for (const f of files) {
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join("/");
      const st = await lstatOrUndefined(join(dir, folder));
      if (st === undefined) break;
      if (st.isSymbolicLink()) out.add(`${folder}/ is a symbolic link`);
      else if (!st.isDirectory()) out.add(`${folder} is a file, where a folder is needed`);
    }
    if ((await lstatOrUndefined(join(dir, f.path))) !== undefined) out.add(`${f.path} exists`);
  }
  return [...out];
}

async function writeAllOrNothing(dir: string, files: readonly ScaffoldFile[], createdDir: boolean): Promise<void> {
  const staging = await mkdtemp(join(dir, ".wildseal-init-"));
  const linked: string[] = [];
  const madeDirs: string[] = [];
  let current = "a staging file";
  try {
    for (const [i, f] of files.entries()) await writeFile(join(staging, String(i)), f.text, { flag: "wx" });
    for (const [i, f] of files.entries()) {
      current = f.path;
      const target = join(dir, f.path);
      for (const folder of await missingFolders(dir, dirname(f.path))) {
        await mkdir(join(dir, folder));
        madeDirs.push(folder);
      }
      await link(join(staging, String(i)), target);
      linked.push(target);
    }
  } catch (e) {
    for (const t of linked) await unlink(t).catch(() => {});
    for (const folder of madeDirs.reverse()) await rmdir(join(dir, folder)).catch(() => {});
    await rm(staging, { recursive: true, force: true });
    if (createdDir) await rmdir(dir).catch(() => {});
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new InvalidInputError(`${join(dir, current)} appeared while wildseal init wrote the repository: nothing was written; run it again`);
    throw new InvalidInputError(
      `${join(dir, current)} cannot be written (${code ?? (e as Error).message}): nothing was written; check the folder's permissions and free space`,
      [],
      { cause: e },
    );
  }
  await rm(staging, { recursive: true, force: true });
}

/** The folders of `rel` (relative to dir) that do not exist yet, outermost first. */
async function missingFolders(dir: string, rel: string): Promise<string[]> {
  if (rel === "." || rel === "") return [];
  const parts = rel.split("/");
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const folder = parts.slice(0, i).join("/");
    if ((await lstatOrUndefined(join(dir, folder))) === undefined) out.push(folder);
  }
  return out;
}

/** The action of `wildseal init` (registered in init.ts, loaded when the command runs). */
export async function initAction(dir: string, o: InitFlags, command: Command): Promise<void> {
  const ctx = cliContext(command);
  const source = parseNamespacedName(o.sourceSecret, "--source-secret");
  const clusters = parseClusterFlags(o.cluster, o.controller);
  const files = await initRepository(dir, { source, clusters });
  ctx.io.stdout(`wrote a wildseal repository in ${dir}:\n${files.map((f) => `  ${f.path}\n`).join("")}`);
  for (const c of clusters) {
    if (c.sealing.kind === "controller") {
      ctx.io.stdout(`cluster ${c.name}: sync and watch fetch its certificate from controller ${c.sealing.namespace}/${c.sealing.name}; render needs it committed first\n`);
    }
  }
  const repo = dir === "." ? "" : ` --repo ${dir}`;
  ctx.io.stdout(`next: wildseal tenant add NAME --host HOST${repo}, then wildseal validate${repo}, then commit and push\n`);
}
