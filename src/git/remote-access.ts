import { type GitCredentials, tokenCredentials } from "./credentials.ts";
import { type ClassifiedRemote, classifyRemote, splitUserinfo } from "./remote-url.ts";

/**
 * What git is given for `--repo`: the remote without userinfo, and the credentials. A token inside
 * the URL (https://user:TOKEN@host/…) moves into the Authorization header, so neither a clone's
 * .git/config nor a process listing ever shows it; credentials given otherwise (flags, files, a
 * GitHub App) win over it.
 */
export function remoteAccess(repo: string, given: GitCredentials): { remote: ClassifiedRemote; credentials: GitCredentials } {
  const split = splitUserinfo(classifyRemote(repo));
  if (given.kind === "none" && split.password !== undefined) {
    return { remote: split.remote, credentials: tokenCredentials(Buffer.from(split.password, "utf8"), "the --repo URL's password", split.username) };
  }
  return { remote: split.remote, credentials: given };
}

/** The remote as logs and messages show it: no userinfo. */
export function displayRemote(repo: string): string {
  return splitUserinfo(classifyRemote(repo)).remote.url;
}
