// Tests of the load core (issue 9): the node owns its groups, getters that
// return values, bounded loads, no leaks, re-entrance, honest stats, and the
// one Get path shared by local callers and peers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  ByteView,
  ConfigError,
  crc32,
  decodeGetResponse,
  GetterError,
  Group,
  HttpPool,
  LoadTimeoutError,
  type PeerPicker,
  Registry,
  SinkNotSetError,
} from "../mod.ts";
import { keyOwnedByTheOther, makeCluster } from "./_dev/cluster.ts";
import { collector } from "./_dev/memory.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A peer that accepts every request and never answers (until aborted). */
const silentPeer = (_input: string, init: RequestInit) =>
  new Promise<Response>((_resolve, reject) =>
    init.signal?.addEventListener("abort", () => reject(init.signal!.reason))
  );

function localGroup(
  getter: ConstructorParameters<typeof Group>[2],
  options: Omit<ConstructorParameters<typeof Group>[3], "registry"> = {},
) {
  return new Group("g", 1 << 20, getter, {
    registry: new Registry(),
    ...options,
  });
}

describe("A node owns its groups", () => {
  it("lets a group made without peers ask its registry's pool (Go's habit)", async () => {
    const urls = ["http://n0.test", "http://n1.test"];
    const pools: HttpPool[] = [];
    const fetch = (input: string, init: RequestInit) =>
      pools[urls.findIndex((u) => input.startsWith(u + "/"))].handler(
        new Request(input, init),
      );
    const loads = [0, 0];
    const groups = urls.map((url, i) => {
      const registry = new Registry();
      // The pool first, as Go's NewHTTPPool; then a group with no peers.
      pools.push(new HttpPool(url, { registry, fetch }));
      pools[i].set(...urls);
      return new Group("g", 1 << 20, (key) => {
        loads[i]++;
        return `${i}:${key}`;
      }, { registry });
    });
    const key = ["a", "b", "c", "d", "e", "f", "g", "h"].find((k) =>
      pools[0].owner(k) === urls[1]
    )!;
    assert.equal((await groups[0].get(key)).toString(), `1:${key}`);
    assert.deepEqual(loads, [0, 1]);
    assert.equal(groups[0].stats.peerLoads, 1);
  });

  it("makes a group on the node with pool.newGroup", async () => {
    const registry = new Registry();
    const pool = new HttpPool("http://a.test", { registry });
    const g = pool.newGroup("made", 1024, (key) => key.toUpperCase());
    assert.equal(g.registry, registry);
    assert.equal(registry.get("made"), g);
    assert.equal((await g.get("x")).toString(), "X");
  });

  it("joins the registry of its peers pool when given only peers", () => {
    const registry = new Registry();
    const pool = new HttpPool("http://a.test", { registry });
    const g = new Group("joined", 1024, (key) => key, { peers: pool });
    assert.equal(g.registry, registry);
  });

  it("refuses a second pool on one registry, with a ConfigError", () => {
    const registry = new Registry();
    new HttpPool("http://a.test", { registry });
    assert.throws(
      () => new HttpPool("http://b.test", { registry }),
      (err) =>
        err instanceof ConfigError && /one HttpPool per node/.test(err.message),
    );
  });

  it("keeps a group in exactly one registry", () => {
    const registry = new Registry();
    const g = new Group("only", 1024, (key) => key, { registry });
    assert.throws(() => new Registry().add(g), ConfigError);
    assert.throws(() => registry.add(g), ConfigError);
  });

  it("joins its pool's registry, and a pool serves one registry only", () => {
    const pool = new HttpPool("http://a.test", { registry: new Registry() });
    const g = new Group("joined", 1024, (k) => k, { peers: pool });
    assert.equal(g.registry, pool.registry);
    assert.throws(
      () => new Registry().registerPeerPicker(pool),
      (err) =>
        err instanceof ConfigError && /another registry/.test(err.message),
    );
  });

  it("is served by its pool again once deleted from its registry and added back", async () => {
    const pool = new HttpPool("http://a.test", { registry: new Registry() });
    const g = pool.newGroup("back", 1024, (k) => `v:${k}`);
    const ask = () =>
      pool.handler(new Request("http://a.test/_groupcache/back/k"));
    pool.registry.delete("back");
    assert.equal((await ask()).status, 404);
    pool.registry.add(g);
    assert.equal((await ask()).status, 200);
    assert.equal(g.stats.serverRequests, 1);
  });

  it("serves the group now registered under a name, not the last one served", async () => {
    const pool = new HttpPool("http://a.test", { registry: new Registry() });
    pool.newGroup("swap", 1024, (k) => `old:${k}`);
    const ask = async () => {
      const res = await pool.handler(
        new Request("http://a.test/_groupcache/swap/k"),
      );
      return new TextDecoder().decode(
        decodeGetResponse(new Uint8Array(await res.arrayBuffer())),
      );
    };
    assert.equal(await ask(), "old:k");
    pool.registry.delete("swap");
    pool.newGroup("swap", 1024, (k) => `new:${k}`);
    assert.equal(await ask(), "new:k");
  });

  it("refuses a registry other than the one its peers pool serves", () => {
    const pool = new HttpPool("http://a.test", { registry: new Registry() });
    assert.throws(
      () =>
        new Group("x", 1024, (k) => k, {
          peers: pool,
          registry: new Registry(),
        }),
      ConfigError,
    );
  });

  it("refuses a group name peers could not ask for (a lone surrogate)", () => {
    assert.throws(
      () =>
        new Group("bad\ud800", 1024, (k) => k, { registry: new Registry() }),
      ConfigError,
    );
  });

  it("takes any object with pickPeer as peers (PeerPicker is pickPeer only)", async () => {
    const asked: string[] = [];
    const picker: PeerPicker = {
      pickPeer: () => ({
        url: "custom",
        get: (_group, k) => {
          asked.push(k);
          return Promise.resolve(new ByteView(`remote:${k}`));
        },
      }),
    };
    const g = new Group("custom", 1024, (key) => key, {
      peers: picker,
      registry: new Registry(),
    });
    assert.equal((await g.get("k")).toString(), "remote:k");
    assert.deepEqual(asked, ["k"]);
  });
});

describe("Getters that return values", () => {
  const returns: [string, unknown, string][] = [
    ["a string", "text", "text"],
    ["a Uint8Array", new TextEncoder().encode("bytes"), "bytes"],
    ["a ByteView", new ByteView("view"), "view"],
    ["an empty string", "", ""],
  ];
  for (const [what, value, expected] of returns) {
    for (const mode of ["synchronously", "from a promise"]) {
      it(`caches ${what} returned ${mode}`, async () => {
        let calls = 0;
        const g = localGroup(() => {
          calls++;
          const v = value as string;
          return mode === "synchronously" ? v : Promise.resolve(v);
        });
        assert.equal((await g.get("k")).toString(), expected);
        assert.equal((await g.get("k")).toString(), expected);
        assert.equal(calls, 1);
        assert.equal(g.stats.localLoads, 1);
      });
    }
  }

  it("copies a returned Uint8Array, as setBytes does", async () => {
    const buffer = new TextEncoder().encode("first");
    const g = localGroup(() => buffer);
    await g.get("k");
    buffer.fill(0);
    assert.equal((await g.get("k")).toString(), "first");
  });

  // [what, the value, what the message calls it]
  const wrong: [string, unknown, string][] = [
    ["a number", 42, "a number"],
    ["null", null, "null"],
    ["a value without its expire", { value: "x" }, "{ value, expire }"],
    ["an object", { name: "x" }, "an object"],
    ["an ArrayBuffer", new ArrayBuffer(2), "an object"],
    ["a boolean", true, "a boolean"],
  ];
  for (const [what, value, called] of wrong) {
    it(`fails with a GetterError, uncached, when the getter returns ${what}`, async () => {
      let calls = 0;
      const g = localGroup(() => {
        calls++;
        return value as string;
      });
      await assert.rejects(
        g.get("k"),
        (err) =>
          err instanceof GetterError && err.group === "g" && err.key === "k" &&
          err.message.includes(`the getter returned ${called}`) &&
          /Uint8Array, a string or a ByteView/.test(err.message),
      );
      await assert.rejects(g.get("k"), GetterError);
      assert.equal(calls, 2);
      assert.equal(g.stats.localLoadErrs, 2);
      assert.equal(g.cacheStats("main").items, 0);
    });
  }

  it("fails with a GetterError when the getter both fills dest and returns a value", async () => {
    const g = localGroup((key, dest) => {
      dest.setString(key);
      return key;
    });
    await assert.rejects(
      g.get("k"),
      (err) =>
        err instanceof GetterError &&
        /both filled dest and returned/.test(err.message),
    );
    assert.equal(g.cacheStats("main").items, 0);
  });

  it("still fails with a SinkNotSetError when it neither returns nor fills", async () => {
    await assert.rejects(localGroup(async () => {}).get("k"), SinkNotSetError);
  });
});

describe("Bounded loads", () => {
  it("defaults loadTimeoutMs to 30 s and refuses a negative or non-number bound", () => {
    assert.equal(localGroup((k) => k).loadTimeoutMs, 30_000);
    for (const bad of [-1, Number.NaN, "5"]) {
      assert.throws(
        () => localGroup((k) => k, { loadTimeoutMs: bad as number }),
        ConfigError,
      );
    }
  });

  it("fails every waiter with a LoadTimeoutError, aborts the getter and frees the key", async () => {
    const signals: AbortSignal[] = [];
    const g = localGroup((_key, _dest, { signal }) => {
      signals.push(signal);
      return new Promise<string>(() => {}); // never settles
    }, { loadTimeoutMs: 40 });
    const started = performance.now();
    const waiters = [
      g.get("k"),
      g.get("k"),
      g.get("k", { signal: new AbortController().signal }),
    ];
    for (const waiter of waiters) {
      await assert.rejects(
        waiter,
        (err) =>
          err instanceof LoadTimeoutError && err.group === "g" &&
          err.key === "k" && err.timeoutMs === 40 &&
          /did not settle within 40 ms/.test(err.message),
      );
    }
    const elapsed = performance.now() - started;
    assert.ok(
      elapsed >= 35 && elapsed < 2_000,
      `timed out after ${elapsed} ms`,
    );
    assert.equal(signals.length, 1);
    assert.equal(signals[0].aborted, true);
    assert.ok(signals[0].reason instanceof LoadTimeoutError);
    // The key is free: the next get starts a fresh load.
    const next = g.get("k");
    await tick();
    assert.equal(signals.length, 2);
    await assert.rejects(next, LoadTimeoutError);
  });

  it("bounds a peer fetch that never answers even when the pool's timeout is longer", async () => {
    const c = makeCluster({
      nodes: 2,
      pool: { timeoutMs: 60_000 },
      groupOptions: { loadTimeoutMs: 40 },
    });
    const key = c.keyOwnedBy(1);
    // Node 1 accepts the request and never answers.
    const hang = new HttpPool(c.urls[0], {
      registry: new Registry(),
      fetch: silentPeer,
      timeoutMs: 60_000,
    });
    hang.set(...c.urls);
    const g = new Group("test", 1 << 20, (k) => k, {
      peers: hang,
      loadTimeoutMs: 40,
    });
    await assert.rejects(g.get(key), LoadTimeoutError);
    assert.equal(g.stats.peerErrors, 0);
  });

  it("runs without a bound when loadTimeoutMs is 0", async () => {
    let release!: (v: string) => void;
    const g = localGroup(() => new Promise<string>((r) => (release = r)), {
      loadTimeoutMs: 0,
    });
    const pending = g.get("k");
    await new Promise((resolve) => setTimeout(resolve, 30));
    release("late");
    assert.equal((await pending).toString(), "late");
  });
});

describe("Re-entrance", () => {
  it("gives a getter that gets its own key synchronously a GetterError at once", async () => {
    const g: Group = localGroup((key) => g.get(key).then((v) => v.toString()));
    await assert.rejects(
      g.get("k"),
      (err) =>
        err instanceof GetterError && err.key === "k" &&
        /its own group for the key it is loading/.test(err.message),
    );
  });

  it("bounds a getter that gets its own key after an await, and says so", async () => {
    const g: Group = localGroup(async (key) => {
      await tick();
      return (await g.get(key)).toString();
    }, { loadTimeoutMs: 40 });
    await assert.rejects(
      g.get("k"),
      (err) =>
        err instanceof LoadTimeoutError &&
        /get of its own key/.test(err.message),
    );
  });
});

describe("Honest stats", () => {
  it("does not count a caller's abort during a peer fetch as a peer error", async () => {
    const c = makeCluster({ nodes: 2 });
    const key = c.keyOwnedBy(1);
    const hanging = new HttpPool(c.urls[0], {
      registry: new Registry(),
      fetch: silentPeer,
    });
    hanging.set(...c.urls);
    const errors: unknown[] = [];
    const g = hanging.newGroup("test", 1 << 20, (k) => k, {
      onPeerError: (e) => errors.push(e),
    });
    const callers = Array.from({ length: 20 }, () => new AbortController());
    const gets = callers.map((ac) => g.get(key, { signal: ac.signal }));
    await tick();
    for (const ac of callers) ac.abort(new Error("caller left"));
    for (const get of gets) await assert.rejects(get, /caller left/);
    await tick();
    assert.equal(g.stats.peerErrors, 0);
    assert.equal(errors.length, 0);
    assert.equal(g.stats.localLoads, 0);
  });
});

describe("One Get path for callers and peers", () => {
  it("shares one getter run between a local get and a peer's request", async () => {
    let calls = 0;
    let release!: () => void;
    const registry = new Registry();
    const pool = new HttpPool("http://a.test", { registry });
    const g = pool.newGroup("g", 1 << 20, async (key) => {
      calls++;
      await new Promise<void>((r) => (release = r));
      return key;
    });
    const local = g.get("k");
    const fromPeer = pool.handler(new Request("http://a.test/_groupcache/g/k"));
    await tick();
    release();
    assert.equal((await local).toString(), "k");
    assert.equal((await fromPeer).status, 200);
    assert.equal(calls, 1);
    assert.equal(g.stats.serverRequests, 1);
  });

  it("loads here at once when a peer asks for a key this node is asking that peer for (rings disagree)", async () => {
    const c = makeCluster({
      nodes: 2,
      pool: (i) => ({
        timeoutMs: 30_000,
        ...(i === 1 ? { hash: (s: string) => crc32(s + "#") } : {}),
      }),
      value: async (key) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return `v:${key}`;
      },
    });
    const key = keyOwnedByTheOther(c);
    const started = performance.now();
    const both = await Promise.all(c.nodes.map((n) => n.group.get(key)));
    const elapsed = performance.now() - started;
    assert.deepEqual(both.map(String), [`v:${key}`, `v:${key}`]);
    assert.ok(
      elapsed < 5_000,
      `took ${elapsed} ms: the nodes waited on each other`,
    );
    assert.equal(
      c.nodes[0].group.stats.peerErrors + c.nodes[1].group.stats.peerErrors,
      0,
    );
  });
});

describe("No leaks", () => {
  it("releases 200,000 callers that abort on a never-settling key (heap flat after GC)", async () => {
    const gc = collector();
    let release!: (v: string) => void;
    const g = localGroup(() => new Promise<string>((r) => (release = r)), {
      loadTimeoutMs: 0,
    });
    const staying = g.get("k"); // keeps the load going
    const leave = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const ac = new AbortController();
        const p = g.get("k", { signal: ac.signal });
        ac.abort();
        await p.catch(() => {});
      }
    };
    await leave(10_000); // warm up
    gc();
    const before = heapUsed();
    await leave(200_000);
    gc();
    const grown = heapUsed() - before;
    release("done");
    assert.equal((await staying).toString(), "done");
    assert.ok(
      grown < 8 << 20,
      `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB`,
    );
  });
});

describe("Values larger than the budget", () => {
  it("hands back a value larger than cacheBytes uncached, evicting nothing", async () => {
    const budget = 8 << 20;
    const big = new Uint8Array(16 << 20);
    const group = new Group(
      "budget",
      budget,
      (key) => key === "big" ? big : "x".repeat(3_900), // 2,000 fit, with the overhead
      { registry: new Registry() },
    );
    for (let i = 0; i < 2_000; i++) await group.get(`small-${i}`);
    const before = group.cacheStats("main");
    assert.equal(before.items, 2_000);
    assert.equal((await group.get("big")).length, 16 << 20);
    const after = group.cacheStats("main");
    assert.equal(after.items, 2_000);
    assert.equal(after.evictions, 0);
    assert.equal(after.bytes, before.bytes);
    await group.get("big");
    assert.equal(group.stats.localLoads, 2_002); // not cached: loaded again
  });

  it("hands back a value of 2 GiB uncached even when the budget is larger", async () => {
    // The store keeps lengths in 32-bit slots. The zeroed pages of an
    // untouched 2 GiB array cost no memory; caching would copy them all.
    const huge = new ByteView(new Uint8Array(2 ** 31 + 8));
    const group = new Group(
      "huge",
      2 ** 33,
      (key) => key === "huge" ? huge : "small",
      { registry: new Registry() },
    );
    assert.equal(await group.get("huge"), huge);
    assert.equal(group.cacheStats("main").items, 0);
    assert.equal((await group.get("s")).toString(), "small");
    assert.equal(group.cacheStats("main").items, 1);
  });
});

function heapUsed(): number {
  return process.memoryUsage().heapUsed;
}
