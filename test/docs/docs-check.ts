import type { Command } from "commander";

/**
 * Checks that the reference docs cover what the code has. Conventions, so that a doc edit cannot
 * silently drop something:
 * - docs/cli.md has one heading per command whose text starts with the command in backticks
 *   (`` ## `wildseal tenant add NAME` ``; the root program is `` `wildseal` ``); the section runs to
 *   the next such heading, and each long flag of the command appears in it in backticks
 *   (`` `--repo <dir>` ``, `` `--json` ``).
 * - every environment variable the code reads appears in docs/cli.md in backticks.
 * - every field path of the JSON Schemas (`spec.clusters[].name`) appears in backticks in the
 *   section of docs/configuration.md about its document.
 */

/** A command's path below the program ("" for the program, "tenant add") and its long flags. */
export interface CommandFlags {
  readonly path: string;
  readonly flags: readonly string[];
}

export function commandFlags(program: Command): CommandFlags[] {
  const out: CommandFlags[] = [];
  const visit = (cmd: Command, path: string): void => {
    const flags = cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined);
    out.push({ path, flags });
    for (const sub of cmd.commands) visit(sub, path === "" ? sub.name() : `${path} ${sub.name()}`);
  };
  visit(program, "");
  return out;
}

const HEADING = /^#{1,6}\s+`wildseal((?:\s+[a-z][a-z0-9-]*)*)(?:\s[^`]*)?`/;

/** Command path → the text of its section in docs/cli.md. */
export function commandSections(markdown: string): Map<string, string> {
  const sections = new Map<string, string>();
  let current: string | undefined;
  let lines: string[] = [];
  const flush = (): void => {
    if (current !== undefined) sections.set(current, (sections.get(current) ?? "") + lines.join("\n"));
  };
  for (const line of markdown.split("\n")) {
    const m = HEADING.exec(line);
    if (m !== null) {
      flush();
      current = (m[1] ?? "").trim().split(/\s+/).filter((w) => w !== "").join(" ");
      lines = [];
    } else if (/^#{1,6}\s/.test(line)) {
      flush();
      current = undefined;
      lines = [];
    } else {
      lines.push(line);
    }
  }
  flush();
  return sections;
}

function mentions(text: string, token: string): boolean {
  const escaped = token.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp("`" + escaped + "(?=[`\\s=<\\[,])").test(text);
}

function hasSubcommands(program: Command, path: string): boolean {
  let cmd: Command | undefined = program;
  for (const word of path.split(" ").filter((w) => w !== "")) cmd = cmd?.commands.find((c) => c.name() === word);
  return (cmd?.commands.length ?? 0) > 0;
}

/** One line per command without a section, and per flag missing from its command's section. */
export function undocumentedFlags(program: Command, markdown: string): string[] {
  const sections = commandSections(markdown);
  const problems: string[] = [];
  for (const { path, flags } of commandFlags(program)) {
    const name = path === "" ? "wildseal" : `wildseal ${path}`;
    const section = sections.get(path);
    // a command group without flags of its own (`tenant`) does nothing itself: its subcommands have the sections
    if (section === undefined && flags.length === 0 && hasSubcommands(program, path)) continue;
    if (section === undefined) {
      problems.push(`${name}: no section (a heading starting with \`${name}\`) in docs/cli.md`);
      continue;
    }
    for (const flag of flags) if (!mentions(section, flag)) problems.push(`${name}: ${flag} is not documented in its section of docs/cli.md`);
  }
  return problems;
}

/**
 * Environment variables read by the source: `env.NAME`, `env["NAME"]`, `fn(env, "NAME")` and quoted
 * names with wildseal's, git's, GitHub's or Sealed Secrets' prefix (constants such as AUTHOR_ENV).
 * Assignments (`env.GIT_CONFIG_COUNT = …`, the environment wildseal builds for git) are not reads.
 */
export function envVarsRead(sources: readonly string[]): string[] {
  const found = new Set<string>();
  const patterns = [
    /\benv\??\.([A-Z][A-Z0-9_]+)\b(?!\s*=[^=])/g,
    /\benv\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\](?!\s*=[^=])/g,
    /\(\s*env\s*,\s*["']([A-Z][A-Z0-9_]+)["']/g,
    /["'`]((?:WILDSEAL|GIT|GITHUB|SEALED_SECRETS)_[A-Z0-9_]+)["'`]/g,
  ];
  for (const text of sources) for (const p of patterns) for (const m of text.matchAll(p)) if (m[1] !== undefined) found.add(m[1]);
  return [...found].sort();
}

export function undocumentedEnvVars(names: readonly string[], markdown: string): string[] {
  return names.filter((n) => !mentions(markdown, n));
}

/** The section of configuration.md about one document: from the heading naming `kind: <kind>` to the next `## `. */
export function documentSection(markdown: string, kind: string): string | undefined {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => /^## /.test(l) && l.includes(`kind: ${kind}`));
  if (start === -1) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  return lines.slice(start, end === -1 ? undefined : end).join("\n");
}

/** Field paths (from fieldPaths) missing from `section`; the items of a list (`x[]`) are covered by the list's own row. */
export function undocumentedFields(paths: readonly string[], section: string): string[] {
  return paths.filter((p) => !p.endsWith("[]") && !section.includes("`" + p + "`"));
}
