import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

/** One object of a kustomize build: enough to find it (kind, name, namespace) and its text to parse. */
export interface Built {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly text: string;
}

/** `kubectl kustomize <dir>`: the real kustomize (v5), as Flux and Argo CD build the folder. */
export function kustomize(dir: string): Built[] {
  const r = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.error, undefined, `kubectl could not run: ${String(r.error)}; install kubectl (it is required by this test)`);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split(/^---\n/m).map((text) => ({
    kind: /^kind: (\S+)$/m.exec(text)?.[1] ?? "",
    name: /^metadata:\n(?: {2}.*\n)*? {2}name: (\S+)$/m.exec(text)?.[1] ?? "",
    namespace: /^metadata:\n(?: {2}.*\n)*? {2}namespace: (\S+)$/m.exec(text)?.[1],
    text,
  }));
}
