// Real sockets on 127.0.0.1: TypeScript nodes served by the runtime's own
// server (Deno.serve under Deno, Bun.serve under Bun, node:http under Node).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeGetResponse, Group, HttpPool, Registry } from "../mod.ts";
import { rawGet } from "./_dev/raw_get.ts";
import { runtimeName } from "./_dev/runtimes.ts";
import { type Handler, serve, type Served } from "./_dev/serve.ts";

interface Node {
  served: Served;
  pool: HttpPool;
  group: Group;
  loads: Map<string, number>;
}

describe(`three nodes over real sockets (${runtimeName()})`, () => {
  const nodes: Node[] = [];

  before(async () => {
    const handlers: Handler[] = [];
    const served = await Promise.all(
      [0, 1, 2].map((i) => serve((req) => handlers[i](req))),
    );
    const urls = served.map((s) => s.url);
    for (const [i, s] of served.entries()) {
      const pool = new HttpPool(s.url, { registry: new Registry() });
      pool.set(...urls);
      const loads = new Map<string, number>();
      const group = new Group("test", 8 << 20, (key, dest) => {
        loads.set(key, (loads.get(key) ?? 0) + 1);
        if (key.startsWith("size:")) {
          const n = Number(key.split(":")[1]);
          dest.setBytes(
            Uint8Array.from({ length: n }, (_, j) => (j * 31 + n) & 0xff),
          );
        } else {
          dest.setString(`v:${key}`);
        }
      }, { peers: pool });
      handlers[i] = pool.handler;
      nodes.push({ served: s, pool, group, loads });
    }
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.served.close()));
  });

  const total = (key: string) =>
    nodes.reduce((s, n) => s + (n.loads.get(key) ?? 0), 0);

  it("loads every key exactly once cluster-wide, whichever node is asked", async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `key ${i} ü+/%`);
    await Promise.all(keys.flatMap((key) =>
      nodes.map(async (n) => {
        assert.equal((await n.group.get(key)).toString(), `v:${key}`);
      })
    ));
    for (const key of keys) assert.equal(total(key), 1, key);
    const peerLoads = nodes.reduce((s, n) => s + n.group.stats.peerLoads, 0);
    const served = nodes.reduce((s, n) => s + n.group.stats.serverRequests, 0);
    assert.ok(peerLoads > 0);
    assert.equal(peerLoads, served);
  });

  it("carries a 1 MiB value byte-exact between nodes", async () => {
    const key = "size:1048576";
    const owner = nodes.find((n) => n.pool.owner(key) === n.served.url)!;
    const asker = nodes.find((n) => n !== owner)!;
    const view = await asker.group.get(key);
    assert.equal(view.length, 1 << 20);
    assert.ok(view.equals(await owner.group.get(key)));
    assert.equal(total(key), 1);
  });

  it("survives a node going away by loading locally", async () => {
    const [a, b] = nodes;
    const dead = await serve(() => new Response("unused"));
    await dead.close(); // a port nobody listens on any more
    const original = a.pool.peers;
    a.pool.set(...original.map((u) => u === b.served.url ? dead.url : u));
    try {
      let key = "";
      for (let i = 0; key === ""; i++) {
        if (a.pool.owner(`gone-${i}`) === dead.url) key = `gone-${i}`;
      }
      const errorsBefore = a.group.stats.peerErrors;
      assert.equal((await a.group.get(key)).toString(), `v:${key}`);
      assert.equal(a.group.stats.peerErrors, errorsBefore + 1);
      assert.equal(a.loads.get(key), 1);
    } finally {
      a.pool.set(...original);
    }
  });

  // Go clients send "." and ".." segments raw; what each server hands over differs.
  const raw: [string, string, { deno: number; bun: number; node: number }][] = [
    ["a/../b", "/_groupcache/test/a%2F..%2Fb", {
      deno: 200,
      bun: 200,
      node: 200,
    }],
    ["./x", "/_groupcache/test/.%2Fx", { deno: 200, bun: 200, node: 200 }],
    // node:http keeps the raw path, but a WHATWG Request made from it does not.
    ["..", "/_groupcache/test/..", { deno: 200, bun: 400, node: 400 }],
    [".", "/_groupcache/test/.", { deno: 200, bun: 400, node: 400 }],
  ];
  for (const [key, path, expected] of raw) {
    const want = expected[runtimeName()];
    it(`answers ${want} to a raw ${path} (key ${JSON.stringify(key)}) under ${runtimeName()}`, async () => {
      const node = nodes[0];
      const res = await rawGet(node.served.port, path);
      assert.equal(res.status, want, new TextDecoder().decode(res.body));
      if (want === 200) {
        assert.equal(
          new TextDecoder().decode(decodeGetResponse(res.body)),
          `v:${key}`,
        );
      }
    });
  }

  // Requests no peer sends. Deno hands the raw path over but builds req.url
  // from the Host header; Bun resolves the path first (and makes a URL with
  // a bad Host relative). Each either is refused or loads exactly the key
  // the runtime showed the handler; none loads a key the request line did
  // not name, except where Bun rewrote the path before the handler (its
  // documented limit).
  const hostile: [
    string,
    string,
    string | undefined,
    Record<"deno" | "bun", number | string>,
  ][] = [
    ["a Host header carrying a path", "/other", "h/_groupcache/test/x", {
      deno: 400,
      bun: 404,
    }],
    ["a Host header carrying a query", "/other", "h?/_groupcache/test/x", {
      deno: 400,
      bun: 404,
    }],
    ["a raw backslash", "/_groupcache/test/a\\b", undefined, {
      deno: 400,
      bun: "a/b",
    }],
    ["raw UTF-8", "/_groupcache/test/\xc3\xbc", undefined, {
      deno: 400,
      bun: "\u00fc",
    }],
    ["a raw byte that is not UTF-8", "/_groupcache/test/\xff", undefined, {
      deno: 400,
      bun: "\ufffd",
    }],
    ["a raw #", "/_groupcache/test/a#b", undefined, { deno: 400, bun: 400 }],
    ["a raw |", "/_groupcache/test/a|b", undefined, { deno: 400, bun: 400 }],
    ["an escaped dot segment", "/_groupcache/test/a/%2e%2e/b", undefined, {
      deno: "a/../b",
      bun: "b",
    }],
  ];
  for (const [what, path, host, expected] of hostile) {
    const want = expected[runtimeName() as "deno" | "bun"];
    it(`answers ${typeof want === "number" ? want : "the key " + JSON.stringify(want)} to ${what} under ${runtimeName()}`, async () => {
      const node = nodes[0];
      const before = [...node.loads.keys()];
      const res = await rawGet(node.served.port, path, host);
      const text = new TextDecoder().decode(res.body);
      if (typeof want === "number") {
        assert.equal(res.status, want, text);
        assert.deepEqual([...node.loads.keys()], before, "nothing loaded");
      } else {
        assert.equal(res.status, 200, text);
        const value = new TextDecoder().decode(decodeGetResponse(res.body));
        assert.equal(value, `v:${want}`);
      }
    });
  }
});
