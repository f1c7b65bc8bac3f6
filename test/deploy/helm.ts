import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after } from "node:test";
import { dump, loadAll } from "js-yaml";

/**
 * The chart tests' helm: the one test/e2e/setup builds into ~/.cache/wildseal-e2e (the tests skip
 * without it, so a workstation's own helm version never decides a result), run with a private HOME
 * and HELM_* folders removed after the test file, so no user repositories or plugins leak in.
 */

export const CHART = resolve(import.meta.dirname, "..", "..", "deploy", "helm", "wildseal");
/** the values every chart test starts from (ci/ is what `helm lint` in CI uses too) */
export const DEFAULT_VALUES = join(CHART, "ci", "default-values.yaml");

const CACHE = join(homedir(), ".cache", "wildseal-e2e");
const HELM = existsSync(CACHE)
  ? readdirSync(CACHE)
      .map((d) => join(CACHE, d, "bin", "helm"))
      .find((p) => existsSync(p))
  : undefined;

/** describe()'s `skip`: the reason when there is no helm to run, else false. */
export const SKIP_WITHOUT_HELM: string | false = HELM === undefined ? "no helm in ~/.cache/wildseal-e2e (run test/e2e/setup)" : false;

const home = mkdtempSync(join(tmpdir(), "wildseal-helm-"));
after(() => rmSync(home, { recursive: true, force: true }));

export function helm(args: readonly string[]): string {
  const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: home, HELM_CACHE_HOME: join(home, "c"), HELM_CONFIG_HOME: join(home, "f"), HELM_DATA_HOME: join(home, "d") };
  try {
    return execFileSync(HELM ?? "helm", args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    // helm's own message is on stderr: make it the error's, so assertions (and failures) show it
    throw new Error(`helm ${args[0]} failed: ${String((e as { stderr?: unknown }).stderr ?? e)}`);
  }
}

/** `helm template` of the chart over DEFAULT_VALUES with `args` (--set or -f) after it: the rendered objects. */
export function chartObjects<T>(args: readonly string[]): T[] {
  const out = helm(["template", "wildseal", CHART, "--namespace", "wildseal", "-f", DEFAULT_VALUES, ...args]);
  return (loadAll(out) as (T | null)[]).filter((o): o is T => o !== null && typeof o === "object");
}

let valuesFiles = 0;
/** `values` as a -f file over DEFAULT_VALUES (lists and `*`/`@`/`=` need no --set escaping) */
export function valuesFile(values: Record<string, unknown>): string {
  const path = join(home, `values-${valuesFiles++}.yaml`);
  writeFileSync(path, dump(values));
  return path;
}
