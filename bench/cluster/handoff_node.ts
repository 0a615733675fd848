// One node of the cluster-change benchmark (bench/handoff_bench.ts): one
// HttpPool (with the benches' shared secret, so writes between nodes are
// signed) and one Group, the peer handler and these routes on one port:
//
//   GET  /get?key=K     group.get(K), the 1 KiB value as the body
//   GET  /stats         /get requests served, getter runs, the group's stats
//   GET  /loads?from=N  the keys the getter ran for, from the N-th run on
//   POST /peers         the body (URLs, comma-separated) becomes pool.set's list
//   POST /fill?keys=N   gets each of key-0 … key-(N-1) it owns (a warm start
//                       without N requests through the front end)
//
// The getter waits --origin-ms (a slow origin) and returns 1 KiB derived from
// the key (byte i = (i*31 + UTF-8 length of key) & 0xff), as
// bench/cluster/node.ts. With --handoff off the pool gets
// `handoffWindowMs: 0, leaveBytes: 0`; with on, the defaults (a library
// without the feature ignores both).
//
//   deno run -A bench/cluster/handoff_node.ts --port P --peers URL,URL
//     [--handoff on|off] [--origin-ms MS]
//
// Prints "listening 127.0.0.1:PORT" once bound. On SIGTERM it calls
// pool.close() (the graceful leave), prints "final {json}" (its stats and
// how long close took), and exits; on SIGKILL nothing. It also exits when
// its stdin closes (the benchmark died).
import process from "node:process";
import { HttpPool, Registry } from "../../mod.ts";
import { serve } from "../../examples/serve.ts";
import { SECRET } from "../_util.ts";

const argv = process.argv.slice(2);
function option(name: string, fallback?: string): string {
  const i = argv.indexOf(`--${name}`);
  const value = i < 0 ? fallback : argv[i + 1];
  if (value === undefined) throw new Error(`handoff_node.ts needs --${name}`);
  return value;
}

const port = Number(option("port"));
const originMs = Number(option("origin-ms", "2"));
const handoff = option("handoff", "on") === "on";
const pool = new HttpPool(`http://127.0.0.1:${port}`, {
  registry: new Registry(),
  secret: SECRET,
  ...(handoff ? {} : { handoffWindowMs: 0, leaveBytes: 0 }),
});
pool.set(...option("peers").split(","));

const encoder = new TextEncoder();
const loaded: string[] = [];
const group = pool.newGroup("handoff", 64 << 20, async (key) => {
  loaded.push(key);
  await new Promise((resolve) => setTimeout(resolve, originMs));
  const n = encoder.encode(key).length;
  const value = new Uint8Array(1024);
  for (let i = 0; i < value.length; i++) value[i] = (i * 31 + n) & 0xff;
  return value;
});

async function fill(keys: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys) {
      const key = `key-${next++}`;
      if (pool.owner(key) === pool.self) await group.get(key);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

let requests = 0;
const stats = () => ({
  requests,
  getterRuns: loaded.length,
  // Whether this library has the feature (main has none of these).
  handoffBuilt: "handoffHits" in group.stats,
  ...group.stats,
});
const headers = { "content-type": "application/octet-stream" };
async function handler(req: Request): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname.startsWith(pool.basePath)) return pool.handler(req);
  if (url.pathname === "/get") {
    requests++;
    const view = await group.get(url.searchParams.get("key") ?? "");
    return new Response(view.toBytes() as Uint8Array<ArrayBuffer>, {
      headers,
    });
  }
  if (url.pathname === "/stats") return Response.json(stats());
  if (url.pathname === "/loads") {
    return Response.json(loaded.slice(Number(url.searchParams.get("from"))));
  }
  if (url.pathname === "/fill" && req.method === "POST") {
    await fill(Number(url.searchParams.get("keys")));
    return new Response(null, { status: 204 });
  }
  if (url.pathname === "/peers" && req.method === "POST") {
    pool.set(...(await req.text()).split(","));
    return new Response(null, { status: 204 });
  }
  return new Response("not found", { status: 404 });
}

const served = await serve(handler, port, "127.0.0.1");
process.on("SIGTERM", async () => {
  const t0 = performance.now();
  await pool.close();
  const closeMs = performance.now() - t0;
  process.stdout.write(`final ${JSON.stringify({ ...stats(), closeMs })}\n`);
  // The front end is drained by then; a peer's kept-alive connection must
  // not hold the exit up.
  await Promise.race([
    served.close(),
    new Promise((resolve) => setTimeout(resolve, 500)),
  ]);
  process.exit(0);
});
console.log(`listening ${served.url.slice("http://".length)}`);
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
