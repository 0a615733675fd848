// Fault injection over real sockets (Deno and Bun): a hostile peer driven by
// the key (./_dev/hostile_peer.ts; the cases in ./_dev/hostile_suite.ts,
// shared with @x/groupcache/node's transport), a peer process that stops answering
// (SIGSTOP), and callers that leave. Every case checks the typed error, the
// fallback (a local load), that nothing wrong is cached, and that the key
// works afterwards.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Group, HttpPool, Registry } from "../mod.ts";
import { blackhole } from "./_dev/blackhole.ts";
import { describeHostilePeer } from "./_dev/hostile_suite.ts";
import { startPeerNode } from "./_dev/peer_node.ts";
import { freePort } from "./_dev/ports.ts";
import { runtimeName } from "./_dev/runtimes.ts";
import { connectionsTo } from "./_dev/sockets.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1 << 20;
// This node only asks: nothing listens at its own URL.
const SELF = "http://127.0.0.1:9";

describeHostilePeer(runtimeName());

describe(`a peer process that stops answering (${runtimeName()})`, () => {
  it("2,000 gets of a stopped peer's keys whose callers all leave hold no connection open within 5 s", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const node = await startPeerNode({
      port,
      peers: [SELF, url],
      group: "g",
      label: "B",
    });
    try {
      node.pause();
      const pool = new HttpPool(SELF, { registry: new Registry() });
      pool.set(SELF, url);
      const group = new Group("g", MiB, (key) => key, { peers: pool });
      const keys: string[] = [];
      for (let i = 0; keys.length < 2_000; i++) {
        if (pool.owner(`k${i}`) === url) keys.push(`k${i}`);
      }
      const leave = new AbortController();
      const gets = keys.map((key) => group.get(key, { signal: leave.signal }));
      await sleep(200);
      leave.abort(new Error("the caller left"));
      const settled = await Promise.allSettled(gets);
      assert.ok(settled.every((s) => s.status === "rejected"));
      // Bun closes its aborted sockets lazily: 126 of them were still
      // open 1 s later on a loaded machine. Poll; a leak stays open.
      let open = connectionsTo(port);
      for (
        const until = performance.now() + 5_000;
        Object.keys(open).length > 0 && performance.now() < until;
        open = connectionsTo(port)
      ) await sleep(100);
      assert.deepEqual(open, {});
      // Callers leaving is not the peer's fault.
      assert.equal(pool.peerHealth()[0].state, "up");
      assert.equal(group.stats.peerErrors, 0);
    } finally {
      await node.stop();
    }
  });

  it("a node stopped with SIGSTOP under load: once the first timeout window has passed its keys load locally (p99 < 100 ms); after SIGCONT it owns them again within 10 s", async () => {
    const r = await blackhole({ timeoutMs: 1_000, callers: 24 });
    assert.equal(r.errors, 0);
    assert.ok(r.afterWindow.count >= 100, `${r.afterWindow.count} gets`);
    assert.equal(r.afterWindowLocal, r.afterWindow.count);
    assert.ok(r.afterWindow.p99 < 100, `p99 ${r.afterWindow.p99} ms`);
    assert.equal(r.downHealth.state, "down");
    assert.equal(r.downHealth.lastError?.reason, "timeout");
    assert.ok(r.firstServedMs < 10_000, `${r.firstServedMs} ms`);
    assert.ok(r.ownsAgainMs < 10_000, `${r.ownsAgainMs} ms`);
  });
});
