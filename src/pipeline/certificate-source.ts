import { DependencyError, InvalidInputError } from "../errors.ts";
import { kubeJson, KubeApiError } from "../kube/http.ts";
import { secretManifestFromApi, type SecretObjectLike } from "../kube/secret-object.ts";
import { readTlsSource, validateTlsSecret } from "../tls/tls-material.ts";
import type { TlsMaterial } from "../tls/types.ts";
import type { KubeConfig } from "@kubernetes/client-node";

/** Where the wildcard certificate comes from (the contract's --source-file / --source-secret). */
export type CertificateSource =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "kubernetes"; readonly namespace: string; readonly name: string; readonly kubeConfig?: KubeConfig }
  /** already read and validated in this process (demo, watch) */
  | { readonly kind: "material"; readonly material: TlsMaterial; readonly label: string };

export function describeSource(s: CertificateSource): string {
  switch (s.kind) {
    case "file":
      return s.path;
    case "kubernetes":
      return `secret ${s.namespace}/${s.name}`;
    case "material":
      return s.label;
  }
}

/** Parses `NS/NAME` as --source-secret takes it. */
export function parseSecretRef(ref: string): { namespace: string; name: string } | undefined {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(ref);
  return m === null ? undefined : { namespace: m[1] as string, name: m[3] as string };
}

const KUBE_TIMEOUT_MS = 15_000;

/** Reads and validates the certificate: key matches the leaf, inside its validity window, has DNS names. */
/** `expiry: "allow"`: an expired certificate is returned, for a render that holds its tenants (several certificates). */
export async function readCertificate(s: CertificateSource, now: Date = new Date(), expiry: "refuse" | "allow" = "refuse"): Promise<TlsMaterial> {
  switch (s.kind) {
    case "material":
      return s.material;
    case "file":
      return readTlsSource(s.path, { now, expiry });
    case "kubernetes": {
      // imported here, not at the top: the Kubernetes client is loaded only when a Secret is read from it
      const kc = s.kubeConfig ?? (await import("../kube/kubeconfig.ts")).loadKubeConfig();
      const path = `/api/v1/namespaces/${encodeURIComponent(s.namespace)}/secrets/${encodeURIComponent(s.name)}`;
      let obj: unknown;
      try {
        obj = await kubeJson(kc, path, { timeoutMs: KUBE_TIMEOUT_MS });
      } catch (e) {
        if (e instanceof KubeApiError && e.code === 404) {
          throw new InvalidInputError(`secret ${s.namespace}/${s.name} does not exist: check --source-secret and that cert-manager has issued the certificate`);
        }
        throw new DependencyError(`reading secret ${s.namespace}/${s.name} from the Kubernetes API failed: ${(e as Error).message}`, { cause: e });
      }
      return validateTlsSecret(secretManifestFromApi(obj as SecretObjectLike), { now, source: describeSource(s), expiry });
    }
  }
}
