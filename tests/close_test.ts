// pool.close(): in-flight peer fetches are released to local loads (not
// blamed on the peer), later gets load here, the handler answers 503, peer
// sources registered with the pool are closed, the pool's deadline timer is
// cleared. (That a process exits by itself after close() is in
// discovery_cluster_test.ts.) Runs under Deno and Bun.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { etcdPeers, type Logger, PeerError, silentLogger } from "../mod.ts";
import { Deadlines } from "../src/deadlines.ts";
import { makeCluster } from "./_dev/cluster.ts";

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (...data: unknown[]) =>
    lines.push(`${level} ${data.map(String).join(" ")}`);
  return {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
}

describe("HttpPool.close()", () => {
  it("releases a get waiting on a hung peer to a local load, without marking the peer down", async () => {
    const log = recorder();
    const errors: unknown[] = [];
    const c = makeCluster({
      nodes: 2,
      pool: (i) => ({
        logger: i === 0 ? log : silentLogger,
        timeoutMs: 30_000,
      }),
      groupOptions: { onPeerError: (err) => errors.push(err) },
    });
    const [a, b] = c.nodes;
    b.hung = true;
    const key = c.keyOwnedBy(1);
    const waiting = a.group.get(key);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const started = performance.now();
    await a.pool.close();
    assert.equal((await waiting).toString(), `v:${key}`);
    assert.ok(performance.now() - started < 1_000, "released at once");
    assert.equal(a.loads.get(key), 1, "loaded here");
    assert.equal(a.pool.closed, true);
    assert.equal(a.pool.peerHealth()[0].state, "up", "not the peer's fault");
    assert.deepEqual(log.lines, []);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof PeerError);
    assert.equal((errors[0] as PeerError).reason, "closed");
  });

  it("afterwards: gets load here without asking peers, the handler answers 503, close() again is the same promise", async () => {
    const c = makeCluster({ nodes: 2, pool: { logger: silentLogger } });
    const [a, b] = c.nodes;
    const closing = a.pool.close();
    assert.equal(a.pool.close(), closing);
    await closing;
    const key = c.keyOwnedBy(1);
    assert.equal(a.pool.pickPeer(key), undefined);
    assert.deepEqual(a.pool.getAll(), []);
    assert.equal((await a.group.get(key)).toString(), `v:${key}`);
    assert.equal(a.loads.get(key), 1);
    assert.deepEqual(b.requests, [], "no peer was asked");
    const res = await a.pool.handler(
      new Request(`${a.url}/_groupcache/test/${c.keyOwnedBy(0)}`),
    );
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal(await res.text(), "this node is shutting down\n");
    // b still asks a (its ring has it): a 503 is a peer error, b loads itself.
    const owned = c.keyOwnedBy(0, "b-");
    assert.equal((await b.group.get(owned)).toString(), `v:${owned}`);
    assert.equal(b.loads.get(owned), 1);
  });

  it("closes the peer sources started on the pool (etcd: no request after close)", async () => {
    const c = makeCluster({ nodes: 1, pool: { logger: silentLogger } });
    const [a] = c.nodes;
    let calls = 0;
    let afterClose = 0;
    let closed = false;
    const discovery = etcdPeers(a.pool, {
      endpoint: "http://etcd.test:2379",
      ttlSeconds: 2,
      logger: silentLogger,
      // An etcd that is never reachable: the source retries until closed.
      fetch: () => {
        calls++;
        if (closed) afterClose++;
        return Promise.reject(new TypeError("connection refused"));
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(calls > 0);
    await a.pool.close();
    closed = true;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(afterClose, 0, "the source stopped with the pool");
    await discovery.close(); // harmless again
  });
});

describe("Deadlines.clear()", () => {
  it("forgets every item and disarms the timer", async () => {
    const expired: string[] = [];
    const deadlines = new Deadlines<{ expire(): void }>(5);
    deadlines.add({ expire: () => expired.push("a") });
    deadlines.clear();
    assert.equal(deadlines.size, 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(expired.length, 0);
    // Still usable afterwards.
    deadlines.add({ expire: () => expired.push("b") });
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(expired, ["b"]);
  });
});
