import assert from "node:assert/strict";
import { test } from "node:test";
import { lineLog } from "../src/line-log.ts";

test("lineLog writes every level's text, and only warnings and errors of a quiet component", () => {
  const lines: string[] = [];
  const log = lineLog((l) => lines.push(l), { quiet: ["github"] });
  log.debug("cloning");
  log.info({ commit: "abc" }, "pushed");
  const gh = log.child({ component: "github" });
  gh.debug("GET /repos/acme/gitops - 200 in 12ms");
  gh.info("GET /repos/acme/gitops/pulls - 200 in 15ms");
  gh.warn({ retryAfter: 3 }, "GitHub secondary rate limit: waiting before retrying");
  gh.child({ request: 1 }).error("GitHub gave up");
  log.child({ component: "git" }).debug("git: pushed");
  assert.deepEqual(lines, ["cloning", "pushed", "GitHub secondary rate limit: waiting before retrying", "GitHub gave up", "git: pushed"]);
});
