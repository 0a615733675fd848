// The TypeScript peer server of bench/serve_bench.ts, in a process of its own:
// HttpPool.handler served by the runtime's own server (Deno.serve under Deno,
// Bun.serve under Bun) with one group "bench" whose values are 1 KiB
// (byte i = i & 0xff, as bench/go/server), key "k" preloaded.
//
// With `fixed` after the port it serves instead the same 1,027 bytes, with
// the same headers, as a fixed body from the same server, written the way a
// user would: a synchronous handler returning a prepared body (the runtime's
// floor for this answer).
//
// With `reads`, the same fixed body, after reading what any handler of the
// peer protocol must (the method, the URL, the Host header), answered as
// pool.handler's type says, with a promise: what is left of the gap to the
// fixed body that no router can remove.
//
// With `signed`, the pool has a secret (bench/serve_bench.ts's SECRET) and
// every request must carry its signature.
//
// Usage: deno run -A bench/serve_child.ts PORT [fixed|reads|signed]
//        bun bench/serve_child.ts PORT [fixed|reads|signed]
// Prints "listening PORT" once bound; exits when its stdin closes (the
// benchmark died) or on SIGTERM.
import process from "node:process";
import { encodeGetResponse, Group, HttpPool, Registry } from "../mod.ts";
import { serve } from "../tests/_dev/serve.ts";
import { args } from "./_proc.ts";
import { SECRET } from "./_util.ts";

const port = Number(args()[0] ?? 0);
const registry = new Registry();
const value = new Uint8Array(1024);
for (let i = 0; i < value.length; i++) value[i] = i & 0xff;
const group = new Group("bench", 64 << 20, (_key, dest) => {
  dest.setBytes(value);
}, { registry });
await group.get("k");

const pool = new HttpPool(`http://127.0.0.1:${port}`, {
  registry,
  secret: args()[1] === "signed" ? SECRET : undefined,
});
const fixed = encodeGetResponse(value);
const headers = {
  "content-type": "application/x-protobuf",
  "x-groupcache-batch": "1",
};
const handlers: Record<string, (req: Request) => Response | Promise<Response>> =
  {
    fixed: () => new Response(fixed, { headers }),
    reads: (req) => {
      const read = req.method.length + req.url.length +
        (req.headers.get("host")?.length ?? 0);
      return Promise.resolve(
        new Response(read > 0 ? fixed : null, { headers }),
      );
    },
  };
const served = await serve(handlers[args()[1]] ?? pool.handler, port);
console.log(`listening ${served.port}`);

process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
