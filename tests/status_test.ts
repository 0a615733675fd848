// pool.status() (src/status.ts): one JSON-serialisable snapshot of a node —
// its ring and each peer's share, the health and fetch times of the others,
// its groups' counters and memory, its peer sources — read from real pools.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { etcdPeers, HttpPool, Registry, silentLogger } from "../mod.ts";
import { PeerListWriter } from "../src/discovery.ts";
import { poolInternals } from "../src/http_pool.ts";
import { dnsPeers } from "../dns.ts";
import { makeCluster } from "./_dev/cluster.ts";
import { recordingLogger } from "./_dev/logs.ts";
import { waitFor } from "./_dev/services.ts";

/** The pool's one discovery source, once it has reported an error (≤ 2 s). */
async function firstError(pool: HttpPool) {
  const source = () => pool.status().discovery[0];
  await waitFor("a discovery error", () => source().lastError !== null, 2_000);
  return source();
}

/** The fraction of `keys` sample keys each node owns under `pool`'s ring. */
function sampledShares(pool: HttpPool, keys: number): Map<string, number> {
  const owned = new Map<string, number>();
  for (let i = 0; i < keys; i++) {
    // The varying part first: mailgun's FNV-1 barely mixes the last bytes.
    const owner = pool.owner(`${i}:sample-key`)!;
    owned.set(owner, (owned.get(owner) ?? 0) + 1 / keys);
  }
  return owned;
}

describe("pool.status(): the ring", () => {
  const peers = Array.from({ length: 5 }, (_, i) => `http://10.0.0.${i}:80`);
  for (const ring of ["golang", "mailgun"] as const) {
    it(`gives each peer its share of a ${ring} ring: they sum to 1 and match where keys land`, () => {
      const pool = new HttpPool(peers[0], { registry: new Registry(), ring });
      pool.set(...peers);
      const status = pool.status();
      assert.equal(status.self, peers[0]);
      assert.deepEqual(
        [status.ring.kind, status.ring.replicas, status.ring.fingerprint],
        [ring, 50, pool.ringFingerprint],
      );
      assert.deepEqual(status.ring.members.map((m) => m.peer), peers);
      const total = status.ring.members.reduce((sum, m) => sum + m.share, 0);
      assert.ok(Math.abs(total - 1) < 1e-9, String(total));
      const sampled = sampledShares(pool, 20_000);
      for (const { peer, share } of status.ring.members) {
        const seen = sampled.get(peer) ?? 0;
        assert.ok(
          Math.abs(seen - share) < 0.02,
          `${peer}: share ${share}, ${seen} of sampled keys`,
        );
      }
    });
  }

  it("names a custom hash's ring golang-hash, and has no members before set()", () => {
    const pool = new HttpPool("http://a:1", {
      registry: new Registry(),
      hash: (s) => s.length,
    });
    assert.deepEqual(pool.status().ring.members, []);
    assert.equal(pool.status().ring.kind, "golang-hash");
  });
});

describe("pool.status(): the peers", () => {
  it("reports a peer that answers: up, its last answer, its fetch-time percentiles", async () => {
    const c = makeCluster({ nodes: 2 });
    const [a] = c.nodes;
    const before = Date.now();
    for (let i = 0; i < 20; i++) await a.group.get(c.keyOwnedBy(1, `k${i}-`));
    const [b] = a.pool.status().peers;
    assert.equal(b.peer, c.urls[1]);
    assert.equal(b.state, "up");
    assert.equal(b.consecutiveFailures, 0);
    assert.equal(b.lastError, null);
    assert.ok(b.lastAnswerAt! >= before && b.lastAnswerAt! <= Date.now());
    const f = b.fetches!;
    assert.equal(f.count, 20);
    assert.ok(
      f.p50Ms > 0 && f.p50Ms <= f.p90Ms && f.p90Ms <= f.p99Ms,
      JSON.stringify(f),
    );
    assert.ok(f.meanMs > 0);
  });

  it("reads percentiles off the fetch-time histogram, interpolated in the bucket", () => {
    const pool = new HttpPool("http://a:1", { registry: new Registry() });
    pool.set("http://a:1", "http://b:1");
    const { observe } = poolInternals(pool)!.fetchTimes;
    for (let i = 0; i < 90; i++) observe("http://b:1", 0.003); // 2.5–5 ms
    for (let i = 0; i < 10; i++) observe("http://b:1", 0.2); // 100–250 ms
    const f = pool.status().peers[0].fetches!;
    assert.equal(f.count, 100);
    assert.ok(f.p50Ms > 2.5 && f.p50Ms <= 5, String(f.p50Ms));
    assert.ok(f.p90Ms > 2.5 && f.p90Ms <= 5, String(f.p90Ms));
    assert.ok(f.p99Ms > 100 && f.p99Ms <= 250, String(f.p99Ms));
    assert.ok(Math.abs(f.meanMs - (90 * 3 + 10 * 200) / 100) < 1e-6);
  });

  it("reports a peer that refused: down, its failures and last error, the key left out unless asked for", async () => {
    const c = makeCluster({ nodes: 2, pool: { logger: silentLogger } });
    const [a, b] = c.nodes;
    b.down = true;
    const key = c.keyOwnedBy(1, "secret-key-");
    await a.group.get(key);
    const [peer] = a.pool.status().peers;
    assert.equal(peer.state, "down");
    assert.equal(peer.consecutiveFailures, 1);
    assert.equal(peer.lastAnswerAt, null);
    assert.equal(peer.lastError!.reason, "network");
    assert.equal(peer.lastError!.group, "test");
    assert.equal(peer.lastError!.key, undefined);
    assert.doesNotMatch(JSON.stringify(a.pool.status()), /secret-key/);
    const shown = a.pool.status({ keys: true }).peers[0].lastError!;
    assert.equal(shown.key, key);
    assert.match(shown.message, /secret-key/);
  });
});

describe("pool.status(): the groups", () => {
  it("copies the counters, and gives the hit ratio, the caches against their budgets and the loads in flight", async () => {
    const pool = new HttpPool("http://a:1", { registry: new Registry() });
    let release = () => {};
    const blocked = new Promise<void>((resolve) => release = resolve);
    const g = pool.newGroup("users", 9_000, async (key) => {
      if (key === "slow") await blocked;
      return `value of ${key}`;
    });
    pool.newGroup("empty", 0, (key) => key);
    await g.get("ada");
    await g.get("ada");
    await g.get("bob");
    const slow = g.get("slow");
    const [users, empty] = pool.status().groups;
    assert.equal(users.name, "users");
    assert.equal(users.loadsInFlight, 1);
    assert.equal(users.stats.gets, 4);
    assert.equal(users.stats.cacheHits, 1);
    assert.equal(users.hitRatio, 0.25);
    assert.equal(users.cacheBytes, 9_000);
    assert.deepEqual(users.main, {
      ...g.cacheStats("main"),
      budgetBytes: 9_000,
    });
    assert.equal(users.main.items, 2);
    assert.deepEqual(users.hot, { ...g.cacheStats("hot"), budgetBytes: 1_000 });
    assert.equal(empty.hitRatio, null); // no get yet
    release();
    await slow;
    const after = pool.status().groups[0];
    assert.equal(after.loadsInFlight, 0);
    assert.notStrictEqual(after.stats, g.stats); // a copy, not the live counters
  });

  it("is plain data: JSON.stringify and back gives the same snapshot", async () => {
    const c = makeCluster({ nodes: 3, pool: { logger: silentLogger } });
    c.nodes[2].down = true;
    for (let i = 0; i < 10; i++) await c.nodes[0].group.get(`k${i}`);
    const status = c.nodes[0].pool.status();
    assert.deepEqual(JSON.parse(JSON.stringify(status)), status);
  });
});

describe("pool.status(): discovery", () => {
  it("lists a peer source with its last update, last change and last error, until it closes", () => {
    const pool = new HttpPool("http://10.0.0.1:80", {
      registry: new Registry(),
    });
    const writer = new PeerListWriter(
      pool,
      "test source",
      recordingLogger().logger,
    );
    const [fresh] = pool.status().discovery;
    assert.deepEqual(fresh, {
      source: "test source",
      peers: 0,
      lastUpdateAt: null,
      lastChangeAt: null,
      lastError: null,
    });
    const before = Date.now();
    writer.apply(["http://10.0.0.2:80"]);
    writer.failed("lookup failed: SERVFAIL");
    const [seen] = pool.status().discovery;
    assert.equal(seen.peers, 2);
    assert.ok(seen.lastUpdateAt! >= before);
    assert.equal(seen.lastChangeAt, seen.lastUpdateAt);
    assert.equal(seen.lastError!.message, "lookup failed: SERVFAIL");
    writer.close();
    assert.deepEqual(pool.status().discovery, []);
  });

  it("shows what dnsPeers last saw: a name server that never answers", async () => {
    const pool = new HttpPool("http://n1.peers.test:8001", {
      registry: new Registry(),
    });
    const discovery = dnsPeers(pool, {
      name: "_groupcache._tcp.peers.test",
      type: "SRV",
      nameServer: "127.0.0.1:1", // nothing answers here
      timeoutMs: 100,
      logger: silentLogger,
    });
    try {
      const source = await firstError(pool);
      assert.equal(source.source, "dns SRV _groupcache._tcp.peers.test");
      assert.equal(source.lastUpdateAt, null);
      assert.match(
        source.lastError!.message,
        /lookup of _groupcache\._tcp\.peers\.test failed/,
      );
    } finally {
      await discovery.close();
    }
    assert.deepEqual(pool.status().discovery, []);
  });

  it("shows what etcdPeers last saw: an etcd that refuses", async () => {
    const pool = new HttpPool("http://10.0.0.7:8000", {
      registry: new Registry(),
    });
    const discovery = etcdPeers(pool, {
      endpoint: "http://etcd.test:2379",
      prefix: "/groupcache/",
      fetch: () => Promise.reject(new TypeError("connection refused")),
      logger: silentLogger,
    });
    try {
      const source = await firstError(pool);
      assert.equal(source.source, "etcd http://etcd.test:2379 /groupcache/");
      assert.equal(source.lastUpdateAt, null);
      assert.match(source.lastError!.message, /connection refused/);
    } finally {
      await discovery.close();
    }
    assert.deepEqual(pool.status().discovery, []);
  });
});
