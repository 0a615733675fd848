// The pool's logger: each warning it gives, once per condition and again
// when the condition changes, and the rings of two nodes compared through
// the x-groupcache-ring header. Runs under Deno and Bun.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  HttpPool,
  type Logger,
  Registry,
  silentLogger,
} from "../mod.ts";
import { makeCluster } from "./_dev/cluster.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Line = { level: keyof Logger; text: string };

/** A logger that keeps its lines. */
function recorder(): Logger & { lines: Line[]; warnings: () => string[] } {
  const lines: Line[] = [];
  const at = (level: keyof Logger) => (...data: unknown[]) =>
    lines.push({ level, text: data.map(String).join(" ") });
  return {
    lines,
    warnings: () => lines.filter((l) => l.level === "warn").map((l) => l.text),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
}

describe("HttpPool logger option", () => {
  it("defaults to console and accepts silentLogger", () => {
    assert.equal(
      new HttpPool("http://a:1", { registry: new Registry() }).logger,
      console,
    );
    const pool = new HttpPool("http://a:1", {
      registry: new Registry(),
      logger: silentLogger,
    });
    assert.equal(pool.logger, silentLogger);
  });

  it("refuses a logger without console's four methods", () => {
    for (const logger of [{}, null, { warn() {} }]) {
      assert.throws(
        () =>
          new HttpPool("http://a:1", {
            registry: new Registry(),
            logger: logger as unknown as Logger,
          }),
        ConfigError,
      );
    }
  });
});

describe("warnings", () => {
  it("a peer going down and coming back is logged once each way, and again next time", async () => {
    const log = recorder();
    const c = makeCluster({
      nodes: 2,
      pool: (i) => ({
        logger: i === 0 ? log : silentLogger,
        probeDelayMs: 5,
        maxProbeDelayMs: 5,
      }),
    });
    const [a, b] = c.nodes;
    const key = c.keyOwnedBy(1);
    b.down = true;
    await a.group.get(key);
    await a.group.get(c.keyOwnedBy(1, "other-"));
    assert.deepEqual(log.warnings(), [
      `groupcache: peer ${b.url} is down (network: peer ${b.url}, group test, ` +
      `key ${JSON.stringify(key)}: request failed: connection refused: ` +
      `${b.url}/_groupcache/test/${key}): its keys load on this node until ` +
      "a probe finds it answering",
    ]);
    b.down = false;
    // The next get of one of its keys starts the probe that re-admits it.
    const deadline = Date.now() + 2_000;
    while (a.pool.peerHealth()[0].state === "down" && Date.now() < deadline) {
      a.pool.pickPeer(key);
      await sleep(10);
    }
    assert.equal(a.pool.peerHealth()[0].state, "up");
    assert.deepEqual(
      log.lines.filter((l) => l.level === "info").map((l) => l.text),
      [`groupcache: peer ${b.url} is back up`],
    );
    b.down = true;
    await a.group.get(c.keyOwnedBy(1, "third-"));
    assert.equal(log.warnings().length, 2);
    assert.match(
      log.warnings()[1],
      /^groupcache: peer http:\/\/node1\.test is down/,
    );
  });

  it("a request without the base path names the mount to use", async () => {
    const log = recorder();
    const pool = new HttpPool("http://a:1", {
      registry: new Registry(),
      logger: log,
    });
    pool.newGroup("thumbnails", 1 << 20, (key) => key);
    // Not a group of ours: any other route, not worth a word.
    for (const path of ["/", "/metrics", "/health/x"]) {
      assert.equal(
        (await pool.handler(new Request("http://a:1" + path))).status,
        404,
      );
    }
    assert.deepEqual(log.warnings(), []);
    for (let i = 0; i < 2; i++) {
      const res = await pool.handler(
        new Request("http://a:1/thumbnails/k?x=1"),
      );
      assert.equal(res.status, 404);
    }
    assert.deepEqual(log.warnings(), [
      "groupcache: a request for /thumbnails/k arrived without the base path " +
      "/_groupcache/: the server or framework in front of pool.handler " +
      "stripped it (Hono's app.mount does), so every peer request is " +
      "refused and loaded locally. Hand the handler the request unchanged: " +
      'app.all("/_groupcache/*", (c) => pool.handler(c.req.raw))',
    ]);
  });

  it("a request for a group this node does not have, once per group", async () => {
    const log = recorder();
    const pool = new HttpPool("http://a:1", {
      registry: new Registry(),
      logger: log,
    });
    for (const name of ["users", "users", "posts"]) {
      const res = await pool.handler(
        new Request(`http://a:1/_groupcache/${name}/k`),
      );
      assert.equal(res.status, 404);
    }
    const warning = (name: string) =>
      `groupcache: a peer asked for group "${name}", which this node does ` +
      "not have: it answered 404 and the peer loads the key itself. Make the " +
      "group on every node";
    assert.deepEqual(log.warnings(), [warning("users"), warning("posts")]);
  });

  it("a hit logs nothing", async () => {
    const log = recorder();
    const c = makeCluster({ nodes: 2, pool: { logger: log } });
    const key = c.keyOwnedBy(1);
    for (let i = 0; i < 3; i++) await c.nodes[0].group.get(key);
    await c.nodes[1].group.get(key);
    assert.deepEqual(log.lines, []);
  });
});

describe("ring fingerprints", () => {
  it("is the same for the same peers, replicas and ring in any order", () => {
    const registry = () => new Registry();
    const a = new HttpPool("http://a:1", { registry: registry() });
    const b = new HttpPool("http://b:1", { registry: registry() });
    const empty = a.ringFingerprint;
    assert.match(empty, /^[0-9a-f]{8}\/0$/);
    a.set("http://a:1", "http://b:1");
    b.set("http://b:1", "http://a:1");
    assert.equal(a.ringFingerprint, b.ringFingerprint);
    for (
      const other of [
        new HttpPool("http://a:1", { registry: registry(), replicas: 51 }),
        new HttpPool("http://a:1", { registry: registry(), ring: "mailgun" }),
        new HttpPool("http://a:1", {
          registry: registry(),
          hash: (s) => s.length,
        }),
      ]
    ) {
      other.set("http://a:1", "http://b:1");
      assert.notEqual(other.ringFingerprint, a.ringFingerprint);
    }
  });

  it("nodes with different peer lists warn, naming both rings; the same lists do not", async () => {
    const logs = [recorder(), recorder(), recorder()];
    const c = makeCluster({ nodes: 3, pool: (i) => ({ logger: logs[i] }) });
    const [a, b] = c.nodes;
    // Same lists: many gets, no warning.
    for (let i = 0; i < 20; i++) await a.group.get(`same-${i}`);
    assert.deepEqual(logs.flatMap((l) => l.lines), []);
    // a leaves node2 out: a's keys go to b under a ring b does not have.
    a.pool.set(a.url, b.url);
    const theirs = a.pool.ringFingerprint;
    const ours = b.pool.ringFingerprint;
    assert.notEqual(theirs, ours);
    let asked = 0;
    for (let i = 0; asked < 3; i++) {
      const key = `diff-${i}`;
      if (a.pool.owner(key) !== b.url) continue;
      await a.group.get(key);
      asked++;
    }
    const hex = (f: string) => f.split("/")[0];
    assert.deepEqual(logs[1].warnings(), [
      `groupcache: peer rings disagree: a peer placed a key with ring ` +
      `${hex(theirs)} (2 peers), this node's ring is ${hex(ours)} (3 peers); ` +
      "nodes then ask owners that do not think they own the key, and keys " +
      "load on several nodes. Give every node the same peer list (same " +
      "URLs, replicas and ring), or let discovery (dnsPeers, etcdPeers) set it",
    ]);
    // Agreeing again: no more warnings.
    a.pool.set(...c.urls);
    for (let i = 0; i < 20; i++) await a.group.get(`again-${i}`);
    assert.equal(logs[1].warnings().length, 1);
  });

  it("a request without the header (a Go peer) is not checked", async () => {
    const log = recorder();
    const pool = new HttpPool("http://a:1", {
      registry: new Registry(),
      logger: log,
    });
    pool.set("http://a:1", "http://b:1");
    pool.newGroup("g", 1 << 20, (key) => key);
    const res = await pool.handler(new Request("http://a:1/_groupcache/g/k"));
    assert.equal(res.status, 200);
    const other = await pool.handler(
      new Request("http://a:1/_groupcache/g/k", {
        headers: { "x-groupcache-ring": "00000000/1" },
      }),
    );
    assert.equal(other.status, 200);
    assert.equal(log.warnings().length, 1);
    assert.match(
      log.warnings()[0],
      /ring 00000000 \(1 peer\), this node's ring is [0-9a-f]{8} \(2 peers\)/,
    );
  });
});
