// Node support, proven on Node itself (Node >= 20). Node 20 cannot run
// TypeScript, so tests/run.ts (`deno task test node`) first bundles this file
// and examples/node_server.ts with the Bun that `npm install` brings, into
// tests/.out/node/*.bundle.mjs, and runs `node tests/.out/node/run.bundle.mjs`.
// In one node:test run: the library's own runtime-neutral tests, unchanged,
// and a real two-node exchange between two Node processes of
// examples/node_server.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { freePorts } from "../_dev/ports.ts";
import { startServer } from "../_dev/proc.ts";
// The test files that need nothing but node:test and the library; they
// register with this run's node:test.
import "../byte_view_test.ts";
import "../group_test.ts";
import "../http_pool_test.ts";
import "../lru_test.ts";
import "../peer_health_test.ts";
import "../sink_test.ts";

/** Where the bundles are: next to this one, once bundled. */
const outDir = dirname(fileURLToPath(import.meta.url));

interface Node {
  url: string;
  stop(): Promise<void>;
}

/** Starts `node node_server.bundle.mjs`; resolves once it prints "listening URL". */
async function startNode(port: number, peers: string[]): Promise<Node> {
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer(process.execPath, [
    join(outDir, "node_server.bundle.mjs"),
    "--port",
    String(port),
    "--peers",
    peers.join(","),
  ], { name: `node on :${port}`, timeoutMs: 20_000 });
  if (server.address !== url) {
    await server.stop();
    throw new Error(`node on :${port} is listening on ${server.address}`);
  }
  return { url, stop: () => server.stop() };
}

async function get(url: string) {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe(`two Node ${process.version} processes of examples/node_server.ts`, () => {
  const nodes: Node[] = [];
  const keys = [
    ...Array.from({ length: 16 }, (_, i) => `user-${i}`),
    "ada lovelace",
    "ünïcödé/ключ?&=%",
  ];

  before(async () => {
    const ports = await freePorts(2);
    const peers = ports.map((p) => `http://127.0.0.1:${p}`);
    nodes.push(...await Promise.all(ports.map((p) => startNode(p, peers))));
  }, { timeout: 30_000 });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it("answers every key with the same value from both nodes, loaded by its owner", async () => {
    const owners = new Set();
    for (const key of keys) {
      const path = `/get?key=${encodeURIComponent(key)}`;
      const [a, b] = await Promise.all(nodes.map((n) => get(n.url + path)));
      assert.equal(a.status, 200, a.text);
      assert.equal(b.status, 200, b.text);
      assert.equal(a.text, b.text, `both nodes answer the same for ${key}`);
      const owner = a.headers.get("x-owner");
      assert.equal(b.headers.get("x-owner"), owner, `one owner for ${key}`);
      assert.ok(nodes.some((n) => n.url === owner), `owner ${owner}`);
      assert.equal(a.text, `hello ${key}, loaded by ${owner}`);
      owners.add(owner);
    }
    assert.equal(owners.size, 2, "each node owns some of the keys");
  });

  it("ran each key's getter exactly once across both nodes", async () => {
    const stats = await Promise.all(
      nodes.map(async (n) => JSON.parse((await get(n.url + "/stats")).text)),
    );
    const sum = (field: string) => stats.reduce((s, x) => s + x[field], 0);
    assert.equal(sum("localLoads"), keys.length);
    assert.equal(sum("peerLoads"), sum("serverRequests"));
    assert.ok(stats.every((s) => s.peerLoads > 0), "both nodes asked a peer");
    assert.equal(sum("peerErrors"), 0);
  });
});
