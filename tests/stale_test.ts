// Stale values (issue 22): staleMs serves an expired value at once while one
// refresh runs (on the owner, once for the cluster); staleIfErrorMs serves it
// while refreshing fails, retrying about once a second; neither outlives its
// bound.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  Group,
  type GroupOptions,
  type Logger,
  Registry,
} from "../mod.ts";
import { makeCluster } from "./_dev/cluster.ts";
import { loopbackCluster } from "./_dev/loopback_cluster.ts";

const MiB = 1 << 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A group on a clock of its own whose getter's answers the test controls. */
function controlled(options: GroupOptions) {
  const clock = { now: 10_000 };
  let version = 0;
  let failing = false;
  let gate: Promise<void> | undefined;
  const warnings: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (line) => warnings.push(String(line)),
    error() {},
  };
  const g = new Group("stale", MiB, async (key) => {
    version++;
    await gate;
    if (failing) throw new Error(`origin down for ${key}`);
    return `${key} v${version}`;
  }, {
    registry: new Registry(),
    now: () => clock.now,
    ttlMs: 1_000,
    logger,
    ...options,
  });
  return {
    g,
    clock,
    warnings,
    runs: () => version,
    fail(on: boolean) {
      failing = on;
    },
    /** Holds getter runs until the returned function is called. */
    hold(): () => void {
      let open!: () => void;
      gate = new Promise((resolve) => open = resolve);
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

describe("staleMs (stale-while-revalidate)", () => {
  it("serves an expired value at once while one refresh runs, then the refreshed one", async () => {
    const t = controlled({ staleMs: 5_000 });
    assert.equal((await t.g.get("k")).toString(), "k v1");
    t.clock.now += 1_500; // expired 500 ms ago
    const release = t.hold();
    const views = await Promise.all([1, 2, 3].map(() => t.g.get("k")));
    assert.deepEqual(views.map(String), ["k v1", "k v1", "k v1"]);
    assert.equal(t.runs(), 2); // one refresh, still running
    release();
    await sleep(5);
    assert.equal((await t.g.get("k")).toString(), "k v2");
    const s = t.g.stats;
    assert.deepEqual([s.staleHits, s.refreshes, s.localLoads], [3, 1, 2]);
  });

  it("never serves a value past staleMs: then the caller waits for the getter", async () => {
    const t = controlled({ staleMs: 5_000 });
    await t.g.get("k");
    t.clock.now += 1_000 + 5_000; // the end of the window
    t.fail(true);
    await assert.rejects(t.g.get("k"), /origin down for k/);
    t.fail(false);
    assert.equal((await t.g.get("k")).toString(), "k v3");
    assert.equal(t.g.stats.staleHits, 0);
  });

  it("keeps serving within staleMs when the refresh fails, retrying at most once a second, logging once", async () => {
    const t = controlled({ staleMs: 5_000 });
    await t.g.get("k");
    t.fail(true);
    t.clock.now += 1_100;
    for (let i = 0; i < 20; i++) {
      assert.equal((await t.g.get("k")).toString(), "k v1");
      await sleep(0);
    }
    assert.equal(t.runs(), 2);
    t.clock.now += 1_000;
    assert.equal((await t.g.get("k")).toString(), "k v1");
    await sleep(1);
    assert.equal(t.runs(), 3);
    assert.equal(t.g.stats.refreshErrors, 1); // once per key, not per retry
    assert.equal(t.warnings.length, 1);
    assert.match(t.warnings[0], /key "k": refreshing its expired value failed/);
  });

  it("answers a refreshing owner's peers with its stale value, one getter run for the cluster", async () => {
    const clock = { now: 10_000 };
    let release!: () => void;
    const gate = { wait: Promise.resolve() };
    const c = makeCluster({
      nodes: 3,
      value: async (key) => {
        await gate.wait;
        return `${key} at ${clock.now}`;
      },
      groupOptions: {
        now: () => clock.now,
        ttlMs: 1_000,
        staleMs: 5_000,
        hotCache: "never",
      },
    });
    const key = c.keyOwnedBy(2);
    assert.equal(
      (await c.nodes[0].group.get(key)).toString(),
      `${key} at 10000`,
    );
    clock.now += 2_000;
    gate.wait = new Promise((r) => release = r);
    for (const node of c.nodes) {
      const view = await node.group.get(key);
      assert.equal(view.toString(), `${key} at 10000`);
      assert.ok(view.expire <= clock.now); // its real expiry travels with it
    }
    release();
    await sleep(5);
    assert.equal(
      (await c.nodes[1].group.get(key)).toString(),
      `${key} at 12000`,
    );
    assert.equal(c.totalLoads(key), 2);
    assert.equal(c.nodes[2].group.stats.refreshes, 1);
  });

  it("serves a non-owner's expired hot copy and refreshes it from the owner in the background", async () => {
    const clock = { now: 10_000 };
    const c = makeCluster({
      nodes: 2,
      value: (key) => `${key} at ${clock.now}`,
      groupOptions: {
        now: () => clock.now,
        ttlMs: 1_000,
        staleMs: 5_000,
        hotCache: "always",
      },
    });
    const key = c.keyOwnedBy(1);
    const [a, owner] = c.nodes;
    await a.group.get(key);
    clock.now += 1_500;
    await owner.group.get(key); // stale there too: the owner refreshes
    await sleep(5);
    const requests = owner.requests.length;
    assert.equal((await a.group.get(key)).toString(), `${key} at 10000`);
    await sleep(5);
    assert.equal(owner.requests.length, requests + 1); // the refresh
    assert.equal((await a.group.get(key)).toString(), `${key} at 11500`);
    assert.equal(a.group.stats.staleHits, 1);
  });
});

describe("staleIfErrorMs (stale-if-error)", () => {
  it("serves the expired value while refreshing fails, until staleIfErrorMs, then the getter's error", async () => {
    const t = controlled({ staleIfErrorMs: 10_000 });
    await t.g.get("k");
    t.fail(true);
    t.clock.now += 1_000; // expired now: the caller waits, the refresh fails
    assert.equal((await t.g.get("k")).toString(), "k v1");
    for (let i = 0; i < 10; i++) {
      t.clock.now += 100;
      assert.equal((await t.g.get("k")).toString(), "k v1");
    }
    assert.equal(t.runs(), 3); // the first failure, one retry a second later
    t.clock.now = 10_000 + 1_000 + 10_000 - 1;
    assert.equal((await t.g.get("k")).toString(), "k v1");
    t.clock.now += 1; // the bound
    await assert.rejects(t.g.get("k"), /origin down for k/);
    assert.equal(t.warnings.length, 1);
    const s = t.g.stats;
    assert.deepEqual([s.staleHits, s.refreshErrors], [12, 1]);
  });

  it("forgets the failure once a refresh succeeds", async () => {
    const t = controlled({ staleIfErrorMs: 10_000 });
    await t.g.get("k");
    t.fail(true);
    t.clock.now += 1_000;
    assert.equal((await t.g.get("k")).toString(), "k v1");
    t.fail(false);
    t.clock.now += 1_000;
    assert.equal((await t.g.get("k")).toString(), "k v3");
    assert.equal((await t.g.get("k")).toString(), "k v3"); // cached again
    t.fail(true);
    t.clock.now += 1_000; // v3 expired: a new streak of failures
    assert.equal((await t.g.get("k")).toString(), "k v3");
    assert.equal(t.g.stats.refreshErrors, 2);
    assert.equal(t.warnings.length, 2);
  });

  it("serves a peer the owner's stale value when the owner's refresh fails", async () => {
    const clock = { now: 10_000 };
    let failing = false;
    const c = makeCluster({
      nodes: 2,
      value: (key) => {
        if (failing) throw new Error("origin down");
        return `${key} ok`;
      },
      groupOptions: {
        now: () => clock.now,
        ttlMs: 1_000,
        staleIfErrorMs: 10_000,
        hotCache: "never",
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      },
    });
    const key = c.keyOwnedBy(1);
    await c.nodes[0].group.get(key);
    failing = true;
    clock.now += 5_000;
    assert.equal((await c.nodes[0].group.get(key)).toString(), `${key} ok`);
    assert.equal(c.nodes[0].loads.get(key), undefined);
    clock.now += 6_000;
    await assert.rejects(c.nodes[0].group.get(key), { reason: "getter" });
  });

  it("refuses a staleMs or staleIfErrorMs it cannot use", () => {
    const registry = new Registry();
    for (const bad of [-1, NaN, Infinity, "5"]) {
      for (const option of ["staleMs", "staleIfErrorMs"]) {
        assert.throws(
          () => new Group("bad", MiB, () => "", { registry, [option]: bad }),
          ConfigError,
        );
      }
    }
  });
});

describe("stale values over loopback HTTP, 3 nodes", () => {
  it("no get waits for a 1 s getter once values are warm, and each key refreshes about once per TTL", async () => {
    const runs = new Map<string, number>();
    const c = await loopbackCluster(3, "swr", () => async (key) => {
      runs.set(key, (runs.get(key) ?? 0) + 1);
      await sleep(1_000);
      return `${key}@${Date.now()}`;
    }, { ttlMs: 300, staleMs: 5_000 });
    try {
      const keys = ["a", "b", "c", "d", "e", "f"];
      await Promise.all(keys.map((k) => c.nodes[0].group.get(k)));
      let slowest = 0;
      const start = performance.now();
      while (performance.now() - start < 1_500) {
        await Promise.all(keys.flatMap((k) =>
          c.nodes.map(async (node) => {
            const t0 = performance.now();
            await node.group.get(k);
            slowest = Math.max(slowest, performance.now() - t0);
          })
        ));
        await sleep(10);
      }
      assert.ok(slowest < 700, `slowest get ${slowest.toFixed(0)} ms`);
      const seconds = (performance.now() - start) / 1000;
      for (const k of keys) {
        // One warm-up run, then at most one per TTL + the getter's time.
        assert.ok(
          runs.get(k)! <= 2 + seconds / 0.7 + 1,
          `${k}: ${runs.get(k)}`,
        );
      }
    } finally {
      await c.close();
    }
  });

  it("with staleIfErrorMs, an origin that dies causes no errors for keys that had a value until the bound", async () => {
    let dead = false;
    const c = await loopbackCluster(3, "sie", () => (key) => {
      if (dead) throw new Error("origin down");
      return `${key} ok`;
    }, {
      ttlMs: 200,
      staleIfErrorMs: 3_000,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    try {
      const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
      await Promise.all(keys.map((k) => c.nodes[0].group.get(k)));
      dead = true;
      const diedAt = performance.now();
      let errors = 0;
      while (performance.now() - diedAt < 1_000) {
        const got = await Promise.allSettled(
          keys.flatMap((k) => c.nodes.map((n) => n.group.get(k))),
        );
        errors += got.filter((g) => g.status === "rejected").length;
        await sleep(20);
      }
      assert.equal(errors, 0);
      await sleep(2_500); // past every value's expiry + staleIfErrorMs
      for (const node of c.nodes) {
        await assert.rejects(node.group.get("k0"), /origin down/);
      }
    } finally {
      await c.close();
    }
  });
});
