// Issue 23 over real processes: four nodes (this runtime, loopback HTTP, a
// shared secret). Scale 3 → 4: the new node's moved keys come from their
// previous owners' caches, not the getter. Then one node leaves with
// close(): its keys are handed to the survivors, not loaded again. And a
// mixed cluster with a real Go node, which is never sent a handoff request.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { HashRing, HttpPool, Registry, silentLogger } from "../mod.ts";
import { buildGo, skipWithoutGo } from "./_dev/go.ts";
import { type GoNode, startGoNode } from "./_dev/go_node.ts";
import { type HandoffNode, startHandoffNode } from "./_dev/handoff_node.ts";
import { freePorts } from "./_dev/ports.ts";
import { serve, type Served } from "./_dev/serve.ts";

const SECRET = "handoff cluster test secret";
const KEYS = Array.from({ length: 400 }, (_, i) => `key-${i}`);

function ownerOf(urls: string[], key: string): string {
  const ring = new HashRing(50);
  ring.add(...urls);
  return ring.get(key)!;
}

async function runs(nodes: HandoffNode[]): Promise<number> {
  const all = await Promise.all(nodes.map((n) => n.stats()));
  return all.reduce((sum, s) => sum + s.runs, 0);
}

describe("handoff between node processes", () => {
  let urls: string[] = [];
  const nodes: HandoffNode[] = [];

  before(async () => {
    const ports = await freePorts(4);
    urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const three = urls.slice(0, 3);
    const start = (i: number, peers: string[]) =>
      startHandoffNode({
        port: ports[i],
        peers,
        secret: SECRET,
        label: `n${i}`,
      });
    nodes.push(...await Promise.all([0, 1, 2].map((i) => start(i, three))));
    // Warm: every key once, through its owner.
    for (const key of KEYS) {
      await nodes[three.indexOf(ownerOf(three, key))].get(key);
    }
    nodes.push(await start(3, urls)); // its first list: the previous ring is the other three
    await Promise.all(nodes.slice(0, 3).map((n) => n.setPeers(urls)));
  }, { timeout: 60_000 });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it("scale 3 → 4: the new node gets its moved keys from their previous owners", async () => {
    const warm = await runs(nodes);
    assert.equal(warm, KEYS.length);
    const moved = KEYS.filter((k) => ownerOf(urls, k) === urls[3]);
    assert.ok(moved.length > 40, `${moved.length} keys moved`);
    for (const key of moved) {
      const previous =
        ["n0", "n1", "n2"][urls.indexOf(ownerOf(urls.slice(0, 3), key))];
      assert.equal(await nodes[3].get(key), `${previous}:${key}`);
    }
    const reloaded = (await runs(nodes)) - warm;
    const { stats } = await nodes[3].stats();
    console.log(
      `scale 3 → 4: ${moved.length} keys moved, ${stats.handoffHits} handed ` +
        `over, ${reloaded} loaded again`,
    );
    assert.ok(reloaded <= moved.length / 4, `${reloaded} getter runs`);
    assert.ok(
      stats.handoffHits >= (3 * moved.length) / 4,
      String(stats.handoffHits),
    );
  });

  it("close() of a node hands its keys to the survivors", async () => {
    const leaving = nodes[1];
    const survivors = [urls[0], urls[2], urls[3]];
    const theirs = KEYS.filter((k) => ownerOf(urls, k) === urls[1]);
    const stats = await leaving.close();
    assert.equal(stats.handedOff, theirs.length);
    const rest = [nodes[0], nodes[2], nodes[3]];
    await Promise.all(rest.map((n) => n.setPeers(survivors)));
    const before = await runs(rest);
    for (const key of theirs) {
      const owner = rest[survivors.indexOf(ownerOf(survivors, key))];
      assert.equal(await owner.get(key), `n1:${key}`);
    }
    const reloaded = (await runs(rest)) - before;
    console.log(
      `leave: ${theirs.length} keys of the leaving node, ${stats.handedOff} ` +
        `handed off, ${reloaded} loaded again`,
    );
    assert.ok(reloaded <= theirs.length / 4, `${reloaded} getter runs`);
  });

  it("a node killed without close() hands off nothing, and nothing breaks", async () => {
    const survivors = [urls[0], urls[2]];
    const theirs = KEYS.filter((k) =>
      ownerOf([urls[0], urls[2], urls[3]], k) === urls[3]
    );
    await nodes[3].stop(); // SIGTERM: the process exits, no close()
    const rest = [nodes[0], nodes[2]];
    // Before the others drop it: its keys load where they are asked.
    for (const key of theirs.slice(0, 10)) {
      assert.match(await nodes[0].get(key), new RegExp(`^n\\d:${key}$`));
    }
    await Promise.all(rest.map((n) => n.setPeers(survivors)));
    for (const key of theirs) {
      const owner = rest[survivors.indexOf(ownerOf(survivors, key))];
      assert.match(await owner.get(key), new RegExp(`^n\\d:${key}$`));
    }
  });
});

describe(
  "handoff in a cluster with a Go node",
  { skip: skipWithoutGo() },
  () => {
    let go: GoNode | undefined;
    let served: Served | undefined;
    let pool: HttpPool | undefined;

    before(async () => {
      const binary = buildGo("tests/go/node", "gonode");
      served = await serve((req) => pool!.handler(req));
      const [port] = await freePorts(1);
      const goUrl = `http://127.0.0.1:${port}`;
      go = await startGoNode({ binary, port, peers: [served.url, goUrl] });
      pool = new HttpPool(served.url, {
        registry: new Registry(),
        logger: silentLogger,
        writes: "open", // so close() would hand off, were the Go node ours
      });
    }, { timeout: 120_000 });

    after(async () => {
      await pool?.close();
      await go?.kill();
      await served?.close();
    });

    it("never asks the Go node from cache only, and values stay right", async () => {
      const p = pool!, g = go!;
      const peers = [served!.url, g.url];
      let runs = 0;
      const group = p.newGroup("test", 1 << 20, (key) => {
        runs++;
        return `ts:${key}`;
      });
      // Its first list: the Go node stands as the previous owner of every key
      // this node owns; then a change (alone, then both) does it again.
      p.set(...peers);
      const keys = Array.from({ length: 60 }, (_, i) => `mixed-${i}`);
      const goKeys = keys.filter((k) => p.owner(k) === g.url);
      const ours = keys.filter((k) => p.owner(k) === served!.url);
      assert.ok(goKeys.length > 5 && ours.length > 5);
      const half = ours.length >> 1;
      for (const key of goKeys) {
        assert.equal((await group.get(key)).toString(), `go:${key}`);
      }
      for (const key of ours.slice(0, half)) {
        assert.equal((await group.get(key)).toString(), `ts:${key}`);
      }
      p.set(served!.url);
      p.set(...peers);
      for (const key of ours.slice(half)) {
        assert.equal((await group.get(key)).toString(), `ts:${key}`);
      }
      const stats = await g.stats();
      assert.equal(stats.ServerRequests, goKeys.length); // the gets, nothing more
      const goLoads = await g.loads();
      assert.deepEqual(ours.filter((k) => k in goLoads), []);
      assert.equal(runs, ours.length);
      const { handoffHits, handoffMisses } = group.stats;
      assert.deepEqual([handoffHits, handoffMisses], [0, 0]);
      // Leaving: the Go node, next owner of every key, is sent no batch set
      // nor PUT (Go would take either for a get).
      await p.close();
      assert.equal((await g.stats()).ServerRequests, goKeys.length);
      assert.equal(group.stats.handedOff, 0);
    });
  },
);
