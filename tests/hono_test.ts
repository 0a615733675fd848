// groupcache in a Hono app, on Deno and Bun: the ways to hand pool.handler
// its requests next to the app's own routes, the one that silently breaks
// the cluster (mounting strips the prefix by default), and examples/hono.ts
// as two processes over real sockets.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { mount } from "hono/mount";
import { HttpPool, Registry } from "../mod.ts";
import { join, root } from "./_dev/paths.ts";
import { freePorts } from "./_dev/ports.ts";
import { type Server, startServer } from "./_dev/proc.ts";
import { runtimeCommand, runtimeName } from "./_dev/runtimes.ts";

type Wiring = (app: Hono, pool: HttpPool) => void;

const wirings: [string, Wiring, "once" | "everywhere"][] = [
  [
    'app.all("/_groupcache/*", (c) => pool.handler(c.req.raw))',
    (app, pool) => app.all("/_groupcache/*", (c) => pool.handler(c.req.raw)),
    "once",
  ],
  [
    'app.all("/_groupcache/*", mount(pool.handler, { replaceRequest: false }))',
    (app, pool) =>
      app.all("/_groupcache/*", mount(pool.handler, { replaceRequest: false })),
    "once",
  ],
  [
    'app.mount("/_groupcache", pool.handler, { replaceRequest: false })',
    (app, pool) =>
      app.mount("/_groupcache", pool.handler, { replaceRequest: false }),
    "once",
  ],
  [
    'app.mount("/_groupcache", pool.handler), which strips the prefix',
    (app, pool) => app.mount("/_groupcache", pool.handler),
    "everywhere",
  ],
];

/** Two nodes, each a Hono app with a route of its own, wired in one process. */
function twoApps(wire: Wiring) {
  const urls = ["http://a.test", "http://b.test"];
  const apps: Hono[] = [];
  const loads = new Map<string, number>();
  const peerFetch = (input: string, init: RequestInit) =>
    Promise.resolve(
      apps[urls.findIndex((u) => input.startsWith(u + "/"))].fetch(
        new Request(input, init),
      ),
    );
  const pools = urls.map((url) => {
    const pool = new HttpPool(url, {
      registry: new Registry(),
      fetch: peerFetch,
    });
    pool.set(...urls);
    const group = pool.newGroup("greetings", 1 << 20, (key) => {
      loads.set(key, (loads.get(key) ?? 0) + 1);
      return `hello ${key}`;
    });
    const app = new Hono();
    wire(app, pool);
    app.get(
      "/hello/:name",
      async (c) => c.text((await group.get(c.req.param("name"))).toString()),
    );
    apps.push(app);
    return { pool, group };
  });
  return { urls, apps, pools, loads };
}

describe(`pool.handler in a Hono app (${runtimeName()})`, () => {
  const keys = Array.from({ length: 24 }, (_, i) => `user-${i}`);
  for (const [name, wire, loaded] of wirings) {
    it(`${name}: each key is made ${loaded === "once" ? "once, by its owner" : "by every node that is asked (peers get 404)"}`, async () => {
      const { urls, apps, pools, loads } = twoApps(wire);
      for (const key of keys) {
        for (const [i, app] of apps.entries()) {
          const res = await app.fetch(new Request(`${urls[i]}/hello/${key}`));
          assert.equal(res.status, 200);
          assert.equal(await res.text(), `hello ${key}`);
        }
      }
      const peerErrors = pools.reduce(
        (n, p) => n + p.group.stats.peerErrors,
        0,
      );
      const peerLoads = pools.reduce((n, p) => n + p.group.stats.peerLoads, 0);
      for (const key of keys) {
        assert.equal(loads.get(key), loaded === "once" ? 1 : 2, key);
      }
      if (loaded === "once") {
        assert.equal(peerErrors, 0);
        assert.equal(peerLoads, keys.length);
      } else {
        assert.equal(peerErrors, keys.length);
        assert.equal(peerLoads, 0);
        const direct = await apps[0].fetch(
          new Request(`${urls[0]}/_groupcache/greetings/user-0`),
        );
        assert.equal(
          direct.status,
          404,
          "the pool saw the path without its prefix",
        );
      }
    });
  }
});

describe(`examples/hono.ts as two processes (${runtimeName()})`, () => {
  const nodes: { url: string; server: Server }[] = [];
  const names = ["ada", "grace", "edsger", "barbara", "ken", "margaret"];

  before(async () => {
    const ports = await freePorts(2);
    const peers = ports.map((p) => `http://127.0.0.1:${p}`).join(",");
    await Promise.all(ports.map(async (port) => {
      const [cmd, args] = runtimeCommand(join(root, "examples/hono.ts"), [
        "--port",
        String(port),
        "--peers",
        peers,
      ]);
      const server = await startServer(cmd, args, {
        cwd: root,
        ready: /^hono node \S+ listening on (\S+) /m,
        timeoutMs: 30_000,
      });
      nodes.push({ url: server.address, server });
    }));
  }, { timeout: 60_000 });

  after(async () => {
    await Promise.all(nodes.map((n) => n.server.stop()));
  });

  const get = async (url: string) => {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  it("answers its own routes and every name from either node, made once by the name's owner", async () => {
    for (const node of nodes) {
      assert.equal((await get(`${node.url}/`)).status, 200);
    }
    const owners = new Set<string | null>();
    for (const name of names) {
      const [a, b] = await Promise.all(
        nodes.map((n) => get(`${n.url}/greet/${name}`)),
      );
      assert.equal(a.status, 200, a.text);
      assert.equal(b.text, a.text);
      const owner = a.headers.get("x-groupcache-owner");
      owners.add(owner);
      assert.equal(a.text, `hello ${name}, made by ${owner}\n`);
    }
    const loaded = await Promise.all(
      nodes.map(async (n) => JSON.parse((await get(`${n.url}/stats`)).text)),
    );
    assert.deepEqual(loaded.flatMap((s) => s.loaded).sort(), [...names].sort());
    // The ports are free ones, so which node owns what varies: a node asked
    // a peer exactly when the other node owns some name.
    for (const [i, node] of nodes.entries()) {
      const othersOwnSome = [...owners].some((o) => o !== node.url);
      assert.equal(loaded[i].stats.peerLoads > 0, othersOwnSome, node.url);
    }
  });
});
