import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { GeneratedCertificate } from "../../src/tls/generate.ts";
import { fixtureEnv, tempDir } from "../helpers/git-fixtures.ts";
import { until } from "../helpers/wait.ts";
import { seriesIn } from "../pipeline/rollout-time.ts";
import { makeSyncWorld } from "../pipeline/sync-world.ts";
import { filesOf, KubeletVolume } from "../pipeline/watch-world.ts";
import { startLoopbackIngress } from "../rollout/loopback-ingress.ts";
import { runCli } from "./run-cli.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

describe("wildseal watch --verify-rollout: flags", () => {
  it("usage errors exit 2 before anything starts, naming the flag", async () => {
    const base = ["watch", "--repo", "/nonexistent/remote.git", "--source-secret", "a/b"];
    const cases: Array<[string[], RegExp]> = [
      [[...base, "--probe-address", "acme.example.com=10.0.0.7:443"], /--probe-address needs --verify-rollout/],
      [[...base, "--verify-rollout", "--probe-address", "acme.example.com"], /--probe-address "acme.example.com": expected HOST=ADDRESS:PORT/],
      [[...base, "--verify-rollout", "--probe-address", "a.example.com=1.2.3.4", "--probe-address", "a.example.com=1.2.3.5"], /given more than once/],
      [[...base, "--verify-rollout", "--probe-interval", "often"], /--probe-interval "often": not a duration/],
      [[...base, "--verify-rollout", "--probe-timeout", "0s"], /--probe-timeout "0s": must be longer than zero/],
      [[...base, "--verify-rollout", "--rollout-deadline", "2d"], /--rollout-deadline "2d"/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it("--help lists the rollout flags and their defaults", async () => {
    const r = await runCli(["watch", "--help"]);
    for (const flag of ["--verify-rollout", "--probe-address", "--probe-timeout", "--probe-interval", "--rollout-deadline"]) assert.match(r.stdout, new RegExp(flag));
    assert.match(r.stdout, /--probe-interval <duration>[\s\S]*\(default: "1m"\)/);
    assert.match(r.stdout, /--rollout-deadline <duration>[\s\S]*\(default: "30m"\)/);
  });
});

describe("wildseal watch --verify-rollout: the real CLI as a process", () => {
  it("verifies the first publish against a loopback ingress and exports the rollout metrics on /metrics", { timeout: 120_000 }, async () => {
    const world = await makeSyncWorld(["acme", "beta"]);
    const ingress = await startLoopbackIngress();
    const dir = tempDir("wildseal-cli-rollout-");
    const material = await world.issue(5);
    const files = filesOf(material);
    const cert = { certPem: files["tls.crt"], keyPem: { reveal: () => files["tls.key"] } } as unknown as GeneratedCertificate;
    for (const h of ["acme.example.com", "beta.example.com"]) ingress.serve(h, cert);
    const volume = new KubeletVolume(`${dir.path}/secret`);
    await volume.create(files);
    const args = ["--repo", world.remote.path, "--source-file", volume.dir, "--listen", "127.0.0.1:0", "--debounce", "100ms"];
    const rollout = ["--verify-rollout", "--probe-address", `*.example.com=${ingress.address}`, "--probe-interval", "1s"];
    const proc = spawn(process.execPath, ["--import", "tsx", MAIN, "watch", ...args, ...rollout], { stdio: ["ignore", "pipe", "pipe"], env: { ...fixtureEnv(), NODE_OPTIONS: "" } });
    const messages: Array<{ msg: string; [k: string]: unknown }> = [];
    createInterface(proc.stderr!).on("line", (line) => messages.push(JSON.parse(line) as { msg: string }));
    try {
      await until(() => messages.some((m) => m.msg === "ops endpoint listening"), "the ops endpoint", 60_000);
      const url = `http://${String(messages.find((m) => m.msg === "ops endpoint listening")?.["listen"])}`;
      await until(() => messages.some((m) => m.msg === "rollout verified: every probed tenant serves its committed certificate"), () => messages.map((m) => m.msg).join(" | "), 60_000);
      const text = await (await fetch(`${url}/metrics`)).text();
      assert.equal(seriesIn(text, 'wildseal_tenants_by_rollout_state{state="current"}'), 2);
      assert.equal(seriesIn(text, 'wildseal_tenants_by_rollout_state{state="stale"}'), 0);
      assert.equal(seriesIn(text, "wildseal_served_certificate_not_after_seconds"), material.leaf.notAfter.getTime() / 1000);
      assert.match(text, /^# TYPE wildseal_rollout_duration_seconds histogram$/m);
      proc.kill("SIGTERM");
      const [code] = (await once(proc, "exit")) as [number | null];
      assert.equal(code, 0, messages.map((m) => m.msg).join(" | "));
      assert.equal(messages.at(-1)?.msg, "shut down cleanly");
    } finally {
      proc.kill("SIGKILL");
      await ingress.close();
      dir.cleanup();
      world.cleanup();
    }
  });
});
