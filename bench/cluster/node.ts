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
//
//   deno run -A bench/cluster/node.ts --port P --peers URL,URL,URL [--size N]
//
// It prints "listening 127.0.0.1:PORT" once bound, and exits when its stdin
// closes (the benchmark died) or on SIGTERM.
import process from "node:process";
import { HttpPool, Registry } from "../../mod.ts";
import { closeOnSignals, serve } from "../../examples/serve.ts";

const argv = process.argv.slice(2);
function option(name: string, fallback?: string): string {
  const i = argv.indexOf(`--${name}`);
  const value = i < 0 ? fallback : argv[i + 1];
  if (value === undefined) throw new Error(`node.ts needs --${name}`);
  return value;
}

const port = Number(option("port"));
const size = Number(option("size", "1024"));
const pool = new HttpPool(`http://127.0.0.1:${port}`, {
  registry: new Registry(),
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

const served = await serve(handler, port, "127.0.0.1");
closeOnSignals(served);
console.log(`listening ${served.url.slice("http://".length)}`);
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
