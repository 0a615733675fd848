// Node support, proven on Node itself (`node tests/node/run.mjs`, Node >= 20).
// Node 20 cannot run TypeScript, so this first bundles, with the Bun that
// `npm install` brings, examples/node_server.ts and the suite's
// runtime-neutral test files into tests/.out/node/*.bundle.mjs. Then, in one
// node:test run: the library's own tests, unchanged, and a real two-node
// exchange between two Node processes of examples/node_server.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const outDir = join(root, "tests/.out/node");

/** Test files that need nothing but node:test and the library. */
const SUITES = [
  "byte_view_test",
  "group_test",
  "http_pool_test",
  "lru_test",
  "sink_test",
];

function bunBinary() {
  const local = join(root, "node_modules/.bin/bun");
  try {
    accessSync(local, constants.X_OK);
    return local;
  } catch {
    return "bun"; // one on PATH
  }
}

function bundle(entries) {
  mkdirSync(outDir, { recursive: true });
  const bun = bunBinary();
  const args = [
    "build",
    ...entries,
    "--target=node",
    `--outdir=${outDir}`,
    // Not *_test.mjs, so `deno test tests/` does not pick the bundles up.
    "--entry-naming=[name].bundle.mjs",
  ];
  const r = spawnSync(bun, args, { cwd: root, encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new Error(
      `bundling for Node failed: ${bun} ${args.join(" ")}\n` +
        `${r.error?.message ?? ""}${r.stdout ?? ""}${r.stderr ?? ""}\n` +
        "(Bun comes from `npm install`)",
    );
  }
}

bundle([
  "examples/node_server.ts",
  ...SUITES.map((s) => `tests/${s}.ts`),
]);

// The library's own tests register with this run's node:test.
for (const suite of SUITES) {
  await import(pathToFileURL(join(outDir, `${suite}.bundle.mjs`)).href);
}

/** `count` distinct free ports on 127.0.0.1. */
async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", resolve);
      });
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

const children = new Set();
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** Starts `node node_server.bundle.mjs`; resolves once it prints "listening URL". */
function startNode(port, peers) {
  const child = spawn(process.execPath, [
    join(outDir, "node_server.bundle.mjs"),
    "--port",
    String(port),
    "--peers",
    peers.join(","),
  ], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  const closed = new Promise((resolve) => child.once("close", resolve));
  let stdout = "", stderr = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8").on("data", (s) => stderr += s);
  const node = {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await closed;
        clearTimeout(timer);
      }
      children.delete(child);
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`node on :${port} did not listen in 20 s:\n${stderr}`));
    }, 20_000);
    child.stdout.on("data", (s) => {
      stdout += s;
      if (stdout.includes(`listening ${node.url}`)) {
        clearTimeout(timer);
        resolve(node);
      }
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`node on :${port} exited with ${code}:\n${stderr}`));
    });
  });
}

async function get(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe(`two Node ${process.version} processes of examples/node_server.ts`, () => {
  const nodes = [];
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
    const sum = (field) => stats.reduce((s, x) => s + x[field], 0);
    assert.equal(sum("localLoads"), keys.length);
    assert.equal(sum("peerLoads"), sum("serverRequests"));
    assert.ok(stats.every((s) => s.peerLoads > 0), "both nodes asked a peer");
    assert.equal(sum("peerErrors"), 0);
  });
});
