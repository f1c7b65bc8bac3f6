import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createLogger } from "../../src/ops/logger.ts";
import { microTime, startLeaderElection, type LeaderElector } from "../../src/kube/leader-election.ts";
import { FakeApiServer } from "../helpers/fake-apiserver.ts";
import { until as untilWithin } from "../helpers/wait.ts";

const WAIT_MS = 15_000;
const TIMING = { leaseDurationMs: 1_000, renewDeadlineMs: 600, retryPeriodMs: 50, requestTimeoutMs: 2_000 };
const log = createLogger({ level: "silent", destination: new Writable({ write: (_c, _e, cb) => cb() }) });


const until = (cond: () => boolean, what: string) => untilWithin(cond, what, WAIT_MS);

describe("leader election on a Lease (fake apiserver)", () => {
  let api: FakeApiServer;
  const electors: LeaderElector[] = [];
  /** leaders at this moment, as the callbacks report it; the maximum ever seen must stay 1 */
  let leaders = 0;
  let maxLeaders = 0;
  const log2: string[] = [];

  beforeEach(async () => {
    api = await FakeApiServer.start();
    leaders = 0;
    maxLeaders = 0;
    log2.length = 0;
  });
  afterEach(async () => {
    for (const e of electors.splice(0)) await e.stop({ release: false });
    await api.close();
  });

  function candidate(identity: string): LeaderElector {
    const e = startLeaderElection({
      namespace: "wildseal",
      name: "wildseal-watch",
      identity,
      log,
      kubeConfig: api.kubeConfig(),
      timing: TIMING,
      onStartedLeading: () => {
        leaders += 1;
        maxLeaders = Math.max(maxLeaders, leaders);
        log2.push(`+${identity}`);
      },
      onStoppedLeading: () => {
        leaders -= 1;
        log2.push(`-${identity}`);
      },
    });
    electors.push(e);
    return e;
  }

  it("elects exactly one of two candidates, hands over on release, and never has two leaders", async () => {
    const a = candidate("replica-a");
    const b = candidate("replica-b");
    await until(() => a.isLeader() || b.isLeader(), "a leader");
    // let several renew periods pass: the other one must keep losing
    const writes = () => api.requests.filter((r) => r.method === "PUT").length;
    const before = writes();
    await until(() => writes() >= before + 10, "ten renewals");
    assert.equal(Number(a.isLeader()) + Number(b.isLeader()), 1);
    const [leader, follower] = a.isLeader() ? [a, b] : [b, a];
    await leader.stop(); // releases
    await until(() => follower.isLeader(), "the follower to take over after release");
    assert.equal(maxLeaders, 1, log2.join(" "));
  });

  it("takes over from a crashed leader only after the lease duration", async () => {
    const a = candidate("replica-a");
    await until(() => a.isLeader(), "a to lead");
    const b = candidate("replica-b");
    const writesBy = () => api.requests.filter((r) => r.method === "GET").length;
    const seen = writesBy();
    await until(() => writesBy() >= seen + 6, "b to observe the held Lease a few times");
    assert.equal(b.isLeader(), false, "a renews, so b must wait");
    await a.stop({ release: false }); // a crash: no release, no more renewals
    await until(() => b.isLeader(), "b to take over after expiry");
    assert.equal(maxLeaders, 1, log2.join(" "));
  });

  it("a leader that cannot renew steps down before its lease could be taken", async () => {
    let aborted = false;
    const e = startLeaderElection({
      namespace: "wildseal",
      name: "solo",
      identity: "replica-a",
      log,
      kubeConfig: api.kubeConfig(),
      timing: TIMING,
      onStartedLeading: (signal) => signal.addEventListener("abort", () => (aborted = true)),
    });
    electors.push(e);
    await until(() => e.isLeader(), "leading");
    api.failReads(503);
    await until(() => !e.isLeader(), "stepping down");
    assert.equal(aborted, true, "the leader's signal is aborted");
    api.failReads(undefined);
    await until(() => e.isLeader(), "leading again once the API answers");
  });

  it("formats MicroTime with six fractional digits", () => {
    assert.equal(microTime(new Date("2026-11-28T20:00:00.123Z")), "2026-11-28T20:00:00.123000Z");
  });
});
