/**
 * Which cluster wildseal talks to: the in-cluster service account, `$KUBECONFIG`, or ~/.kube/config,
 * with errors that say what is missing (client-node alone would guess http://localhost:8080 or fail
 * later with an "internal error: ENOENT"). Shared by the Secret source, the Lease, the one-shot
 * certificate read and the controller certificate fetch.
 */
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { DependencyError } from "../errors.ts";

/**
 * In a Pod: the service account. Elsewhere: `$KUBECONFIG`, then ~/.kube/config. Throws a
 * DependencyError saying what is missing when there is no cluster access at all: client-node would
 * otherwise fail later with an "internal error: ENOENT" or guess http://localhost:8080 ("HTTP
 * protocol is not allowed when skipTLSVerify is not set").
 */
export function loadKubeConfig(env: Readonly<Record<string, string | undefined>> = process.env): KubeConfig {
  const kc = findKubeConfig(env, FILE_SOURCE_HINT);
  if (kc !== undefined) return kc;
  throw new DependencyError(
    "no Kubernetes cluster access is configured: not running in a Pod (KUBERNETES_SERVICE_HOST is not set), " +
      `$KUBECONFIG is not set and ${homeKubeConfig(env) ?? "~/.kube/config"} does not exist. ` +
      "Set KUBECONFIG to a kubeconfig file (kubectl config view --minify --raw > kubeconfig), " +
      `run wildseal in the cluster with a ServiceAccount that may read the Secret, ${FILE_SOURCE_HINT}`,
  );
}

/** What to do instead of reaching the cluster, for the commands that read the certificate there. */
const FILE_SOURCE_HINT = "or read the certificate from a file with --source-file (kubectl get secret -n NAMESPACE NAME -o yaml > secret.yaml)";

function homeKubeConfig(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const home = env["HOME"];
  return home === undefined || home === "" ? undefined : join(home, ".kube", "config");
}

/**
 * The cluster access `env` describes — in-cluster, the first existing `$KUBECONFIG` file, or
 * ~/.kube/config — or undefined when there is none (client-node would otherwise guess
 * http://localhost:8080). A `$KUBECONFIG` naming only files that do not exist, or a file that is
 * not a kubeconfig, is a DependencyError naming the file; `alternative` says what else to do.
 */
export function findKubeConfig(
  env: Readonly<Record<string, string | undefined>>,
  alternative = "or unset KUBECONFIG to use ~/.kube/config",
): KubeConfig | undefined {
  const kc = new KubeConfig();
  if (env["KUBERNETES_SERVICE_HOST"]) {
    kc.loadFromCluster();
    return kc;
  }
  const files = (env["KUBECONFIG"] ?? "").split(delimiter).filter((f) => f !== "");
  const home = homeKubeConfig(env);
  const candidates = files.length > 0 ? files : home !== undefined ? [home] : [];
  const file = candidates.find((f) => existsSync(f));
  if (file === undefined) {
    if (files.length === 0) return undefined;
    const named = files.length === 1 ? `names ${files[0]}, which does not exist` : `names ${files.join(", ")}, none of which exists`;
    throw new DependencyError(`$KUBECONFIG ${named}: point KUBECONFIG at your kubeconfig file, ${alternative}`);
  }
  try {
    kc.loadFromFile(file);
  } catch (e) {
    // client-node's message says what is wrong (YAML, a missing field) but not in which file
    const why = (e as NodeJS.ErrnoException).code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new DependencyError(`kubeconfig ${file} cannot be loaded (${why}): fix the file or point KUBECONFIG at another one, ${alternative}`);
  }
  return kc;
}
