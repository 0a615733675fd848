import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  decodeGetResponse,
  encodeGetResponse,
  Group,
  HashRing,
  HttpPool,
  InvalidKeyError,
  PeerError,
  Registry,
  silentLogger,
} from "../mod.ts";
import { freePort } from "./_dev/ports.ts";

const SELF = "http://127.0.0.1:8001";
const OTHER = "http://127.0.0.1:8002";

function pool(options: ConstructorParameters<typeof HttpPool>[1] = {}) {
  return new HttpPool(SELF, { registry: new Registry(), ...options });
}

/** What a peer sends a value as (Go and we). */
const PROTOBUF = { "content-type": "application/x-protobuf" };

/** An endless body; `reads.pulls` counts the chunks asked of it. */
function endless(reads = { pulls: 0, cancelled: false }) {
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      reads.pulls++;
      controller.enqueue(new Uint8Array(1024));
    },
    cancel() {
      reads.cancelled = true;
    },
  });
}

/** A pool whose only peer answers every fetch with `respond`. */
function clientWith(
  respond: (url: string, init: RequestInit) => Response | Promise<Response>,
  options: ConstructorParameters<typeof HttpPool>[1] = {},
) {
  const urls: string[] = [];
  const inits: RequestInit[] = [];
  const p = pool({
    fetch: async (url, init) => {
      urls.push(url);
      inits.push(init);
      return await respond(url, init);
    },
    ...options,
  });
  p.set(OTHER, SELF);
  const remoteKey = (prefix = "k") => {
    for (let i = 0;; i++) if (p.owner(prefix + i) === OTHER) return prefix + i;
  };
  return {
    pool: p,
    urls,
    inits,
    remoteKey,
    peer: (key: string) => p.pickPeer(key)!,
  };
}

describe("HttpPool configuration", () => {
  const badSelves: [string, unknown][] = [
    ["not a URL", "not a url"],
    ["a non-http scheme", "ftp://a:1"],
    ["a trailing slash", "http://a:1/"],
    ["a query", "http://a:1?x=1"],
    ["a fragment", "http://a:1#f"],
    ["credentials", "http://u:p@a:1"],
    ["a number", 8001],
  ];
  for (const [what, self] of badSelves) {
    it(`refuses a self URL with ${what}`, () => {
      assert.throws(
        () => new HttpPool(self as string, { registry: new Registry() }),
        ConfigError,
      );
    });
  }

  const badOptions: [string, ConstructorParameters<typeof HttpPool>[1]][] = [
    ["a basePath without slashes", { basePath: "_groupcache" }],
    ["zero replicas", { replicas: 0 }],
    ["fractional replicas", { replicas: 1.5 }],
    ["a hash that is not a function", { hash: 1 as never }],
    ["a fetch that is not a function", { fetch: "x" as never }],
    ["a zero timeout", { timeoutMs: 0 }],
    ["a negative maxResponseBytes", { maxResponseBytes: -1 }],
  ];
  for (const [what, options] of badOptions) {
    it(`refuses ${what}`, () => {
      assert.throws(() => pool(options), ConfigError);
    });
  }

  it("refuses malformed peers, duplicates, and a list without self, keeping the old list", () => {
    const p = pool();
    p.set(SELF, OTHER);
    assert.throws(() => p.set(SELF, "nope"), /peer #2 "nope" is not a URL/);
    assert.throws(() => p.set(SELF, OTHER, OTHER), /listed twice/);
    assert.throws(() => p.set(OTHER), /must include this node's own URL/);
    assert.deepEqual(p.peers, [SELF, OTHER]);
  });

  it("refuses a peer URL that carries the base path, with or without a trailing /, naming the URL to list", () => {
    const p = pool();
    p.set(SELF, OTHER);
    for (const bad of [`${OTHER}/_groupcache`, `${OTHER}/_groupcache/`]) {
      assert.throws(
        () => p.set(SELF, bad),
        (err) =>
          err instanceof ConfigError &&
          err.message ===
            `peer #2 ${JSON.stringify(bad)} contains the base path ` +
              "/_groupcache/, which the client appends to every request: " +
              `list the peer without it, like ${JSON.stringify(OTHER)}`,
      );
    }
    const custom = pool({ basePath: "/cache/" });
    assert.throws(() => custom.set(SELF, `${OTHER}/api/cache`), /base path/);
    // A path of its own is fine, as is one that only starts like the base path.
    p.set(SELF, `${OTHER}/api`, "http://127.0.0.1:8003/_groupcache_old");
    assert.deepEqual(p.peers, [
      SELF,
      `${OTHER}/api`,
      "http://127.0.0.1:8003/_groupcache_old",
    ]);
  });

  it("accepts an empty list: every key is then local", () => {
    const p = pool();
    p.set(SELF, OTHER);
    p.set();
    assert.deepEqual(p.peers, []);
    assert.equal(p.owner("k"), undefined);
    assert.equal(p.pickPeer("k"), undefined);
  });

  it("places keys exactly as a HashRing built from the same list", () => {
    const peers = [SELF, OTHER, "http://127.0.0.1:8003"];
    const p = pool();
    p.set(...peers);
    const ring = new HashRing(50);
    ring.add(...peers);
    for (let i = 0; i < 2000; i++) {
      const key = `key ${i} ü/+`;
      assert.equal(p.owner(key), ring.get(key));
      const picked = p.pickPeer(key);
      assert.equal(
        picked?.url,
        ring.get(key) === SELF ? undefined : ring.get(key),
      );
    }
  });
});

describe("HttpPool client (fetching from a peer)", () => {
  const ok = (value: Uint8Array) =>
    new Response(encodeGetResponse(value), { status: 200, headers: PROTOBUF });

  const escapes: [string, string][] = [
    ["a b", "a%20b"],
    ["a+b", "a%2Bb"],
    ["a/b", "a%2Fb"],
    ["100%", "100%25"],
    ["ü日本", "%C3%BC%E6%97%A5%E6%9C%AC"],
    ["a/../b", "a%2F..%2Fb"],
    ["./x", ".%2Fx"],
    ["?#&=", "%3F%23%26%3D"],
  ];
  for (const [key, wire] of escapes) {
    it(`sends key ${JSON.stringify(key)} as ${wire}, which Go decodes to the same key`, async () => {
      const c = clientWith(() => ok(new Uint8Array([1])));
      await c.peer(c.remoteKey()).get(
        "my group",
        key,
        new AbortController().signal,
      );
      assert.equal(c.urls[0], `${OTHER}/_groupcache/my%20group/${wire}`);
      assert.equal(decodeURIComponent(wire), key);
    });
  }

  it("decodes the value byte-exact", async () => {
    const value = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
    const c = clientWith(() => ok(value));
    const view = await c.peer(c.remoteKey()).get(
      "g",
      "k",
      new AbortController().signal,
    );
    assert.deepEqual(view.toBytes(), value);
  });

  it("reads a 0-byte body as an empty value (what Go sends for one)", async () => {
    const c = clientWith(() =>
      new Response(new Uint8Array(0), { headers: PROTOBUF })
    );
    const view = await c.peer(c.remoteKey()).get(
      "g",
      "k",
      new AbortController().signal,
    );
    assert.equal(view.length, 0);
  });

  const failures: [
    string,
    () => Response | Promise<Response>,
    Partial<PeerError>,
  ][] = [
    [
      "a non-200 status",
      () => new Response("no such group: g\n", { status: 404 }),
      {
        reason: "status",
        status: 404,
        body: "no such group: g",
      },
    ],
    [
      "a malformed body",
      () => new Response(new Uint8Array([0x0a, 9, 1]), { headers: PROTOBUF }),
      { reason: "malformed" },
    ],
    [
      "a body over maxResponseBytes with a content-length",
      () => ok(new Uint8Array(2000)),
      {
        reason: "too-large",
      },
    ],
    [
      "a streamed body over maxResponseBytes",
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(new Uint8Array(512)); // endless: must be cut off
            },
          }),
          { headers: PROTOBUF },
        ),
      { reason: "too-large" },
    ],
    [
      "an endless body whose Content-Length says 10 beside a Transfer-Encoding",
      () =>
        new Response(endless(), {
          headers: {
            ...PROTOBUF,
            "content-length": "10",
            "transfer-encoding": "chunked",
          },
        }),
      { reason: "too-large" },
    ],
    [
      "a gzip body (refused unread: it could inflate past the limit)",
      () =>
        new Response(endless(), {
          headers: { ...PROTOBUF, "content-encoding": "gzip" },
        }),
      { reason: "encoding", status: 200 },
    ],
    [
      "a body in any other content-encoding",
      () =>
        new Response(encodeGetResponse(new Uint8Array(1)), {
          headers: { ...PROTOBUF, "content-encoding": "br" },
        }),
      { reason: "encoding" },
    ],
    ...[301, 302, 303, 307, 308].map((
      status,
    ): [string, () => Response, Partial<PeerError>] => [
      `a ${status} redirect (never followed)`,
      () =>
        new Response(null, {
          status,
          headers: { location: "http://elsewhere.test/x" },
        }),
      { reason: "redirect", status },
    ]),
    [
      "an answer a custom fetch reached by following a redirect",
      () => {
        const res = new Response(encodeGetResponse(new Uint8Array(1)), {
          headers: PROTOBUF,
        });
        Object.defineProperty(res, "redirected", { value: true });
        return res;
      },
      { reason: "redirect", status: 200 },
    ],
    [
      "a valid GetResponse sent as text/html",
      () =>
        new Response(encodeGetResponse(new Uint8Array([1, 2])), {
          headers: { "content-type": "text/html" },
        }),
      { reason: "content-type", status: 200 },
    ],
    [
      "JSON bytes that happen to parse as protobuf",
      () =>
        new Response(new TextEncoder().encode("{}"), {
          headers: { "content-type": "application/json" },
        }),
      { reason: "content-type" },
    ],
    [
      "an empty 200 without a content type",
      () => new Response(new Uint8Array(0)),
      { reason: "content-type" },
    ],
    [
      "a network error",
      () => Promise.reject(new TypeError("connection refused")),
      { reason: "network" },
    ],
  ];
  for (const [what, respond, expected] of failures) {
    it(`turns ${what} into a PeerError (${expected.reason})`, async () => {
      const c = clientWith(respond, { maxResponseBytes: 1024 });
      const err = await c.peer(c.remoteKey()).get(
        "g",
        "k",
        new AbortController().signal,
      ).then(
        () => assert.fail("should have failed"),
        (e) => e,
      );
      assert.ok(err instanceof PeerError, String(err));
      assert.equal(err.peer, OTHER);
      assert.equal(err.key, "k");
      for (const [field, value] of Object.entries(expected)) {
        assert.equal(
          (err as unknown as Record<string, unknown>)[field],
          value,
          field,
        );
      }
    });
  }

  it("says a refused connection is one, naming the peer, and keeps the runtime's error as the cause", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const p = new HttpPool(SELF, {
      registry: new Registry(),
      logger: silentLogger,
    });
    p.set(SELF, closed);
    let key = "k";
    for (let i = 0; p.owner(key) !== closed; i++) key = `k${i}`;
    const err = await p.pickPeer(key)!.get(
      "g",
      key,
      new AbortController().signal,
    ).catch((e) => e);
    assert.ok(err instanceof PeerError, String(err));
    assert.equal(err.reason, "network");
    assert.equal(
      err.message,
      `peer ${closed}, group g, key ${JSON.stringify(key)}: ` +
        `connection refused to ${closed}`,
    );
    assert.ok(err.cause instanceof Error, "the runtime's error is kept");
    await p.close();
  });

  it("asks for identity encoding and follows no redirect", async () => {
    const c = clientWith(() => ok(new Uint8Array([1])));
    await c.peer(c.remoteKey()).get("g", "k", new AbortController().signal);
    const init = c.inits[0];
    assert.equal(new Headers(init.headers).get("accept-encoding"), "identity");
    assert.equal(init.redirect, "manual");
  });

  it("refuses a compressed body before reading it", async () => {
    const reads = { pulls: 0, cancelled: false };
    const c = clientWith(() =>
      new Response(endless(reads), {
        headers: { ...PROTOBUF, "content-encoding": "gzip" },
      })
    );
    await assert.rejects(
      c.peer(c.remoteKey()).get("g", "k", new AbortController().signal),
      (e: PeerError) => e.reason === "encoding",
    );
    assert.ok(reads.pulls <= 1, `pulled ${reads.pulls} chunks`); // the stream's own prefetch
    assert.ok(reads.cancelled);
  });

  const protobufTypes = [
    "application/x-protobuf",
    "Application/X-Protobuf",
    "application/x-protobuf; proto=groupcachepb.GetResponse",
  ];
  for (const type of protobufTypes) {
    it(`accepts a value sent as ${JSON.stringify(type)}`, async () => {
      const c = clientWith(() =>
        new Response(encodeGetResponse(new Uint8Array([7])), {
          headers: { "content-type": type, "content-encoding": "identity" },
        })
      );
      const view = await c.peer(c.remoteKey()).get(
        "g",
        "k",
        new AbortController().signal,
      );
      assert.deepEqual(view.toBytes(), new Uint8Array([7]));
    });
  }

  it("gives up after timeoutMs with a timeout PeerError", async () => {
    const c = clientWith(
      (_url, init) =>
        new Promise((_, reject) =>
          init.signal!.addEventListener(
            "abort",
            () => reject(init.signal!.reason),
          )
        ),
      { timeoutMs: 30 },
    );
    const started = Date.now();
    await assert.rejects(
      c.peer(c.remoteKey()).get("g", "k", new AbortController().signal),
      (e: PeerError) =>
        e.reason === "timeout" && /within 30 ms/.test(e.message),
    );
    assert.ok(Date.now() - started < 2000);
  });

  for (const key of ["", ".", ".."]) {
    it(`refuses to send key ${JSON.stringify(key)}, which a URL cannot carry`, async () => {
      const c = clientWith(() => ok(new Uint8Array(0)));
      await assert.rejects(
        c.peer(c.remoteKey()).get("g", key, new AbortController().signal),
        InvalidKeyError,
      );
      assert.equal(c.urls.length, 0);
    });
  }

  it("refuses a key with a lone surrogate, which has no UTF-8 form", async () => {
    const c = clientWith(() => ok(new Uint8Array(0)));
    await assert.rejects(
      c.peer(c.remoteKey()).get("g", "a\ud800", new AbortController().signal),
      InvalidKeyError,
    );
  });
});

describe("HttpPool handler (serving peers)", () => {
  function server(getter?: ConstructorParameters<typeof Group>[2]) {
    const p = pool();
    const seen: string[] = [];
    new Group(
      "g",
      1 << 20,
      getter ?? ((key, dest) => {
        seen.push(key);
        dest.setString(`v:${key}`);
      }),
      { peers: p },
    );
    const get = async (path: string, method = "GET") => {
      const res = await p.handler(new Request(SELF + path, { method }));
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { res, bytes, text: new TextDecoder().decode(bytes) };
    };
    return { pool: p, seen, get };
  }

  const paths: [string, string, number, string | RegExp][] = [
    ["a plain key", "/_groupcache/g/abc", 200, "v:abc"],
    [
      "a key with + read as a space (what Go clients mean)",
      "/_groupcache/g/a+b",
      200,
      "v:a b",
    ],
    ["a key with %20", "/_groupcache/g/a%20b", 200, "v:a b"],
    ["a literal + sent as %2B", "/_groupcache/g/a%2Bb", 200, "v:a+b"],
    ["a key with an escaped slash", "/_groupcache/g/a%2Fb", 200, "v:a/b"],
    ["a key with a raw slash", "/_groupcache/g/a/b", 200, "v:a/b"],
    ["a unicode key", "/_groupcache/g/%C3%BC", 200, "v:ü"],
    ["a query string, which is ignored", "/_groupcache/g/k?x=1", 200, "v:k"],
    ["a path outside basePath", "/other/g/k", 404, /not found/],
    ["the root", "/", 404, /not found/],
    ["a group without a key part", "/_groupcache/g", 400, /bad request/],
    ["an empty key", "/_groupcache/g/", 400, /empty key/],
    ["an unknown group", "/_groupcache/nope/k", 404, "no such group: nope\n"],
    [
      "invalid percent-encoding",
      "/_groupcache/g/a%zzb",
      400,
      /invalid percent-encoding/,
    ],
    [
      "a truncated escape",
      "/_groupcache/g/a%2",
      400,
      /invalid percent-encoding/,
    ],
    [
      "bytes that are not UTF-8",
      "/_groupcache/g/%FF%FE",
      400,
      /not valid UTF-8/,
    ],
  ];
  for (const [what, path, status, body] of paths) {
    it(`answers ${status} to ${what}`, async () => {
      const s = server();
      const { res, bytes, text } = await s.get(path);
      assert.equal(res.status, status);
      if (status === 200) {
        assert.equal(res.headers.get("content-type"), "application/x-protobuf");
        assert.equal(new TextDecoder().decode(decodeGetResponse(bytes)), body);
      } else if (typeof body === "string") {
        assert.equal(text, body);
      } else {
        assert.match(text, body);
      }
    });
  }

  // What Deno.serve hands over: req.url is "http://" + Host + the raw path.
  const asDeno = (url: string, host: string) =>
    ({
      url,
      method: "GET",
      headers: new Headers({ host }),
      signal: new AbortController().signal,
    }) as unknown as Request;
  const requests: [string, string, string, number, string | RegExp][] = [
    [
      "a Host header carrying a path (it would name another key)",
      "http://h/_groupcache/g/x/other",
      "h/_groupcache/g/x",
      400,
      /Host header/,
    ],
    [
      "a Host header carrying a query",
      "http://h?/_groupcache/g/x/other",
      "h?/_groupcache/g/x",
      400,
      /Host header/,
    ],
    [
      "a Host header with a backslash",
      "http://h\\x/_groupcache/g/k",
      "h\\x",
      400,
      /Host header/,
    ],
    ["a raw non-ASCII key", "http://h/_groupcache/g/ü", "h", 400, /raw/],
    ["a raw backslash", "http://h/_groupcache/g/a\\b", "h", 400, /raw/],
    ["a raw space", "http://h/_groupcache/g/a b", "h", 400, /raw/],
    ["a raw #", "http://h/_groupcache/g/a#b", "h", 400, /raw/],
    ['a raw "', 'http://h/_groupcache/g/a"b', "h", 400, /raw/],
    [
      "an IPv6 host",
      "http://[::1]:8001/_groupcache/g/k",
      "[::1]:8001",
      200,
      "v:k",
    ],
    [
      "the characters our client leaves unescaped",
      "http://h:1/_groupcache/g/-_.!~*'()",
      "h:1",
      200,
      "v:-_.!~*'()",
    ],
    [
      "the other characters a path may carry raw",
      "http://h:1/_groupcache/g/$&,;=:@",
      "h:1",
      200,
      "v:$&,;=:@",
    ],
  ];
  for (const [what, url, host, status, body] of requests) {
    it(`answers ${status} to ${what}`, async () => {
      const s = server();
      const res = await s.pool.handler(asDeno(url, host));
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.equal(res.status, status);
      if (status === 200) {
        assert.equal(new TextDecoder().decode(decodeGetResponse(bytes)), body);
      } else {
        assert.match(new TextDecoder().decode(bytes), body as RegExp);
        assert.deepEqual(s.seen, [], "nothing loaded");
      }
    });
  }

  it("checks every request's Host, also after the same peer's was accepted", async () => {
    const s = server();
    const answers: number[] = [];
    for (const host of ["h:1", "h:1/_groupcache/g/x", "h:1", "h:1?", "h:2"]) {
      const res = await s.pool.handler(
        asDeno(`http://${host}/_groupcache/g/k`, host),
      );
      await res.arrayBuffer();
      answers.push(res.status);
    }
    assert.deepEqual(answers, [200, 400, 200, 400, 200]);
  });

  it("serves each group from its own cache, asked in turns and spelled either way", async () => {
    const p = pool();
    for (const name of ["a", "b c"]) {
      new Group(name, 1 << 20, (key) => `${name}:${key}`, { peers: p });
    }
    const values: string[] = [];
    const paths = ["a/k", "b+c/k", "a/k", "b%20c/j", "b+c/j", "a/j", "a+/j"];
    for (const path of paths) {
      const res = await p.handler(new Request(`${SELF}/_groupcache/${path}`));
      const bytes = new Uint8Array(await res.arrayBuffer());
      values.push(
        res.status === 200
          ? new TextDecoder().decode(decodeGetResponse(bytes))
          : String(res.status),
      );
    }
    assert.deepEqual(values, [
      "a:k",
      "b c:k",
      "a:k",
      "b c:j",
      "b c:j",
      "a:j",
      "404", // group "a ": not "a"
    ]);
    // A group taken out of the registry is not served from memory.
    p.registry.delete("a");
    const res = await p.handler(new Request(`${SELF}/_groupcache/a/k`));
    assert.equal(res.status, 404);
    assert.match(await res.text(), /no such group: a/);
  });

  it("aborts a load when the peer's request is aborted", async () => {
    let loadSignal: AbortSignal | undefined;
    const s = server((_key, _dest, { signal }) => {
      loadSignal = signal;
      return new Promise<string>(() => {}); // never settles
    });
    const peer = new AbortController();
    const answer = s.pool.handler(
      new Request(`${SELF}/_groupcache/g/k`, { signal: peer.signal }),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(loadSignal?.aborted, false);
    peer.abort(new Error("the peer hung up"));
    const res = await answer;
    await res.arrayBuffer();
    assert.equal(loadSignal?.aborted, true);
  });

  it("answers 405 to methods other than GET, HEAD, PUT and DELETE", async () => {
    const s = server();
    const { res } = await s.get("/_groupcache/g/k", "POST");
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD, PUT, DELETE");
  });

  it("answers 500 with the getter's message", async () => {
    const s = server(() => {
      throw new Error("disk on fire");
    });
    const { res, text } = await s.get("/_groupcache/g/k");
    assert.equal(res.status, 500);
    assert.equal(text, "disk on fire\n");
  });

  it("encodes an empty value as a valid GetResponse", async () => {
    const s = server((_k, dest) => dest.setBytes(new Uint8Array(0)));
    const { res, bytes } = await s.get("/_groupcache/g/k");
    assert.equal(res.status, 200);
    assert.equal(decodeGetResponse(bytes).length, 0);
  });

  it("serves a group under a custom basePath", async () => {
    const p = pool({ basePath: "/cache/" });
    new Group("g", 1024, (key, dest) => dest.setString(key), { peers: p });
    assert.equal(
      (await p.handler(new Request(SELF + "/cache/g/k"))).status,
      200,
    );
    assert.equal(
      (await p.handler(new Request(SELF + "/_groupcache/g/k"))).status,
      404,
    );
  });

  it("counts every request as a server request and loads each key once", async () => {
    const s = server();
    await Promise.all(
      Array.from({ length: 50 }, () => s.get("/_groupcache/g/same")),
    );
    const g = s.pool.registry.get("g")!;
    assert.equal(g.stats.serverRequests, 50);
    assert.deepEqual(s.seen, ["same"]);
  });
});
