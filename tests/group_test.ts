import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  bytesSink,
  ConfigError,
  crc32,
  getGroup,
  Group,
  InvalidKeyError,
  Registry,
  SinkNotSetError,
  stringSink,
  truncatingBytesSink,
} from "../mod.ts";
import {
  keyOwnedByTheOther,
  makeCluster,
  seededRandom,
} from "./_dev/cluster.ts";

const utf8 = (s: string) => new TextEncoder().encode(s).length;

function localGroup(
  getter: ConstructorParameters<typeof Group>[2],
  cacheBytes = 1 << 20,
  name = "g",
  entryOverhead?: number,
) {
  return new Group(name, cacheBytes, getter, {
    registry: new Registry(),
    entryOverhead,
  });
}

/** Go's accounting (key bytes plus value bytes), for tests of Go's rules. */
const GO_ACCOUNTING = 0;

describe("Group on one node", () => {
  it("loads a key once and answers later gets from the cache", async () => {
    let calls = 0;
    const g = localGroup((key, dest) => {
      calls++;
      dest.setString("value of " + key);
    });
    assert.equal((await g.get("a")).toString(), "value of a");
    assert.equal((await g.get("a")).toString(), "value of a");
    assert.equal(calls, 1);
    assert.deepEqual({ ...g.stats }, {
      gets: 2,
      cacheHits: 1,
      peerLoads: 0,
      peerErrors: 0,
      loads: 1,
      loadsDeduped: 1,
      localLoads: 1,
      localLoadErrs: 0,
      serverRequests: 0,
      hotAdmissions: 0,
      hotRejections: 0,
      sets: 0,
      removes: 0,
      expirations: 0,
      notFounds: 0,
      negativeHits: 0,
      ownerErrors: 0,
      staleHits: 0,
      refreshes: 0,
      refreshErrors: 0,
      handoffHits: 0,
      handoffMisses: 0,
      handedOff: 0,
    });
  });

  it("runs the getter once for 10,000 concurrent gets of a cold key", async () => {
    let calls = 0;
    const g = localGroup(async (key, dest) => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      dest.setString(key);
    });
    const views = await Promise.all(
      Array.from({ length: 10_000 }, () => g.get("cold")),
    );
    assert.equal(calls, 1);
    assert.ok(views.every((v) => v.toString() === "cold"));
    assert.equal(g.stats.loads, 10_000);
    assert.equal(g.stats.loadsDeduped, 1);
  });

  // A synchronous getter finishes inside get(): nothing is in flight for the
  // next get to share, so each of the three runs it (and fails) again.
  const failures: [
    string,
    ConstructorParameters<typeof Group>[2],
    RegExp | (new (...a: never[]) => Error),
    number,
  ][] = [
    [
      "throws synchronously",
      () => {
        throw new Error("sync boom");
      },
      /sync boom/,
      3,
    ],
    [
      "rejects",
      async () => {
        await Promise.resolve();
        throw new Error("async boom");
      },
      /async boom/,
      1,
    ],
    [
      "throws a non-Error",
      () => {
        throw "a string";
      },
      /threw a string/,
      3,
    ],
    ["returns without setting the sink", () => {}, SinkNotSetError, 3],
    ["resolves without setting the sink", async () => {}, SinkNotSetError, 1],
  ];
  for (const [what, getter, expected, runs] of failures) {
    it(`gives every waiter a clear error when the getter ${what}, and does not cache it`, async () => {
      let calls = 0;
      const g = localGroup((key, dest, ctx) => {
        calls++;
        return (getter as (...a: unknown[]) => void | Promise<void>)(
          key,
          dest,
          ctx,
        );
      });
      const results = await Promise.allSettled([
        g.get("k"),
        g.get("k"),
        g.get("k"),
      ]);
      for (const r of results) {
        assert.equal(r.status, "rejected");
        assert.throws(() => {
          throw (r as PromiseRejectedResult).reason;
        }, expected);
      }
      assert.equal(calls, runs);
      assert.equal(g.stats.localLoadErrs, runs);
      // Not wedged and not cached: the next get runs the getter again.
      await assert.rejects(g.get("k"));
      assert.equal(calls, runs + 1);
      assert.equal(g.cacheStats("main").items, 0);
    });
  }

  it("counts UTF-8 key bytes plus value bytes", async () => {
    const g = localGroup(
      (_key, dest) => dest.setString("ü".repeat(3)),
      1 << 20,
      "g",
      GO_ACCOUNTING,
    );
    await g.get("日本");
    assert.equal(g.cacheStats("main").bytes, utf8("日本") + utf8("üüü"));
  });

  it("evicts the least recently used entries of the main cache to fit cacheBytes", async () => {
    // Each entry: 2-byte key + 8-byte value = 10 bytes; room for 3.
    const g = localGroup(
      (_key, dest) => dest.setString("12345678"),
      35,
      "g",
      GO_ACCOUNTING,
    );
    for (const k of ["k1", "k2", "k3"]) await g.get(k);
    await g.get("k1"); // refresh k1: k2 is now the oldest
    await g.get("k4");
    const main = g.cacheStats("main");
    assert.equal(main.items, 3);
    assert.equal(main.bytes, 30);
    assert.equal(main.evictions, 1);
    const before = g.stats.localLoads;
    await g.get("k2"); // evicted: loads again
    assert.equal(g.stats.localLoads, before + 1);
    await g.get("k1"); // kept
    assert.equal(g.stats.localLoads, before + 1);
  });

  it("caches nothing when cacheBytes is 0", async () => {
    for (const cacheBytes of [0]) {
      let calls = 0;
      const g = localGroup((key, dest) => {
        calls++;
        dest.setString(key);
      }, cacheBytes);
      await g.get("a");
      await g.get("a");
      assert.equal(calls, 2);
      assert.equal(g.stats.cacheHits, 0);
      assert.deepEqual(g.cacheStats("main"), {
        bytes: 0,
        items: 0,
        gets: 0,
        hits: 0,
        evictions: 0,
      });
    }
  });

  it("does not count a key twice when a second load of it is cached", async () => {
    // The first caller aborts, so the next caller starts a second load while
    // the first (which ignores its signal) still runs; both add the key.
    const releases: (() => void)[] = [];
    const g = localGroup(
      async (_key, dest) => {
        await new Promise<void>((r) => releases.push(r));
        dest.setString("value");
      },
      1 << 20,
      "g",
      GO_ACCOUNTING,
    );
    const ac = new AbortController();
    const first = g.get("k", { signal: ac.signal });
    ac.abort();
    await assert.rejects(first, { name: "AbortError" });
    const second = g.get("k");
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(releases.length, 2);
    releases[0]();
    releases[1]();
    await second;
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(g.stats.localLoads, 2);
    assert.deepEqual(g.cacheStats("main"), {
      bytes: utf8("k") + utf8("value"),
      items: 1,
      gets: g.cacheStats("main").gets,
      hits: 0,
      evictions: 0,
    });
  });

  it("lets one caller abort while the shared load goes on for the others", async () => {
    let seen: AbortSignal | undefined;
    let release!: () => void;
    const g = localGroup(async (key, dest, { signal }) => {
      seen = signal;
      await new Promise<void>((r) => (release = r));
      dest.setString(key);
    });
    const ac = new AbortController();
    const leaving = g.get("k", { signal: ac.signal });
    const staying = g.get("k");
    await new Promise((r) => setTimeout(r, 0));
    ac.abort(new Error("caller gave up"));
    await assert.rejects(leaving, /caller gave up/);
    assert.equal(seen?.aborted, false);
    release();
    assert.equal((await staying).toString(), "k");
    assert.equal(g.stats.localLoads, 1);
  });

  it("aborts the getter's signal when every caller has left", async () => {
    let seen: AbortSignal | undefined;
    const g = localGroup((_key, _dest, { signal }) => {
      seen = signal;
      return new Promise<void>((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason))
      );
    });
    const a = new AbortController();
    const b = new AbortController();
    const pa = g.get("k", { signal: a.signal });
    const pb = g.get("k", { signal: b.signal });
    await new Promise((r) => setTimeout(r, 0));
    a.abort();
    assert.equal(seen?.aborted, false);
    b.abort();
    assert.equal(seen?.aborted, true);
    await assert.rejects(pa, { name: "AbortError" });
    await assert.rejects(pb, { name: "AbortError" });
  });

  it("rejects at once for a signal that is already aborted", async () => {
    let calls = 0;
    const g = localGroup((key, dest) => {
      calls++;
      dest.setString(key);
    });
    await assert.rejects(g.get("k", { signal: AbortSignal.abort() }), {
      name: "AbortError",
    });
    assert.equal(calls, 0);
  });

  it("fills every kind of sink through getInto", async () => {
    const g = localGroup((_key, dest) => dest.setString("abcdef"));
    const s = stringSink();
    await g.getInto("k", s);
    assert.equal(s.value, "abcdef");
    const b = bytesSink();
    await g.getInto("k", b);
    b.value[0] = 0; // the caller's own copy
    assert.equal((await g.get("k")).toString(), "abcdef");
    const t = truncatingBytesSink(new Uint8Array(3));
    await g.getInto("k", t);
    assert.equal(new TextDecoder().decode(t.value), "abc");
    await assert.rejects(g.getInto("k", undefined as never), TypeError);
  });

  it("copies bytes a getter reuses", async () => {
    const buf = new Uint8Array([1, 2, 3]);
    const g = localGroup((_key, dest) => {
      dest.setBytes(buf);
      buf[0] = 99;
    });
    assert.deepEqual((await g.get("k")).toBytes(), new Uint8Array([1, 2, 3]));
  });

  it("accepts a getter object with a get method, as Go's Getter", async () => {
    const g = localGroup({ get: (key, dest) => dest.setString(key + "!") });
    assert.equal((await g.get("x")).toString(), "x!");
  });

  it("refuses a key that is not a string", async () => {
    const g = localGroup((key, dest) => dest.setString(key));
    await assert.rejects(g.get(42 as never), TypeError);
  });

  const badConfigs: [string, () => unknown][] = [
    [
      "an empty name",
      () => new Group("", 1, () => {}, { registry: new Registry() }),
    ],
    [
      "a NaN cacheBytes",
      () => new Group("x", NaN, () => {}, { registry: new Registry() }),
    ],
    ...[-1, -0.5, 1.5, Infinity, "1024" as never].map((
      cacheBytes,
    ): [string, () => unknown] => [
      `cacheBytes ${JSON.stringify(cacheBytes)} (not a whole number >= 0)`,
      () => new Group("x", cacheBytes, () => {}, { registry: new Registry() }),
    ]),
    [
      "no getter",
      () => new Group("x", 1, undefined as never, { registry: new Registry() }),
    ],
    [
      "peers without pickPeer",
      () =>
        new Group("x", 1, () => {}, {
          peers: {} as never,
          registry: new Registry(),
        }),
    ],
    [
      "a random that is not a function",
      () =>
        new Group("x", 1, () => {}, {
          random: 1 as never,
          registry: new Registry(),
        }),
    ],
  ];
  for (const [what, make] of badConfigs) {
    it(`refuses ${what} with a ConfigError`, () => {
      assert.throws(make, ConfigError);
    });
  }

  it("says how to fix a negative cacheBytes", () => {
    assert.throws(
      () => new Group("neg", -1, () => {}, { registry: new Registry() }),
      (err) =>
        err instanceof ConfigError &&
        /cacheBytes of group "neg" must be a whole number of bytes >= 0 \(0 disables caching\), got -1/
          .test(err.message),
    );
  });

  it("refuses a second group of the same name in one registry, not in another", () => {
    const registry = new Registry();
    new Group("dup", 1, () => {}, { registry });
    assert.throws(
      () => new Group("dup", 1, () => {}, { registry }),
      /already registered/,
    );
    assert.ok(new Group("dup", 1, () => {}, { registry: new Registry() }));
  });

  it("finds groups of the default registry with getGroup, as Go's GetGroup", () => {
    const g = new Group("group_test-default", 1, () => {});
    assert.equal(getGroup("group_test-default"), g);
    assert.equal(g.registry.delete("group_test-default"), true);
    assert.equal(getGroup("group_test-default"), undefined);
  });
});

describe("Group in an in-process cluster", () => {
  it("loads a key exactly once cluster-wide for 10,000 concurrent gets spread over the nodes", async () => {
    const c = makeCluster({
      nodes: 3,
      value: async (key) => {
        await new Promise((r) => setTimeout(r, 5));
        return `v:${key}`;
      },
    });
    const key = c.keyOwnedBy(1);
    const views = await Promise.all(
      Array.from({ length: 10_000 }, (_, i) => c.nodes[i % 3].group.get(key)),
    );
    assert.ok(views.every((v) => v.toString() === `v:${key}`));
    assert.equal(c.totalLoads(key), 1);
    assert.equal(c.nodes[1].loads.get(key), 1);
    assert.equal(c.nodes[0].group.stats.peerLoads, 1);
    assert.equal(c.nodes[2].group.stats.peerLoads, 1);
    assert.equal(c.nodes[1].group.stats.serverRequests, 2);
  });

  it("asks the owner, counts a peer load, and caches nothing in main for remote keys", async () => {
    const c = makeCluster({ nodes: 2, random: () => () => 0.5 });
    const key = c.keyOwnedBy(1);
    assert.equal((await c.nodes[0].group.get(key)).toString(), `v:${key}`);
    const s0 = c.nodes[0].group.stats;
    assert.equal(s0.peerLoads, 1);
    assert.equal(s0.localLoads, 0);
    assert.equal(c.nodes[0].group.cacheStats("main").items, 0);
    assert.equal(c.nodes[0].group.cacheStats("hot").items, 0);
    assert.equal(c.nodes[1].group.stats.serverRequests, 1);
    assert.equal(c.nodes[1].group.cacheStats("main").items, 1);
  });

  it("admits remote values to the hot cache exactly when random() < 0.1 (Go's Intn(10) == 0)", async () => {
    const draws: number[] = [];
    const rng = seededRandom(42);
    const c = makeCluster({
      nodes: 2,
      random: (i) =>
        i === 0
          ? () => {
            const r = rng();
            draws.push(r);
            return r;
          }
          : Math.random,
    });
    const keys = Array.from(
      { length: 200 },
      (_, i) => c.keyOwnedBy(1, `hot-${i}-`),
    );
    for (const key of keys) await c.nodes[0].group.get(key);
    assert.equal(draws.length, 200);
    const admitted = draws.filter((r) => r < 0.1).length;
    assert.ok(admitted > 0 && admitted < 200);
    assert.equal(c.nodes[0].group.cacheStats("hot").items, admitted);
    // Hot keys are answered locally; the others are asked for again.
    const requestsBefore = c.nodes[1].requests.length;
    for (const key of keys) await c.nodes[0].group.get(key);
    assert.equal(c.nodes[1].requests.length - requestsBefore, 200 - admitted);
  });

  it("evicts from the hot cache while it holds more than an eighth of main, else from main", async () => {
    // A model of Go's rule, checked against the group after a seeded mix of
    // local and remote loads under a tight budget.
    const cacheBytes = 400;
    const rng = seededRandom(7);
    const c = makeCluster({
      nodes: 2,
      cacheBytes,
      random: () => () => 0, /* always hot */
      groupOptions: { entryOverhead: GO_ACCOUNTING },
    });
    const main: [string, number][] = [];
    const hot: [string, number][] = [];
    let evictMain = 0, evictHot = 0;
    const sum = (xs: [string, number][]) => xs.reduce((a, [, n]) => a + n, 0);
    const node = c.nodes[0];
    for (let i = 0; i < 300; i++) {
      const owner = rng() < 0.5 ? 0 : 1;
      const key = c.keyOwnedBy(owner, `e${i}-`);
      const view = await node.group.get(key);
      const size = utf8(key) + view.length;
      (owner === 0 ? main : hot).push([key, size]);
      while (sum(main) + sum(hot) > cacheBytes) {
        if (sum(hot) > Math.floor(sum(main) / 8)) {
          hot.shift();
          evictHot++;
        } else {
          main.shift();
          evictMain++;
        }
      }
    }
    const gotMain = node.group.cacheStats("main");
    const gotHot = node.group.cacheStats("hot");
    assert.deepEqual([gotMain.items, gotMain.bytes, gotMain.evictions], [
      main.length,
      sum(main),
      evictMain,
    ]);
    assert.deepEqual([gotHot.items, gotHot.bytes, gotHot.evictions], [
      hot.length,
      sum(hot),
      evictHot,
    ]);
    assert.ok(evictHot > 0 && evictMain > 0);
  });

  it("falls back to a local load when the owner is down, counting a peer error", async () => {
    const errors: unknown[] = [];
    const c = makeCluster({
      nodes: 2,
      groupOptions: { onPeerError: (e) => errors.push(e) },
    });
    const key = c.keyOwnedBy(1);
    c.nodes[1].down = true;
    assert.equal((await c.nodes[0].group.get(key)).toString(), `v:${key}`);
    const s = c.nodes[0].group.stats;
    assert.equal(s.peerErrors, 1);
    assert.equal(s.localLoads, 1);
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error).name, "PeerError");
  });

  it("falls back to a local load when the owner's getter fails with onOwnerError load-locally, and reports the owner's message", async () => {
    const errors: unknown[] = [];
    const c = makeCluster({
      nodes: 2,
      value: (key, node) => {
        if (node === 1) throw new Error(`owner cannot load ${key}`);
        return `local:${key}`;
      },
      groupOptions: {
        onPeerError: (e) => errors.push(e),
        onOwnerError: "load-locally",
      },
    });
    const key = c.keyOwnedBy(1);
    assert.equal((await c.nodes[0].group.get(key)).toString(), `local:${key}`);
    const err = errors[0] as { status: number; body: string };
    assert.equal(err.status, 500);
    assert.match(err.body, /owner cannot load/);
  });

  it("loads a peer's request locally, never forwarding, even when the rings disagree", async () => {
    // Node 1 hashes differently, so some keys are "the other node's" on both.
    const c = makeCluster({
      nodes: 2,
      pool: (i) => i === 1 ? { hash: (s: string) => crc32(s + "#") } : {},
    });
    const key = keyOwnedByTheOther(c);
    assert.equal((await c.nodes[0].group.get(key)).toString(), `v:${key}`);
    assert.equal(c.nodes[1].loads.get(key), 1);
    assert.equal(c.nodes[0].requests.length, 0);
    assert.equal(c.totalLoads(key), 1);
  });

  it("refuses keys that cannot travel in a URL instead of loading them twice", async () => {
    const c = makeCluster({ nodes: 2 });
    for (const key of ["", ".", ".."]) {
      const owner = c.nodes[0].pool.owner(key) === c.urls[0] ? 0 : 1;
      const other = c.nodes[1 - owner];
      await assert.rejects(other.group.get(key), InvalidKeyError);
      assert.equal(other.group.stats.peerErrors, 0);
      assert.equal(c.totalLoads(key), 0);
      // The owner itself loads it fine.
      assert.equal(
        (await c.nodes[owner].group.get(key)).toString(),
        `v:${key}`,
      );
    }
  });
});
