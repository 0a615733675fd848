// group.getMany and the batch request (docs/batches.md), on three nodes
// wired by an in-process fetch (every request logged), and against a peer
// that lies in its batch answers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  type Getter,
  type Group,
  type GroupOptions,
  HttpPool,
  NotFoundError,
  PeerError,
  Registry,
} from "../mod.ts";
import {
  BATCH_HEADER,
  BATCH_TYPE,
  decodeBatchAnswer,
  decodeBatchRequest,
  encodeBatchAnswer,
  encodeBatchRequest,
} from "../src/batch_wire.ts";
import { encodeGetResponseMessage } from "../src/protobuf.ts";
import { countMade } from "./_dev/count_made.ts";

const URLS = ["http://a.test", "http://b.test", "http://c.test"];

interface Cluster {
  groups: Group[];
  pools: HttpPool[];
  /** Every request, as "METHOD url". */
  log: string[];
  loads: Map<string, number>;
}

function cluster(
  getter: (key: string) => string | Promise<string> = (key) => `v:${key}`,
  options: ConstructorParameters<typeof HttpPool>[1] = {},
  groupOptions: GroupOptions = {},
): Cluster {
  const log: string[] = [];
  const loads = new Map<string, number>();
  const pools: HttpPool[] = [];
  const fetch = (url: string, init: RequestInit) => {
    log.push(`${init.method} ${url}`);
    const pool = pools[URLS.indexOf(new URL(url).origin)];
    return pool.handler(new Request(url, init));
  };
  const groups = URLS.map((url) => {
    const pool = new HttpPool(url, {
      registry: new Registry(),
      fetch,
      handoffWindowMs: 0, // these tests count requests
      ...options,
    });
    pool.set(...URLS);
    pools.push(pool);
    return pool.newGroup(
      "g",
      1 << 20,
      ((key: string) => {
        loads.set(key, (loads.get(key) ?? 0) + 1);
        return getter(key);
      }) as Getter,
      { hotCache: "never", ...groupOptions },
    );
  });
  return { groups, pools, log, loads };
}

/** Lets node 0 see an answer of every peer, which say they take batches. */
async function introduce(c: Cluster): Promise<void> {
  for (let i = 0; c.log.length < 2 * URLS.length; i++) {
    await c.groups[0].get(`hello${i}`);
  }
  c.log.length = 0;
}

const keys = (n: number, prefix = "k") =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("group.getMany", () => {
  it("answers every distinct key once, in the order asked", async () => {
    const c = cluster();
    const { values, errors } = await c.groups[0].getMany([
      "b",
      "a",
      "b",
      "c",
      "a",
    ]);
    assert.deepEqual([...values.keys()], ["b", "a", "c"]);
    assert.deepEqual([...values.values()].map(String), ["v:b", "v:a", "v:c"]);
    assert.equal(errors.size, 0);
    assert.deepEqual([...c.loads.values()], [1, 1, 1]);
  });

  it("sends one batch request per owning peer once the peers have shown they take them", async () => {
    const c = cluster();
    await introduce(c);
    const asked = keys(100);
    const { values, errors } = await c.groups[0].getMany(asked);
    assert.equal(errors.size, 0);
    for (const key of asked) {
      assert.equal(values.get(key)!.toString(), `v:${key}`);
    }
    assert.deepEqual(c.log.sort(), [
      "POST http://b.test/_groupcache/g/",
      "POST http://c.test/_groupcache/g/",
    ]);
    for (const key of asked) assert.equal(c.loads.get(key), 1, key);
  });

  it("sends signed batches between nodes that share a secret, and refuses an unsigned one", async () => {
    const c = cluster(undefined, { secret: "batch test secret 1" });
    await introduce(c);
    const asked = keys(50);
    const { values, errors } = await c.groups[0].getMany(asked);
    assert.equal(errors.size, 0);
    assert.equal(values.size, 50);
    assert.deepEqual(c.log.sort(), [
      "POST http://b.test/_groupcache/g/",
      "POST http://c.test/_groupcache/g/",
    ]);
    const unsigned = await c.pools[1].handler(
      new Request("http://b.test/_groupcache/g/", {
        method: "POST",
        body: "x",
      }),
    );
    assert.equal(unsigned.status, 401);
  });

  it("is answered by a node whose writes are off: a batch is a read", async () => {
    const c = cluster(undefined, { writes: "off" });
    await introduce(c);
    const { values, errors } = await c.groups[0].getMany(keys(20));
    assert.deepEqual([values.size, errors.size], [20, 0]);
    assert.ok(c.log.some((line) => line.startsWith("POST ")), String(c.log));
    assert.equal(c.groups[0].stats.peerErrors, 0); // no 403, no local load
  });

  it("makes an AbortController per batch request, none per key", async () => {
    const c = cluster();
    await introduce(c);
    const { result: { errors }, made } = await countMade(
      "AbortController",
      () => c.groups[0].getMany(keys(100)),
    );
    assert.equal(errors.size, 0);
    assert.equal(c.log.length, 2); // one batch per owning peer
    // The batch's own, and whatever the runtime's Request makes; ~66 more
    // when each remote key made its own.
    assert.ok(made <= 4 * c.log.length, `${made} for 2 batch requests`);
  });

  it("splits more keys than one batch carries (1,024) into several", async () => {
    const c = cluster();
    await introduce(c);
    const asked = keys(4000);
    const { values } = await c.groups[0].getMany(asked);
    assert.equal(values.size, asked.length);
    for (const peer of URLS.slice(1)) {
      const owned = asked.filter((k) => c.pools[0].owner(k) === peer).length;
      const posts = c.log.filter((line) =>
        line === `POST ${peer}/_groupcache/g/`
      );
      assert.equal(posts.length, Math.ceil(owned / 1024), peer);
    }
    assert.ok(c.log.length > 2);
  });

  it("asks a peer that has not shown it takes batches with per-key GETs", async () => {
    const c = cluster();
    await c.groups[0].getMany(keys(20));
    assert.ok(c.log.length > 2);
    assert.ok(c.log.every((line) => line.startsWith("GET ")), c.log.join("\n"));
  });

  it("answers cached keys synchronously, without a request", async () => {
    const c = cluster();
    const owned = keys(30).filter((k) => c.pools[0].owner(k) === URLS[0]);
    await c.groups[0].getMany(owned);
    c.log.length = 0;
    const { values } = await c.groups[0].getMany(owned);
    assert.equal(values.size, owned.length);
    assert.deepEqual(c.log, []);
    assert.equal(c.groups[0].stats.cacheHits, owned.length);
  });

  it("shares in-flight loads with single gets of the same keys", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => release = resolve);
    const c = cluster(async (key) => {
      if (key.startsWith("slow")) await gate;
      return `v:${key}`;
    });
    await introduce(c);
    const slow = keys(10, "slow");
    const singles = slow.slice(0, 5).map((key) => c.groups[0].get(key));
    const many = c.groups[0].getMany(slow);
    const later = slow.map((key) => c.groups[0].get(key));
    const again = c.groups[1].getMany(slow);
    release();
    await Promise.all([...singles, ...later]);
    const [a, b] = await Promise.all([many, again]);
    assert.equal(a.values.size + b.values.size, 2 * slow.length);
    for (const key of slow) assert.equal(c.loads.get(key), 1, key);
  });

  it("gives each failing key its own typed error, and the others their values", async () => {
    const c = cluster((key) => {
      if (key.startsWith("gone")) throw new NotFoundError(`no ${key}`);
      if (key.startsWith("bad")) throw new Error(`broken ${key}`);
      return `v:${key}`;
    });
    await introduce(c);
    const asked = [...keys(12, "gone"), ...keys(12, "bad"), ...keys(12)];
    const { values, errors } = await c.groups[0].getMany(asked);
    assert.equal(values.size + errors.size, asked.length);
    for (const key of keys(12)) {
      assert.equal(values.get(key)!.toString(), `v:${key}`);
    }
    for (const key of keys(12, "gone")) {
      assert.ok(errors.get(key) instanceof NotFoundError, key);
    }
    for (const key of keys(12, "bad")) {
      const err = errors.get(key)!;
      assert.match(err.message, new RegExp(`broken ${key}`));
      if (c.pools[0].owner(key) !== URLS[0]) {
        assert.ok(err instanceof PeerError && err.reason === "getter", key);
      }
    }
    assert.ok(c.log.some((line) => line.startsWith("POST")));
  });

  it("rejects with the signal's reason when the caller aborts", async () => {
    const c = cluster();
    await introduce(c);
    const groups = c.pools.map((pool) =>
      pool.newGroup("h", 1 << 20, (() => new Promise(() => {})) as Getter)
    );
    const leaving = new AbortController();
    const many = groups[0].getMany(keys(20), { signal: leaving.signal });
    setTimeout(() => leaving.abort(new Error("the caller left")), 20);
    await assert.rejects(many, /the caller left/);
    const aborted = AbortSignal.abort(new Error("gone already"));
    await assert.rejects(
      groups[0].getMany(["x"], { signal: aborted }),
      /gone already/,
    );
  });

  const bad: [string, unknown][] = [
    ["not iterable", 42],
    ["undefined", undefined],
    ["holding a number", ["a", 1]],
  ];
  for (const [name, arg] of bad) {
    it(`rejects keys ${name} with a TypeError`, async () => {
      const c = cluster();
      await assert.rejects(c.groups[0].getMany(arg as string[]), TypeError);
    });
  }
});

describe("coalesceGets", () => {
  for (const coalesceGets of [true, false]) {
    it(`${coalesceGets ? "sends" : "does not send"} single gets started in one tick as one batch per owner when ${coalesceGets}`, async () => {
      const c = cluster(undefined, {}, { coalesceGets });
      await introduce(c);
      const asked = keys(30);
      const views = await Promise.all(asked.map((k) => c.groups[0].get(k)));
      assert.deepEqual(views.map(String), asked.map((k) => `v:${k}`));
      const posts = c.log.filter((line) => line.startsWith("POST"));
      if (coalesceGets) assert.deepEqual(c.log.sort(), posts.sort());
      else assert.deepEqual(posts, []);
      assert.equal(posts.length, coalesceGets ? 2 : 0);
    });
  }

  it("gathers gets started a few promise hops apart in one tick (a batch answer's callers asking again)", async () => {
    const c = cluster(undefined, {}, { coalesceGets: true });
    await introduce(c);
    const asked = keys(30);
    // Each caller asks after its own number of hops (0 to 5), as callers
    // woken by one answer do, their continuations being of unequal depth.
    const hops = async (n: number) => {
      for (let i = 0; i < n; i++) await Promise.resolve();
    };
    const views = await Promise.all(
      asked.map(async (k, i) => {
        await hops(i % 6);
        return c.groups[0].get(k);
      }),
    );
    assert.deepEqual(views.map(String), asked.map((k) => `v:${k}`));
    assert.deepEqual(c.log.sort(), [
      "POST http://b.test/_groupcache/g/",
      "POST http://c.test/_groupcache/g/",
    ]);
  });

  it("gathers gets whose callers wake in separate tasks of one turn while other requests are in flight (answers as Bun and Node hand them over)", async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => open = resolve);
    const c = cluster(
      (key) =>
        key.startsWith("slow") ? gate.then(() => `v:${key}`) : `v:${key}`,
      {},
      { coalesceGets: true },
    );
    await introduce(c);
    const [slowKey] = keys(30, "slow")
      .filter((k) => c.pools[0].owner(k) !== URLS[0]);
    const slow = c.groups[0].get(slowKey); // in flight until the gate opens
    await new Promise((resolve) => setTimeout(resolve, 5));
    const asked = keys(30);
    // Each caller in a task of its own (a timer), all due when the event
    // loop next looks: they run in one turn.
    const woken = asked.map((k) =>
      new Promise((resolve) => setTimeout(resolve, 0)).then(() =>
        c.groups[0].get(k)
      )
    );
    for (const until = performance.now() + 5; performance.now() < until;);
    const views = await Promise.all(woken);
    assert.deepEqual(views.map(String), asked.map((k) => `v:${k}`));
    open();
    assert.equal(String(await slow), `v:${slowKey}`);
    assert.deepEqual(
      c.log.sort(),
      [
        "POST http://b.test/_groupcache/g/",
        "POST http://c.test/_groupcache/g/",
        `GET ${c.pools[0].owner(slowKey)}/_groupcache/g/${slowKey}`,
      ].sort(),
    );
  });

  it("sends a key alone in its tick as a plain GET, even with coalesceGets", async () => {
    const c = cluster(undefined, {}, { coalesceGets: true });
    await introduce(c);
    const [remote] = keys(30).filter((k) => c.pools[0].owner(k) !== URLS[0]);
    assert.equal((await c.groups[0].get(remote)).toString(), `v:${remote}`);
    assert.deepEqual(c.log, [
      `GET ${c.pools[0].owner(remote)}/_groupcache/g/${remote}`,
    ]);
  });

  it("must be a boolean", () => {
    assert.throws(
      () => cluster(undefined, {}, { coalesceGets: 1 as never }),
      ConfigError,
    );
  });
});

describe("the batch request on the wire", () => {
  it("round-trips keys and entries", () => {
    const asked = ["a", "", "ü日本🙂", "x".repeat(300)];
    assert.deepEqual(decodeBatchRequest(encodeBatchRequest(asked)), asked);
    const entries = [
      { key: "a", kind: 0 as const, bytes: Uint8Array.of(10, 1, 65) },
      { key: "b", kind: 1 as const, bytes: new TextEncoder().encode("no") },
    ];
    assert.deepEqual(decodeBatchAnswer(encodeBatchAnswer(entries)), entries);
  });

  it("writes each key as TextEncoder would (lone surrogates as U+FFFD), and refuses a key that is not UTF-8", () => {
    const encoder = new TextEncoder();
    for (
      const key of [
        "ascii",
        "é",
        "日本",
        "🙂x",
        "\ud800",
        "a\udc00b",
        "\ud83d\ud83d",
        "é".repeat(70),
      ]
    ) {
      const bytes = encoder.encode(key);
      const body = encodeBatchRequest([key]);
      assert.deepEqual(body.subarray(body.length - bytes.length), bytes, key);
      assert.equal(
        decodeBatchRequest(body)[0],
        new TextDecoder().decode(bytes),
      );
    }
    for (const bad of [Uint8Array.of(1, 0xff), Uint8Array.of(2, 0xc3, 0x28)]) {
      assert.throws(() => decodeBatchRequest(bad), { name: "ProtobufError" });
    }
  });

  it("is loaded on the owner at most 16 keys at a time", async () => {
    let running = 0, most = 0;
    const c = cluster(async (key) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running--;
      return `v:${key}`;
    });
    const res = await c.pools[0].handler(
      new Request("http://a.test/_groupcache/g/", {
        method: "POST",
        body: encodeBatchRequest(keys(60)),
      }),
    );
    const entries = decodeBatchAnswer(new Uint8Array(await res.arrayBuffer()));
    assert.equal(entries.length, 60);
    assert.equal(most, 16);
  });

  it("answers cached keys without a turn among the 16 loads, each key once", async () => {
    let running = 0, most = 0;
    const c = cluster(async (key) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running--;
      return `v:${key}`;
    });
    const cached = keys(20, "cached");
    const post = async (asked: string[]) => {
      const res = await c.pools[0].handler(
        new Request("http://a.test/_groupcache/g/", {
          method: "POST",
          body: encodeBatchRequest(asked),
        }),
      );
      return decodeBatchAnswer(new Uint8Array(await res.arrayBuffer()));
    };
    await post(cached);
    most = 0;
    const asked = [...keys(40), ...cached, ...keys(40)];
    const entries = await post(asked);
    assert.deepEqual(
      entries.map((e) => e.key).sort(),
      [...new Set(asked)].sort(),
    );
    assert.ok(entries.every((e) => e.kind === 0));
    assert.equal(most, 16);
    for (const key of asked) assert.equal(c.loads.get(key), 1, key);
  });

  it("is answered by pool.handler: each key's entry, 413 over the key bound, 400 when malformed", async () => {
    const c = cluster((key) => {
      if (key === "gone") throw new NotFoundError("no gone");
      return `v:${key}`;
    });
    const post = (body: Uint8Array<ArrayBuffer>) =>
      c.pools[0].handler(
        new Request("http://a.test/_groupcache/g/", { method: "POST", body }),
      );
    const res = await post(encodeBatchRequest(["x", "gone"]));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), BATCH_TYPE);
    assert.equal(res.headers.get(BATCH_HEADER), "1");
    const entries = decodeBatchAnswer(new Uint8Array(await res.arrayBuffer()));
    assert.deepEqual(
      entries.map((e) => [e.key, e.kind]).sort(),
      [["gone", 1], ["x", 0]],
    );
    assert.equal((await post(encodeBatchRequest(keys(1025)))).status, 413);
    assert.equal((await post(Uint8Array.of(5, 65))).status, 400);
    const single = await c.pools[0].handler(
      new Request("http://a.test/_groupcache/g/x", { method: "POST" }),
    );
    assert.equal(single.status, 405);
  });
});

describe("a peer that lies in its batch answers", () => {
  const value = (key: string) =>
    encodeGetResponseMessage({ value: new TextEncoder().encode(`lie:${key}`) });
  const lies: [string, (asked: string[]) => Uint8Array | number, string][] = [
    ["a truncated body", (asked) => {
      const body = encodeBatchAnswer(
        asked.map((key) => ({ key, kind: 0, bytes: value(key) })),
      );
      return body.subarray(0, body.length - 3);
    }, "malformed"],
    [
      "a body over maxResponseBytes",
      (asked) =>
        encodeBatchAnswer(
          asked.map((key) => ({ key, kind: 0, bytes: new Uint8Array(1000) })),
        ),
      "too-large",
    ],
    [
      "too few entries",
      (asked) =>
        encodeBatchAnswer(
          asked.slice(1).map((key) => ({ key, kind: 0, bytes: value(key) })),
        ),
      "malformed",
    ],
    [
      "an entry twice",
      (asked) =>
        encodeBatchAnswer(
          [asked[0], ...asked].map((key) => ({
            key,
            kind: 0,
            bytes: value(key),
          })),
        ),
      "malformed",
    ],
    [
      "a key it was not asked for",
      (asked) =>
        encodeBatchAnswer(
          [...asked.slice(1), "other"].map((key) => ({
            key,
            kind: 0,
            bytes: value(key),
          })),
        ),
      "malformed",
    ],
    ["a 200 of another type", () => 0, "content-type"],
  ];
  for (const [name, lie, reason] of lies) {
    it(`refuses ${name}: each key a PeerError (${reason}), then loaded locally`, async () => {
      const errors: PeerError[] = [];
      let posts = 0;
      const fetch = async (url: string, init: RequestInit) => {
        const headers = { [BATCH_HEADER]: "1", "content-type": BATCH_TYPE };
        if (init.method !== "POST") {
          return new Response(value("one"), {
            headers: { ...headers, "content-type": "application/x-protobuf" },
          });
        }
        posts++;
        const asked = decodeBatchRequest(
          new Uint8Array(await new Request(url, init).arrayBuffer()),
        );
        const body = lie(asked);
        if (typeof body === "number") {
          return new Response("{}", {
            headers: { "content-type": "application/json" },
          });
        }
        return new Response(body as Uint8Array<ArrayBuffer>, { headers });
      };
      const pool = new HttpPool(URLS[0], {
        registry: new Registry(),
        fetch,
        maxResponseBytes: 4096,
      });
      pool.set(URLS[0], URLS[1]);
      const g = pool.newGroup("g", 1 << 20, (key) => `here:${key}`, {
        hotCache: "never",
        onPeerError: (err) => errors.push(err as PeerError),
      });
      const remote = keys(40).filter((k) => pool.owner(k) === URLS[1]);
      await g.get(remote[0]); // the peer shows it takes batches
      const asked = remote.slice(1);
      const { values } = await g.getMany(asked);
      assert.equal(posts, 1);
      for (const key of asked) {
        assert.equal(values.get(key)!.toString(), `here:${key}`);
      }
      assert.equal(errors.length, asked.length);
      for (const err of errors) {
        assert.ok(err instanceof PeerError);
        assert.equal(err.reason, reason);
        assert.ok(asked.includes(err.key), err.key);
      }
      assert.equal(new Set(errors.map((e) => e.key)).size, asked.length);
      pool.close();
    });
  }
});
