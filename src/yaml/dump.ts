import { dump } from "js-yaml";

/**
 * Deterministic YAML: keys sorted, no line folding, no anchors. The same object always gives the
 * same bytes, which is what lets an unchanged tenant keep its files exactly.
 */
export function dumpYaml(value: unknown): string {
  // double quotes where quoting is needed ("true"), as kubectl and kubeseal (Go yaml) write them
  return dump(value, { sortKeys: true, lineWidth: -1, noRefs: true, quoteStyle: "double" });
}

/** JSON the way kubectl/kubeseal print it: 2-space indent and a trailing newline. */
export function dumpJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
