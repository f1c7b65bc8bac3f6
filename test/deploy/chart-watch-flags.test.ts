import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Command } from "commander";
import { load } from "js-yaml";
import { escalationFromFlags } from "../../src/cli/escalation-flags.ts";
import { buildProgram } from "../../src/cli/main.ts";
import { parseDuration, type WatchFlags } from "../../src/cli/watch.ts";
import { parseProbeAddresses } from "../../src/rollout/probe-address.ts";
import { CHART, chartObjects, DEFAULT_VALUES, helm, SKIP_WITHOUT_HELM, valuesFile } from "./helm.ts";

// The chart's values for `watch --verify-rollout` and the escalation flags. Rendered with the helm
// test/e2e/setup builds into ~/.cache/wildseal-e2e (skipped without it); the rendered args are then parsed
// by the CLI's own commander program (its watch action swapped for a capture, so nothing starts) and
// checked by the same functions watch-action.ts runs on them before it starts anything.

interface K8sObject {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec?: Record<string, unknown>;
}
interface EgressRule {
  readonly ports: readonly { readonly port: number | string; readonly protocol: string }[];
  readonly to?: readonly Record<string, unknown>[];
}

function template(values: Record<string, unknown> = {}): K8sObject[] {
  return chartObjects<K8sObject>(["-f", valuesFile(values)]);
}

function argsOf(objs: readonly K8sObject[]): string[] {
  const d = objs.find((o) => o.kind === "Deployment") as { spec: { template: { spec: { containers: { args: string[] }[] } } } } | undefined;
  const args = d?.spec.template.spec.containers[0]?.args;
  assert.ok(args, "the chart rendered no Deployment with args");
  return args;
}

function egressOf(objs: readonly K8sObject[]): EgressRule[] {
  const np = objs.find((o) => o.kind === "NetworkPolicy") as { spec: { egress: EgressRule[] } } | undefined;
  assert.ok(np, "no NetworkPolicy rendered");
  return np.spec.egress;
}

/** The watch command of the CLI's own program, its action replaced: parsing runs, the watch does not. */
function watchCommand(): { program: Command; watch: Command; parsed: () => WatchFlags } {
  const err: string[] = [];
  const program = buildProgram({ io: { stdout: () => undefined, stderr: (s) => void err.push(s), stdin: process.stdin, env: {} }, exitCode: 0 });
  const watch = program.commands.find((c) => c.name() === "watch");
  assert.ok(watch, "the CLI has no watch command");
  let flags: WatchFlags | undefined;
  watch.action((f: WatchFlags) => {
    flags = f;
  });
  return {
    program,
    watch,
    parsed: () => {
      assert.ok(flags, `the watch action did not run: ${err.join("")}`);
      return flags;
    },
  };
}

/**
 * What `wildseal watch` makes of `args` up to where it would start: commander's parse (unknown flags and
 * missing values throw), then the flag checks of watch-action.ts that concern these values.
 */
async function acceptedByCli(args: readonly string[]): Promise<WatchFlags> {
  assert.equal(args[0], "watch");
  const cli = watchCommand();
  await cli.program.parseAsync([...args], { from: "user" });
  const flags = cli.parsed();
  for (const [value, flag] of [
    [flags.interval, "--interval"],
    [flags.debounce, "--debounce"],
    [flags.resync, "--resync"],
    [flags.probeTimeout, "--probe-timeout"],
    [flags.probeInterval, "--probe-interval"],
    [flags.rolloutDeadline, "--rollout-deadline"],
  ] as const) {
    parseDuration(value, flag);
  }
  const probeAddresses = parseProbeAddresses(flags.probeAddress ?? []);
  if (flags.verifyRollout !== true) assert.deepEqual(probeAddresses, [], "--probe-address without --verify-rollout is refused by watch");
  escalationFromFlags(flags);
  return flags;
}

const ROLLOUT_OR_ESCALATION = /^--(verify-rollout|probe-|rollout-deadline|warn-before|escalat)/;

const ALL = {
  git: { mode: "pull-request", credentials: { existingSecret: "wildseal-git" } },
  rolloutVerification: {
    enabled: true,
    probeAddresses: ["*.example.com=ingress-nginx-controller.ingress-nginx.svc:8443", "acme.example.com=[fd00::7]", "beta.example.org=10.0.0.7:443"],
    probeTimeout: "2s",
    probeInterval: "30s",
    deadline: "1h30m",
  },
  escalation: { warnBefore: "14d", escalateAfter: "1d12h", mentions: ["@acme/platform", "@alice"], label: "renewal-stuck" },
  networkPolicy: { enabled: true, egress: { probeTo: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }], probePorts: [443] } },
};

describe("Helm chart: watch's rollout verification and escalation flags", { skip: SKIP_WITHOUT_HELM }, () => {
  test("by default no rollout or escalation flag is passed, and the args are what they were before these values", async () => {
    const args = argsOf(template());
    assert.deepEqual(args, [
      "watch", "--repo=https://github.com/acme/gitops.git", "--branch=main", "--mode=push",
      "--source-secret=cert-manager/wildcard-example-com", "--listen=:8080", "--interval=1m", "--log-level=info",
    ]);
    const flags = await acceptedByCli(args);
    assert.equal(flags.verifyRollout, undefined);
    assert.deepEqual(escalationFromFlags(flags), { warnBeforeMs: 21 * 86_400_000, escalateAfterMs: 72 * 3_600_000, label: "wildseal-escalated", mentions: [] });
    // with a NetworkPolicy but no rollout verification: no rule for probes
    assert.equal(egressOf(template({ networkPolicy: { enabled: true } })).length, 2);
  });

  test("values.yaml's defaults are the CLI's defaults for every one of these flags", () => {
    const values = load(readFileSync(join(CHART, "values.yaml"), "utf8")) as {
      rolloutVerification: Record<string, unknown>;
      escalation: Record<string, unknown>;
    };
    const { watch } = watchCommand();
    const defaultOf = (long: string): unknown => {
      const o = watch.options.find((x) => x.long === long);
      assert.ok(o, `watch has no ${long}`);
      return o.defaultValue;
    };
    assert.deepEqual(
      {
        enabled: values.rolloutVerification["enabled"],
        probeAddresses: values.rolloutVerification["probeAddresses"],
        probeTimeout: values.rolloutVerification["probeTimeout"],
        probeInterval: values.rolloutVerification["probeInterval"],
        deadline: values.rolloutVerification["deadline"],
        warnBefore: values.escalation["warnBefore"],
        escalateAfter: values.escalation["escalateAfter"],
        mentions: values.escalation["mentions"],
        label: values.escalation["label"],
      },
      {
        enabled: defaultOf("--verify-rollout") ?? false,
        probeAddresses: defaultOf("--probe-address") ?? [],
        probeTimeout: defaultOf("--probe-timeout"),
        probeInterval: defaultOf("--probe-interval"),
        deadline: defaultOf("--rollout-deadline"),
        warnBefore: defaultOf("--warn-before"),
        escalateAfter: defaultOf("--escalate-after"),
        mentions: defaultOf("--escalate-mention") ?? [],
        label: defaultOf("--escalation-label"),
      },
    );
  });

  test("every value set: each becomes its flag, the CLI parses them all to those values, the NetworkPolicy lets the probes out", async () => {
    const objs = template(ALL);
    const args = argsOf(objs);
    assert.deepEqual(args.filter((a) => ROLLOUT_OR_ESCALATION.test(a)), [
      "--verify-rollout",
      "--probe-address=*.example.com=ingress-nginx-controller.ingress-nginx.svc:8443",
      "--probe-address=acme.example.com=[fd00::7]",
      "--probe-address=beta.example.org=10.0.0.7:443",
      "--probe-timeout=2s",
      "--probe-interval=30s",
      "--rollout-deadline=1h30m",
      "--warn-before=14d",
      "--escalate-after=1d12h",
      "--escalate-mention=@acme/platform",
      "--escalate-mention=@alice",
      "--escalation-label=renewal-stuck",
    ]);
    const flags = await acceptedByCli(args);
    assert.equal(flags.verifyRollout, true);
    assert.deepEqual(flags.probeAddress, ALL.rolloutVerification.probeAddresses);
    assert.deepEqual(
      parseProbeAddresses(flags.probeAddress ?? []).map((r) => `${r.pattern} ${r.address.host} ${r.address.port}`),
      ["*.example.com ingress-nginx-controller.ingress-nginx.svc 8443", "acme.example.com fd00::7 443", "beta.example.org 10.0.0.7 443"],
    );
    assert.deepEqual(
      [flags.probeTimeout, flags.probeInterval, flags.rolloutDeadline].map((d, i) => parseDuration(d, `#${i}`)),
      [2_000, 30_000, 5_400_000],
    );
    assert.deepEqual(escalationFromFlags(flags), { warnBeforeMs: 14 * 86_400_000, escalateAfterMs: 36 * 3_600_000, label: "renewal-stuck", mentions: ["@acme/platform", "@alice"] });

    const egress = egressOf(objs);
    assert.equal(egress.length, 3, "DNS, egress.ports, and the probes");
    assert.deepEqual(egress[2], {
      ports: [{ port: 8443, protocol: "TCP" }, { port: 443, protocol: "TCP" }],
      to: ALL.networkPolicy.egress.probeTo,
    });
  });

  test("escalation: \"0\" turns a check off; the pull-request-only flags are not passed in push mode", async () => {
    const args = argsOf(template({ escalation: { warnBefore: 0, escalateAfter: "0", mentions: ["@alice"], label: "x" } }));
    assert.deepEqual(args.filter((a) => ROLLOUT_OR_ESCALATION.test(a)), ["--warn-before=0"]);
    assert.equal(escalationFromFlags(await acceptedByCli(args)).warnBeforeMs, 0);
  });

  test("rollout verification without probe addresses probes every host on 443 at its DNS name: the NetworkPolicy allows 443", async () => {
    const objs = template({ rolloutVerification: { enabled: true }, networkPolicy: { enabled: true } });
    const args = argsOf(objs);
    assert.deepEqual(args.filter((a) => ROLLOUT_OR_ESCALATION.test(a)), ["--verify-rollout", "--probe-timeout=5s", "--probe-interval=1m", "--rollout-deadline=30m"]);
    await acceptedByCli(args);
    assert.deepEqual(egressOf(objs)[2], { ports: [{ port: 443, protocol: "TCP" }] });
  });

  test("bad values fail helm template with a message naming the value", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ rolloutVerification: { enabled: true, probeAddresses: ["nonsense"] } }, /at '\/rolloutVerification\/probeAddresses\/0': 'nonsense' does not match pattern/],
      [{ rolloutVerification: { enabled: true, probeAddresses: ["acme.example.com=::1"] } }, /at '\/rolloutVerification\/probeAddresses\/0'/],
      [{ rolloutVerification: { enabled: true, probeAddresses: ["a.example.com=1.2.3.4", "a.example.com=1.2.3.4"] } }, /at '\/rolloutVerification\/probeAddresses': items at 0 and 1 are equal/],
      [{ rolloutVerification: { probeAddresses: ["acme.example.com=10.0.0.7:443"] } }, /rolloutVerification\.probeAddresses needs rolloutVerification\.enabled=true/],
      [{ rolloutVerification: { probeTimeout: "1.5s" } }, /at '\/rolloutVerification\/probeTimeout': '1\.5s' does not match pattern/],
      [{ rolloutVerification: { deadline: 30 } }, /at '\/rolloutVerification\/deadline': got number, want string/],
      [{ rolloutVerification: { enable: true } }, /at '\/rolloutVerification': additional properties 'enable' not allowed/],
      [{ escalation: { warnBefore: "3 weeks" } }, /at '\/escalation\/warnBefore': '3 weeks' does not match pattern/],
      [{ escalation: { escalateAfter: 72 } }, /at '\/escalation\/escalateAfter': value must be 0/],
      [{ escalation: { mentions: ["platform-team"] } }, /at '\/escalation\/mentions\/0': 'platform-team' does not match pattern/],
      [{ escalation: { label: "x".repeat(51) } }, /at '\/escalation\/label': maxLength: got 51, want 50/],
    ];
    for (const [values, message] of cases) {
      assert.throws(() => template(values), message, JSON.stringify(values));
    }
  });

  // Each of these rendered (the old schema let it through) and the pod then exited 2 on its first start.
  test("values wildseal watch would refuse fail helm template with a message naming the value, and the CLI refuses them too", async () => {
    const probe = (address: string): Record<string, unknown> => ({ rolloutVerification: { enabled: true, probeAddresses: [address] } });
    const schema = (path: string, value: string): RegExp => new RegExp(`at '${path}': '${value.replace(/[.*[\]]/g, "\\$&")}' does not match pattern`);
    const cases: Array<[Record<string, unknown>, RegExp, string[]]> = [
      [probe("acme.example.com=[10.0.0.7]:443"), schema("/rolloutVerification/probeAddresses/0", "acme.example.com=[10.0.0.7]:443"), ["--verify-rollout", "--probe-address=acme.example.com=[10.0.0.7]:443"]],
      [probe("acme.example.com=[1:2]"), schema("/rolloutVerification/probeAddresses/0", "acme.example.com=[1:2]"), ["--verify-rollout", "--probe-address=acme.example.com=[1:2]"]],
      [probe("acme.example.com=10.0.0.7:0"), schema("/rolloutVerification/probeAddresses/0", "acme.example.com=10.0.0.7:0"), ["--verify-rollout", "--probe-address=acme.example.com=10.0.0.7:0"]],
      [probe("acme.example.com=10.0.0.7:99999"), schema("/rolloutVerification/probeAddresses/0", "acme.example.com=10.0.0.7:99999"), ["--verify-rollout", "--probe-address=acme.example.com=10.0.0.7:99999"]],
      [probe("acme.example.com=[::1]:65536"), schema("/rolloutVerification/probeAddresses/0", "acme.example.com=[::1]:65536"), ["--verify-rollout", "--probe-address=acme.example.com=[::1]:65536"]],
      [{ rolloutVerification: { probeTimeout: "0s" } }, schema("/rolloutVerification/probeTimeout", "0s"), ["--probe-timeout=0s"]],
      [{ rolloutVerification: { probeInterval: "0h0m" } }, schema("/rolloutVerification/probeInterval", "0h0m"), ["--probe-interval=0h0m"]],
      [{ rolloutVerification: { deadline: "48h" } }, /rolloutVerification\.deadline is "48h": wildseal watch's --rollout-deadline takes at most 24h; give e\.g\. 30m or 24h/, ["--rollout-deadline=48h"]],
      [{ rolloutVerification: { deadline: "24h1ms" } }, /rolloutVerification\.deadline is "24h1ms": .* at most 24h/, ["--rollout-deadline=24h1ms"]],
      [{ rolloutVerification: { probeTimeout: "1441m" } }, /rolloutVerification\.probeTimeout is "1441m": .* at most 24h/, ["--probe-timeout=1441m"]],
      [{ interval: "1.5m" }, schema("/interval", "1.5m"), ["--interval=1.5m"]],
      [{ interval: "0s" }, schema("/interval", "0s"), ["--interval=0s"]],
      [{ interval: "" }, schema("/interval", ""), ["--interval="]],
      [{ interval: "25h" }, /interval is "25h": wildseal watch's --interval takes at most 24h/, ["--interval=25h"]],
      [{ resync: "1.5m" }, schema("/resync", "1.5m"), ["--resync=1.5m"]],
      [{ resync: "30s1m" }, schema("/resync", "30s1m"), ["--resync=30s1m"]],
      [{ resync: "86400001ms" }, /resync is "86400001ms": wildseal watch's --resync takes at most 24h/, ["--resync=86400001ms"]],
      [{ debounce: "1.5s" }, schema("/debounce", "1.5s"), ["--debounce=1.5s"]],
      [{ escalation: { warnBefore: "400d" } }, /escalation\.warnBefore is "400d": wildseal watch's --warn-before takes at most 366d; give e\.g\. 21d or 366d/, ["--warn-before=400d"]],
      [{ escalation: { warnBefore: "365d24h1s" } }, /escalation\.warnBefore is "365d24h1s": .* at most 366d/, ["--warn-before=365d24h1s"]],
      // more digits than atoi (int64) holds: must not wrap around to a small number
      [{ escalation: { warnBefore: "99999999999999999999d" } }, /escalation\.warnBefore is "99999999999999999999d": .* at most 366d/, ["--warn-before=99999999999999999999d"]],
      [{ escalation: { escalateAfter: "8785h" } }, /escalation\.escalateAfter is "8785h": wildseal watch's --escalate-after takes at most 366d/, ["--escalate-after=8785h"]],
      [{ escalation: { warnBefore: "0d" } }, schema("/escalation/warnBefore", "0d"), ["--warn-before=0d"]],
      [{ escalation: { escalateAfter: "0h0m" } }, schema("/escalation/escalateAfter", "0h0m"), ["--escalate-after=0h0m"]],
    ];
    for (const [values, message, flags] of cases) {
      assert.throws(() => template(values), message, JSON.stringify(values));
      // what the chart refuses is what the pod would exit 2 on (not merely something the chart dislikes)
      await assert.rejects(acceptedByCli(["watch", "--repo=x", ...flags]), /./, `the CLI accepts ${flags.join(" ")}`);
    }
  });

  test("values at the CLI's bounds render, and the CLI accepts what the chart rendered from them", async () => {
    const cases: Array<[Record<string, unknown>, (f: WatchFlags) => void]> = [
      [{ rolloutVerification: { deadline: "24h", probeTimeout: "1ms", probeInterval: "1439m60s" } }, (f) => {
        assert.deepEqual([f.rolloutDeadline, f.probeTimeout, f.probeInterval].map((d) => parseDuration(d, "x")), [86_400_000, 1, 86_400_000]);
      }],
      [{ rolloutVerification: { deadline: "23h59m59s999ms", probeTimeout: "0h0m0s1ms", probeInterval: "086400000ms" } }, (f) => {
        assert.deepEqual([f.rolloutDeadline, f.probeTimeout, f.probeInterval].map((d) => parseDuration(d, "x")), [86_399_999, 1, 86_400_000]);
      }],
      [{ interval: "24h", resync: "1440m", debounce: "1ms" }, (f) => {
        assert.deepEqual([f.interval, f.resync, f.debounce].map((d) => parseDuration(d, "x")), [86_400_000, 86_400_000, 1]);
      }],
      [{ escalation: { warnBefore: "366d", escalateAfter: "8784h" } }, (f) => {
        const e = escalationFromFlags(f);
        assert.deepEqual([e.warnBeforeMs, e.escalateAfterMs], [366 * 86_400_000, 366 * 86_400_000]);
      }],
      [{ escalation: { warnBefore: "365d23h59m60s", escalateAfter: "1s" } }, (f) => {
        const e = escalationFromFlags(f);
        assert.deepEqual([e.warnBeforeMs, e.escalateAfterMs], [366 * 86_400_000, 1_000]);
      }],
      [{ escalation: { warnBefore: "0", escalateAfter: 0 } }, (f) => {
        const e = escalationFromFlags(f);
        assert.deepEqual([e.warnBeforeMs, e.escalateAfterMs], [0, 0]);
      }],
    ];
    for (const [values, check] of cases) {
      const args = argsOf(template({ ...values, git: { mode: "pull-request", credentials: { existingSecret: "wildseal-git" } }, rolloutVerification: { enabled: true, ...(values["rolloutVerification"] as object) } }));
      check(await acceptedByCli(args));
    }

    // probe addresses: every one renders, the CLI reads it to this host and port, and the NetworkPolicy opens that port
    const addresses: Array<[string, string, number]> = [
      ["a.example.com=[::1]:443", "::1", 443],
      ["b.example.com=[::1]", "::1", 443],
      ["c.example.com=[::ffff:10.0.0.7]:65535", "::ffff:10.0.0.7", 65535],
      ["d.example.com=[fe80::1%eth0]:1", "fe80::1%eth0", 1],
      ["e.example.com=[1:2:3:4:5:6:7:8]:8443", "1:2:3:4:5:6:7:8", 8443],
      ["f.example.com=[FD00::A]", "fd00::a", 443],
      ["g.example.com=10.0.0.7:65535", "10.0.0.7", 65535],
      ["*.h.example.com=ingress.ns.svc:9999", "ingress.ns.svc", 9999],
    ];
    const objs = template({ rolloutVerification: { enabled: true, probeAddresses: addresses.map(([a]) => a) }, networkPolicy: { enabled: true } });
    const flags = await acceptedByCli(argsOf(objs));
    assert.deepEqual(
      parseProbeAddresses(flags.probeAddress ?? []).map((r) => [r.address.host, r.address.port]),
      addresses.map(([, host, port]) => [host, port]),
    );
    assert.deepEqual(egressOf(objs)[2]?.ports.map((p) => p.port), [443, 65535, 1, 8443, 9999]);
  });

  test("helm lint --strict passes with every one of these values set", () => {
    const out = helm(["lint", "--strict", CHART, "--namespace", "wildseal", "-f", DEFAULT_VALUES, "-f", valuesFile(ALL)]);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });
});
