import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("../../", import.meta.url).pathname;

test("a reader that closed stdout (wildseal … | head) ends the command quietly with its exit code, no EPIPE stack trace", async () => {
  // the read end is closed long before the CLI has loaded and writes its first byte
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), "--help"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.destroy();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  assert.equal(stderr, "");
  assert.equal(code, 0);
});
