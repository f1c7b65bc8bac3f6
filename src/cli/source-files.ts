import { UsageError } from "../errors.ts";
import { isDnsLabel } from "../model/names.ts";

/**
 * `--source-file [NAME=]PATH`, repeatable (render, sync, validate): `NAME=PATH` gives certificate
 * NAME of spec.certificates, a bare PATH the one certificate (spec.source, named `default`, or the
 * only entry of spec.certificates). A PATH that itself contains `=` after a DNS label is written
 * `./…` to keep it a path.
 */

/** DEFAULT_CERTIFICATE of config-schema.ts, not imported: this module loads with the command line, zod does not */
const DEFAULT_CERTIFICATE = "default";

export interface SourceFileArg {
  /** undefined: the bare form (the config's only certificate) */
  readonly certificate?: string;
  readonly path: string;
}

export function parseSourceFileArg(value: string): SourceFileArg {
  const eq = value.indexOf("=");
  if (eq > 0) {
    const name = value.slice(0, eq);
    const path = value.slice(eq + 1);
    if (isDnsLabel(name)) {
      if (path === "") throw new UsageError(`--source-file ${value}: give the path after ${name}= (--source-file ${name}=PATH)`);
      return { certificate: name, path };
    }
  }
  return { path: value };
}

/** Every --source-file given, each certificate at most once and the bare form at most once, and not with named ones. */
export function parseSourceFileArgs(values: readonly string[], flag = "--source-file", what = "PATH"): SourceFileArg[] {
  const args = values.map(parseSourceFileArg);
  const seen = new Set<string>();
  for (const a of args) {
    const key = a.certificate ?? "";
    if (seen.has(key)) {
      throw new UsageError(
        a.certificate === undefined
          ? `${flag} ${what} (without NAME=) is given twice: give it once, or name each certificate (${flag} NAME=${what})`
          : `${flag} ${a.certificate}=… is given twice: give each certificate once`,
      );
    }
    seen.add(key);
  }
  if (seen.has("") && seen.size > 1) {
    throw new UsageError(`${flag} ${what} (without NAME=) and ${flag} NAME=${what} are both given: with several certificates name each one (${flag} NAME=${what})`);
  }
  return args;
}

/**
 * The certificate name each argument stands for, given the config's certificate names (in order):
 * a bare PATH is the only certificate; a NAME must be one of them.
 */
export function certificateNameOf(arg: SourceFileArg, names: readonly string[]): string {
  if (arg.certificate !== undefined) {
    if (!names.includes(arg.certificate)) {
      throw new UsageError(`--source-file ${arg.certificate}=${arg.path}: wildseal.yaml has no certificate ${arg.certificate} (it has ${names.join(", ")}): use one of those names`);
    }
    return arg.certificate;
  }
  const [only, ...more] = names;
  if (only === undefined) return DEFAULT_CERTIFICATE;
  if (more.length > 0) {
    throw new UsageError(`--source-file ${arg.path}: wildseal.yaml lists ${names.length} certificates (${names.join(", ")}): name the one this file holds (--source-file NAME=PATH), once per certificate`);
  }
  return only;
}
