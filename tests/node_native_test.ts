// @x/groupcache/node over real sockets, on Node (tests/node/run.ts), Deno
// and Bun (their node:http): nodeListener answers exactly as pool.handler,
// nodePeers mounts next to plain node:http and @hono/node-server routes,
// and nodeTransport passes the same hostile-peer and Go interop tests as
// fetch, in a cluster of nodes served and asked natively.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createServer } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import {
  encodeSetRequest,
  type Group,
  HttpPool,
  NotFoundError,
  PeerError,
  Registry,
  silentLogger,
} from "../mod.ts";
import {
  nodeListener,
  nodePeers,
  type NodeTransport,
  nodeTransport,
  type PeerRequest,
} from "../node.ts";
import { describeHostilePeer } from "./_dev/hostile_suite.ts";
import { describeInterop } from "./_dev/interop_suite.ts";
import { type NodeServed, serveNode } from "./_dev/node_serve.ts";
import { rawRequest as raw } from "./_dev/raw_get.ts";
import { runtimeName } from "./_dev/runtimes.ts";

const label = `${runtimeName()}, @x/groupcache/node`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A key `pool` asks `peer` for. */
function keyOf(pool: HttpPool, peer: string): string {
  for (let i = 0;; i++) if (pool.owner(`k${i}`) === peer) return `k${i}`;
}

/** A pool at an unserved URL that asks only `peer`, through `transport`. */
function askerOf(peer: string, transport: NodeTransport): HttpPool {
  const pool = new HttpPool("http://127.0.0.1:9", {
    registry: new Registry(),
    transport,
    logger: silentLogger,
  });
  pool.set("http://127.0.0.1:9", peer);
  return pool;
}

/** A pool whose group "g" answers `v:${key}`, fails "fail", waits on "slow". */
function onePool(
  options: { maxResponseBytes?: number; writes?: "open" } = {},
) {
  const pool = new HttpPool("http://127.0.0.1:1", {
    registry: new Registry(),
    logger: silentLogger,
    ...options,
  });
  pool.newGroup("g", 1 << 20, async (key) => {
    if (key === "fail") throw new Error("the getter failed");
    if (key === "missing") throw new NotFoundError("no such key");
    if (key === "slow") await sleep(20);
    return `v:${key}`;
  });
  return pool;
}

describe(`nodeListener answers as pool.handler (${label})`, () => {
  let pool: HttpPool;
  let served: NodeServed;
  before(async () => {
    pool = onePool();
    served = await serveNode(nodeListener(pool));
  });
  after(() => served.close());

  // Requests a URL carries unchanged: compared with pool.handler's answer.
  const same: [string, string][] = [
    ["GET", "/_groupcache/g/k"],
    ["GET", "/_groupcache/g/a%2Fb%20c"],
    ["GET", "/_groupcache/g/a+b"],
    ["GET", "/_groupcache/g/k?x=1"],
    ["GET", "/_groupcache/g/slow"],
    ["GET", "/_groupcache/g/fail"],
    ["GET", "/_groupcache/g/missing"],
    ["GET", "/_groupcache/g/"],
    ["GET", "/_groupcache/g"],
    ["GET", "/_groupcache/"],
    ["GET", "/_groupcache/nope/k"],
    ["GET", "/_groupcache/g/%zz"],
    ["GET", "/_groupcache/g/%ff"],
    ["GET", "/other"],
    ["POST", "/_groupcache/g/k"],
    ["DELETE", "/_groupcache/g/k"],
  ];
  for (const [method, path] of same) {
    it(`${method} ${path}: the same status, headers and body`, async () => {
      const got = await raw(served.port, method, path);
      const res = await pool.handler(
        new Request(`http://127.0.0.1:1${path}`, { method }),
      );
      const want = new Uint8Array(await res.arrayBuffer());
      assert.equal(got.status, res.status);
      assert.equal(
        got.headers["content-type"],
        res.headers.get("content-type") ?? undefined,
      );
      assert.equal(got.headers["allow"], res.headers.get("allow") ?? undefined);
      assert.equal(
        got.headers["x-groupcache-error"],
        res.headers.get("x-groupcache-error") ?? undefined,
      );
      assert.deepEqual(got.body, want, text(got.body));
      assert.equal(Number(got.headers["content-length"]), want.length);
    });
  }

  // What a URL would have normalized away: only raw requests carry it.
  const rawOnly: [string, string, Record<string, string>, number][] = [
    ["a Host with a path", "/_groupcache/g/k", { host: "a/b" }, 400],
    ['a raw "', '/_groupcache/g/a"b', {}, 400],
    ["a raw space-free backslash", "/_groupcache/g/a\\b", {}, 400],
    ["an absolute-form target", "http://127.0.0.1/_groupcache/g/k", {}, 200],
  ];
  for (const [what, target, headers, status] of rawOnly) {
    it(`${what}: ${status}`, async () => {
      assert.equal(
        (await raw(served.port, "GET", target, headers)).status,
        status,
      );
    });
  }

  it("a peer that hangs up during a load: the load's signal aborts", async () => {
    const hung = new HttpPool("http://127.0.0.1:1", {
      registry: new Registry(),
      logger: silentLogger,
    });
    let started!: () => void;
    const loading = new Promise<void>((resolve) => started = resolve);
    const aborted = new Promise<unknown>((resolve) => {
      hung.newGroup("g", 1 << 20, (_key, _dest, { signal }) => {
        started();
        return new Promise((_, reject) =>
          signal.addEventListener("abort", () => {
            resolve(signal.reason);
            reject(signal.reason);
          })
        );
      });
    });
    const s = await serveNode(nodeListener(hung));
    const socket = connect(s.port, "127.0.0.1", () => {
      socket.write("GET /_groupcache/g/slow HTTP/1.1\r\nhost: a\r\n\r\n");
    });
    socket.on("error", () => {});
    try {
      await Promise.race([loading, sleep(5_000)]);
      socket.destroy();
      const reason = await Promise.race([aborted, sleep(5_000).then(() => "")]);
      assert.notEqual(reason, "", "the load's signal did not abort");
    } finally {
      socket.destroy();
      await s.close();
    }
  });

  it("HEAD: 200 and no body", async () => {
    const got = await raw(served.port, "HEAD", "/_groupcache/g/k");
    assert.equal(got.status, 200);
    assert.equal(got.body.length, 0);
  });

  it("PUT stores a SetRequest; one over maxResponseBytes gets 413", async () => {
    const small = onePool({ maxResponseBytes: 64, writes: "open" });
    const s = await serveNode(nodeListener(small));
    try {
      const put = (value: string) =>
        raw(
          s.port,
          "PUT",
          "/_groupcache/g/ignored",
          {},
          encodeSetRequest({
            group: "g",
            key: "set",
            value: new TextEncoder().encode(value),
          }),
        );
      assert.equal((await put("stored")).status, 200);
      const got = await raw(s.port, "GET", "/_groupcache/g/set");
      assert.match(text(got.body), /stored/);
      const big = await put("x".repeat(100));
      assert.equal(big.status, 413);
      assert.match(
        text(big.body),
        /larger than this node accepts \(64 bytes\)/,
      );
    } finally {
      await s.close();
    }
  });

  it("after pool.close(): 503 with retry-after, as pool.handler", async () => {
    const closing = onePool();
    const s = await serveNode(nodeListener(closing));
    try {
      await closing.close();
      const got = await raw(s.port, "GET", "/_groupcache/g/k");
      const res = await closing.handler(
        new Request("http://127.0.0.1:1/_groupcache/g/k"),
      );
      assert.equal(got.status, 503);
      assert.equal(res.status, 503);
      assert.equal(got.headers["retry-after"], "1");
      assert.equal(text(got.body), await res.text());
    } finally {
      await s.close();
    }
  });
});

describe(`nodePeers next to an app's own routes (${label})`, () => {
  it("plain node:http: peers answered, every other path left to the app, also after close", async () => {
    const pool = onePool();
    const peers = nodePeers(pool);
    const s = await serveNode((req, res) => {
      if (peers(req, res)) return;
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`app: ${req.url}`);
    });
    try {
      const peer = await raw(s.port, "GET", "/_groupcache/g/k");
      assert.equal(peer.status, 200);
      assert.equal(peer.headers["content-type"], "application/x-protobuf");
      const app = await raw(s.port, "GET", "/hello");
      assert.equal(text(app.body), "app: /hello");
      await pool.close();
      assert.equal((await raw(s.port, "GET", "/_groupcache/g/k")).status, 503);
      assert.equal(text((await raw(s.port, "GET", "/x")).body), "app: /x");
    } finally {
      await s.close();
    }
  });

  it("calls next for other paths (Express-style), not for peer paths", async () => {
    const pool = onePool();
    const peers = nodePeers(pool);
    const nexts: string[] = [];
    const s = await serveNode((req, res) =>
      peers(req, res, () => {
        nexts.push(req.url!);
        res.end("next");
      })
    );
    try {
      assert.equal((await raw(s.port, "GET", "/_groupcache/g/k")).status, 200);
      assert.equal(text((await raw(s.port, "GET", "/mine")).body), "next");
      assert.deepEqual(nexts, ["/mine"]);
    } finally {
      await s.close();
    }
  });

  it("in front of @hono/node-server's listener: Hono's routes and the peers on one server", async () => {
    const pool = onePool();
    const peers = nodePeers(pool);
    const app = new Hono();
    app.get("/hello", (c) => c.text("hello from hono"));
    // Left as they are, the globals Request and Response become Hono's own
    // for every test in this process (Bun runs all files in one).
    const hono = getRequestListener(app.fetch, {
      overrideGlobalObjects: false,
    });
    const s = await serveNode((req, res) => {
      if (!peers(req, res)) void hono(req, res);
    });
    try {
      const hello = await raw(s.port, "GET", "/hello");
      assert.equal(text(hello.body), "hello from hono");
      const peer = await raw(s.port, "GET", "/_groupcache/g/k");
      assert.equal(peer.status, 200);
      assert.equal(peer.headers["content-type"], "application/x-protobuf");
      // And as a peer would ask: through a pool's native transport.
      const transport = nodeTransport();
      try {
        const asker = askerOf(s.url, transport);
        const g = asker.newGroup("g", 1 << 20, () => "local");
        const key = keyOf(asker, s.url);
        assert.equal((await g.get(key)).toString(), `v:${key}`);
      } finally {
        transport.close();
      }
    } finally {
      await s.close();
    }
  });
});

describe(`a cluster served and asked natively (${label})`, () => {
  const transport = nodeTransport({ maxSockets: 4 });
  const servers: NodeServed[] = [];
  const pools: HttpPool[] = [];
  const groups: Group[] = [];
  const loads = new Map<string, number>();
  before(async () => {
    const listeners:
      ((...a: Parameters<ReturnType<typeof nodeListener>>) => void)[] = [];
    for (let i = 0; i < 3; i++) {
      servers.push(await serveNode((req, res) => listeners[i](req, res)));
    }
    const urls = servers.map((s) => s.url);
    for (let i = 0; i < 3; i++) {
      const pool = new HttpPool(urls[i], {
        registry: new Registry(),
        transport,
        ring: "mailgun", // set and remove travel between nodes
        secret: "the native cluster's secret", // signed through the transport
        timeoutMs: 2_000,
        logger: silentLogger,
      });
      pool.set(...urls);
      pools.push(pool);
      groups.push(pool.newGroup("g", 1 << 20, (key) => {
        loads.set(key, (loads.get(key) ?? 0) + 1);
        if (key.startsWith("missing")) throw new NotFoundError(`no ${key}`);
        if (key.startsWith("failing")) throw new Error(`cannot ${key}`);
        return `v:${key}`;
      }));
      listeners.push(nodeListener(pool));
    }
  });
  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await Promise.all(servers.map((s) => s.close()));
    transport.close();
  });

  it("loads every key once cluster-wide, asked through every node, 200 concurrent gets on 4 sockets per peer", async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `key ${i}/ü`);
    await Promise.all(
      keys.flatMap((key) =>
        groups.map(async (g) =>
          assert.equal((await g.get(key)).toString(), `v:${key}`)
        )
      ),
    );
    for (const key of keys) assert.equal(loads.get(key), 1, key);
    assert.ok(groups.every((g) => g.stats.peerErrors === 0));
    assert.ok(groups.some((g) => g.stats.peerLoads > 0));
  });

  it("an owner's not-found and getter error reach the asker typed, with no second getter run", async () => {
    for (const key of ["missing 1", "failing 1"]) {
      const asker = groups.findIndex((_, i) => pools[i].pickPeer(key));
      const err = await groups[asker].get(key).catch((e) => e);
      if (key.startsWith("missing")) assert.ok(err instanceof NotFoundError);
      else assert.deepEqual([err.name, err.reason], ["PeerError", "getter"]);
      assert.equal(loads.get(key), 1, key);
    }
  });

  it("set and remove reach the owner through PUT and DELETE", async () => {
    const key = "written";
    const asker = groups.findIndex((_, i) => pools[i].pickPeer(key));
    await groups[asker].set(key, "new value");
    for (const g of groups) {
      assert.equal((await g.get(key)).toString(), "new value");
    }
    await groups[asker].remove(key);
    assert.equal((await groups[asker].get(key)).toString(), `v:${key}`);
  });
});

describe(`nodeTransport's own limits (${label})`, () => {
  it("holds at most maxSockets connections to a peer", async () => {
    let open = 0;
    let most = 0;
    const server = createServer((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/x-protobuf" });
        res.end();
      }, 20);
    });
    server.on("connection", (socket) => {
      open++;
      most = Math.max(most, open);
      socket.on("close", () => open--);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${
      (server.address() as { port: number }).port
    }`;
    const transport = nodeTransport({ maxSockets: 2 });
    try {
      const pool = askerOf(url, transport);
      const peer = pool.pickPeer(keyOf(pool, url))!;
      const views = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => peer.get("g", `k${i}`, new AbortController().signal),
        ),
      );
      assert.ok(views.every((v) => v.length === 0));
      assert.equal(most, 2);
    } finally {
      transport.close();
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });

  it("a caller that leaves: the request rejects at once, its socket is destroyed, the peer is not blamed", async () => {
    let closed = 0;
    const server = createServer(() => {}); // never answers
    server.on("connection", (socket) => socket.on("close", () => closed++));
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${
      (server.address() as { port: number }).port
    }`;
    const transport = nodeTransport();
    try {
      const pool = askerOf(url, transport);
      const g = pool.newGroup("g", 1 << 20, (key) => key);
      const key = keyOf(pool, url);
      const leave = new AbortController();
      const t0 = performance.now();
      const got = g.get(key, { signal: leave.signal });
      await sleep(50);
      leave.abort(new Error("the caller left"));
      await assert.rejects(got, /the caller left/);
      assert.ok(performance.now() - t0 < 1_000);
      for (let i = 0; closed === 0 && i < 100; i++) await sleep(10);
      assert.equal(closed, 1, "the socket was destroyed");
      assert.equal(pool.peerHealth()[0].state, "up");
    } finally {
      transport.close();
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });

  it("a reply dropped once its body has all arrived keeps its socket", async () => {
    let connections = 0;
    const server = createServer((_req, res) => {
      res.writeHead(404, { "x-groupcache-peek": "miss" });
      res.end("not cached\n");
    });
    server.on("connection", () => connections++);
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${
      (server.address() as { port: number }).port
    }/_groupcache/g/k`;
    const transport = nodeTransport();
    const request: PeerRequest = {
      method: "GET",
      headers: {},
      signal: new AbortController().signal,
      onAbort: () => () => {},
    };
    try {
      for (let i = 0; i < 3; i++) {
        const reply = await transport(url, request);
        assert.equal(reply.status, 404);
        await sleep(10); // the whole body is in
        await reply.cancel();
      }
      assert.equal(connections, 1);
    } finally {
      transport.close();
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });

  it("refuses a bad maxSockets", () => {
    assert.throws(() => nodeTransport({ maxSockets: 0 }), RangeError);
  });

  it("a pool takes fetch or transport, not both", () => {
    const transport: NodeTransport = nodeTransport();
    assert.throws(
      () =>
        new HttpPool("http://a:1", {
          registry: new Registry(),
          transport,
          fetch: globalThis.fetch,
        }),
      /fetch or transport, not both/,
    );
    transport.close();
  });

  it("a connection refused is a network PeerError", async () => {
    const transport = nodeTransport();
    try {
      const pool = askerOf("http://127.0.0.1:1", transport);
      const key = keyOf(pool, "http://127.0.0.1:1");
      await assert.rejects(
        pool.pickPeer(key)!.get("g", key, new AbortController().signal),
        (err) =>
          err instanceof PeerError && err.reason === "network" &&
          err.message.endsWith(": connection refused to http://127.0.0.1:1"),
      );
    } finally {
      transport.close();
    }
  });
});

const hostile = nodeTransport();
describeHostilePeer(
  label,
  () => ({ transport: hostile }),
  () => hostile.close(),
  // node:http refuses a Content-Length beside a Transfer-Encoding outright
  // (fetch reads such a body as chunked, up to the limit).
  { "smuggle:": { reason: "malformed", down: false } },
);

const interop = nodeTransport();
describeInterop({
  label,
  async serve() {
    let listener: ReturnType<typeof nodeListener> | undefined;
    const served = await serveNode((req, res) => listener!(req, res));
    return {
      url: served.url,
      attach: (pool) => listener = nodeListener(pool),
      close: () => served.close(),
    };
  },
  pool: () => ({ transport: interop }),
  resolvesDots: false,
  done: () => interop.close(),
});
