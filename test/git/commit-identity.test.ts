import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../../src/errors.ts";
import { DEFAULT_AUTHOR, parseAuthor, resolveAuthor } from "../../src/git/commit-identity.ts";

describe("commit identity", () => {
  it("parses 'Name <email>' with spaces inside the name and around the parts", () => {
    assert.deepEqual(parseAuthor("  Platform Team Bot  <platform@example.com> ", "--author"), { name: "Platform Team Bot", email: "platform@example.com" });
  });

  for (const [text, why] of [
    ["ops@example.com", /it is not of the form Name <email>/],
    ["<ops@example.com>", /the name is empty/],
    ["Ops <ops>", /the email "ops" is not an address/],
    ["Ops <a@b> <c@d>", /it is not of the form Name <email>/],
    ["Ops\nEvil <ops@example.com>", /line break/],
  ] as const) {
    it(`refuses ${JSON.stringify(text)} with a usage error naming the source`, () => {
      assert.throws(() => parseAuthor(text, "WILDSEAL_AUTHOR"), (e: unknown) => e instanceof UsageError && e.message.startsWith("WILDSEAL_AUTHOR ") && why.test(e.message));
    });
  }

  it("resolves --author, then WILDSEAL_AUTHOR, then GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL together, then the default", () => {
    const env = { WILDSEAL_AUTHOR: "Env <env@example.com>", GIT_AUTHOR_NAME: "Git", GIT_AUTHOR_EMAIL: "git@example.com" };
    assert.deepEqual(resolveAuthor("Flag <flag@example.com>", env), { name: "Flag", email: "flag@example.com" });
    assert.deepEqual(resolveAuthor(undefined, env), { name: "Env", email: "env@example.com" });
    assert.deepEqual(resolveAuthor(undefined, { ...env, WILDSEAL_AUTHOR: "" }), { name: "Git", email: "git@example.com" });
    assert.deepEqual(resolveAuthor(undefined, { GIT_AUTHOR_NAME: "Git only" }), DEFAULT_AUTHOR);
    assert.deepEqual(resolveAuthor(undefined, {}), DEFAULT_AUTHOR);
  });
});
