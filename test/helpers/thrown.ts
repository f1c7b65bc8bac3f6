import assert from "node:assert/strict";

/**
 * The error `f` throws, checked to be a `kind` — for tests that go on to read its message, exit code or
 * diagnostics (assert.throws only matches). Fails when `f` returns normally.
 */
export function thrownBy<E extends Error>(f: () => unknown, kind: abstract new (...args: never[]) => E): E {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof kind, String(e));
    return e;
  }
  assert.fail(`expected ${kind.name} to be thrown`);
}

/** The error `p` rejects with; fails when it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof Error, String(e));
    return e;
  }
  assert.fail("expected a rejection");
}
