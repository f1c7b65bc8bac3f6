import { dumpJson, dumpYaml } from "../yaml/dump.ts";

import type { OutputFormat } from "./output-formats.ts";

export { OUTPUT_FORMATS, type OutputFormat } from "./output-formats.ts";

/**
 * kubeseal's output: YAML = `---` then sorted keys, one document per object; JSON = Go's
 * MarshalIndent (2 spaces, trailing newline, `<`, `>`, `&`, U+2028/U+2029 escaped), objects one
 * after another. Fields are already in kubeseal's order in the objects we build.
 */
export function formatObjects(objects: readonly unknown[], format: OutputFormat): string {
  return objects.map((o) => (format === "yaml" ? `---\n${dumpYaml(o)}` : goJson(o))).join("");
}

function goJson(value: unknown): string {
  return dumpJson(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
