// Smoke test of the Go interop harness: two real Go groupcache nodes peered
// with each other, driven through tests/_dev/go_node.ts. It pins down what Go
// does on its own, so the interop tests of the TypeScript pool can rely on it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type AddressInfo, createServer } from "node:net";
import { buildGo, skipWithoutGo } from "./_dev/go.ts";
import { type GoNode, goQuote, goValue, startGoNode } from "./_dev/go_node.ts";
import { freePort } from "./_dev/ports.ts";

const text = new TextDecoder();
const bytes = (s: string) => new TextEncoder().encode(s);

async function loadsOf(nodes: GoNode[], key: string): Promise<number[]> {
  return await Promise.all(nodes.map(async (n) => (await n.loads())[key] ?? 0));
}

describe("goValue", () => {
  const cases: [string, Uint8Array | Error][] = [
    ["k", bytes("go:k")],
    ["empty:x", new Uint8Array(0)],
    ["size:3:ab", Uint8Array.of(9, 40, 71)],
    ["size:x:ab", bytes("go:size:x:ab")],
    ["size:3", bytes("go:size:3")],
    ["err:a\nb", new Error('go getter failed for "err:a\\nb"')],
  ];
  for (const [key, want] of cases) {
    it(`gives ${JSON.stringify(key)} the value the Go getter gives`, () => {
      assert.deepEqual(goValue(key), want);
    });
  }

  const quotes: [string, string][] = [
    ['a "b" \\ c', '"a \\"b\\" \\\\ c"'],
    ["é ü 日本", '"é ü 日本"'],
    ["\x00\x7f\t", '"\\x00\\x7f\\t"'],
    ["\u00a0\u200b", '"\\u00a0\\u200b"'],
  ];
  for (const [input, want] of quotes) {
    it(`quotes ${JSON.stringify(input)} as Go's %q does`, () => {
      assert.equal(goQuote(input), want);
    });
  }
});

describe(
  "two Go nodes peered with each other",
  { skip: skipWithoutGo() },
  () => {
    let binary = "";
    let nodes: GoNode[] = [];

    before(async () => {
      binary = buildGo("tests/go/node", "gonode");
      const ports = [await freePort(), await freePort()];
      const peers = ports.map((p) => `http://127.0.0.1:${p}`);
      nodes = await Promise.all(
        ports.map((port) => startGoNode({ binary, port, peers })),
      );
    }, { timeout: 120_000 });

    after(async () => {
      await Promise.all(nodes.map((n) => n.kill()));
    });

    it("report their own URLs and are healthy", async () => {
      for (const n of nodes) {
        assert.match(n.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        const res = await fetch(n.url + "/health");
        assert.equal(await res.text(), "ok");
      }
    });

    // Each key is fetched through both nodes; the owner loads it once and the
    // other node gets it over the wire, so the getter runs once in all.
    const keys = [
      "plain",
      "size:1024:blob",
      "empty:nothing",
      "a+c",
      "héllo/ü日本",
      "path/with/slashes",
      "..",
      "a/../b",
      "./x",
      "%41",
      "?q=1&r#frag",
    ];
    for (const key of keys) {
      it(`serve ${JSON.stringify(key)} from either node, loaded once`, async () => {
        const want = goValue(key);
        assert.ok(want instanceof Uint8Array);
        for (const n of nodes) {
          const got = await n.get(key);
          assert.equal(got.status, 200, text.decode(got.body));
          assert.deepEqual(got.body, want);
        }
        const counts = await loadsOf(nodes, key);
        assert.equal(counts[0] + counts[1], 1, `loads ${counts}`);
      });
    }

    it("answer 500 with the getter's error, loading on the owner and then locally", async () => {
      const key = "err:boom";
      const errorsBefore = (await nodes[0].stats()).PeerErrors;
      const got = await nodes[0].get(key);
      assert.equal(got.status, 500);
      assert.equal(
        text.decode(got.body),
        (goValue(key) as Error).message + "\n",
      );
      // Node 0 always ends with a local load; node 1 loads only if it owns the
      // key, and then node 0 saw a peer error (Go's client: "server returned").
      const [local, remote] = await loadsOf(nodes, key);
      assert.equal(local, 1);
      assert.equal((await nodes[0].stats()).PeerErrors - errorsBefore, remote);
    });

    // Go's client sends a space as "+" (url.QueryEscape) and Go's server does
    // not turn "+" back into a space, so the owner loads "a+b" for "a b". The
    // TypeScript pool fixes both ends; this test keeps the Go fact in view.
    it("mangle a space Go→Go: the non-owner receives the value of the '+' key", async () => {
      const key = "a b";
      const bodies: string[] = [];
      for (const n of nodes) {
        const got = await n.get(key);
        assert.equal(got.status, 200);
        bodies.push(text.decode(got.body));
      }
      assert.deepEqual(bodies.toSorted(), ["go:a b", "go:a+b"]);
      const spaced = await loadsOf(nodes, "a b");
      const plussed = await loadsOf(nodes, "a+b");
      assert.equal(spaced[0] + spaced[1], 1);
      assert.equal(plussed[0] + plussed[1], 1);
    });

    it("count server requests from the peer in /stats", async () => {
      const stats = await Promise.all(nodes.map((n) => n.stats()));
      const served = stats[0].ServerRequests + stats[1].ServerRequests;
      const fetched = stats[0].PeerLoads + stats[0].PeerErrors +
        stats[1].PeerLoads + stats[1].PeerErrors;
      assert.ok(served > 0);
      assert.equal(served, fetched);
      for (const s of stats) {
        assert.equal(typeof s.mainCache.Bytes, "number");
        assert.equal(typeof s.hotCache.Items, "number");
      }
    });

    it("load everything locally after set-peers drops the other node", async () => {
      await nodes[0].setPeers([]);
      const key = "after-set-peers";
      assert.deepEqual((await nodes[0].get(key)).body, goValue(key));
      assert.deepEqual(await loadsOf(nodes, key), [1, 0]);
    });
  },
);

describe("startGoNode", { skip: skipWithoutGo() }, () => {
  it("rejects with the child's stderr when the node cannot start", async () => {
    const binary = buildGo("tests/go/node", "gonode");
    const taken = createServer();
    await new Promise<void>((ok) => taken.listen(0, "127.0.0.1", ok));
    const { port } = taken.address() as AddressInfo;
    try {
      await assert.rejects(
        startGoNode({ binary, port }),
        /exited before listening[\s\S]*stderr:\n.*address already in use/,
      );
    } finally {
      await new Promise((ok) => taken.close(ok));
    }
  });

  it("picks a port itself when none is given, and exits on kill", async () => {
    const binary = buildGo("tests/go/node", "gonode");
    const node = await startGoNode({ binary });
    try {
      assert.ok(node.port > 0);
      assert.equal(await (await fetch(node.url + "/health")).text(), "ok");
    } finally {
      await node.kill();
    }
    await assert.rejects(fetch(node.url + "/health"));
  });
});
