import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { InvalidInputError, UsageError } from "../errors.ts";
import type { Scope } from "../seal/scope.ts";
import { buildSealedSecret } from "../seal/sealed-secret.ts";
import { fetchSealingCertificate, parseSealingCertificate, type SealingCertificate } from "../seal/sealing-cert.ts";
import { readSecretSource } from "../tls/secret-input.ts";
import { TLS_SECRET_TYPE, validateTlsSecret } from "../tls/tls-material.ts";
import { cliContext, type CliIo } from "./io.ts";
import { formatObjects, type OutputFormat } from "./sealed-output.ts";

/** `wildseal seal`'s work (the command and its flags are registered in seal.ts). */

export interface SealCommandOptions {
  readonly cert?: string;
  readonly controllerName?: string;
  readonly controllerNamespace?: string;
  readonly scope?: Scope;
  readonly name?: string;
  readonly namespace?: string;
  readonly file: string;
  readonly format: OutputFormat;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_CERT_FILE_BYTES = 1024 * 1024;

export async function loadSealingCertificate(ref: string): Promise<SealingCertificate> {
  if (/^https?:\/\//i.test(ref)) return parseSealingCertificate(await fetchSealingCertificate(ref), { source: ref });
  const path = /^file:\/\//i.test(ref) ? fileURLToPath(ref) : ref;
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidInputError(
      `${path}: ${code === "ENOENT" ? "no such file" : "cannot be read"}; pass the controller's certificate (kubeseal --fetch-cert > cert.pem)`,
    );
  }
  if (bytes.length > MAX_CERT_FILE_BYTES) throw new InvalidInputError(`${path}: larger than ${MAX_CERT_FILE_BYTES} bytes; not a certificate`);
  return parseSealingCertificate(bytes, { source: path });
}

/**
 * No --cert: ask the cluster, as kubeseal does — the controller's Service (flags, env
 * SEALED_SECRETS_CONTROLLER_NAME/NAMESPACE, default kube-system/sealed-secrets-controller) through
 * the API server's service proxy, with the in-cluster config or $KUBECONFIG.
 */
async function certificateFromCluster(opts: SealCommandOptions, io: CliIo): Promise<SealingCertificate> {
  const ref = {
    namespace: opts.controllerNamespace ?? io.env["SEALED_SECRETS_CONTROLLER_NAMESPACE"] ?? "kube-system",
    name: opts.controllerName ?? io.env["SEALED_SECRETS_CONTROLLER_NAME"] ?? "sealed-secrets-controller",
  };
  // the Kubernetes client (a large library) is loaded only when the certificate comes from the cluster
  const { findKubeConfig } = await import("../kube/kubeconfig.ts");
  const { fetchControllerCertificate } = await import("../kube/sealing-cert-fetch.ts");
  const kc = findKubeConfig(io.env);
  if (kc === undefined) {
    throw new UsageError(
      "no sealing certificate: pass --cert FILE|URL (or set SEALED_SECRETS_CERT), or give access to the cluster ($KUBECONFIG) to fetch it from the controller",
    );
  }
  const pem = await fetchControllerCertificate(kc, ref);
  return parseSealingCertificate(pem, { source: `controller ${ref.namespace}/${ref.name}` });
}

export async function runSeal(opts: SealCommandOptions, io: CliIo): Promise<void> {
  if (opts.name !== undefined && (opts.name.length > 253 || !DNS1123_SUBDOMAIN.test(opts.name))) {
    throw new UsageError(`--name ${JSON.stringify(opts.name)}: not a valid Secret name (DNS-1123 subdomain)`);
  }
  if (opts.namespace !== undefined && (opts.namespace.length > 63 || !DNS1123_LABEL.test(opts.namespace))) {
    throw new UsageError(`--namespace ${JSON.stringify(opts.namespace)}: not a valid namespace (DNS-1123 label)`);
  }
  const certRef = opts.cert ?? io.env["SEALED_SECRETS_CERT"];
  const cert = certRef === undefined || certRef === "" ? await certificateFromCluster(opts, io) : await loadSealingCertificate(certRef);
  const secrets = await readSecretSource(opts.file, io.stdin);
  const source = opts.file === "-" ? "<stdin>" : opts.file;
  // a broken TLS Secret is never published: same checks as the pipeline, minus the SAN requirement
  for (const s of secrets) if (s.type === TLS_SECRET_TYPE) validateTlsSecret(s, { source, requireDnsNames: false });
  if (opts.name !== undefined && secrets.length > 1) {
    throw new UsageError(`--name would give all ${secrets.length} Secrets of ${opts.file} the same name: seal them one at a time`);
  }
  const sealed = secrets.map((s) =>
    buildSealedSecret(s, cert, {
      ...(opts.scope !== undefined ? { scope: opts.scope } : {}),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
    }),
  );
  io.stdout(formatObjects(sealed, opts.format));
}

/** The action of `wildseal seal` (registered in seal.ts, loaded when the command runs). */
export async function sealAction(o: SealCommandOptions, command: Command): Promise<void> {
  await runSeal(o, cliContext(command).io);
}
