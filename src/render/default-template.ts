/**
 * The built-in SealedSecret template, used when `templates/` holds no SealedSecret template. The
 * repository's `templates/sealed-secret.yaml` is this exact text (a test pins that), so users can
 * see and extend what they get by default.
 */
export const DEFAULT_SEALED_SECRET_FILE = "sealed-secret.yaml";

export const DEFAULT_SEALED_SECRET_TEMPLATE = `# The SealedSecret wildseal renders for every tenant (rendered/<cluster>/<tenant>/sealed-secret.yaml).
# wildseal itself sets metadata.name and metadata.namespace (the tenant's secretName and namespace),
# the scope annotation, the wildseal.dev/* annotations (here and on spec.template.metadata),
# spec.template.type (kubernetes.io/tls) and spec.encryptedData. Add labels or annotations of your
# own; placeholders such as \${tenant.name} or \${values.team} are substituted in values, not keys.
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: \${tenant.secretName}
  namespace: \${tenant.namespace}
  labels:
    app.kubernetes.io/managed-by: wildseal
    wildseal.dev/tenant: \${tenant.name}
spec:
  template:
    metadata:
      name: \${tenant.secretName}
      namespace: \${tenant.namespace}
      labels:
        app.kubernetes.io/managed-by: wildseal
        wildseal.dev/tenant: \${tenant.name}
    type: kubernetes.io/tls
`;
