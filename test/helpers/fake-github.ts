/**
 * A stand-in for the slice of GitHub wildseal uses — pulls list/create/update/get, issues addLabels/createComment/listComments,
 * git deleteRef, GraphQL enablePullRequestAutoMerge, and the App installation-token exchange — on
 * 127.0.0.1 with in-memory state and fault injection. Every REST request and response is validated against
 * GitHub's OpenAPI description (./openapi.ts); a violation is recorded and fails the test through
 * `assertValid()`. GraphQL is not part of that description: its requests are checked against the mutation's
 * documented argument types by hand.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createPublicKey, randomBytes, verify, type KeyObject } from "node:crypto";
import type { AddressInfo } from "node:net";
import assert from "node:assert/strict";
import { OpenApiValidator, type MatchedOperation, type Violation } from "./openapi.ts";

export interface FakeGitHubOptions {
  readonly owner?: string;
  readonly repo?: string;
  readonly defaultBranch?: string;
  /** personal access token accepted as `token X` / `bearer X` */
  readonly token?: string;
  /** GitHub App whose JWTs are accepted by the installation-token exchange */
  readonly app?: { readonly appId: string; readonly publicKey: KeyObject | string; readonly installationId: number };
  /** page size cap (GitHub's is 100); small values exercise pagination */
  readonly maxPerPage?: number;
  readonly autoMergeAllowed?: boolean;
  /** serve REST under /api/v3 and GraphQL under /api/graphql, like GitHub Enterprise Server */
  readonly enterprise?: boolean;
}

export interface FakeLabel {
  readonly id: number;
  readonly name: string;
}

export interface FakeComment {
  readonly id: number;
  readonly body: string;
  readonly createdAt: string;
  /** who wrote it (default the bot wildseal runs as) */
  readonly author?: string;
}

export interface FakePull {
  readonly number: number;
  readonly id: number;
  readonly nodeId: string;
  title: string;
  body: string;
  state: "open" | "closed";
  readonly head: string;
  readonly base: string;
  readonly draft: boolean;
  readonly createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** set by mergePullRequest (a person merging on github.com) */
  mergedAt?: string | null;
  readonly author: string;
  labels: FakeLabel[];
  comments: FakeComment[];
  autoMerge: { mergeMethod: string } | null;
}

export interface RecordedExchange {
  readonly method: string;
  readonly path: string;
  readonly operation: string;
  readonly status: number;
  readonly authorization: string | undefined;
  readonly userAgent: string | undefined;
}

type Fault =
  | { readonly kind: "status"; readonly status: number }
  | { readonly kind: "secondary-rate-limit"; readonly retryAfter: number }
  | { readonly kind: "rate-limit"; readonly resetInSeconds: number };

interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** injected faults and auth failures are outside the documented statuses; their bodies are still checked */
  readonly injected?: boolean;
}

const DOCS = "https://docs.github.com/rest";
const MERGE_METHODS = ["MERGE", "SQUASH", "REBASE"];
const BOT = "wildseal-bot";

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

function sha(): string {
  return randomBytes(20).toString("hex");
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}_${Buffer.from(`fake:${prefix}:${id}`).toString("base64url")}`;
}

export class FakeGitHub {
  readonly violations: Violation[] = [];
  readonly exchanges: RecordedExchange[] = [];
  readonly owner: string;
  readonly repo: string;
  readonly defaultBranch: string;
  readonly #opts: FakeGitHubOptions;
  readonly #validator = OpenApiValidator.load();
  readonly #server: Server;
  readonly #branches = new Map<string, string>();
  readonly #pulls = new Map<number, FakePull>();
  readonly #repoLabels = new Map<string, FakeLabel>();
  readonly #faults: Fault[] = [];
  readonly #graphqlErrors: string[] = [];
  readonly #before = new Map<string, ((fake: FakeGitHub) => void)[]>();
  readonly #installationTokens = new Set<string>();
  #nextIssue = 1;
  #nextId = 1000;
  #origin = "";

  private constructor(opts: FakeGitHubOptions) {
    this.#opts = opts;
    this.owner = opts.owner ?? "acme";
    this.repo = opts.repo ?? "gitops";
    this.defaultBranch = opts.defaultBranch ?? "main";
    this.#branches.set(this.defaultBranch, sha());
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((e: unknown) => {
        this.violations.push({ operation: "fake", where: "route", message: `fake crashed: ${String(e)}` });
        res.writeHead(500).end();
      });
    });
  }

  static async start(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const fake = new FakeGitHub(opts);
    await new Promise<void>((resolve) => fake.#server.listen(0, "127.0.0.1", resolve));
    fake.#origin = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** REST base URL to hand to Octokit. */
  get baseUrl(): string {
    return this.#opts.enterprise === true ? `${this.#origin}/api/v3` : this.#origin;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Fails the test if any request or response broke GitHub's OpenAPI description. */
  assertValid(): void {
    assert.deepEqual(this.violations, [], `OpenAPI violations:\n${this.violations.map((v) => `${v.operation} ${v.where}: ${v.message}`).join("\n")}`);
  }

  // ---- state, as a test sets it up or inspects it -------------------------------------------------------

  /** What `git push` of a branch does to GitHub. */
  pushBranch(name: string): string {
    const s = sha();
    this.#branches.set(name, s);
    return s;
  }

  branchNames(): string[] {
    return [...this.#branches.keys()].sort();
  }

  /** A PR opened by someone else (a person, or a concurrent wildseal): the head branch is pushed too. */
  openPullRequestAs(author: string, p: { head: string; base?: string; title: string; body: string }): FakePull {
    if (!this.#branches.has(p.head)) this.pushBranch(p.head);
    return this.#createPull({ ...p, base: p.base ?? this.defaultBranch, draft: false, author });
  }

  /** A person merges the PR on github.com: closed, with merged_at. */
  mergePullRequest(number: number): void {
    const p = this.pull(number);
    const t = now();
    p.state = "closed";
    p.closedAt = t;
    p.mergedAt = t;
    p.autoMerge = null;
  }

  /** A comment someone left earlier (a person, or an earlier wildseal process). */
  addComment(number: number, body: string, author = "octocat"): FakeComment {
    const c: FakeComment = { id: this.#nextId++, body, createdAt: now(), author };
    this.pull(number).comments.push(c);
    return c;
  }

  pull(number: number): FakePull {
    const p = this.#pulls.get(number);
    assert.ok(p !== undefined, `no pull request #${number}`);
    return p;
  }

  pulls(filter: { state?: "open" | "closed"; base?: string } = {}): FakePull[] {
    return [...this.#pulls.values()].filter(
      (p) => (filter.state === undefined || p.state === filter.state) && (filter.base === undefined || p.base === filter.base),
    );
  }

  exchangesFor(operation: string): RecordedExchange[] {
    return this.exchanges.filter((e) => e.operation === operation);
  }

  // ---- fault injection ------------------------------------------------------------------------------------

  /** The next `count` requests (any endpoint) answer `status` (default 502 Bad Gateway). */
  failNext(count: number, status = 502): void {
    for (let i = 0; i < count; i++) this.#faults.push({ kind: "status", status });
  }

  /** The next request answers 403 "secondary rate limit" with `retry-after`. */
  secondaryRateLimitNext(retryAfterSeconds = 1): void {
    this.#faults.push({ kind: "secondary-rate-limit", retryAfter: retryAfterSeconds });
  }

  /** The next request answers 403 with x-ratelimit-remaining: 0 (primary rate limit). */
  rateLimitNext(resetInSeconds = 1): void {
    this.#faults.push({ kind: "rate-limit", resetInSeconds });
  }

  /** The next enablePullRequestAutoMerge answers with this GraphQL error (e.g. "Pull request Pull request is in clean status"). */
  graphqlErrorNext(message: string): void {
    this.#graphqlErrors.push(message);
  }

  /** Whether `token` is an installation token this stand-in issued (so a git server can accept it too). */
  isInstallationToken(token: string): boolean {
    return this.#installationTokens.has(token);
  }

  /** Runs `fn` just before the next request of `operationId` is handled (races: someone acts in between). */
  beforeNext(operationId: string, fn: (fake: FakeGitHub) => void): void {
    this.#before.set(operationId, [...(this.#before.get(operationId) ?? []), fn]);
  }

  // ---- HTTP -----------------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 2_000_000) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(c as Buffer);
    }
    const raw = Buffer.concat(chunks).toString("utf8");
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", this.#origin);
    let body: unknown;
    if (raw !== "") {
      try {
        body = JSON.parse(raw);
      } catch {
        this.violations.push({ operation: `${method} ${url.pathname}`, where: "body", message: "request body is not JSON" });
      }
    }
    const auth = req.headers.authorization;
    const userAgent = req.headers["user-agent"];
    const graphqlPath = this.#opts.enterprise === true ? "/api/graphql" : "/graphql";
    if (url.pathname === graphqlPath && method === "POST") {
      const reply = this.#fault() ?? this.#authFailure(auth) ?? this.#graphql(body);
      this.#send(res, { method, path: url.pathname, operation: "graphql", status: reply.status, authorization: auth, userAgent }, reply);
      return;
    }
    const prefix = this.#opts.enterprise === true ? "/api/v3" : "";
    if (!url.pathname.startsWith(prefix)) {
      this.violations.push({ operation: `${method} ${url.pathname}`, where: "route", message: "outside the API base path" });
      res.writeHead(404).end();
      return;
    }
    const apiUrl = new URL(url.pathname.slice(prefix.length) + url.search, this.#origin);
    const { match, violations } = this.#validator.validateRequest(method, apiUrl, body);
    this.violations.push(...violations);
    if (match === undefined) {
      this.#send(res, { method, path: url.pathname, operation: "unknown", status: 404, authorization: auth, userAgent }, { status: 404, injected: true, body: { message: "Not Found", documentation_url: DOCS } });
      return;
    }
    for (const fn of this.#before.get(match.operationId)?.splice(0) ?? []) fn(this);
    const reply = this.#fault() ?? this.#route(match, apiUrl, body, auth);
    if (reply.body !== undefined || !reply.injected) {
      const vs = reply.injected === true ? this.#checkErrorBody(match, reply.body) : this.#validator.validateResponse(match, reply.status, reply.body);
      this.violations.push(...vs);
    }
    this.#send(res, { method, path: url.pathname, operation: match.operationId, status: reply.status, authorization: auth, userAgent }, reply);
  }

  #checkErrorBody(match: MatchedOperation, body: unknown): Violation[] {
    const problem = this.#validator.validateComponent("basic-error", body);
    return problem === undefined ? [] : [{ operation: match.operationId, where: "response", message: `injected error body: ${problem}` }];
  }

  #send(res: ServerResponse, record: RecordedExchange, reply: Reply): void {
    this.exchanges.push(record);
    const headers: Record<string, string> = {
      "x-github-request-id": randomBytes(8).toString("hex").toUpperCase(),
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "4999",
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      "x-ratelimit-resource": "core",
      ...reply.headers,
    };
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    res.writeHead(reply.status, { ...headers, "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(reply.body));
  }

  #fault(): Reply | undefined {
    const f = this.#faults.shift();
    if (f === undefined) return undefined;
    switch (f.kind) {
      case "status":
        return { status: f.status, injected: true, body: { message: "Server Error", documentation_url: DOCS } };
      case "secondary-rate-limit":
        return {
          status: 403,
          injected: true,
          headers: { "retry-after": String(f.retryAfter) },
          body: {
            message:
              "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
              "If you reach out to GitHub Support for help, please include the request ID.",
            documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
          },
        };
      case "rate-limit":
        return {
          status: 403,
          injected: true,
          headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + f.resetInSeconds) },
          body: { message: "API rate limit exceeded for installation.", documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api` },
        };
    }
  }

  #authFailure(auth: string | undefined): Reply | undefined {
    const m = /^(?:token|bearer) (\S+)$/i.exec(auth ?? "");
    const presented = m?.[1];
    if (presented !== undefined && (presented === this.#opts.token || this.#installationTokens.has(presented))) return undefined;
    return { status: 401, injected: true, body: { message: "Bad credentials", documentation_url: DOCS } };
  }

  #route(match: MatchedOperation, url: URL, body: unknown, auth: string | undefined): Reply {
    if (match.operationId === "apps/create-installation-access-token") return this.#installationToken(match, auth);
    const denied = this.#authFailure(auth);
    if (denied !== undefined) return denied;
    const { owner, repo } = match.pathParams;
    if (owner?.toLowerCase() !== this.owner.toLowerCase() || repo?.toLowerCase() !== this.repo.toLowerCase()) {
      return { status: 404, body: { message: "Not Found", documentation_url: DOCS } };
    }
    const b = (body ?? {}) as Record<string, unknown>;
    switch (match.operationId) {
      case "pulls/list":
        return this.#listPulls(url);
      case "pulls/create":
        return this.#handleCreate(b);
      case "pulls/update":
        return this.#handleUpdate(Number(match.pathParams.pull_number), b);
      case "pulls/get": {
        const p = this.#pulls.get(Number(match.pathParams.pull_number));
        return p === undefined ? { status: 404, body: { message: "Not Found", documentation_url: DOCS } } : { status: 200, body: this.#pullJson(p, "full") };
      }
      case "issues/add-labels":
        return this.#addLabels(Number(match.pathParams.issue_number), b);
      case "issues/create-comment":
        return this.#comment(Number(match.pathParams.issue_number), b);
      case "issues/list-comments":
        return this.#listComments(Number(match.pathParams.issue_number), url);
      case "git/delete-ref":
        return this.#deleteRef(match.pathParams.ref ?? "");
      default:
        this.violations.push({ operation: match.operationId, where: "route", message: "valid GitHub operation, but the fake does not implement it" });
        return { status: 404, injected: true, body: { message: "Not Found", documentation_url: DOCS } };
    }
  }

  // ---- operations -----------------------------------------------------------------------------------------

  #validationFailed(errors: Record<string, unknown>[], message = "Validation Failed"): Reply {
    return { status: 422, body: { message, errors, documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request` } };
  }

  #createPull(p: { head: string; base: string; title: string; body: string; draft: boolean; author: string }): FakePull {
    const number = this.#nextIssue++;
    const id = this.#nextId++;
    const t = now();
    const pull: FakePull = {
      number,
      id,
      nodeId: nodeId("PR", id),
      title: p.title,
      body: p.body,
      state: "open",
      head: p.head,
      base: p.base,
      draft: p.draft,
      createdAt: t,
      updatedAt: t,
      closedAt: null,
      author: p.author,
      labels: [],
      comments: [],
      autoMerge: null,
    };
    this.#pulls.set(number, pull);
    return pull;
  }

  #handleCreate(b: Record<string, unknown>): Reply {
    const head = String(b.head ?? "").replace(new RegExp(`^${this.owner}:`, "i"), "");
    const base = String(b.base ?? "");
    if (!this.#branches.has(head)) return this.#validationFailed([{ resource: "PullRequest", field: "head", code: "invalid" }]);
    if (!this.#branches.has(base)) return this.#validationFailed([{ resource: "PullRequest", field: "base", code: "invalid" }]);
    if (head === base) return this.#validationFailed([{ resource: "PullRequest", code: "custom", message: `No commits between ${base} and ${head}` }]);
    if (this.pulls({ state: "open" }).some((p) => p.head === head && p.base === base)) {
      return this.#validationFailed([{ resource: "PullRequest", code: "custom", message: `A pull request already exists for ${this.owner}:${head}.` }]);
    }
    const pull = this.#createPull({ head, base, title: String(b.title ?? ""), body: String(b.body ?? ""), draft: b.draft === true, author: BOT });
    return { status: 201, body: this.#pullJson(pull, "full"), headers: { location: `${this.baseUrl}/repos/${this.owner}/${this.repo}/pulls/${pull.number}` } };
  }

  #handleUpdate(number: number, b: Record<string, unknown>): Reply {
    const p = this.#pulls.get(number);
    if (p === undefined) return { status: 404, body: { message: "Not Found", documentation_url: DOCS } };
    if (typeof b.title === "string") p.title = b.title;
    if (typeof b.body === "string") p.body = b.body;
    if (b.state === "closed" && p.state === "open") {
      p.state = "closed";
      p.closedAt = now();
      p.autoMerge = null;
    }
    p.updatedAt = now();
    return { status: 200, body: this.#pullJson(p, "full") };
  }

  #listPulls(url: URL): Reply {
    const state = url.searchParams.get("state") ?? "open";
    const base = url.searchParams.get("base");
    const head = url.searchParams.get("head");
    const perPage = Math.min(Number(url.searchParams.get("per_page") ?? "30"), this.#opts.maxPerPage ?? 100);
    const page = Number(url.searchParams.get("page") ?? "1");
    const all = [...this.#pulls.values()]
      .filter((p) => state === "all" || p.state === state)
      .filter((p) => base === null || p.base === base)
      .filter((p) => head === null || `${this.owner}:${p.head}`.toLowerCase() === head.toLowerCase())
      .sort((a, b) => b.number - a.number);
    const items = all.slice((page - 1) * perPage, page * perPage);
    const lastPage = Math.max(1, Math.ceil(all.length / perPage));
    const headers: Record<string, string> = {};
    if (page < lastPage) {
      const link = (n: number): string => {
        const u = new URL(url.toString());
        u.searchParams.set("page", String(n));
        return `${this.baseUrl}${u.pathname}${u.search}`;
      };
      headers.link = `<${link(page + 1)}>; rel="next", <${link(lastPage)}>; rel="last"`;
    }
    return { status: 200, body: items.map((p) => this.#pullJson(p, "simple")), headers };
  }

  #addLabels(number: number, b: Record<string, unknown>): Reply {
    const p = this.#pulls.get(number);
    if (p === undefined) return { status: 404, body: { message: "Not Found", documentation_url: DOCS } };
    const names = Array.isArray(b.labels) ? b.labels.map((l) => (typeof l === "string" ? l : String((l as { name?: unknown }).name))) : [];
    for (const name of names) {
      let label = this.#repoLabels.get(name.toLowerCase());
      if (label === undefined) {
        label = { id: this.#nextId++, name };
        this.#repoLabels.set(name.toLowerCase(), label);
      }
      if (!p.labels.some((l) => l.id === label.id)) p.labels.push(label);
    }
    return { status: 200, body: p.labels.map((l) => this.#labelJson(l, "full")) };
  }

  #comment(number: number, b: Record<string, unknown>): Reply {
    const p = this.#pulls.get(number);
    if (p === undefined) return { status: 404, body: { message: "Not Found", documentation_url: DOCS } };
    const c: FakeComment = { id: this.#nextId++, body: String(b.body ?? ""), createdAt: now() };
    p.comments.push(c);
    return { status: 201, body: this.#commentJson(number, c) };
  }

  #commentJson(number: number, c: FakeComment): Record<string, unknown> {
    const author = c.author ?? BOT;
    return {
      id: c.id,
      node_id: nodeId("IC", c.id),
      url: `${this.baseUrl}/repos/${this.owner}/${this.repo}/issues/comments/${c.id}`,
      html_url: `${this.#web()}/pull/${number}#issuecomment-${c.id}`,
      issue_url: `${this.baseUrl}/repos/${this.owner}/${this.repo}/issues/${number}`,
      body: c.body,
      user: this.#user(author),
      created_at: c.createdAt,
      updated_at: c.createdAt,
      author_association: author === BOT ? "NONE" : "MEMBER",
    };
  }

  /** Oldest first, paginated like GitHub (Link header), page size capped by maxPerPage. */
  #listComments(number: number, url: URL): Reply {
    const p = this.#pulls.get(number);
    if (p === undefined) return { status: 404, body: { message: "Not Found", documentation_url: DOCS } };
    const perPage = Math.min(Number(url.searchParams.get("per_page") ?? "30"), this.#opts.maxPerPage ?? 100);
    const page = Number(url.searchParams.get("page") ?? "1");
    const items = p.comments.slice((page - 1) * perPage, page * perPage);
    const lastPage = Math.max(1, Math.ceil(p.comments.length / perPage));
    const headers: Record<string, string> = {};
    if (page < lastPage) {
      const link = (n: number): string => {
        const u = new URL(url.toString());
        u.searchParams.set("page", String(n));
        return `${this.baseUrl}${u.pathname}${u.search}`;
      };
      headers.link = `<${link(page + 1)}>; rel="next", <${link(lastPage)}>; rel="last"`;
    }
    return { status: 200, body: items.map((c) => this.#commentJson(number, c)), headers };
  }

  #deleteRef(ref: string): Reply {
    const name = ref.replace(/^heads\//, "");
    if (!ref.startsWith("heads/") || !this.#branches.has(name)) {
      return { status: 422, body: { message: "Reference does not exist", documentation_url: `${DOCS}/git/refs#delete-a-reference` } };
    }
    if (name === this.defaultBranch) return { status: 422, body: { message: "Cannot delete the default branch", documentation_url: DOCS } };
    this.#branches.delete(name);
    // as on GitHub: deleting a PR's head branch closes the PR
    for (const p of this.pulls({ state: "open" })) {
      if (p.head === name) {
        p.state = "closed";
        p.closedAt = now();
      }
    }
    return { status: 204 };
  }

  #installationToken(match: MatchedOperation, auth: string | undefined): Reply {
    const app = this.#opts.app;
    const bad: Reply = { status: 401, body: { message: "A JSON web token could not be decoded", documentation_url: DOCS } };
    const jwt = /^bearer (\S+)$/i.exec(auth ?? "")?.[1];
    if (app === undefined || jwt === undefined) return bad;
    const [h, p, s] = jwt.split(".");
    if (h === undefined || p === undefined || s === undefined) return bad;
    const key = typeof app.publicKey === "string" ? createPublicKey(app.publicKey) : app.publicKey;
    if (!verify("RSA-SHA256", Buffer.from(`${h}.${p}`), key, Buffer.from(s, "base64url"))) return bad;
    const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as { iss?: unknown; exp?: unknown };
    if (String(claims.iss) !== app.appId || typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) return bad;
    if (Number(match.pathParams.installation_id) !== app.installationId) {
      return { status: 404, body: { message: "Not Found", documentation_url: DOCS } };
    }
    const token = `ghs_${randomBytes(18).toString("hex")}`;
    this.#installationTokens.add(token);
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        permissions: { contents: "write", pull_requests: "write" },
        repository_selection: "selected",
      },
    };
  }

  #graphql(body: unknown): Reply {
    const fail = (message: string, type = "UNPROCESSABLE"): Reply => ({
      status: 200,
      body: { data: { enablePullRequestAutoMerge: null }, errors: [{ type, path: ["enablePullRequestAutoMerge"], locations: [{ line: 2, column: 3 }], message }] },
    });
    const b = body as { query?: unknown; variables?: Record<string, unknown> } | undefined;
    const problems: string[] = [];
    if (typeof b?.query !== "string") problems.push("query must be a string");
    if (b !== undefined && Object.keys(b).some((k) => !["query", "variables", "operationName"].includes(k))) problems.push("unknown top-level key");
    const query = typeof b?.query === "string" ? b.query : "";
    if (!/\benablePullRequestAutoMerge\s*\(/.test(query)) problems.push("the fake implements only the enablePullRequestAutoMerge mutation");
    // EnablePullRequestAutoMergeInput: pullRequestId ID!, mergeMethod PullRequestMergeMethod (MERGE|SQUASH|REBASE)
    const v = b?.variables ?? {};
    if (!/\$pullRequestId:\s*ID!/.test(query) || typeof v.pullRequestId !== "string") problems.push("pullRequestId must be a variable of type ID!");
    if (!/\$mergeMethod:\s*PullRequestMergeMethod!?/.test(query) || !MERGE_METHODS.includes(String(v.mergeMethod))) {
      problems.push("mergeMethod must be a PullRequestMergeMethod (MERGE, SQUASH, REBASE)");
    }
    if (problems.length > 0) {
      for (const message of problems) this.violations.push({ operation: "graphql", where: "body", message });
      return { status: 200, body: { errors: problems.map((message) => ({ message })) } };
    }
    const pull = [...this.#pulls.values()].find((p) => p.nodeId === v.pullRequestId);
    if (pull === undefined) return fail(`Could not resolve to a node with the global id of '${String(v.pullRequestId)}'`, "NOT_FOUND");
    const injected = this.#graphqlErrors.shift();
    if (injected !== undefined) return fail(injected);
    if (this.#opts.autoMergeAllowed === false) return fail("Pull request Auto merge is not allowed for this repository");
    if (pull.draft) return fail("Pull request Pull request is in draft state");
    pull.autoMerge = { mergeMethod: String(v.mergeMethod) };
    return {
      status: 200,
      body: { data: { enablePullRequestAutoMerge: { pullRequest: { number: pull.number, autoMergeRequest: { mergeMethod: pull.autoMerge.mergeMethod } } } } },
    };
  }

  // ---- JSON shapes ----------------------------------------------------------------------------------------

  #web(): string {
    return `${this.#origin}/${this.owner}/${this.repo}`;
  }

  #user(login: string): Record<string, unknown> {
    const api = `${this.baseUrl}/users/${login}`;
    const id = [...login].reduce((a, c) => a * 31 + c.charCodeAt(0), 7) % 1_000_000;
    return {
      login,
      id,
      node_id: nodeId("U", id),
      avatar_url: `${this.#origin}/avatars/${login}`,
      gravatar_id: "",
      url: api,
      html_url: `${this.#origin}/${login}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type: login.endsWith("-bot") ? "Bot" : "User",
      site_admin: false,
    };
  }

  #repository(): Record<string, unknown> {
    const api = `${this.baseUrl}/repos/${this.owner}/${this.repo}`;
    const t = "2024-01-01T00:00:00Z";
    const u = (s: string): string => `${api}/${s}`;
    return {
      id: 1,
      node_id: nodeId("R", 1),
      name: this.repo,
      full_name: `${this.owner}/${this.repo}`,
      owner: this.#user(this.owner),
      private: true,
      html_url: this.#web(),
      description: null,
      fork: false,
      url: api,
      archive_url: u("{archive_format}{/ref}"),
      assignees_url: u("assignees{/user}"),
      blobs_url: u("git/blobs{/sha}"),
      branches_url: u("branches{/branch}"),
      collaborators_url: u("collaborators{/collaborator}"),
      comments_url: u("comments{/number}"),
      commits_url: u("commits{/sha}"),
      compare_url: u("compare/{base}...{head}"),
      contents_url: u("contents/{+path}"),
      contributors_url: u("contributors"),
      deployments_url: u("deployments"),
      downloads_url: u("downloads"),
      events_url: u("events"),
      forks_url: u("forks"),
      git_commits_url: u("git/commits{/sha}"),
      git_refs_url: u("git/refs{/sha}"),
      git_tags_url: u("git/tags{/sha}"),
      git_url: `git://127.0.0.1/${this.owner}/${this.repo}.git`,
      hooks_url: u("hooks"),
      issue_comment_url: u("issues/comments{/number}"),
      issue_events_url: u("issues/events{/number}"),
      issues_url: u("issues{/number}"),
      keys_url: u("keys{/key_id}"),
      labels_url: u("labels{/name}"),
      languages_url: u("languages"),
      merges_url: u("merges"),
      milestones_url: u("milestones{/number}"),
      notifications_url: u("notifications{?since,all,participating}"),
      pulls_url: u("pulls{/number}"),
      releases_url: u("releases{/id}"),
      ssh_url: `git@127.0.0.1:${this.owner}/${this.repo}.git`,
      stargazers_url: u("stargazers"),
      statuses_url: u("statuses/{sha}"),
      subscribers_url: u("subscribers"),
      subscription_url: u("subscription"),
      tags_url: u("tags"),
      teams_url: u("teams"),
      trees_url: u("git/trees{/sha}"),
      clone_url: `${this.#web()}.git`,
      mirror_url: null,
      svn_url: this.#web(),
      homepage: null,
      language: null,
      forks_count: 0,
      forks: 0,
      stargazers_count: 0,
      watchers_count: 0,
      watchers: 0,
      size: 1,
      default_branch: this.defaultBranch,
      open_issues_count: this.pulls({ state: "open" }).length,
      open_issues: this.pulls({ state: "open" }).length,
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_downloads: false,
      archived: false,
      disabled: false,
      license: null,
      pushed_at: t,
      created_at: t,
      updated_at: t,
      allow_auto_merge: this.#opts.autoMergeAllowed !== false,
    };
  }

  #labelJson(l: FakeLabel, variant: "simple" | "full"): Record<string, unknown> {
    return {
      id: l.id,
      node_id: nodeId("LA", l.id),
      url: `${this.baseUrl}/repos/${this.owner}/${this.repo}/labels/${encodeURIComponent(l.name)}`,
      name: l.name,
      // pull-request-simple documents description as a non-null string
      description: variant === "simple" ? "" : null,
      color: "ededed",
      default: false,
    };
  }

  #branchJson(ref: string): Record<string, unknown> {
    return { label: `${this.owner}:${ref}`, ref, sha: this.#branches.get(ref) ?? "0".repeat(40), user: this.#user(this.owner), repo: this.#repository() };
  }

  #pullJson(p: FakePull, variant: "simple" | "full"): Record<string, unknown> {
    const api = `${this.baseUrl}/repos/${this.owner}/${this.repo}`;
    const html = `${this.#web()}/pull/${p.number}`;
    const link = (href: string): { href: string } => ({ href });
    const common: Record<string, unknown> = {
      url: `${api}/pulls/${p.number}`,
      id: p.id,
      node_id: p.nodeId,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: `${api}/issues/${p.number}`,
      commits_url: `${api}/pulls/${p.number}/commits`,
      review_comments_url: `${api}/pulls/${p.number}/comments`,
      review_comment_url: `${api}/pulls/comments{/number}`,
      comments_url: `${api}/issues/${p.number}/comments`,
      statuses_url: `${api}/statuses/${this.#branches.get(p.head) ?? "0".repeat(40)}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      user: this.#user(p.author),
      body: p.body === "" ? null : p.body,
      labels: p.labels.map((l) => this.#labelJson(l, variant)),
      milestone: null,
      active_lock_reason: null,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      closed_at: p.closedAt,
      merged_at: p.mergedAt ?? null,
      merge_commit_sha: null,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      head: this.#branchJson(p.head),
      base: this.#branchJson(p.base),
      _links: {
        self: link(`${api}/pulls/${p.number}`),
        html: link(html),
        issue: link(`${api}/issues/${p.number}`),
        comments: link(`${api}/issues/${p.number}/comments`),
        review_comments: link(`${api}/pulls/${p.number}/comments`),
        review_comment: link(`${api}/pulls/comments{/number}`),
        commits: link(`${api}/pulls/${p.number}/commits`),
        statuses: link(`${api}/statuses/${this.#branches.get(p.head) ?? "0".repeat(40)}`),
      },
      author_association: p.author === BOT ? "NONE" : "MEMBER",
      auto_merge:
        p.autoMerge === null
          ? null
          : { enabled_by: this.#user(BOT), merge_method: p.autoMerge.mergeMethod.toLowerCase(), commit_title: p.title, commit_message: "" },
      draft: p.draft,
    };
    if (variant === "simple") return common;
    return {
      ...common,
      merged: (p.mergedAt ?? null) !== null,
      mergeable: null,
      rebaseable: null,
      mergeable_state: "unknown",
      merged_by: (p.mergedAt ?? null) !== null ? this.#user("octocat") : null,
      comments: p.comments.length,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: 1,
      additions: 1,
      deletions: 0,
      changed_files: 1,
    };
  }
}
