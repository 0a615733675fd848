// One node of the 3-node cluster benchmark (bench/cluster_bench.ts), written
// as an application would be: one HttpPool and one Group, the peer handler
// and the application's own routes on the same port, routed by path as the
// README's "Serving" section shows:
//
//   GET /get?key=K   group.get(K), the value as the body
//   GET /stats       the group's counters and the /get requests served, JSON
//
// Every value is 1 KiB derived from its key (byte i = (i*31 + UTF-8 length
// of key) & 0xff), the same bytes as bench/go/cluster. Served by the
// runtime's own server (Deno.serve, Bun.serve) or, on Node, the web adapter
// @hono/node-server (examples/serve.ts); Node runs a bundle of this file.
// With --native (Node only) the node is what a Node user would write with
// node.ts: node:http's createServer, nodePeers in front of the application's
// routes, and nodeTransport for the peer gets.
//
//   deno run -A bench/cluster/node.ts --port P --peers URL,URL,URL [--size N]
//     [--native] [--handoff-ms MS]
//
// --handoff-ms 0 turns handoff off (the pool's default otherwise), to
// measure what asking the previous owners costs a cold start.
//
// It prints "listening 127.0.0.1:PORT" once bound, and exits when its stdin
// closes (the benchmark died) or on SIGTERM.
import process from "node:process";
import { HttpPool, Registry } from "../../mod.ts";
import { closeOnSignals, serve, type Served } from "../../examples/serve.ts";

const argv = process.argv.slice(2);
function option(name: string, fallback?: string): string {
  const i = argv.indexOf(`--${name}`);
  const value = i < 0 ? fallback : argv[i + 1];
  if (value === undefined) throw new Error(`node.ts needs --${name}`);
  return value;
}

const port = Number(option("port"));
const size = Number(option("size", "1024"));
const native = argv.includes("--native");
const handoffMs = argv.includes("--handoff-ms")
  ? { handoffWindowMs: Number(option("handoff-ms")) }
  : {};
// Loaded only for --native, so Deno and Bun nodes never read node.ts.
const nodeApi = native ? await import("../../node.ts") : undefined;
const transport = nodeApi?.nodeTransport();
const pool = new HttpPool(`http://127.0.0.1:${port}`, {
  registry: new Registry(),
  ...handoffMs,
  ...(transport === undefined ? {} : { transport }),
});
pool.set(...option("peers").split(","));
const encoder = new TextEncoder();
const group = pool.newGroup("cluster", 64 << 20, (key) => {
  const n = encoder.encode(key).length;
  const value = new Uint8Array(size);
  for (let i = 0; i < size; i++) value[i] = (i * 31 + n) & 0xff;
  return value;
});

let requests = 0;
const headers = { "content-type": "application/octet-stream" };
async function handler(req: Request): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname.startsWith(pool.basePath)) return pool.handler(req);
  if (url.pathname === "/get") {
    requests++;
    const view = await group.get(url.searchParams.get("key") ?? "");
    // toBytes copies into a fresh ArrayBuffer (as Go's ByteSlice copies).
    const body = view.toBytes() as Uint8Array<ArrayBuffer>;
    return new Response(body, { headers });
  }
  if (url.pathname === "/stats") {
    return Response.json({ requests, ...group.stats });
  }
  return new Response("not found", { status: 404 });
}

/** The same routes on node:http, the peers answered by nodePeers. */
async function serveNative(
  api: typeof import("../../node.ts"),
): Promise<Served> {
  const { createServer } = await import("node:http");
  const peers = api.nodePeers(pool);
  const server = createServer((req, res) => {
    if (peers(req, res)) return;
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/get") {
      requests++;
      group.get(url.searchParams.get("key") ?? "").then((view) => {
        res.writeHead(200, headers);
        res.end(view.toBytes());
      }, (err) => {
        res.writeHead(500);
        res.end(String(err));
      });
    } else if (url.pathname === "/stats") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ requests, ...group.stats }));
    } else {
      res.writeHead(404);
      res.end("not found");
    }
  });
  await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${port}`,
    runtime: "node",
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
        transport?.close();
      }),
  };
}

const served = nodeApi === undefined
  ? await serve(handler, port, "127.0.0.1")
  : await serveNative(nodeApi);
closeOnSignals(served);
console.log(`listening ${served.url.slice("http://".length)}`);
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
