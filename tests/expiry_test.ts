// Expiry (TTL): from the getter (through the sink or a returned
// { value, expire }), from the group's ttlMs, in the main and the hot cache,
// across the wire (GetResponse field 3), and values that arrive expired.
// Every clock here is injected.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  ByteView,
  ConfigError,
  decodeGetResponseMessage,
  GetterError,
  Group,
  type GroupOptions,
  HttpPool,
  PeerError,
  Registry,
} from "../mod.ts";
import { makeCluster } from "./_dev/cluster.ts";

/** A clock the test moves, counting its reads. */
function testClock(start = 1_000_000) {
  const clock = {
    t: start,
    reads: 0,
    now: () => {
      clock.reads++;
      return clock.t;
    },
  };
  return clock;
}

function localGroup(
  getter: ConstructorParameters<typeof Group>[2],
  options: GroupOptions = {},
) {
  return new Group("g", 1 << 20, getter, {
    registry: new Registry(),
    ...options,
  });
}

describe("Expiry on one node", () => {
  const forms: [
    string,
    (expire: () => number) => ConstructorParameters<typeof Group>[2],
  ][] = [
    [
      "dest.setBytes(bytes, expire)",
      (e) => (_key, dest) => dest.setBytes(new Uint8Array([1, 2]), e()),
    ],
    [
      "dest.setString(text, expire)",
      (e) => (_key, dest) => dest.setString("\x01\x02", e()),
    ],
    [
      "dest.setView(view, expire)",
      (e) => (_key, dest) =>
        dest.setView(new ByteView(new Uint8Array([1, 2])), e()),
    ],
    [
      "a returned { value, expire }",
      (e) => () => ({ value: new Uint8Array([1, 2]), expire: e() }),
    ],
    [
      "a returned ByteView with an expiry",
      (e) => () => new ByteView(new Uint8Array([1, 2]), e()),
    ],
  ];
  for (const [what, make] of forms) {
    it(`keeps a value given through ${what} until its expiry, then loads again`, async () => {
      const clock = testClock();
      let loads = 0;
      const inner = make(() => clock.t + 100);
      const g = localGroup((key, dest, ctx) => {
        loads++;
        return typeof inner === "function" ? inner(key, dest, ctx) : undefined;
      }, { now: clock.now });
      const first = await g.get("k");
      assert.equal(first.expire, 1_000_100);
      assert.deepEqual(first.toBytes(), new Uint8Array([1, 2]));
      clock.t += 99;
      await g.get("k");
      assert.equal(loads, 1);
      clock.t += 1; // the expiry instant
      await g.get("k");
      assert.equal(loads, 2);
      assert.equal(g.stats.expirations, 1);
      assert.equal(g.stats.cacheHits, 1);
      assert.equal(g.cacheStats("main").items, 1); // the fresh value
      assert.equal(g.cacheStats("main").evictions, 0); // an expiry is not an eviction
    });
  }

  it("reads no clock on a hit of a value without an expiry", async () => {
    const clock = testClock();
    const g = localGroup((key) => key, { now: clock.now });
    await g.get("k");
    const before = clock.reads;
    for (let i = 0; i < 1000; i++) await g.get("k");
    assert.equal(clock.reads, before);
    assert.equal(before, 0);
  });

  it("gives values without an expiry the group's ttlMs, and leaves the getter's own", async () => {
    const clock = testClock();
    const g = localGroup(
      (key) => key === "own" ? { value: key, expire: clock.t + 5 } : key,
      {
        now: clock.now,
        ttlMs: 1000,
      },
    );
    assert.equal((await g.get("plain")).expire, clock.t + 1000);
    assert.equal((await g.get("own")).expire, clock.t + 5);
    clock.t += 999;
    assert.equal((await g.get("plain")).expire, clock.t - 999 + 1000); // still cached
    clock.t += 1;
    assert.equal((await g.get("plain")).expire, clock.t + 1000); // loaded again
    assert.equal(g.stats.localLoads, 3);
  });

  it("hands out a value that is already expired, but does not cache it", async () => {
    const clock = testClock();
    let loads = 0;
    const g = localGroup(() => {
      loads++;
      return { value: "stale", expire: clock.t - 1 };
    }, { now: clock.now });
    assert.equal((await g.get("k")).toString(), "stale");
    await g.get("k");
    assert.equal(loads, 2);
    assert.equal(g.cacheStats("main").items, 0);
  });

  const badExpires: [string, unknown][] = [["NaN", NaN], ["a string", "soon"], [
    "undefined",
    undefined,
  ], ["Infinity", Infinity]];
  for (const [what, expire] of badExpires) {
    it(`fails with a GetterError when a getter returns { value, expire: ${what} }`, async () => {
      const g = localGroup(() => ({ value: "v", expire: expire as number }));
      await assert.rejects(g.get("k"), GetterError);
      assert.equal(g.cacheStats("main").items, 0);
    });
  }

  it("refuses a sink expiry that is not a finite number", async () => {
    const g = localGroup((_key, dest) => dest.setString("v", NaN));
    await assert.rejects(g.get("k"), TypeError);
  });

  const badOptions: [string, GroupOptions][] = [
    ["a negative ttlMs", { ttlMs: -1 }],
    ["an infinite ttlMs", { ttlMs: Infinity }],
    ["a string ttlMs", { ttlMs: "60s" as unknown as number }],
    ["a clock that is not a function", { now: 5 as unknown as () => number }],
  ];
  for (const [what, options] of badOptions) {
    it(`refuses ${what} with a ConfigError`, () => {
      assert.throws(() => localGroup((k) => k, options), ConfigError);
    });
  }
});

describe("Expiry across nodes", () => {
  it("keeps the owner's expiry in the requester's hot cache, and fetches again after it", async () => {
    const clock = testClock();
    const c = makeCluster({
      nodes: 2,
      groupOptions: { now: clock.now, hotCache: "always" },
      getter: () => (key) => ({ value: `v:${key}`, expire: clock.t + 50 }),
    });
    const key = c.keyOwnedBy(1);
    const requester = c.nodes[0].group;
    const first = await requester.get(key);
    assert.equal(first.expire, clock.t + 50);
    assert.equal(requester.cacheStats("hot").items, 1);
    clock.t += 49;
    await requester.get(key);
    assert.equal(requester.stats.peerLoads, 1);
    clock.t += 1;
    await requester.get(key);
    assert.equal(requester.stats.peerLoads, 2);
    assert.equal(requester.stats.expirations, 1);
    // The owner's own entry expired at the same instant and was loaded again.
    assert.equal(c.nodes[1].group.stats.localLoads, 2);
  });

  it("gives a hot copy of a value sent without an expiry the requester's ttlMs", async () => {
    const clock = testClock();
    const c = makeCluster({
      nodes: 2,
      groupOptions: { now: clock.now, hotCache: "always" },
    });
    const ttl = new Group("ttl", 1 << 20, (k) => k, {
      peers: c.nodes[0].pool,
      now: clock.now,
      ttlMs: 30,
      hotCache: "always",
    });
    new Group("ttl", 1 << 20, (k) => k, {
      peers: c.nodes[1].pool,
      now: clock.now,
    });
    const key = c.keyOwnedBy(1);
    assert.equal((await ttl.get(key)).expire, clock.t + 30);
    clock.t += 30;
    await ttl.get(key);
    assert.equal(ttl.stats.peerLoads, 2);
  });

  it("rejects a value that arrives already expired: a peer error, then a local load", async () => {
    const owner = testClock(5_000), requester = testClock(10_000); // clocks apart
    const errors: unknown[] = [];
    const c = makeCluster({ nodes: 2 });
    // Two groups of their own, each on its own clock.
    const a = new Group("clocks", 1 << 20, (key) => `local:${key}`, {
      peers: c.nodes[0].pool,
      now: requester.now,
      onPeerError: (err) => errors.push(err),
    });
    new Group(
      "clocks",
      1 << 20,
      (key) => ({ value: `owner:${key}`, expire: owner.t + 1000 }),
      {
        peers: c.nodes[1].pool,
        now: owner.now,
      },
    );
    const key = c.keyOwnedBy(1);
    assert.equal((await a.get(key)).toString(), `local:${key}`);
    assert.equal(a.stats.peerErrors, 1);
    assert.equal(a.stats.peerLoads, 0);
    assert.equal(a.stats.localLoads, 1);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof PeerError);
    assert.equal((errors[0] as PeerError).reason, "expired");
    assert.equal((errors[0] as PeerError).peer, c.urls[1]);
  });
});

describe("Expiry on the wire (the handler's GetResponse)", () => {
  const cases: [string, "golang" | "mailgun", number, string][] = [
    [
      '"mg:a" without an expiry, golang ring: golang\'s bytes',
      "golang",
      0,
      "0a046d673a61",
    ],
    [
      '"mg:a" without an expiry, mailgun ring: 18 00 as mailgun writes',
      "mailgun",
      0,
      "0a046d673a611800",
    ],
    [
      '"mg:a" with an expiry, golang ring: field 3 in nanoseconds',
      "golang",
      1796135835635,
      "0a046d673a6118c0c5fe9aeb80caf618",
    ],
  ];
  for (const [what, ring, expire, bytes] of cases) {
    it(`answers ${what}`, async () => {
      const pool = new HttpPool("http://a:1", {
        registry: new Registry(),
        ring,
      });
      pool.newGroup("g", 1 << 20, (key) => ({ value: key, expire }), {
        now: () => 0,
      });
      const res = await pool.handler(
        new Request("http://a:1/_groupcache/g/mg:a"),
      );
      assert.equal(res.status, 200);
      const body = new Uint8Array(await res.arrayBuffer());
      assert.equal(Buffer.from(body).toString("hex"), bytes);
      const { expire: ns } = decodeGetResponseMessage(body);
      assert.equal(
        ns,
        ring === "mailgun" || expire !== 0
          ? BigInt(expire) * 1_000_000n
          : undefined,
      );
    });
  }
});
