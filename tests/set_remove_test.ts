// mailgun's set and remove: through the owner, on our client and our
// handler, in an in-process cluster (tests/_dev/cluster.ts) and over real
// sockets; the handler's PUT and DELETE; the mailgun ring option.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  ByteView,
  ConfigError,
  encodeSetRequest,
  Group,
  HttpPool,
  PeerError,
  type PeerGetter,
  Registry,
  silentLogger,
} from "../mod.ts";
import { MailgunRing } from "../src/mailgun_ring.ts";
import { makeCluster } from "./_dev/cluster.ts";
import { runtimeName } from "./_dev/runtimes.ts";
import { type Handler, serve, type Served } from "./_dev/serve.ts";

const methodsOf = (calls: string[]) => calls.map((c) => c.split(" ")[0]);
// Writes between our nodes: signed with a shared secret (writes "signed").
const SIGNED = { pool: { secret: "set-remove test secret" } };

describe("set", () => {
  it("sends a PUT to the owner, which keeps the value in its main cache for every node", async () => {
    const c = makeCluster(SIGNED);
    const key = c.keyOwnedBy(1);
    await c.nodes[0].group.set(key, "set value");
    assert.deepEqual(methodsOf(c.nodes[1].calls), ["PUT"]);
    assert.equal(c.nodes[1].group.cacheStats("main").items, 1);
    assert.equal(c.nodes[0].group.cacheStats("hot").items, 0); // not asked for hot
    for (const node of c.nodes) {
      assert.equal((await node.group.get(key)).toString(), "set value");
    }
    assert.equal(c.totalLoads(), 0);
    assert.deepEqual(c.nodes.map((n) => n.group.stats.sets), [1, 1, 0]);
  });

  it("keeps the value in the setter's hot cache too when asked, with its expiry", async () => {
    const c = makeCluster({ ...SIGNED, groupOptions: { now: () => 100 } });
    const key = c.keyOwnedBy(2);
    await c.nodes[0].group.set(key, new Uint8Array([1, 2]), {
      expire: 500,
      hot: true,
    });
    const hot = c.nodes[0].group;
    assert.equal(hot.cacheStats("hot").items, 1);
    const view = await hot.get(key);
    assert.equal(view.expire, 500);
    assert.deepEqual(view.toBytes(), new Uint8Array([1, 2]));
    assert.equal((await c.nodes[2].group.get(key)).expire, 500); // sent as ns, back as ms
    assert.deepEqual(methodsOf(c.nodes[2].calls), ["PUT"]); // the hot copy answered
  });

  it("stores locally, with no request, when this node owns the key", async () => {
    const c = makeCluster(SIGNED);
    const key = c.keyOwnedBy(0);
    await c.nodes[0].group.set(key, "mine");
    assert.deepEqual(c.nodes.flatMap((n) => n.calls), []);
    assert.equal((await c.nodes[0].group.get(key)).toString(), "mine");
  });

  it("replaces a cached value and drops the setter's stale hot copy", async () => {
    const c = makeCluster({ ...SIGNED, groupOptions: { hotCache: "always" } });
    const key = c.keyOwnedBy(1);
    await c.nodes[0].group.get(key); // v:key, mirrored hot
    assert.equal(c.nodes[0].group.cacheStats("hot").items, 1);
    await c.nodes[0].group.set(key, "new");
    assert.equal(c.nodes[0].group.cacheStats("hot").items, 0);
    assert.equal((await c.nodes[0].group.get(key)).toString(), "new");
  });

  it("rejects with a PeerError and stores nothing when the owner is down", async () => {
    const c = makeCluster(SIGNED);
    const key = c.keyOwnedBy(1);
    c.nodes[1].down = true;
    await assert.rejects(
      c.nodes[0].group.set(key, "lost", { hot: true }),
      (err) => err instanceof PeerError && err.reason === "network",
    );
    assert.equal(c.nodes[0].group.cacheStats("hot").items, 0);
    assert.equal(c.nodes[0].group.stats.sets, 0);
  });

  it("rejects with the owner's status when the owner refuses", async () => {
    const c = makeCluster(SIGNED);
    const key = c.keyOwnedBy(1);
    c.nodes[1].pool.registry.delete("test");
    await assert.rejects(
      c.nodes[0].group.set(key, "x"),
      (err) => err instanceof PeerError && err.status === 404,
    );
  });

  it("gives the group's ttlMs to a value set without an expiry", async () => {
    const c = makeCluster({
      ...SIGNED,
      groupOptions: { now: () => 1000, ttlMs: 50 },
    });
    const key = c.keyOwnedBy(1);
    await c.nodes[0].group.set(key, "v");
    assert.equal((await c.nodes[1].group.get(key)).expire, 1050);
  });

  it("keeps a load that ran during the set out of the cache", async () => {
    let release!: () => void;
    const slow = new Promise<void>((resolve) => release = resolve);
    const g = new Group("race", 1 << 20, async (key) => {
      await slow;
      return `old ${key}`;
    }, { registry: new Registry() });
    const loading = g.get("k");
    await g.set("k", "new");
    release();
    assert.equal((await loading).toString(), "old k"); // its caller still gets it
    assert.equal((await g.get("k")).toString(), "new");
  });

  it("refuses a value that is not bytes, a string or a view, and a key that is not a string", async () => {
    const g = new Group("bad-set", 1024, (k) => k, {
      registry: new Registry(),
    });
    await assert.rejects(g.set("k", 42 as unknown as string), TypeError);
    await assert.rejects(g.set(1 as unknown as string, "v"), TypeError);
    await assert.rejects(g.set("k", "v", { expire: NaN }), TypeError);
  });

  it("is a ConfigError when the owner's PeerGetter cannot set", async () => {
    const getOnly: PeerGetter = {
      url: "custom://peer",
      get: () => Promise.resolve(new ByteView("remote")),
    };
    const g = new Group("custom", 1024, (k) => k, {
      registry: new Registry(),
      peers: { pickPeer: () => getOnly },
    });
    await assert.rejects(g.set("k", "v"), ConfigError);
    await assert.rejects(g.remove("k"), ConfigError);
    assert.equal((await g.get("k")).toString(), "remote"); // gets still work
  });
});

describe("remove", () => {
  it("tells the owner first, then drops its own copy, then tells every other peer", async () => {
    const c = makeCluster({
      ...SIGNED,
      nodes: 4,
      groupOptions: { hotCache: "always" },
    });
    const key = c.keyOwnedBy(2);
    for (const node of c.nodes) await node.group.get(key); // hot copies everywhere
    const order: string[] = [];
    const remover = c.nodes[0].group;
    for (const [i, node] of c.nodes.entries()) {
      const handler = node.pool.handler; // the cluster's fetch calls it
      Object.defineProperty(node.pool, "handler", {
        value: (req: Request) => {
          order.push(`${i}:${remover.cacheStats("hot").items}`);
          return handler(req);
        },
      });
    }
    await remover.remove(key);
    // The owner (2) first, while the remover still held its copy; then the
    // others, after the remover dropped it.
    assert.equal(order[0], "2:1");
    assert.deepEqual(order.slice(1).sort(), ["1:0", "3:0"]);
    for (const node of c.nodes) {
      assert.equal(node.group.cacheStats("hot").items, 0);
      assert.equal(node.group.cacheStats("main").items, 0);
    }
    assert.deepEqual(c.nodes.map((n) => n.group.stats.removes), [1, 1, 1, 1]);
    // The next get loads afresh at the owner.
    await c.nodes[3].group.get(key);
    assert.equal(c.nodes[2].loads.get(key), 2);
  });

  it("stops, removing nothing anywhere, when the owner fails", async () => {
    const c = makeCluster({ ...SIGNED, groupOptions: { hotCache: "always" } });
    const key = c.keyOwnedBy(1);
    await c.nodes[0].group.get(key);
    await c.nodes[2].group.get(key);
    c.nodes[1].down = true;
    await assert.rejects(c.nodes[0].group.remove(key), PeerError);
    assert.equal(c.nodes[0].group.cacheStats("hot").items, 1);
    assert.deepEqual(methodsOf(c.nodes[2].calls), []); // never told
    assert.equal(c.nodes[0].group.stats.removes, 0);
  });

  it("resolves when another peer fails, reporting it through peerErrors and onPeerError", async () => {
    const errors: [unknown, string][] = [];
    const c = makeCluster({
      ...SIGNED,
      groupOptions: { onPeerError: (err, key) => errors.push([err, key]) },
    });
    const key = c.keyOwnedBy(1);
    c.nodes[2].down = true;
    await c.nodes[0].group.remove(key);
    assert.equal(c.nodes[0].group.stats.peerErrors, 1);
    assert.equal(errors.length, 1);
    assert.ok(errors[0][0] instanceof PeerError);
    assert.equal((errors[0][0] as PeerError).peer, c.urls[2]);
    assert.equal(errors[0][1], key);
    assert.deepEqual(methodsOf(c.nodes[1].calls), ["DELETE"]);
  });

  it("removes a key this node owns here first, then everywhere else", async () => {
    const c = makeCluster(SIGNED);
    const key = c.keyOwnedBy(0);
    await c.nodes[0].group.get(key);
    await c.nodes[0].group.remove(key);
    assert.equal(c.nodes[0].group.cacheStats("main").items, 0);
    assert.deepEqual(c.nodes.map((n) => methodsOf(n.calls)), [[], ["DELETE"], [
      "DELETE",
    ]]);
  });

  it("keeps a load that ran during the remove out of the cache", async () => {
    let version = 1;
    let release!: () => void;
    const g = new Group("race-remove", 1 << 20, async (key) => {
      const v = version;
      await new Promise<void>((resolve) => release = resolve);
      return `${key} v${v}`;
    }, { registry: new Registry() });
    const loading = g.get("k");
    version = 2;
    await g.remove("k");
    release();
    assert.equal((await loading).toString(), "k v1");
    const next = g.get("k");
    release();
    assert.equal((await next).toString(), "k v2");
  });
});

describe("The handler's PUT and DELETE", () => {
  function node(ring: "golang" | "mailgun" = "golang") {
    const pool = new HttpPool("http://a:1", {
      registry: new Registry(),
      ring,
      maxResponseBytes: 1024,
      writes: "open", // unsigned PUT and DELETE, as a mailgun node sends
    });
    const group = pool.newGroup("g", 1 << 20, (key) => `loaded ${key}`);
    const send = async (
      method: string,
      path: string,
      body?: Uint8Array<ArrayBuffer>,
    ) => {
      const res = await pool.handler(
        new Request(`http://a:1/_groupcache/${path}`, { method, body }),
      );
      return {
        status: res.status,
        text: await res.text(),
        type: res.headers.get("content-type"),
      };
    };
    return { pool, group, send };
  }

  it("stores a PUT's value under the body's key, in the URL's group, and answers 200 with no body", async () => {
    const { group, send } = node();
    const body = encodeSetRequest({
      group: "ignored",
      key: "body key",
      value: new TextEncoder().encode("put value"),
      expire: 0n,
    });
    const res = await send("PUT", "g/url-key", body);
    assert.deepEqual(res, { status: 200, text: "", type: null });
    assert.equal((await group.get("body key")).toString(), "put value");
    assert.equal((await group.get("url-key")).toString(), "loaded url-key");
    assert.equal(group.stats.sets, 1);
  });

  it("keeps a PUT's expiry, in nanoseconds on the wire and milliseconds here", async () => {
    const { group, send } = node();
    const expire = BigInt(Date.now() + 60_000) * 1_000_000n + 123n;
    await send(
      "PUT",
      "g/k",
      encodeSetRequest({
        group: "g",
        key: "k",
        value: new Uint8Array([1]),
        expire,
      }),
    );
    const view = await group.get("k");
    assert.ok(Math.abs(view.expire - Number(expire / 1_000_000n)) < 1);
  });

  const badPuts: [string, Uint8Array<ArrayBuffer>, RegExp][] = [
    ["no key", Uint8Array.from([0x0a, 1, 0x67]), /required field 2 \(key\)/],
    [
      "a truncated value",
      Uint8Array.from([0x0a, 1, 0x67, 0x12, 1, 0x6b, 0x1a, 9]),
      /claims 9 bytes/,
    ],
    ["an empty body", new Uint8Array(0), /required field 1 \(group\)/],
  ];
  for (const [what, body, message] of badPuts) {
    it(`answers 400 with a message to a PUT with ${what}, storing nothing`, async () => {
      const { group, send } = node();
      const res = await send("PUT", "g/k", body);
      assert.equal(res.status, 400);
      assert.match(res.text, /^bad request: malformed SetRequest: /);
      assert.match(res.text, message);
      assert.equal(group.cacheStats("main").items, 0);
    });
  }

  it("answers 413 to a PUT larger than maxResponseBytes", async () => {
    const { send } = node();
    const body = encodeSetRequest({
      group: "g",
      key: "k",
      value: new Uint8Array(2048),
    });
    assert.equal((await send("PUT", "g/k", body)).status, 413);
  });

  it("answers 404 to a PUT or DELETE for an unknown group", async () => {
    const { send } = node();
    const body = encodeSetRequest({ group: "nope", key: "k" });
    assert.equal((await send("PUT", "nope/k", body)).status, 404);
    assert.equal((await send("DELETE", "nope/k")).status, 404);
  });

  it("drops a key on DELETE and answers 200 with no body, also for a key it never had", async () => {
    const { group, send } = node();
    await group.get("k");
    assert.deepEqual(await send("DELETE", "g/k"), {
      status: 200,
      text: "",
      type: null,
    });
    assert.equal(group.cacheStats("main").items, 0);
    assert.deepEqual(await send("DELETE", "g/never"), {
      status: 200,
      text: "",
      type: null,
    });
    assert.equal(group.stats.removes, 2);
    assert.equal((await send("DELETE", "g/")).status, 400);
  });
});

describe("The mailgun ring option", () => {
  it("places keys on mailgun's ring", () => {
    const peers = [
      "http://10.0.0.1:8080",
      "http://10.0.0.2:8080",
      "http://10.0.0.3:8080",
    ];
    const pool = new HttpPool(peers[0], {
      registry: new Registry(),
      ring: "mailgun",
    });
    pool.set(...peers);
    const ring = new MailgunRing(50);
    ring.add(...peers);
    assert.equal(pool.ring, "mailgun");
    for (let i = 0; i < 500; i++) {
      assert.equal(pool.owner(`k${i}`), ring.get(`k${i}`));
    }
  });

  const plus: ["golang" | "mailgun", string, string][] = [
    ["golang", "a+b%2Bc%20d", "a b+c d"], // Go's QueryEscape: + is a space
    ["mailgun", "a+b%2Bc%20d", "a+b+c d"], // Go's PathEscape: + is a plus
  ];
  for (const [ring, path, key] of plus) {
    it(`reads the key ${path} as ${JSON.stringify(key)} with the ${ring} ring`, async () => {
      const pool = new HttpPool("http://a:1", {
        registry: new Registry(),
        ring,
      });
      pool.newGroup("g", 1024, (k) => k);
      const res = await pool.handler(
        new Request(`http://a:1/_groupcache/g/${path}`),
      );
      const body = new Uint8Array(await res.arrayBuffer());
      assert.equal(
        new TextDecoder().decode(body.subarray(2, 2 + body[1])),
        key,
      );
    });
  }

  it("refuses an unknown ring, and a hash with the mailgun ring", () => {
    const registry = new Registry();
    assert.throws(
      () => new HttpPool("http://a:1", { registry, ring: "fnv" as "golang" }),
      ConfigError,
    );
    assert.throws(
      () =>
        new HttpPool("http://a:1", {
          registry,
          ring: "mailgun",
          hash: () => 1,
        }),
      ConfigError,
    );
    assert.equal(new HttpPool("http://a:1", { registry }).ring, "golang");
  });
});

describe(`set and remove over real sockets (${runtimeName()})`, () => {
  const servers: Served[] = [];
  const groups: Group[] = [];
  let urls: string[] = [];
  const pools: HttpPool[] = [];

  before(async () => {
    const handlers: Handler[] = [];
    servers.push(
      ...await Promise.all(
        [0, 1, 2].map((i) => serve((req) => handlers[i](req))),
      ),
    );
    urls = servers.map((s) => s.url);
    for (const [i, s] of servers.entries()) {
      const pool = new HttpPool(s.url, {
        registry: new Registry(),
        ring: "mailgun",
        writes: "open",
      });
      pool.set(...urls);
      pools.push(pool);
      groups.push(
        pool.newGroup("sock", 1 << 20, (key) => `v${i}:${key}`, {
          hotCache: "always",
        }),
      );
      handlers[i] = pool.handler;
    }
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  const ownedBy = (n: number) => {
    for (let i = 0;; i++) {
      if (pools[0].owner(`sk${i}`) === urls[n]) return `sk${i}`;
    }
  };

  it("sets through the owner and reads the value back from every node", async () => {
    const key = ownedBy(1);
    await groups[0].set(key, "over the wire", { expire: Date.now() + 60_000 });
    for (const g of groups) {
      assert.equal((await g.get(key)).toString(), "over the wire");
    }
    assert.ok((await groups[2].get(key)).expire > Date.now());
  });

  it("removes from the owner and every hot copy", async () => {
    const key = ownedBy(2);
    for (const g of groups) {
      assert.equal((await g.get(key)).toString(), `v2:${key}`);
    }
    const fetched = groups[1].stats.peerLoads;
    await groups[1].get(key);
    assert.equal(groups[1].stats.peerLoads, fetched); // a hot copy
    await groups[0].remove(key);
    assert.equal(groups[0].stats.removes, 1);
    assert.equal(groups[1].stats.removes, 1);
    assert.equal(groups[2].stats.removes, 1);
    assert.equal((await groups[1].get(key)).toString(), `v2:${key}`);
    assert.equal(groups[1].stats.peerLoads, fetched + 1); // its copy was gone
    assert.equal(groups[2].stats.localLoads, 2); // loaded again after the remove
  });

  it("answers a GET with mailgun's field 3 in mailgun mode", async () => {
    const key = ownedBy(0);
    const res = await fetch(`${urls[0]}/_groupcache/sock/${key}`);
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(
      Buffer.from(body.subarray(body.length - 2)).toString("hex"),
      "1800",
    );
  });
});

describe(`set and remove while the owner is down (${runtimeName()})`, () => {
  // Two nodes over real sockets; b owns the key and stops answering. The
  // first write finds out (its connection is refused, so b is marked down),
  // the second is refused at once: both reject, and neither keeps the value
  // on a, which b would never have heard of.
  it("rejects every set and remove with a PeerError, storing or dropping nothing here", async () => {
    const handlers: Handler[] = [];
    const [a, b] = await Promise.all(
      [0, 1].map((i) => serve((req) => handlers[i](req))),
    );
    const urls = [a.url, b.url];
    const pools = urls.map((url) =>
      new HttpPool(url, {
        registry: new Registry(),
        logger: silentLogger,
        writes: "open",
      })
    );
    try {
      const groups = pools.map((pool, i) => {
        pool.set(...urls);
        handlers[i] = pool.handler;
        return pool.newGroup("down", 1 << 20, (key) => `v${i}:${key}`, {
          hotCache: "always",
        });
      });
      let n = 0;
      while (pools[0].owner(`dk${n}`) !== b.url) n++;
      const key = `dk${n}`;
      assert.equal((await groups[0].get(key)).toString(), `v1:${key}`); // hot on a
      await b.close();
      for (const reason of ["network", "down"]) {
        await assert.rejects(
          groups[0].set(key, "kept nowhere", { hot: true }),
          (err) =>
            err instanceof PeerError && err.reason === reason &&
            err.peer === b.url && err.key === key,
        );
      }
      assert.equal(pools[0].peerHealth()[0].state, "down");
      await assert.rejects(
        groups[0].remove(key),
        (err) => err instanceof PeerError && err.reason === "down",
      );
      assert.equal(groups[0].stats.sets, 0);
      assert.equal(groups[0].stats.removes, 0);
      // The copy fetched before is still there, and the set value is not.
      assert.equal(groups[0].cacheStats("hot").items, 1);
      assert.equal(groups[0].cacheStats("main").items, 0);
      assert.equal((await groups[0].get(key)).toString(), `v1:${key}`);
      // A key a owns is still written here, and a closed pool writes here.
      let m = 0;
      while (pools[0].owner(`own${m}`) !== a.url) m++;
      const own = `own${m}`;
      await groups[0].set(own, "mine");
      assert.equal((await groups[0].get(own)).toString(), "mine");
      await pools[0].close();
      await groups[0].set(key, "after close");
      assert.equal((await groups[0].get(key)).toString(), "after close");
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
      await Promise.all([a.close(), b.close()]);
    }
  });
});
