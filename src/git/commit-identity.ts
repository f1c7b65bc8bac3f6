import { UsageError } from "../errors.ts";

/** Who wildseal's commits are by: git's author and committer alike. */
export interface CommitAuthor {
  readonly name: string;
  readonly email: string;
}

export const DEFAULT_AUTHOR: CommitAuthor = { name: "wildseal", email: "wildseal@users.noreply.github.com" };

/** The environment variable `--author` falls back to. */
export const AUTHOR_ENV = "WILDSEAL_AUTHOR";

export const AUTHOR_HELP =
  `author and committer of wildseal's commits, "Name <email>" (env ${AUTHOR_ENV}); precedence: --author > ${AUTHOR_ENV} > GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL > "${DEFAULT_AUTHOR.name} <${DEFAULT_AUTHOR.email}>"`;

/**
 * Why `author` cannot be a git identity, or undefined. git itself strips `<`, `>` and newlines from
 * names silently; wildseal refuses instead, so the audit trail shows exactly what was asked for.
 */
export function authorProblem(author: CommitAuthor): string | undefined {
  if (author.name.trim() === "") return "the name is empty";
  if (/[<>\r\n\0]/.test(author.name)) return "the name holds <, > or a line break";
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(author.email)) return `the email ${JSON.stringify(author.email)} is not an address like bot@example.com`;
  return undefined;
}

/** `Name <email>` → its parts; a UsageError naming `source` (the flag or variable) otherwise. */
export function parseAuthor(text: string, source: string): CommitAuthor {
  const m = /^\s*([^<>]*?)\s*<([^<>]*)>\s*$/.exec(text);
  const author = m?.[1] !== undefined && m[2] !== undefined ? { name: m[1], email: m[2].trim() } : undefined;
  const problem = author === undefined ? "it is not of the form Name <email>" : authorProblem(author);
  if (author === undefined || problem !== undefined) {
    throw new UsageError(`${source} ${JSON.stringify(text)}: ${problem}; give it as "Name <email>", e.g. "wildseal bot <wildseal@example.com>"`);
  }
  return author;
}

/**
 * The commit identity by precedence: the `--author` flag, then WILDSEAL_AUTHOR, then git's own
 * GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL (both set, or neither counts), then DEFAULT_AUTHOR.
 */
export function resolveAuthor(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): CommitAuthor {
  if (flag !== undefined) return parseAuthor(flag, "--author");
  const fromEnv = env[AUTHOR_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return parseAuthor(fromEnv, AUTHOR_ENV);
  const name = env.GIT_AUTHOR_NAME;
  const email = env.GIT_AUTHOR_EMAIL;
  if (name !== undefined && name !== "" && email !== undefined && email !== "") {
    const author = { name, email };
    const problem = authorProblem(author);
    if (problem !== undefined) throw new UsageError(`GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL: ${problem}; fix them or give --author "Name <email>"`);
    return author;
  }
  return DEFAULT_AUTHOR;
}
