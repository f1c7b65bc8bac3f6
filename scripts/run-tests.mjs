#!/usr/bin/env node
// Runs every test file through Node's built-in runner with tsx.
// Node 20's `node --test DIR` ignores .ts files and exits 0 having run nothing, so the files are
// listed here explicitly, and zero files or zero tests is a failure, not a pass.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawn } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const dirs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["test"];

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (name === "fixtures" || name === "vectors" || name === "e2e") continue;
    if (statSync(full).isDirectory()) out.push(...collect(full));
    else if (name.endsWith(".test.ts")) out.push(full);
  }
  return out;
}

const files = dirs.flatMap((d) => collect(join(root, d))).map((f) => relative(root, f));
if (files.length === 0) {
  console.error(`run-tests: no *.test.ts files under ${dirs.join(", ")}`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", "--test-reporter-destination=stdout",
   "--test-reporter=./scripts/count-reporter.mjs", "--test-reporter-destination=.test-count", ...files],
  { cwd: root, stdio: "inherit" },
);
child.on("exit", async (code, signal) => {
  if (signal) { console.error(`run-tests: killed by ${signal}`); process.exit(1); }
  const { readFileSync } = await import("node:fs");
  let passed = 0;
  try { passed = Number(readFileSync(join(root, ".test-count"), "utf8").trim()); } catch { passed = 0; }
  if (code === 0 && !(passed > 0)) {
    console.error("run-tests: zero tests ran; treating as failure");
    process.exit(1);
  }
  process.exit(code ?? 1);
});
