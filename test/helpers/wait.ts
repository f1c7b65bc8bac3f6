import assert from "node:assert/strict";

/**
 * The one way tests wait for something asynchronous: poll, and fail naming what was awaited (and the
 * last error the probe threw) once `ms` have passed. Never a fixed sleep standing in for a condition.
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last = "";
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) {
      const name = typeof what === "string" ? what : what();
      assert.fail(`timed out after ${ms} ms waiting for ${name}${last ? ` (last error: ${last})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until `cond` holds. */
export async function until(cond: () => boolean | Promise<boolean>, what: string | (() => string), ms = 30_000): Promise<void> {
  await waitFor(what, async () => ((await cond()) ? true : undefined), ms);
}
