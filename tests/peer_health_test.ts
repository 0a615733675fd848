// Peer health: a peer that times out, refuses or resets is marked down, its
// keys load locally at once, requests waiting on it are released, and one
// probe at a time (with capped exponential backoff) re-admits it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, HttpPool, PeerError, Registry } from "../mod.ts";
import { PeerHealth } from "../src/peer_health.ts";
import { makeCluster } from "./_dev/cluster.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function timeoutError(peer = "http://b:1") {
  return new PeerError("no answer", {
    peer,
    group: "g",
    key: "k",
    reason: "timeout",
  });
}

describe("PeerHealth", () => {
  function health(delayMs = 100, maxDelayMs = 400) {
    const clock = { now: 0 };
    const h = new PeerHealth({ delayMs, maxDelayMs }, () => clock.now);
    return { h, clock };
  }

  it("starts up, with no failures and no probe due", () => {
    const { h } = health();
    assert.equal(h.up, true);
    assert.equal(h.probeDue(), false);
    assert.deepEqual(h.info("http://b:1"), {
      peer: "http://b:1",
      state: "up",
      consecutiveFailures: 0,
      lastError: undefined,
      probing: false,
      lastAnswerAt: undefined,
    });
  });

  it("goes down on the first failure, and says so only once", () => {
    const { h } = health();
    const first = timeoutError();
    assert.equal(h.failed(first), true);
    assert.equal(h.up, false);
    assert.equal(h.failed(timeoutError()), false); // already down
    const info = h.info("http://b:1");
    assert.equal(info.state, "down");
    assert.equal(info.consecutiveFailures, 2);
  });

  it("allows one probe at a time, after a wait that doubles per failed probe up to the cap", () => {
    const { h, clock } = health(100, 400);
    h.failed(timeoutError());
    const starts: number[] = [];
    for (clock.now = 0; clock.now <= 3000; clock.now += 10) {
      if (h.probeDue()) {
        starts.push(clock.now);
        assert.equal(h.probeDue(), false, "a second probe while one runs");
        assert.equal(h.info("b").probing, true);
        clock.now += 50; // the probe takes 50 ms and fails
        h.probeFailed(timeoutError());
      }
    }
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] + 50));
    assert.equal(starts[0], 100);
    assert.deepEqual(gaps.slice(0, 4), [200, 400, 400, 400]);
  });

  it("does not put off the next probe when more requests fail while down", () => {
    const { h, clock } = health(100, 400);
    h.failed(timeoutError());
    clock.now = 90;
    h.failed(timeoutError()); // a request that was already in flight
    clock.now = 100;
    assert.equal(h.probeDue(), true);
  });

  it("comes back up when a probe is answered, keeping the last error", () => {
    const { h, clock } = health();
    const error = timeoutError();
    h.failed(error);
    clock.now = 100;
    assert.equal(h.probeDue(), true);
    const before = Date.now();
    h.probeAnswered();
    const { lastAnswerAt, ...info } = h.info("b");
    assert.deepEqual(info, {
      peer: "b",
      state: "up",
      consecutiveFailures: 0,
      lastError: error,
      probing: false,
    });
    assert.ok(lastAnswerAt! >= before && lastAnswerAt! <= Date.now());
  });

  it("ignores a failed probe when another request got an answer meanwhile", () => {
    const { h, clock } = health();
    h.failed(timeoutError());
    clock.now = 100;
    assert.equal(h.probeDue(), true);
    h.answered(); // a request sent before the peer went down got through
    h.probeFailed(timeoutError());
    assert.equal(h.up, true);
    assert.equal(h.info("b").consecutiveFailures, 0);
  });
});

describe("HttpPool peer health", () => {
  it("refuses bad probe delays", () => {
    const bad = [{ probeDelayMs: 0 }, {
      probeDelayMs: 100,
      maxProbeDelayMs: 50,
    }];
    for (const options of bad) {
      assert.throws(
        () =>
          new HttpPool("http://a:1", { registry: new Registry(), ...options }),
        ConfigError,
      );
    }
  });

  it("reports every remote peer, in peer-list order, up at first", () => {
    const pool = new HttpPool("http://a:1", { registry: new Registry() });
    pool.set("http://c:1", "http://a:1", "http://b:1");
    assert.deepEqual(
      pool.peerHealth().map((h) => [h.peer, h.state, h.consecutiveFailures]),
      [["http://c:1", "up", 0], ["http://b:1", "up", 0]],
    );
  });

  it("marks a peer that times out down; its other keys then load locally at once", async () => {
    const errors: PeerError[] = [];
    const c = makeCluster({
      nodes: 2,
      pool: { timeoutMs: 100 },
      groupOptions: { onPeerError: (e) => errors.push(e as PeerError) },
    });
    const [a, b] = c.nodes;
    b.hung = true;
    const first = c.keyOwnedBy(1, "first-");
    let t0 = performance.now();
    assert.equal((await a.group.get(first)).toString(), `v:${first}`);
    assert.ok(performance.now() - t0 >= 90, "the first get waits the timeout");
    assert.equal(errors[0].reason, "timeout");
    const [health] = a.pool.peerHealth();
    assert.equal(health.state, "down");
    assert.equal(health.lastError, errors[0]);
    // Later keys of the hung peer: local at once, no peer error.
    t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      const key = c.keyOwnedBy(1, `later-${i}-`);
      assert.equal((await a.group.get(key)).toString(), `v:${key}`);
    }
    assert.ok(performance.now() - t0 < 90, "no later get waited the timeout");
    assert.equal(a.group.stats.peerErrors, 1);
    assert.equal(a.group.stats.localLoads, 21);
  });

  it("releases requests already waiting on a peer that goes down to local loads", async () => {
    const errors: PeerError[] = [];
    const c = makeCluster({
      nodes: 2,
      pool: { timeoutMs: 5_000 },
      groupOptions: { onPeerError: (e) => errors.push(e as PeerError) },
    });
    const [a, b] = c.nodes;
    b.hung = true;
    const keys = Array.from(
      { length: 10 },
      (_, i) => c.keyOwnedBy(1, `w${i}-`),
    );
    const t0 = performance.now();
    const waiting = keys.map((k) => a.group.get(k));
    await sleep(20);
    // One request's connection is reset: the peer is down, the rest released.
    b.hung = false;
    b.down = true;
    const reset = c.keyOwnedBy(1, "reset-");
    assert.equal((await a.group.get(reset)).toString(), `v:${reset}`);
    const values = await Promise.all(waiting);
    assert.ok(performance.now() - t0 < 2_000, "released long before timeoutMs");
    assert.deepEqual(values.map(String), keys.map((k) => `v:${k}`));
    assert.equal(errors[0].reason, "network");
    const released = errors.filter((e) => e.reason === "down");
    assert.equal(released.length, keys.length);
    assert.ok(released.every((e) => e.cause === errors[0]));
    assert.equal(a.group.stats.localLoads, keys.length + 1);
  });

  it("does not count a getter's 500 from a live peer against its health", async () => {
    const c = makeCluster({
      nodes: 2,
      value: (key, node) => {
        if (node === 1) throw new Error(`no ${key} here`);
        return `local:${key}`;
      },
    });
    const [a] = c.nodes;
    for (let i = 0; i < 3; i++) {
      const key = c.keyOwnedBy(1, `e${i}-`);
      await assert.rejects(a.group.get(key), { reason: "getter" });
    }
    assert.equal(a.group.stats.ownerErrors, 3);
    assert.deepEqual(
      a.pool.peerHealth().map((h) => [h.state, h.consecutiveFailures]),
      [["up", 0]],
    );
  });

  it("does not count a caller that leaves against the peer", async () => {
    const c = makeCluster({ nodes: 2, pool: { timeoutMs: 5_000 } });
    const [a, b] = c.nodes;
    b.hung = true;
    const leaving = new AbortController();
    const get = a.group.get(c.keyOwnedBy(1), { signal: leaving.signal });
    await sleep(5);
    leaving.abort(new Error("gone"));
    await assert.rejects(get, /gone/);
    assert.equal(a.pool.peerHealth()[0].state, "up");
  });

  it("re-admits a down peer once a probe gets an answer", async () => {
    const c = makeCluster({
      nodes: 2,
      pool: { timeoutMs: 50, probeDelayMs: 20, maxProbeDelayMs: 40 },
    });
    const [a, b] = c.nodes;
    b.hung = true;
    await a.group.get(c.keyOwnedBy(1, "down-"));
    assert.equal(a.pool.peerHealth()[0].state, "down");
    // While it hangs, gets keep loading locally and probes keep failing.
    const until = performance.now() + 400;
    for (let i = 0; performance.now() < until; i++) {
      assert.equal(a.pool.pickPeer(c.keyOwnedBy(1, `p${i}-`)), undefined);
      await sleep(5);
    }
    const down = a.pool.peerHealth()[0];
    assert.equal(down.state, "down");
    assert.ok(down.consecutiveFailures >= 3, `${down.consecutiveFailures}`);
    assert.equal(down.lastError?.reason, "timeout");
    // It answers again: the next due probe re-admits it.
    b.hung = false;
    const t0 = performance.now();
    const key = c.keyOwnedBy(1, "back-");
    while (a.pool.pickPeer(key) === undefined) {
      assert.ok(performance.now() - t0 < 1_000, "not re-admitted within 1 s");
      await sleep(5);
    }
    assert.equal((await a.group.get(key)).toString(), `v:${key}`);
    assert.equal(b.loads.get(key), 1); // the owner loaded it
    assert.equal(a.loads.get(key), undefined);
    assert.equal(a.pool.peerHealth()[0].state, "up");
    // Probes are GETs of the base path, which peers answer with a 400.
    assert.ok(b.requests.some((u) => u === `${b.url}/_groupcache/`));
  });

  it("never has two probes of one peer in flight", async () => {
    let inFlight = 0, most = 0, probes = 0;
    const pool = new HttpPool("http://a:1", {
      registry: new Registry(),
      timeoutMs: 30,
      probeDelayMs: 5,
      maxProbeDelayMs: 10,
      fetch: (url, init) => {
        if (url.endsWith("/_groupcache/")) probes++;
        inFlight++;
        most = Math.max(most, inFlight);
        return new Promise((_, reject) =>
          init.signal!.addEventListener("abort", () => {
            inFlight--;
            reject(init.signal!.reason);
          })
        );
      },
    });
    pool.set("http://a:1", "http://b:1");
    const g = pool.newGroup("g", 1 << 20, (k) => k);
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const remote = keys.filter((k) => pool.owner(k) === "http://b:1");
    await g.get(remote[0]);
    const until = performance.now() + 300;
    while (performance.now() < until) {
      for (const k of remote) pool.pickPeer(k);
      await sleep(1);
    }
    assert.equal(most, 1);
    assert.ok(probes >= 3, `${probes} probes`);
  });
});
