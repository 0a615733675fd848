// Inputs that cannot split a cluster, over real sockets (pool.handler on
// Deno.serve/Bun.serve, nodeListener on node:http everywhere): a key too
// long for a URL is refused before any request and never marks its owner
// down; a 4xx answer or a value over maxResponseBytes is no health failure;
// an expiry the wire's int64 nanoseconds cannot carry is refused, never
// wrapped, and a negative one on the wire is refused by both sides.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  encodeGetResponse,
  encodeSetRequest,
  GetterError,
  Group,
  HttpPool,
  InvalidKeyError,
  PeerError,
  Registry,
  silentLogger,
} from "../mod.ts";
import { nodeListener } from "../node.ts";
import { MAX_EXPIRE_MS } from "../src/expiry.ts";
import { encodeGetResponseMessage } from "../src/protobuf.ts";
import { DEFAULT_MAX_KEY_BYTES } from "../src/wire.ts";
import { serveNode } from "./_dev/node_serve.ts";
import { runtimeName } from "./_dev/runtimes.ts";
import { type Handler, serve } from "./_dev/serve.ts";

type Server = "pool.handler" | "nodeListener";
const SERVERS: Server[] = runtimeName() === "node"
  ? ["nodeListener"]
  : ["pool.handler", "nodeListener"];

async function listen(server: Server, handler: () => HttpPool) {
  if (server === "pool.handler") {
    return await serve(((req) => handler().handler(req)) as Handler);
  }
  return await serveNode((req, res) => nodeListener(handler())(req, res));
}

/** Two nodes a and b serving each other with group "g"; b's getter counted. */
async function pair(server: Server) {
  const pools: HttpPool[] = [];
  const groups: Group[] = [];
  const served = await Promise.all(
    [0, 1].map((i) => listen(server, () => pools[i])),
  );
  const urls = served.map((s) => s.url);
  for (const [i, url] of urls.entries()) {
    const pool = new HttpPool(url, {
      registry: new Registry(),
      logger: silentLogger,
      writes: "open",
    });
    pool.set(...urls);
    pools.push(pool);
    groups.push(pool.newGroup("g", 4 << 20, (key) => `v${i}:${key.length}`));
  }
  const ownedByB = (prefix: string, candidates = 200) =>
    Array.from({ length: candidates }, (_, i) => `${prefix}${i}`)
      .filter((k) => pools[0].owner(k) === urls[1]);
  return {
    pools,
    groups,
    ownedByB,
    close: () => Promise.all(served.map((s) => s.close())),
  };
}

for (const server of SERVERS) {
  describe(`keys too long for a URL (${server}, ${runtimeName()})`, () => {
    it("are an InvalidKeyError before any request, and the owner stays up", async () => {
      const c = await pair(server);
      try {
        const [a] = c.groups;
        const long = c.ownedByB("x".repeat(1 << 20), 12).slice(0, 2);
        for (const key of long) {
          await assert.rejects(a.get(key), InvalidKeyError);
          await assert.rejects(a.set(key, "v"), InvalidKeyError);
        }
        assert.equal(c.groups[1].stats.serverRequests, 0); // nothing was sent
        assert.deepEqual(c.pools[0].peerHealth().map((h) => h.state), ["up"]);
        const ordinary = c.ownedByB("k").slice(0, 20);
        for (const key of ordinary) await a.get(key);
        assert.equal(a.stats.peerLoads, ordinary.length);
        assert.equal(a.stats.peerErrors, 0);
      } finally {
        await c.close();
      }
    });

    it(`are served up to the default maxKeyBytes (${DEFAULT_MAX_KEY_BYTES}) by every server`, async () => {
      const c = await pair(server);
      try {
        // Three bytes of UTF-8 each, nine characters percent-encoded: the
        // longest URL a default key makes.
        const euros = "€".repeat(Math.floor(DEFAULT_MAX_KEY_BYTES / 3) - 1);
        const key = c.ownedByB(euros)[0];
        assert.ok(
          new TextEncoder().encode(key).length <= DEFAULT_MAX_KEY_BYTES,
        );
        assert.equal(
          (await c.groups[0].get(key)).toString(),
          `v1:${key.length}`,
        );
        assert.equal(c.groups[0].stats.peerLoads, 1);
      } finally {
        await c.close();
      }
    });
  });
}

describe(`answers that are not values (${runtimeName()})`, () => {
  const started: { close(): Promise<void> }[] = [];
  after(() => Promise.all(started.map((s) => s.close())));

  it("414, 431, 400 and a value over maxResponseBytes leave the peer up", async () => {
    // A peer whose answer is chosen by the key.
    const peer = await serveNode((req, res) => {
      const key = decodeURIComponent(req.url!.split("/").pop()!);
      if (key.startsWith("big")) {
        const body = encodeGetResponse(new Uint8Array(4096));
        res.writeHead(200, { "content-type": "application/x-protobuf" });
        res.end(body);
        return;
      }
      res.writeHead(Number(key.split("-")[0]), {
        "content-type": "text/plain",
      });
      res.end("refused\n");
    });
    started.push(peer);
    const self = "http://127.0.0.1:9";
    const pool = new HttpPool(self, {
      registry: new Registry(),
      logger: silentLogger,
      maxResponseBytes: 1024,
    });
    pool.set(self, peer.url);
    const errors: PeerError[] = [];
    const h = pool.newGroup("g", 1 << 20, (key) => `local ${key}`, {
      onPeerError: (err) => errors.push(err as PeerError),
    });
    const keys = ["414", "431", "400", "big"].flatMap((what) =>
      Array.from({ length: 50 }, (_, i) => `${what}-${i}`)
        .filter((k) => pool.owner(k) === peer.url).slice(0, 3)
    );
    for (const key of keys) {
      assert.equal((await h.get(key)).toString(), `local ${key}`);
      assert.deepEqual(pool.peerHealth().map((p) => p.state), ["up"], key);
    }
    assert.equal(errors.length, keys.length);
    assert.deepEqual(
      [...new Set(errors.map((e) => e.reason))].sort(),
      ["status", "too-large"],
    );
  });
});

describe(`expiries the wire cannot carry (${runtimeName()})`, () => {
  const started: { close(): Promise<void> }[] = [];
  after(() => Promise.all(started.map((s) => s.close())));
  const year2286 = Date.UTC(2286, 0, 1);
  const bad = [
    ["Number.MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER],
    ["1e16", 1e16],
    ["2286-01-01", year2286],
    ["MAX_EXPIRE_MS + 1", MAX_EXPIRE_MS + 1],
    ["1.5 ms", Date.now() + 1.5],
    ["-1", -1],
  ] as const;

  it("are refused by set with a RangeError, nothing sent or stored", async () => {
    for (const server of SERVERS) {
      const c = await pair(server);
      try {
        const [key] = c.ownedByB("k");
        const [mine] = Array.from({ length: 50 }, (_, i) => `m${i}`)
          .filter((k) => c.pools[0].owner(k) === c.pools[0].self);
        for (const [what, expire] of bad) {
          for (const k of [key, mine]) {
            await assert.rejects(
              c.groups[0].set(k, "v", { expire }),
              (err) =>
                err instanceof RangeError && /2262/.test(err.message) ||
                err instanceof RangeError && /whole number/.test(err.message),
              `${what} ${k}`,
            );
          }
        }
        assert.deepEqual(c.groups.map((g) => g.stats.sets), [0, 0]);
        // The latest expiry that fits arrives exactly.
        await c.groups[0].set(key, "v", { expire: MAX_EXPIRE_MS });
        assert.equal((await c.groups[1].get(key)).expire, MAX_EXPIRE_MS);
      } finally {
        await c.close();
      }
    }
  });

  it("are refused from a getter with a GetterError", async () => {
    for (const [what, expire] of bad) {
      const g = new Group("g", 1 << 20, () => ({ value: "v", expire }), {
        registry: new Registry(),
      });
      await assert.rejects(g.get("k"), GetterError, what);
      const sink = new Group("s", 1 << 20, (_k, dest) => {
        dest.setString("v", expire);
      }, { registry: new Registry() });
      await assert.rejects(sink.get("k"), GetterError, what);
    }
  });

  it("are refused negative on the wire: a PUT answered 400, a GetResponse as malformed", async () => {
    for (const server of SERVERS) {
      const c = await pair(server);
      try {
        const url = `${c.pools[1].self}/_groupcache/g/k`;
        const put = await fetch(url, {
          method: "PUT",
          body: encodeSetRequest({
            group: "g",
            key: "k",
            value: new Uint8Array([1]),
            expire: -5n,
          }),
        });
        assert.equal(put.status, 400);
        assert.match(await put.text(), /negative expire/);
        assert.equal(c.groups[1].stats.sets, 0);
      } finally {
        await c.close();
      }
    }
    const peer = await serveNode((_req, res) => {
      res.writeHead(200, { "content-type": "application/x-protobuf" });
      res.end(
        encodeGetResponseMessage({ value: new Uint8Array([1]), expire: -1n }),
      );
    });
    started.push(peer);
    const pool = new HttpPool("http://127.0.0.1:9", {
      registry: new Registry(),
      logger: silentLogger,
    });
    pool.set("http://127.0.0.1:9", peer.url);
    const key = Array.from({ length: 50 }, (_, i) => `k${i}`)
      .find((k) => pool.owner(k) === peer.url)!;
    await assert.rejects(
      pool.pickPeer(key)!.get("g", key, new AbortController().signal),
      (err) =>
        err instanceof PeerError && err.reason === "malformed" &&
        /negative expire/.test(err.message),
    );
  });
});
