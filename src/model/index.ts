/** The GitOps repository model: load and validate wildseal.yaml and tenants/. */
export { loadConfig, outputFolderProblem } from "./load-config.ts";
export type { LoadedConfig } from "./load-config.ts";
export { loadTenants, loadTenantFiles } from "./load-tenants.ts";
export type { LoadedTenants } from "./load-tenants.ts";
export { loadRepositoryModel } from "./load-repository.ts";
export type { RepositoryModel } from "./load-repository.ts";
export { checkHostsCovered, findSecretClashes, uncoveredHosts } from "./rules.ts";
export { chooseCertificate, chooseCertificates } from "./certificates.ts";
export type { CertificateChoice, CertificateSans } from "./certificates.ts";
export { objectPolicyOf } from "./tenant-rules.ts";
export type { LocateInFile } from "./rules.ts";
export { readSealingCertPath, resolveInsideRepo, unsafeRelativePathReason } from "./repo-paths.ts";
export { isDnsLabel, isDnsSubdomain } from "./names.ts";
export type { CertificateConfig, ClusterConfig, ClusterSealing, InvalidTenant, Tenant, WildsealConfig } from "./types.ts";
