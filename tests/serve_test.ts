// Real sockets on 127.0.0.1: TypeScript nodes served by the runtime's own
// server (Deno.serve under Deno, Bun.serve under Bun, node:http under Node).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ByteView,
  decodeGetResponse,
  Group,
  HttpPool,
  Registry,
} from "../mod.ts";
import {
  KEPT_ANSWERS,
  KEPT_BODY_BYTES,
  KeptAnswers,
  probeClones,
} from "../src/http_handler.ts";
import { countMade } from "./_dev/count_made.ts";
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

/** Counts the `Response`s constructed while `fn` runs (clones are not). */
describe(`kept answers of pool.handler (${runtimeName()})`, () => {
  const text = (body: Uint8Array) =>
    new TextDecoder().decode(decodeGetResponse(body));
  const node = () => {
    const registry = new Registry();
    let loads = 0;
    const group = new Group("kept", 1 << 20, (key) => {
      loads++;
      return key.startsWith("size:")
        ? new Uint8Array(Number(key.slice(5))).fill(loads)
        : `v${loads}:${key}`;
    }, { registry });
    const pool = new HttpPool("http://127.0.0.1:1", { registry });
    // What Deno.serve and Bun.serve call it with: the request and one more.
    const handler = pool.handler as (
      req: Request,
      server: unknown,
    ) => Promise<Response>;
    return { group, pool, handler };
  };
  const url = (key: string) => `http://127.0.0.1:1/_groupcache/kept/${key}`;

  it("answers a served value from one Response where clones share bodies", async () => {
    const { group, handler } = node();
    await probeClones();
    await group.get("k");
    const bodies: string[] = [];
    const { made } = await countMade("Response", async () => {
      for (let i = 0; i < 3; i++) {
        const res = await handler(new Request(url("k")), {});
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "application/x-protobuf");
        assert.equal(res.headers.get("x-groupcache-batch"), "1");
        bodies.push(text(await res.bytes()));
      }
    });
    assert.deepEqual(bodies, ["v1:k", "v1:k", "v1:k"]);
    // Bun copies a clone's body when read, and sends a new answer faster.
    const share = await probeClones();
    assert.equal(share, runtimeName() === "deno");
    assert.equal(made, share ? 1 : 3);
    await group.set("k", "new");
    const res = await handler(new Request(url("k")), {});
    assert.equal(text(await res.bytes()), "new");
  });

  it("makes every answer anew for a caller that passes the request alone", async () => {
    const { group, pool } = node();
    await group.get("k");
    const { made } = await countMade("Response", async () => {
      const first = await (await pool.handler(new Request(url("k")))).bytes();
      first.fill(0); // the caller's own bytes
      const again = await pool.handler(new Request(url("k")));
      assert.equal(text(await again.bytes()), "v1:k");
    });
    assert.equal(made, 2);
  });

  it(`keeps no answer of a body over ${KEPT_BODY_BYTES} bytes, and ${KEPT_ANSWERS} at most`, async () => {
    const share = await probeClones(); // else every answer is made anew
    const { group, handler } = node();
    const big = `size:${KEPT_BODY_BYTES}`; // its GetResponse is a few bytes more
    await group.get(big);
    const { made } = await countMade("Response", async () => {
      for (let i = 0; i < 2; i++) {
        const res = await handler(new Request(url(big)), {});
        const value = decodeGetResponse(await res.bytes());
        assert.equal(value.length, KEPT_BODY_BYTES);
        assert.ok(value.every((b) => b === 1));
      }
    });
    assert.equal(made, 2);
    const answers = new KeptAnswers(false);
    const views = Array.from(
      { length: KEPT_ANSWERS + 1 },
      (_, i) => new ByteView(`value ${i}`),
    );
    const serve = (view: ByteView) => answers.shared(view);
    const { made: counts } = await countMade("Response", async () => {
      for (const view of views) serve(view); // the last one starts over
      serve(views[KEPT_ANSWERS]); // kept
      serve(views[0]); // not any more
      for (const view of [views[0], views[KEPT_ANSWERS]]) {
        assert.equal(
          text(await serve(view).bytes()),
          new TextDecoder().decode(view.toBytes()),
        );
      }
    });
    assert.equal(counts, share ? KEPT_ANSWERS + 2 : KEPT_ANSWERS + 5);
  });

  it("serves the kept answers right over a socket, and a removed key's new value", async () => {
    const { group, pool } = node();
    const served = await serve(pool.handler);
    try {
      const get = async (key: string) => {
        const res = await fetch(`${served.url}/_groupcache/kept/${key}`);
        assert.equal(res.status, 200);
        return new Uint8Array(await res.arrayBuffer());
      };
      for (let i = 0; i < 3; i++) assert.equal(text(await get("k")), "v1:k");
      await group.remove("k");
      for (let i = 0; i < 3; i++) assert.equal(text(await get("k")), "v2:k");
      const bytes = decodeGetResponse(await get("size:1000"));
      assert.equal(bytes.length, 1000);
      assert.ok(bytes.every((b) => b === 3));
    } finally {
      await served.close();
    }
  });
});
