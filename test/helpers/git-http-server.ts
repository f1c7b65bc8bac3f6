/**
 * A smart-HTTP Git server for tests: Node's http server on 127.0.0.1 (port 0) in front of git's
 * own CGI program, `git http-backend`, with HTTP basic auth that accepts exactly one token. This
 * is the same protocol path GitHub, GitLab and Gitea serve; only the auth is simplified.
 */
import { spawn } from "node:child_process";
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";

export interface GitHttpRequest {
  readonly method: string;
  readonly path: string;
  readonly authorized: boolean;
  readonly status: number;
}

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** URL of the repository `<projectRoot>/<name>` */
  url(name: string): string;
  readonly requests: readonly GitHttpRequest[];
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  /** folder holding the bare repositories served */
  readonly projectRoot: string;
  /** the accepted Basic-auth password (or a test of it, e.g. "an installation token GitHub issued"); any user name */
  readonly token: string | ((password: string) => boolean);
  /** called for every request that passed authentication, before git runs (e.g. to inspect the client) */
  readonly onAuthorized?: (req: IncomingMessage) => void;
}

export async function startGitHttpServer(opts: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: GitHttpRequest[] = [];
  const server = createServer((req, res) => {
    const user = authenticate(req.headers.authorization, opts.token);
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (user === undefined) {
      requests.push({ method: req.method ?? "", path, authorized: false, status: 401 });
      req.resume();
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="wildseal-test"', "Content-Type": "text/plain" });
      res.end("authentication required\n");
      return;
    }
    opts.onAuthorized?.(req);
    runBackend(req, res, opts.projectRoot, user, (status) =>
      requests.push({ method: req.method ?? "", path, authorized: true, status }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    url: (name) => `${baseUrl}/${name}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

/** The user name when `header` is Basic auth whose password is `token`; else undefined. */
function authenticate(header: string | undefined, token: string | ((password: string) => boolean)): string | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? "");
  if (m?.[1] === undefined) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) return undefined;
  const password = decoded.slice(colon + 1);
  if (typeof token === "function") return token(password) ? decoded.slice(0, colon) || "git" : undefined;
  const given = Buffer.from(password, "utf8");
  const want = Buffer.from(token, "utf8");
  if (given.length !== want.length || !timingSafeEqual(given, want)) return undefined;
  return decoded.slice(0, colon) || "git";
}

/** Runs git-http-backend as a CGI program: request in on stdin, CGI headers + body out on stdout. */
function runBackend(
  req: IncomingMessage,
  res: ServerResponse,
  projectRoot: string,
  user: string,
  done: (status: number) => void,
): void {
  const url = new URL(req.url ?? "/", "http://x");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: "/nonexistent",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    REMOTE_USER: user,
    REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
    REQUEST_METHOD: req.method ?? "GET",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ""),
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    GATEWAY_INTERFACE: "CGI/1.1",
  };
  if (req.headers["content-length"] !== undefined) env.CONTENT_LENGTH = req.headers["content-length"];
  if (req.headers["content-encoding"] !== undefined) env.HTTP_CONTENT_ENCODING = req.headers["content-encoding"];
  const protocol = req.headers["git-protocol"];
  if (typeof protocol === "string") env.GIT_PROTOCOL = protocol;

  const child = spawn(HTTP_BACKEND, [], { env, stdio: ["pipe", "pipe", "pipe"] });
  req.pipe(child.stdin);
  child.stdin.on("error", () => {}); // the backend may stop reading early (e.g. on an error reply)

  let head = Buffer.alloc(0);
  let headersSent = false;
  let status = 200;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const sep = findHeaderEnd(head);
    if (sep === undefined) return;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, sep.index).toString("latin1").split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon === -1) continue;
      const key = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (key.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
      else headers[key] = value;
    }
    res.writeHead(status, headers);
    headersSent = true;
    res.write(head.subarray(sep.index + sep.length));
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  child.on("close", (code) => {
    if (!headersSent) {
      status = 500;
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.write(`git-http-backend exited ${code}: ${stderr}`);
    }
    res.end();
    done(status);
  });
}

function findHeaderEnd(buf: Buffer): { index: number; length: number } | undefined {
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  if (crlf !== -1 && (lf === -1 || crlf <= lf)) return { index: crlf, length: 4 };
  if (lf !== -1) return { index: lf, length: 2 };
  return undefined;
}
