// The peer port as an attacker sees it, over real sockets: pool.handler
// (Deno.serve, Bun.serve) and nodeListener (node:http on Deno, Bun and
// Node). Writes are refused unless a pool asks for them; with a secret,
// every request must be signed (reads included), and what is refused is
// answered 401/403, counted, and never marks a peer down.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import {
  ConfigError,
  encodeSetRequest,
  type Group,
  HttpPool,
  type HttpPoolOptions,
  PeerError,
  Registry,
  silentLogger,
} from "../mod.ts";
import { nodeListener } from "../node.ts";
import { PeerSigner, SIGNATURE_HEADER } from "../src/signature.ts";
import { serveNode } from "./_dev/node_serve.ts";
import { runtimeName } from "./_dev/runtimes.ts";
import { type Handler, serve } from "./_dev/serve.ts";

const SECRET = "a secret shared by the test nodes";
const OLD_SECRET = "the secret the test nodes had before";

type Server = "pool.handler" | "nodeListener";
// The web handler needs Deno.serve or Bun.serve; node:http runs everywhere.
const SERVERS: Server[] = runtimeName() === "node"
  ? ["nodeListener"]
  : ["pool.handler", "nodeListener"];

/** Serves `pool` with `server`; the URL is known before the pool is made. */
async function listen(
  server: Server,
  make: (url: string) => HttpPool,
): Promise<{ url: string; pool: HttpPool; close(): Promise<void> }> {
  let pool: HttpPool | undefined;
  if (server === "pool.handler") {
    const s = await serve(((req) => pool!.handler(req)) as Handler);
    pool = make(s.url);
    return { url: s.url, pool, close: () => s.close() };
  }
  const s = await serveNode((req, res) => nodeListener(pool!)(req, res));
  pool = make(s.url);
  return { url: s.url, pool, close: () => s.close() };
}

/** One node with group "g" whose getter counts its runs. */
function node(options: HttpPoolOptions) {
  let loads = 0;
  let group: Group;
  const make = (url: string) => {
    const pool = new HttpPool(url, {
      registry: new Registry(),
      logger: silentLogger,
      ...options,
    });
    group = pool.newGroup("g", 1 << 20, (key) => {
      loads++;
      return `fresh ${key}`;
    });
    return pool;
  };
  return { make, loads: () => loads, group: () => group };
}

function refused(metrics: string, reason: string): number {
  const m = new RegExp(
    `^groupcache_peer_requests_refused_total\\{reason="${reason}"\\} (\\d+)$`,
    "m",
  ).exec(metrics);
  return m === null ? 0 : Number(m[1]);
}

const setBody = (key: string, value: string) =>
  encodeSetRequest({
    group: "g",
    key,
    value: new TextEncoder().encode(value),
    expire: 0n,
  });

for (const server of SERVERS) {
  describe(`an outsider on the peer port (${server}, ${runtimeName()})`, () => {
    it("cannot write when writes are off, the default without a secret", async () => {
      const n = node({});
      const s = await listen(server, n.make);
      try {
        assert.equal((await n.group().get("price")).toString(), "fresh price");
        const put = await fetch(`${s.url}/_groupcache/g/price`, {
          method: "PUT",
          body: setBody("price", "price: 0 (attacker)"),
        });
        assert.equal(put.status, 403);
        assert.equal(put.headers.get("x-groupcache-writes"), "off");
        assert.match(await put.text(), /writes are off.*writes/);
        const del = await fetch(`${s.url}/_groupcache/g/price`, {
          method: "DELETE",
        });
        assert.equal(del.status, 403);
        await del.body?.cancel();
        assert.equal((await n.group().get("price")).toString(), "fresh price");
        assert.equal(n.loads(), 1);
        assert.equal(refused(s.pool.metrics(), "writes-off"), 2);
      } finally {
        await s.close();
      }
    });

    it("cannot read, write or run the getter unsigned when a secret is set", async () => {
      const n = node({ secret: SECRET });
      const s = await listen(server, n.make);
      try {
        const get = await fetch(`${s.url}/_groupcache/g/k`);
        assert.equal(get.status, 401);
        assert.match(await get.text(), /not signed.*same secret/);
        const put = await fetch(`${s.url}/_groupcache/g/k`, {
          method: "PUT",
          body: setBody("k", "forged"),
        });
        assert.equal(put.status, 401);
        await put.body?.cancel();
        const del = await fetch(`${s.url}/_groupcache/g/k`, {
          method: "DELETE",
        });
        assert.equal(del.status, 401);
        await del.body?.cancel();
        assert.equal(n.loads(), 0);
        assert.equal(n.group().stats.sets, 0);
        assert.equal(refused(s.pool.metrics(), "unauthorized"), 3);
      } finally {
        await s.close();
      }
    });

    it("is refused with a wrong secret, a stale timestamp, another path or a changed body", async () => {
      const n = node({ secret: SECRET });
      const s = await listen(server, n.make);
      const path = "/_groupcache/g/k";
      const ours = new PeerSigner([SECRET]);
      const theirs = new PeerSigner(["not the cluster's secret"]);
      const cases: [string, string, string, Uint8Array<ArrayBuffer>?][] = [
        ["GET", path, await theirs.sign("GET", path, undefined)],
        [
          "GET",
          path,
          await ours.sign("GET", path, undefined, Date.now() - 120_000),
        ],
        [
          "GET",
          path,
          await ours.sign("GET", "/_groupcache/g/other", undefined),
        ],
        ["GET", path, await ours.sign("PUT", path, undefined)],
        ["GET", path, "12.zz"],
        [
          "PUT",
          path,
          await ours.sign("PUT", path, setBody("k", "signed")),
          setBody("k", "changed"),
        ],
      ];
      try {
        for (const [method, p, signature, body] of cases) {
          const res = await fetch(s.url + p, {
            method,
            body,
            headers: { [SIGNATURE_HEADER]: signature },
          });
          assert.equal(res.status, 401, `${method} ${signature}`);
          await res.body?.cancel();
        }
        assert.equal(n.loads(), 0);
        assert.equal(n.group().stats.sets, 0);
        // Signed right, it is served.
        const ok = await fetch(s.url + path, {
          headers: {
            [SIGNATURE_HEADER]: await ours.sign("GET", path, undefined),
          },
        });
        assert.equal(ok.status, 200);
        await ok.arrayBuffer();
        assert.equal(n.loads(), 1);
        assert.equal(refused(s.pool.metrics(), "unauthorized"), cases.length);
      } finally {
        await s.close();
      }
    });
  });

  describe(`nodes of one cluster (${server}, ${runtimeName()})`, () => {
    const started: { close(): Promise<void> }[] = [];
    after(() => Promise.all(started.map((s) => s.close())));

    /** Two nodes serving each other; `key` is owned by b. */
    async function pair(a: HttpPoolOptions, b: HttpPoolOptions) {
      const na = node(a);
      const nb = node(b);
      const sa = await listen(server, na.make);
      const sb = await listen(server, nb.make);
      started.push(sa, sb);
      for (const s of [sa, sb]) s.pool.set(sa.url, sb.url);
      const key = Array.from({ length: 100 }, (_, i) => `key-${i}`)
        .find((k) => sa.pool.owner(k) === sb.url)!;
      return { na, nb, sa, sb, key };
    }

    it("sign their reads and writes with a shared secret", async () => {
      const { na, nb, sa, sb, key } = await pair({ secret: SECRET }, {
        secret: SECRET,
      });
      assert.equal((await na.group().get(key)).toString(), `fresh ${key}`);
      assert.equal(na.group().stats.peerLoads, 1);
      assert.equal(nb.loads(), 1);
      await na.group().set(key, "set through the owner");
      assert.equal(
        (await nb.group().get(key)).toString(),
        "set through the owner",
      );
      await na.group().remove(key);
      assert.equal((await nb.group().get(key)).toString(), `fresh ${key}`);
      // Keys every server may see re-encoded: signed over the raw path.
      const odd = Array.from({ length: 60 }, (_, i) => `a b/c?d#é+%~*'!${i}`)
        .filter((k) => sa.pool.owner(k) === sb.url).slice(0, 3);
      for (const k of odd) {
        assert.equal((await na.group().get(k)).toString(), `fresh ${k}`);
      }
      assert.equal(na.group().stats.peerErrors, 0);
    });

    it("rotate secrets: the first signs, any verifies", async () => {
      // a has moved to the new secret; b still signs with the old one.
      const { na, nb, sa, sb, key } = await pair(
        { secret: [SECRET, OLD_SECRET] },
        { secret: [OLD_SECRET] },
      );
      // b cannot verify a's new signature: a loads the key itself, and b
      // stays up (an answer is not a failure).
      assert.equal((await na.group().get(key)).toString(), `fresh ${key}`);
      assert.equal(na.group().stats.peerErrors, 1);
      assert.equal(na.loads(), 1);
      assert.deepEqual(sa.pool.peerHealth().map((h) => h.state), ["up"]);
      assert.equal(refused(sb.pool.metrics(), "unauthorized"), 1);
      await assert.rejects(
        na.group().set(key, "x"),
        (err) =>
          err instanceof PeerError && err.reason === "unauthorized" &&
          err.status === 401 && /same secret/.test(err.message),
      );
      // a verifies b's old signature.
      const mine = Array.from({ length: 100 }, (_, i) => `k${i}`)
        .find((k) => sb.pool.owner(k) === sa.url)!;
      assert.equal((await nb.group().get(mine)).toString(), `fresh ${mine}`);
      assert.equal(nb.group().stats.peerLoads, 1);
    });

    it("refuse set and remove with writes off, in an error that names the option", async () => {
      const { na, nb, sa, key } = await pair({}, {});
      const writesOff = (err: unknown) =>
        err instanceof PeerError && err.reason === "writes-off" &&
        err.status === 403 && /option writes/.test(err.message);
      await assert.rejects(na.group().set(key, "x"), writesOff);
      await assert.rejects(na.group().remove(key), writesOff);
      assert.equal(nb.group().stats.sets, 0);
      assert.deepEqual(sa.pool.peerHealth().map((h) => h.state), ["up"]);
      // A key a owns is written here, writes off or not.
      const own = Array.from({ length: 100 }, (_, i) => `own-${i}`)
        .find((k) => sa.pool.owner(k) === sa.url)!;
      await na.group().set(own, "local");
      assert.equal((await na.group().get(own)).toString(), "local");
      await na.group().remove(own); // tells b too, best effort: refused
      assert.equal(na.group().stats.peerErrors, 1);
    });

    it("set and remove unsigned with writes open", async () => {
      const { na, nb, key } = await pair({ writes: "open" }, {
        writes: "open",
      });
      await na.group().set(key, "open");
      assert.equal((await nb.group().get(key)).toString(), "open");
    });
  });
}

describe("the secret and writes options", () => {
  const registry = () => new Registry();
  it("refuse what cannot work, saying what to set", () => {
    const bad: [HttpPoolOptions, RegExp][] = [
      [{ writes: "signed" }, /needs a secret/],
      [{ secret: SECRET, writes: "open" }, /leave writes out/],
      [{ secret: "short" }, /at least 16 characters/],
      [{ secret: [] }, /non-empty list/],
      [{ writes: "on" as "open" }, /"off", "signed" or "open"/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => new HttpPool("http://a:1", { registry: registry(), ...options }),
        (err) => err instanceof ConfigError && message.test(err.message),
      );
    }
  });
});

/**
 * A PUT of `length` declared bytes over a raw socket, its body sent a byte
 * every `everyMs` until `stop()`; resolves with the status line's code once
 * the server answers (or 0 when it closes first), and when it answered.
 */
function slowPut(port: number, path: string, length: number, everyMs: number) {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  socket.write(
    `PUT ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
      `content-length: ${length}\r\n\r\n`,
  );
  const timer = setInterval(() => socket.write("x"), everyMs);
  const answered = new Promise<{ status: number; at: number }>((resolve) => {
    let head = "";
    socket.on("data", (d) => {
      head += d.toString();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) resolve({ status: Number(m[1]), at: performance.now() });
    });
    socket.on("close", () => resolve({ status: 0, at: performance.now() }));
  });
  const stop = () => {
    clearInterval(timer);
    socket.destroy();
  };
  return { answered, stop };
}

for (const server of SERVERS) {
  describe(`write bodies (${server}, ${runtimeName()})`, () => {
    it("a PUT body that stalls is cut at the deadline (timeoutMs)", async () => {
      const n = node({ writes: "open", timeoutMs: 500 });
      const s = await listen(server, n.make);
      const put = slowPut(
        Number(new URL(s.url).port),
        "/_groupcache/g/k",
        100,
        200,
      );
      try {
        const t0 = performance.now();
        const { status, at } = await Promise.race([
          put.answered,
          new Promise<{ status: number; at: number }>((r) =>
            setTimeout(() => r({ status: -1, at: performance.now() }), 8_000)
          ),
        ]);
        // Answered 408, or closed, well before the 20 s the body would take.
        assert.ok(status === 408 || status === 0, `status ${status}`);
        assert.ok(at - t0 < 4_000, `${at - t0} ms`);
        assert.equal(n.group().stats.sets, 0);
      } finally {
        put.stop();
        await s.close();
      }
    });

    it("past maxWriteBytes in flight, a PUT is answered 503 with retry-after", async () => {
      const n = node({
        writes: "open",
        maxResponseBytes: 1 << 20,
        maxWriteBytes: 1 << 20,
      });
      const s = await listen(server, n.make);
      const port = Number(new URL(s.url).port);
      // Holds 800 KiB of the cap while its body trickles in.
      const first = slowPut(port, "/_groupcache/g/a", 800 << 10, 100);
      try {
        await new Promise((r) => setTimeout(r, 300));
        const second = await fetch(`${s.url}/_groupcache/g/b`, {
          method: "PUT",
          body: setBody("b", "x".repeat(400 << 10)),
        });
        assert.equal(second.status, 503);
        assert.equal(second.headers.get("retry-after"), "1");
        await second.body?.cancel();
        first.stop();
        // Once the first is gone, the cap is free again.
        await new Promise((r) => setTimeout(r, 300));
        const third = await fetch(`${s.url}/_groupcache/g/c`, {
          method: "PUT",
          body: setBody("c", "x".repeat(400 << 10)),
        });
        assert.equal(third.status, 200);
        await third.body?.cancel();
      } finally {
        first.stop();
        await s.close();
      }
    });
  });
}
