import { test } from "node:test";
import assert from "node:assert/strict";
import { OpenApiValidator, toJsonSchema } from "../helpers/openapi.ts";
import { FakeGitHub } from "../helpers/fake-github.ts";

const validator = OpenApiValidator.load();

function createMatch() {
  const m = validator.match("POST", "/repos/acme/gitops/pulls");
  assert.ok(m !== undefined);
  return m;
}

test("a pull-request response missing `number` is rejected", async () => {
  // a real, valid response from the stand-in, then broken in one field
  const fake = await FakeGitHub.start({ token: "t" });
  try {
    fake.pushBranch("wildseal/renew-0123456789ab");
    const res = await fetch(`${fake.baseUrl}/repos/acme/gitops/pulls`, {
      method: "POST",
      headers: { authorization: "token t", "content-type": "application/json" },
      body: JSON.stringify({ title: "t", head: "wildseal/renew-0123456789ab", base: "main" }),
    });
    const pr = (await res.json()) as Record<string, unknown>;
    fake.assertValid();
    assert.deepEqual(validator.validateResponse(createMatch(), 201, pr), []);
    const { number: _dropped, ...withoutNumber } = pr;
    const violations = validator.validateResponse(createMatch(), 201, withoutNumber);
    assert.equal(violations.length, 1);
    assert.match(violations[0]?.message ?? "", /must have required property 'number'/);
    const wrongType = validator.validateResponse(createMatch(), 201, { ...pr, state: 3 });
    assert.match(wrongType[0]?.message ?? "", /\/state must be string/);
  } finally {
    await fake.close();
  }
});

test("a create-pull-request request with a numeric title is rejected", () => {
  const { violations } = validator.validateRequest("POST", new URL("http://h/repos/acme/gitops/pulls"), { title: 42, head: "a", base: "main" });
  assert.deepEqual(violations.map((v) => [v.operation, v.where]), [["pulls/create", "body"]]);
  assert.match(violations[0]?.message ?? "", /\/title must be string/);
});

test("unknown query parameters, ill-typed path parameters and unknown routes are rejected", () => {
  const q = validator.validateRequest("GET", new URL("http://h/repos/acme/gitops/pulls?state=open&colour=red"), undefined);
  assert.deepEqual(q.violations.map((v) => v.message), ['unknown query parameter "colour"']);
  const e = validator.validateRequest("GET", new URL("http://h/repos/acme/gitops/pulls?state=opened"), undefined);
  assert.match(e.violations[0]?.message ?? "", /must be equal to one of the allowed values/);
  const p = validator.validateRequest("PATCH", new URL("http://h/repos/acme/gitops/pulls/abc"), { title: "x" });
  assert.match(p.violations.map((v) => v.message).join(), /pull_number=abc/);
  const r = validator.validateRequest("POST", new URL("http://h/repos/acme/gitops/pull-requests"), {});
  assert.deepEqual(r.violations.map((v) => v.where), ["route"]);
});

test("an undocumented status is rejected unless marked as injected", () => {
  assert.match(validator.validateResponse(createMatch(), 418, { message: "teapot" })[0]?.message ?? "", /418 is not documented/);
  assert.deepEqual(validator.validateResponse(createMatch(), 502, { message: "x" }, { undocumentedStatusOk: true }), []);
});

test("routes prefer literal segments, and a trailing ref may contain slashes", () => {
  assert.equal(validator.match("GET", "/repos/a/b/pulls/comments")?.operationId, "pulls/list-review-comments-for-repo");
  assert.equal(validator.match("GET", "/repos/a/b/pulls/7")?.operationId, "pulls/get");
  const ref = validator.match("DELETE", "/repos/a/b/git/refs/heads/wildseal/renew-0123456789ab");
  assert.equal(ref?.operationId, "git/delete-ref");
  assert.equal(ref?.pathParams.ref, "heads/wildseal/renew-0123456789ab");
});

test("OpenAPI nullable becomes a JSON Schema null type, also on enums and $ref compositions", () => {
  assert.deepEqual(toJsonSchema({ type: "string", nullable: true }), { type: ["string", "null"] });
  assert.deepEqual(toJsonSchema({ type: "string", enum: ["a"], nullable: true }), { type: ["string", "null"], enum: ["a", null] });
  assert.deepEqual(toJsonSchema({ allOf: [{ $ref: "#/components/schemas/x" }], nullable: true }), {
    anyOf: [{ allOf: [{ $ref: "https://openapi.github.test/components/schemas/x" }] }, { type: "null" }],
  });
  // a property literally named "nullable" is a property, not the keyword
  assert.deepEqual(toJsonSchema({ type: "object", properties: { nullable: { type: "boolean" } } }), {
    type: "object",
    properties: { nullable: { type: "boolean" } },
  });
});
