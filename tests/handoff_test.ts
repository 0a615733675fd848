// Issue 23: handoff when owners move (a cache-only request to the previous
// owner before a getter runs), warm-up of a node that joins, and leave on
// close (owned values handed to their next owners), in an in-process cluster
// wired through a fetch that records every request.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ByteView,
  ConfigError,
  type Group,
  HttpPool,
  type HttpPoolOptions,
  Registry,
  silentLogger,
} from "../mod.ts";
import { nodeListener, nodeTransport } from "../node.ts";
import { recordingLogger } from "./_dev/logs.ts";
import { serveNode } from "./_dev/node_serve.ts";
import { encodeBatchSet } from "../src/batch_set.ts";

const SECRET = "handoff test secret, shared";
const URLS = [
  "http://n0.test",
  "http://n1.test",
  "http://n2.test",
  "http://n3.test",
];

interface Node {
  url: string;
  pool: HttpPool;
  group: Group;
  /** Getter runs on this node, by key. */
  loads: Map<string, number>;
  /** Requests this node received: "METHOD path" with " peek" for a handoff. */
  received: string[];
  hung: boolean;
  /** A getter run here calls it and waits for what it returns, when set. */
  gate?: () => Promise<void>;
  /** Told of each request after the node's handler has taken it in. */
  onRequest?: (what: string) => void;
}

interface Cluster {
  nodes: Node[];
  /** (Re)starts node `i` with an empty cache; the old one is replaced. */
  start(i: number): Node;
  /** Sets `urls` as the peer list of the nodes at `on`, and clears `received`. */
  set(on: number[], urls: string[]): void;
  getterRuns(): number;
}

function cluster(
  count: number,
  options: HttpPoolOptions | ((node: number) => HttpPoolOptions) = {},
  expire?: number,
  getterDelayMs = 0,
): Cluster {
  const nodes: Node[] = [];
  const fetch = (input: string, init: RequestInit): Promise<Response> => {
    const node = nodes.find((n) => input.startsWith(n.url + "/"));
    if (node === undefined) {
      return Promise.reject(new TypeError(`connection refused: ${input}`));
    }
    const req = new Request(input, init);
    const peek = req.headers.get("x-groupcache-peek") === "1"
      ? " peek"
      : req.headers.get("x-groupcache-batch") === "1"
      ? " batch"
      : "";
    const what = `${req.method} ${new URL(input).pathname}${peek}`;
    node.received.push(what);
    if (node.hung) {
      return new Promise((_, reject) => {
        const signal = init.signal!;
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason));
      });
    }
    const answer = node.pool.handler(req);
    node.onRequest?.(what);
    return answer;
  };
  const start = (i: number): Node => {
    const url = URLS[i];
    const pool = new HttpPool(url, {
      registry: new Registry(),
      fetch,
      secret: SECRET,
      logger: silentLogger,
      ...(typeof options === "function" ? options(i) : options),
    });
    const loads = new Map<string, number>();
    const group = pool.newGroup("g", 1 << 20, async (key) => {
      loads.set(key, (loads.get(key) ?? 0) + 1);
      await nodes[i].gate?.();
      if (getterDelayMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, getterDelayMs));
      }
      const value = `v:${key}`;
      return expire === undefined ? value : { value, expire };
    });
    const node = { url, pool, group, loads, received: [], hung: false };
    nodes[i] = node;
    return node;
  };
  for (let i = 0; i < count; i++) start(i);
  return {
    nodes,
    start,
    set(on, urls) {
      for (const i of on) nodes[i].pool.set(...urls);
      for (const node of nodes) node.received.length = 0;
    },
    getterRuns: () =>
      nodes.reduce(
        (sum, n) => sum + [...n.loads.values()].reduce((a, b) => a + b, 0),
        0,
      ),
  };
}

const keys = (n: number, prefix = "k") =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Keys owned by `to` under `after` whose owner under `before` was another. */
function movedTo(
  to: string,
  before: string[],
  after: string[],
  from = keys(300),
) {
  const ring = (urls: string[]) => {
    const pool = new HttpPool(urls[0], {
      registry: new Registry(),
      logger: silentLogger,
    });
    pool.set(...urls);
    return pool;
  };
  const [a, b] = [ring(before), ring(after)];
  return from.filter((k) => b.owner(k) === to && a.owner(k) !== to);
}

/**
 * Which of `keys` the nodes `on` took (a get on its owner among them runs no
 * getter), sorted; the cluster then has the list of `on` only.
 */
async function handedTo(
  c: Cluster,
  on: number[],
  keys: string[],
): Promise<string[]> {
  const urls = on.map((i) => URLS[i]);
  c.set(on, urls);
  const before = new Map(on.map((i) => [i, new Map(c.nodes[i].loads)]));
  const held: string[] = [];
  for (const key of keys) {
    const i = on[urls.indexOf(ownerUnder(urls, key))];
    await c.nodes[i].group.get(key);
    if (c.nodes[i].loads.get(key) === before.get(i)!.get(key)) held.push(key);
  }
  return held.sort();
}

const peeks = (node: Node) => node.received.filter((r) => r.endsWith(" peek"));

describe("handoff options", () => {
  const bad: [string, HttpPoolOptions][] = [
    ["a negative handoffWindowMs", { handoffWindowMs: -1 }],
    ["an endless handoffWindowMs", { handoffWindowMs: Infinity }],
    ["a fractional leaveBytes", { leaveBytes: 1.5 }],
    ["a zero leaveTimeoutMs", { leaveTimeoutMs: 0 }],
    ["an endless leaveTimeoutMs", { leaveTimeoutMs: Infinity }],
  ];
  for (const [what, options] of bad) {
    it(`refuses ${what} with a ConfigError`, () => {
      assert.throws(
        () =>
          new HttpPool("http://a:1", { registry: new Registry(), ...options }),
        ConfigError,
      );
    });
  }
});

describe("handoff when owners move", () => {
  const three = URLS.slice(0, 3);

  it("takes a moved key from its previous owner's cache, with its expiry, and runs no getter", async () => {
    const expire = Date.now() + 3_600_000;
    const c = cluster(4, {}, expire);
    c.set([0, 1, 2], three);
    const moved = movedTo(URLS[3], three, URLS);
    assert.ok(moved.length >= 10, `${moved.length} keys move to n3`);
    for (const key of moved) await c.nodes[0].group.get(key); // warm on n0..n2
    const before = c.getterRuns();
    assert.equal(before, moved.length);
    c.set([0, 1, 2, 3], URLS);
    for (const key of moved) {
      const view = await c.nodes[3].group.get(key);
      assert.equal(view.toString(), `v:${key}`);
      assert.equal(view.expire, expire);
    }
    const n3 = c.nodes[3].group;
    assert.equal(c.getterRuns(), before); // no getter ran anywhere
    assert.deepEqual([n3.stats.handoffHits, n3.stats.handoffMisses], [
      moved.length,
      0,
    ]);
    assert.equal(n3.cacheStats("main").items, moved.length); // kept as if loaded
    assert.equal((await n3.get(moved[0])).expire, expire);
    const asked = [0, 1, 2].reduce((s, i) => s + peeks(c.nodes[i]).length, 0);
    assert.equal(asked, moved.length);
    assert.match(
      c.nodes[3].pool.metrics(),
      new RegExp(
        `^groupcache_handoff_hits_total\\{group="g"\\} ${moved.length}$`,
        "m",
      ),
    );
  });

  it("runs the getter after a handoff miss, and the previous owner neither loads nor asks anyone", async () => {
    const c = cluster(4);
    c.set([0, 1, 2], three);
    const [key] = movedTo(URLS[3], three, URLS);
    c.set([0, 1, 2, 3], URLS);
    const previous = c.nodes.find((n) => n.url === ownerUnder(three, key))!;
    assert.equal((await c.nodes[3].group.get(key)).toString(), `v:${key}`);
    assert.deepEqual(peeks(previous), [`GET /_groupcache/g/${key} peek`]);
    assert.equal(previous.loads.size, 0); // the cache-only request ran no getter
    for (const n of c.nodes) {
      if (n !== previous) assert.deepEqual(n.received, [], n.url); // nor forwarded
    }
    assert.deepEqual(c.nodes[3].loads.get(key), 1);
    const s = c.nodes[3].group.stats;
    assert.deepEqual([s.handoffHits, s.handoffMisses, s.localLoads], [0, 1, 1]);
  });

  it("shares one handoff among concurrent gets of the key", async () => {
    const c = cluster(4);
    c.set([0, 1, 2], three);
    const [key] = movedTo(URLS[3], three, URLS);
    await c.nodes[0].group.get(key);
    c.set([0, 1, 2, 3], URLS);
    const views = await Promise.all(
      Array.from({ length: 20 }, () => c.nodes[3].group.get(key)),
    );
    assert.ok(views.every((v) => v.toString() === `v:${key}`));
    assert.equal(c.nodes.reduce((s, n) => s + peeks(n).length, 0), 1);
    assert.equal(c.nodes[3].group.stats.handoffHits, 1);
  });

  it("gets the value of a getter the previous owner is running at that moment", async () => {
    const c = cluster(4);
    c.set([0, 1, 2], three);
    const [key] = movedTo(URLS[3], three, URLS).filter((k) =>
      ownerUnder(three, k) === URLS[2]
    );
    c.set([0, 1, 3], URLS); // n2 has not heard yet: it still owns the key
    // n2's getter runs until n3's handoff request has reached n2 and waits
    // on it: no timer decides the order, so a loaded machine cannot either.
    let started!: () => void;
    const running = new Promise<void>((resolve) => started = resolve);
    let release!: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    const bound = setTimeout(() => { // the getter or the peek never came
      started();
      release();
    }, 10_000);
    c.nodes[2].gate = () => {
      started();
      return released;
    };
    c.nodes[2].onRequest = (what) => {
      if (what.endsWith(" peek")) release();
    };
    const here = c.nodes[2].group.get(key);
    await running;
    assert.equal(c.nodes[2].loads.get(key), 1); // its getter is running
    const there = c.nodes[3].group.get(key);
    assert.deepEqual([(await here).toString(), (await there).toString()], [
      `v:${key}`,
      `v:${key}`,
    ]);
    clearTimeout(bound);
    assert.equal(c.getterRuns(), 1);
    assert.equal(c.nodes[3].group.stats.handoffHits, 1);
  });

  it("runs the getter when the previous owner hangs, within the handoff bound, without marking it down", async () => {
    const c = cluster(4);
    c.set([0, 1, 2], three);
    const [key] = movedTo(URLS[3], three, URLS);
    const previous = c.nodes.find((n) => n.url === ownerUnder(three, key))!;
    c.set([0, 1, 2, 3], URLS);
    previous.hung = true;
    const start = performance.now();
    assert.equal((await c.nodes[3].group.get(key)).toString(), `v:${key}`);
    const ms = performance.now() - start;
    assert.ok(ms >= 400 && ms < 5_000, `${ms} ms`); // HANDOFF_TIMEOUT_MS is 500
    assert.equal(c.nodes[3].group.stats.handoffMisses, 1);
    const health = c.nodes[3].pool.peerHealth();
    assert.ok(health.every((h) => h.state === "up"), JSON.stringify(health));
  });

  it("asks no previous owner once the window has passed", async () => {
    const c = cluster(4, { handoffWindowMs: 30 });
    c.set([0, 1, 2], three);
    const [key] = movedTo(URLS[3], three, URLS);
    await c.nodes[0].group.get(key);
    c.set([0, 1, 2, 3], URLS);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await c.nodes[3].group.get(key);
    assert.equal(c.nodes.reduce((s, n) => s + peeks(n).length, 0), 0);
    assert.equal(c.nodes[3].loads.get(key), 1);
  });

  it("gives up the previous ring of a cluster that starts cold after 64 misses in a row, and says so", async () => {
    const logs = recordingLogger();
    const c = cluster(4, { logger: logs.logger });
    c.set([0, 1, 2, 3], URLS); // each node's first list: a join, all cold
    for (const key of keys(1000)) await c.nodes[0].group.get(key);
    const asked = c.nodes.map((n) => peeks(n).length);
    const total = asked.reduce((a, b) => a + b, 0);
    // Without giving up, every first load of a key would ask (about 1,000).
    assert.ok(total <= 4 * 64, `${total} peeks: ${asked}`);
    assert.equal(c.getterRuns(), 1000);
    assert.equal(
      logs.find("info", /handoff given up: the last 64 asks/).length,
      4,
      logs.lines.join("\n"),
    );
  });

  it("keeps the previous ring while some of its answers hit", async () => {
    const c = cluster(4);
    c.set([0, 1, 2], three);
    const moved = movedTo(URLS[3], three, URLS, keys(4000));
    const held = moved.filter((_, i) => i % 40 === 0); // 1 in 40 hits
    for (const key of held) await c.nodes[0].group.get(key);
    c.set([0, 1, 2, 3], URLS);
    for (const key of moved) await c.nodes[3].group.get(key);
    assert.ok(moved.length > 4 * 64, `${moved.length} keys move`);
    assert.equal(c.nodes[3].group.stats.handoffHits, held.length);
    assert.equal(
      peeks(c.nodes[0]).length + peeks(c.nodes[1]).length +
        peeks(c.nodes[2]).length,
      moved.length,
    );
  });

  it("asks no previous owner with handoffWindowMs 0", async () => {
    const c = cluster(4, { handoffWindowMs: 0 });
    c.set([0, 1, 2], three);
    const [key] = movedTo(URLS[3], three, URLS);
    await c.nodes[0].group.get(key);
    c.set([0, 1, 2, 3], URLS);
    await c.nodes[3].group.get(key);
    assert.equal(c.nodes.reduce((s, n) => s + peeks(n).length, 0), 0);
  });

  it("asks a peer without a shared secret only once it has answered as one of ours", async () => {
    const c = cluster(4, { secret: undefined });
    c.set([0, 1, 2], three);
    const moved = movedTo(URLS[3], three, URLS);
    for (const key of moved) await c.nodes[0].group.get(key);
    c.set([0, 1, 2, 3], URLS);
    // n3 has never heard from its peers: it cannot tell them from Go nodes.
    const [first, ...rest] = moved;
    await c.nodes[3].group.get(first);
    assert.equal(c.nodes.reduce((s, n) => s + peeks(n).length, 0), 0);
    assert.equal(c.nodes[3].loads.get(first), 1);
    // Once each has answered it (any request), it is asked.
    for (const i of [0, 1, 2]) {
      const theirs = keys(100, "intro").find((k) =>
        c.nodes[3].pool.owner(k) === URLS[i]
      )!;
      await c.nodes[3].group.get(theirs);
    }
    for (const key of rest) await c.nodes[3].group.get(key);
    assert.equal(c.nodes[3].group.stats.handoffHits, rest.length);
    assert.equal(c.nodes[3].loads.size, 1); // only the first key loaded here
  });

  it("skips a previous owner that is no longer a peer", async () => {
    const c = cluster(4);
    const pair = [URLS[0], URLS[3]];
    c.set([0, 1, 2, 3], URLS);
    const [key] = movedTo(URLS[3], URLS, pair).filter((k) =>
      ownerUnder(URLS, k) === URLS[1]
    );
    assert.ok(key !== undefined);
    await c.nodes[0].group.get(key); // cached on n1
    c.set([0, 3], pair); // n1 and n2 left
    await c.nodes[3].group.get(key);
    assert.deepEqual(peeks(c.nodes[1]), []);
    assert.equal(c.nodes[3].loads.get(key), 1);
  });

  it("runs the getter at most once per node, with no ping-pong, while two nodes disagree on the owner", async () => {
    // Different replicas: the same list, different rings; n0 thinks n1 owns
    // the key, n1 thinks n0 does, and each remembers the other as the
    // previous owner of its keys (its first list, without itself).
    const pair = URLS.slice(0, 2);
    const c = cluster(
      2,
      (i) => ({ replicas: i === 1 ? 3 : 50 }),
      undefined,
      20,
    );
    c.set([0, 1], pair);
    const key = keys(500, "x").find((k) =>
      c.nodes[0].pool.owner(k) === URLS[1] &&
      c.nodes[1].pool.owner(k) === URLS[0]
    );
    assert.ok(key !== undefined);
    const got = await Promise.all([
      c.nodes[0].group.get(key),
      c.nodes[1].group.get(key),
      c.nodes[0].group.get(key),
      c.nodes[1].group.get(key),
    ]);
    assert.ok(got.every((v) => v.toString() === `v:${key}`));
    for (const n of c.nodes) assert.ok((n.loads.get(key) ?? 0) <= 1, n.url);
    const requests = c.nodes[0].received.length + c.nodes[1].received.length;
    assert.ok(requests <= 2, `${requests} requests`);
    assert.deepEqual(peeks(c.nodes[0]).concat(peeks(c.nodes[1])), []);
  });

  it("stays bounded when each of two nodes thinks it owns the key and the other owned it before", async () => {
    // n0 owns the key on its ring, n1 on its own (other replicas); each one's
    // first list makes the other the previous owner: they ask each other.
    const pair = URLS.slice(0, 2);
    const c = cluster(
      2,
      (i) => ({ replicas: i === 1 ? 3 : 50 }),
      undefined,
      20,
    );
    c.set([0, 1], pair);
    const key = keys(500, "y").find((k) =>
      c.nodes[0].pool.owner(k) === URLS[0] &&
      c.nodes[1].pool.owner(k) === URLS[1]
    );
    assert.ok(key !== undefined);
    const start = performance.now();
    const got = await Promise.all([
      c.nodes[0].group.get(key),
      c.nodes[1].group.get(key),
    ]);
    assert.ok(got.every((v) => v.toString() === `v:${key}`));
    assert.ok(performance.now() - start < 2_000);
    for (const n of c.nodes) assert.ok((n.loads.get(key) ?? 0) <= 1, n.url);
    const received = c.nodes[0].received.concat(c.nodes[1].received);
    assert.ok(received.length <= 2, received.join("\n")); // one peek each at most
    assert.ok(received.every((r) => r.endsWith(" peek")));
  });

  it("answers a handoff at once while its own load of the key asks the new owner (no wait in a circle)", async () => {
    // n2 (previous owner) gets the key itself while n3 (new owner) asks it.
    const c = cluster(4, {}, undefined, 20);
    c.set([0, 1, 2], three);
    const [key] = movedTo(URLS[3], three, URLS).filter((k) =>
      ownerUnder(three, k) === URLS[2]
    );
    assert.ok(key !== undefined);
    c.set([0, 1, 2, 3], URLS);
    const start = performance.now();
    const [a, b] = await Promise.all([
      c.nodes[2].group.get(key), // asks n3, whose load asks n2 (a peek)
      c.nodes[3].group.get(key),
    ]);
    assert.deepEqual([a.toString(), b.toString()], [`v:${key}`, `v:${key}`]);
    assert.equal(c.getterRuns(), 1);
    assert.equal(c.nodes[3].loads.get(key), 1);
    assert.ok(performance.now() - start < 2_000);
  });
});

/** The owner of `key` on a ring of `urls`. */
function ownerUnder(urls: string[], key: string): string {
  const pool = new HttpPool(urls[0], {
    registry: new Registry(),
    logger: silentLogger,
  });
  pool.set(...urls);
  return pool.owner(key)!;
}

describe("warm-up of a node that joins or restarts", () => {
  it("asks the nodes that held its keys while it was away", async () => {
    const c = cluster(3);
    const all = URLS.slice(0, 3);
    const away = URLS.slice(0, 2);
    c.set([0, 1], away); // n2 is away: its keys live on n0 and n1
    const theirs = keys(200).filter((k) => ownerUnder(all, k) === URLS[2]);
    for (const key of theirs) await c.nodes[0].group.get(key);
    const warm = c.getterRuns();
    const n2 = c.start(2); // back, empty: its first list has no predecessor
    c.set([0, 1, 2], all);
    for (const key of theirs) {
      assert.equal((await n2.group.get(key)).toString(), `v:${key}`);
    }
    assert.equal(c.getterRuns(), warm); // none loaded again
    assert.equal(n2.group.stats.handoffHits, theirs.length);
  });
});

describe("leave on close", () => {
  const three = URLS.slice(0, 3);

  it("hands the owned values to their next owners, who keep them with their expiry", async () => {
    const expire = Date.now() + 3_600_000;
    const c = cluster(3, {}, expire);
    c.set([0, 1, 2], three);
    const owned = keys(200).filter((k) => ownerUnder(three, k) === URLS[2]);
    for (const key of owned) await c.nodes[0].group.get(key);
    const warm = c.getterRuns();
    const leaving = c.nodes[2];
    await leaving.pool.close();
    assert.equal(leaving.group.stats.handedOff, owned.length);
    const puts = c.nodes[0].received.concat(c.nodes[1].received)
      .filter((r) => r.startsWith("PUT "));
    // One batch set to each next owner, not one PUT a value.
    assert.deepEqual(puts, [
      "PUT /_groupcache/g/ batch",
      "PUT /_groupcache/g/ batch",
    ]);
    c.set([0, 1], URLS.slice(0, 2));
    for (const key of owned) {
      const node =
        c.nodes[ownerUnder(URLS.slice(0, 2), key) === URLS[0] ? 1 : 0];
      const view = await node.group.get(key);
      assert.equal(view.toString(), `v:${key}`);
      assert.equal(view.expire, expire);
    }
    assert.equal(c.getterRuns(), warm); // none loaded again
  });

  it("hands the most recently used first, within leaveBytes", async () => {
    const c = cluster(3, { leaveBytes: 5 * ("k00".length + "v:k00".length) });
    c.set([0, 1, 2], three);
    const owned = keys(100).filter((k) => k.length === 3)
      .filter((k) => ownerUnder(three, k) === URLS[2]);
    assert.ok(owned.length >= 8);
    for (const key of owned) await c.nodes[2].group.get(key);
    await c.nodes[2].pool.close();
    assert.equal(c.nodes[2].group.stats.handedOff, 5);
    assert.deepEqual(await handedTo(c, [0, 1], owned), owned.slice(-5).sort());
  });

  it("sends single PUTs to a next owner that refuses batch sets as unknown (400)", async () => {
    const c = cluster(3);
    c.set([0, 1, 2], three);
    const owned = keys(200).filter((k) => ownerUnder(three, k) === URLS[2]);
    for (const key of owned) await c.nodes[2].group.get(key);
    for (const i of [0, 1]) { // as a node of ours from before batch sets
      const handler = c.nodes[i].pool.handler;
      Object.defineProperty(c.nodes[i].pool, "handler", {
        value: (req: Request) =>
          req.headers.get("x-groupcache-batch") === "1"
            ? Promise.resolve(
              new Response("bad request: empty key", {
                status: 400,
              }),
            )
            : handler(req),
      });
    }
    await c.nodes[2].pool.close();
    assert.equal(c.nodes[2].group.stats.handedOff, owned.length);
    const puts = [0, 1].flatMap((i) => c.nodes[i].received)
      .filter((r) => r.startsWith("PUT "));
    assert.equal(puts.filter((r) => r.endsWith(" batch")).length, 2);
    assert.equal(puts.length, 2 + owned.length);
    assert.deepEqual(await handedTo(c, [0, 1], owned), [...owned].sort());
  });

  it("stops at leaveTimeoutMs when a next owner hangs, and still closes", async () => {
    const log = recordingLogger();
    const c = cluster(3, { leaveTimeoutMs: 100, logger: log.logger });
    c.set([0, 1, 2], three);
    const owned = keys(100).filter((k) => ownerUnder(three, k) === URLS[2]);
    for (const key of owned) await c.nodes[2].group.get(key);
    c.nodes[0].hung = true;
    c.nodes[1].hung = true;
    const start = performance.now();
    await c.nodes[2].pool.close();
    const ms = performance.now() - start;
    assert.ok(ms >= 90 && ms < 2_000, `${ms} ms`);
    assert.equal(c.nodes[2].group.stats.handedOff, 0);
    assert.equal(log.find("info", /leaveTimeoutMs 100 passed/).length, 1);
    assert.equal(c.nodes[2].pool.closed, true);
  });

  it("hands nothing without writes between nodes, and says so once", async () => {
    const log = recordingLogger();
    const c = cluster(3, { secret: undefined, logger: log.logger });
    c.set([0, 1, 2], three);
    const owned = keys(100).filter((k) => ownerUnder(three, k) === URLS[2]);
    // n2 hears from both peers (so they are ours), then loads its own keys.
    for (const key of keys(50, "intro")) await c.nodes[2].group.get(key);
    for (const key of owned) await c.nodes[2].group.get(key);
    await c.nodes[2].pool.close();
    const received = [0, 1].flatMap((i) => c.nodes[i].received);
    assert.deepEqual(received.filter((r) => r.startsWith("PUT ")), []);
    assert.equal(
      log.find(
        "info",
        /close\(\) hands none of .* writes between nodes are off/,
      ).length,
      1,
    );
    assert.equal(c.nodes[2].group.stats.handedOff, 0);
  });

  it("hands nothing with leaveBytes 0", async () => {
    const c = cluster(3, { leaveBytes: 0 });
    c.set([0, 1, 2], three);
    for (const key of keys(30)) await c.nodes[2].group.get(key);
    await c.nodes[2].pool.close();
    const received = [0, 1].flatMap((i) => c.nodes[i].received);
    assert.deepEqual(received.filter((r) => r.startsWith("PUT ")), []);
  });
});

describe("the ring change log line", () => {
  it("names the peers added and removed and about how many keys move", () => {
    const log = recordingLogger();
    const pool = new HttpPool(URLS[0], {
      registry: new Registry(),
      logger: log.logger,
    });
    pool.set(...URLS.slice(0, 3)); // the first list: nothing to compare
    pool.set(...URLS.slice(0, 3)); // the same list: no change
    pool.set(URLS[0], URLS[1], URLS[3]);
    assert.deepEqual(log.lines.map(([level]) => level), ["info"]);
    const [[, line]] = log.lines;
    assert.match(
      line,
      /ring changed: 3 peers, added http:\/\/n3\.test, removed http:\/\/n2\.test; ≈ (\d+) % of keys have a new owner/,
    );
    const percent = Number(/≈ (\d+) %/.exec(line)![1]);
    // n2's third moves, and n3 takes a third of the rest: about 5/9.
    assert.ok(percent > 35 && percent < 75, line);
  });
});

describe("the handoff request on the wire", () => {
  // The previous owner behind pool.handler (through fetch) or nodeListener
  // (node:http, asked with nodeTransport), asked by a pool's client.
  for (const native of [false, true]) {
    const name = native ? "nodeListener" : "pool.handler";
    it(`${name} answers it from cache only: a value, else a 404 "not cached" that is no error`, async () => {
      const owner = new HttpPool("http://127.0.0.1:1", {
        registry: new Registry(),
        secret: SECRET,
        logger: silentLogger,
      });
      let runs = 0;
      const group = owner.newGroup("g", 1 << 20, (key) => {
        runs++;
        return `v:${key}`;
      });
      await group.get("cached");
      const served = native ? await serveNode(nodeListener(owner)) : undefined;
      try {
        const url = served?.url ?? "http://127.0.0.1:3";
        const asker = new HttpPool("http://127.0.0.1:2", {
          registry: new Registry(),
          secret: SECRET,
          logger: silentLogger,
          ...(native ? { transport: nodeTransport() } : {
            fetch: (input: string, init: RequestInit) =>
              owner.handler(new Request(input, init)),
          }),
        });
        asker.set("http://127.0.0.1:2", url);
        const [peer] = asker.getAll();
        const signal = AbortSignal.timeout(5_000);
        const found = await peer.peek!("g", "cached", signal);
        assert.equal(found?.toString(), "v:cached");
        assert.equal(await peer.peek!("g", "absent", signal), undefined);
        assert.equal(runs, 1); // only the first get ran the getter
        assert.deepEqual(asker.peerHealth().map((h) => h.state), ["up"]);
        assert.equal(group.stats.loads, 1);
        // A batch set: every value stored as if loaded, with its expiry.
        const expire = Date.now() + 3_600_000;
        const values = keys(500, "b").map((k) =>
          [k, new ByteView(`w:${k}`, expire)] as const
        );
        assert.equal(
          await (peer as unknown as HttpPeerLike).setBatch("g", values, signal),
          true,
        );
        for (const [key] of values) {
          const view = await group.get(key);
          assert.deepEqual([view.toString(), view.expire], [
            `w:${key}`,
            expire,
          ]);
        }
        assert.equal(runs, 1);
        await asker.close();
      } finally {
        await served?.close();
      }
    });
  }

  it("refuses a malformed batch set whole (400, nothing stored), and any with writes off (403)", async () => {
    for (const writes of ["open", "off"] as const) {
      const owner = new HttpPool("http://127.0.0.1:1", {
        registry: new Registry(),
        writes,
        logger: silentLogger,
      });
      const group = owner.newGroup("g", 1 << 20, (key) => `v:${key}`);
      const good = encodeBatchSet([["a", new ByteView("x")]]);
      const cases: Array<[string, Uint8Array, number]> = [
        ["a good one", good, writes === "open" ? 200 : 403],
        // A good frame, then a frame whose length runs past the body.
        [
          "a truncated frame",
          concat(encodeBatchSet([["b", new ByteView("y")]]), [5, 1]),
          writes === "open" ? 400 : 403,
        ],
        // A good frame, then one that is no SetRequest.
        [
          "a frame of garbage",
          concat(encodeBatchSet([["c", new ByteView("z")]]), [
            2,
            0xff,
            0xff,
          ]),
          writes === "open" ? 400 : 403,
        ],
        [
          "an empty key",
          encodeBatchSet([["", new ByteView("z")]]),
          writes === "open" ? 400 : 403,
        ],
      ];
      for (const [name, body, status] of cases) {
        const res = await owner.handler(
          new Request("http://127.0.0.1:1/_groupcache/g/", {
            method: "PUT",
            headers: { "x-groupcache-batch": "1" },
            body: body as Uint8Array<ArrayBuffer>,
          }),
        );
        await res.body?.cancel();
        assert.equal(res.status, status, `${writes}: ${name}`);
      }
      // Only the good one's value is kept (a get of the others loads them).
      for (
        const [key, want] of [["a", writes === "open" ? "x" : "v:a"], [
          "b",
          "v:b",
        ], ["c", "v:c"]]
      ) {
        assert.equal(
          (await group.get(key)).toString(),
          want,
          `${writes}: ${key}`,
        );
      }
      await owner.close();
    }
  });
});

interface HttpPeerLike {
  setBatch(
    group: string,
    values: ReadonlyArray<readonly [string, ByteView]>,
    signal: AbortSignal,
  ): Promise<boolean>;
}

function concat(a: Uint8Array, b: number[]): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
