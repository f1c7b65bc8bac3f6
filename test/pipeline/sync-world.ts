import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KeyObject } from "node:crypto";
import { generateCa, generateSealingKeyPair, type GeneratedCertificate } from "../../src/tls/generate.ts";
import type { TlsMaterial } from "../../src/tls/types.ts";
import { parseSealedSecrets, unsealSealedSecret } from "../../src/seal/sealed-secret.ts";
import { git, makeBareRemote, type BareRemote } from "../helpers/git-fixtures.ts";
import { issueLeaf } from "../helpers/several-certificates.ts";
import { tenantYaml } from "../helpers/tenant-yaml.ts";

/** A GitOps repository on a bare remote, its cluster's sealing key, and a CA that issues wildcard leaves. */
export interface SyncWorld {
  readonly remote: BareRemote;
  readonly ca: GeneratedCertificate;
  readonly sealingKey: KeyObject;
  issue(daysAgo: number): Promise<TlsMaterial>;
  /** every rendered SealedSecret at the branch tip, unsealed with the cluster key */
  unsealAll(): Map<string, { crt: Buffer; key: Buffer; namespace: string | undefined }>;
  cleanup(): void;
}

export const CONFIG = `apiVersion: wildseal.dev/v1alpha1
kind: Config
metadata: {name: test}
spec:
  source: {namespace: cert-manager, name: wildcard-example-com}
  clusters:
    - name: prod-east
      sealingCert: clusters/prod-east/sealed-secrets.pem
  defaults: {secretName: wildcard-tls, scope: strict}
`;

export { tenantYaml };

export async function makeSyncWorld(tenants: readonly string[] = ["acme", "beta"]): Promise<SyncWorld> {
  const ca = await generateCa();
  const sealing = await generateSealingKeyPair({ bits: 2048 });
  const files: Record<string, string> = {
    "wildseal.yaml": CONFIG,
    "clusters/prod-east/sealed-secrets.pem": sealing.certPem,
  };
  for (const t of tenants) files[`tenants/${t}.yaml`] = tenantYaml(t);
  const remote = makeBareRemote({ files });
  return {
    remote,
    ca,
    sealingKey: sealing.privateKey,
    issue: (daysAgo) => issueLeaf(ca, ["*.example.com"], daysAgo),
    unsealAll() {
      const checkout = mkdtempSync(join(tmpdir(), "wildseal-checkout-"));
      try {
        git(checkout, ["clone", "--quiet", remote.path, "."]);
        const out = new Map<string, { crt: Buffer; key: Buffer; namespace: string | undefined }>();
        const root = join(checkout, "rendered", "prod-east");
        for (const tenant of readdirSync(root, { withFileTypes: true })) {
          if (!tenant.isDirectory()) continue;
          const file = join(root, tenant.name, "sealed-secret.yaml");
          const [ss] = parseSealedSecrets(readFileSync(file, "utf8"), file);
          if (ss === undefined) throw new Error(`${file} holds no SealedSecret`);
          const s = unsealSealedSecret(ss, [sealing.privateKey], file);
          out.set(tenant.name, {
            crt: s.data.get("tls.crt")?.reveal() ?? Buffer.alloc(0),
            key: s.data.get("tls.key")?.reveal() ?? Buffer.alloc(0),
            namespace: s.namespace,
          });
        }
        return out;
      } finally {
        rmSync(checkout, { recursive: true, force: true });
      }
    },
    cleanup() {
      remote.cleanup();
    },
  };
}

export function sourceOf(material: TlsMaterial) {
  return { kind: "material", material, label: "test certificate" } as const;
}
