import { writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Writes the source certificate as `kubectl get secret -o yaml` prints it
 * (cert-manager/wildcard-example-com) to `<dir>/<name>`, readable by the owner only; returns the path.
 */
export function writeSourceSecret(dir: string, crt: string | Buffer, key: string | Buffer, name = "source.yaml"): string {
  const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
  const path = join(dir, name);
  writeFileSync(
    path,
    `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {name: wildcard-example-com, namespace: cert-manager}\ndata:\n  tls.crt: ${b64(crt)}\n  tls.key: ${b64(key)}\n`,
    { mode: 0o600 },
  );
  return path;
}
