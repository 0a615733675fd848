/**
 * groupcache inside a Hono app: the app's own routes and the peer protocol on
 * one port. Hono hands `pool.handler` its `Request` untouched, so the path
 * still starts with `/_groupcache/`, which is what the pool answers.
 *
 * ```sh
 * npx bun run examples/hono.ts --port 8080 --peers http://127.0.0.1:8080,http://127.0.0.1:8081
 * npx -y deno@2.9.6 run -A examples/hono.ts --port 8081 --peers http://127.0.0.1:8080,http://127.0.0.1:8081
 * curl http://127.0.0.1:8081/greet/ada    # made once, by the key's owner
 * ```
 *
 * Not `app.mount("/_groupcache", pool.handler)`: mounting strips the prefix
 * by default, the pool then sees `/{group}/{key}` and answers 404 to every
 * peer, and every node quietly loads every key itself. Mounting works with
 * the request kept as it came:
 * `app.all("/_groupcache/*", mount(pool.handler, { replaceRequest: false }))`
 * with `mount` from `hono/mount` (or the deprecated
 * `app.mount("/_groupcache", pool.handler, { replaceRequest: false })`).
 * @module
 */
import { Hono } from "hono";
import { parseArgs } from "node:util";
import { HttpPool } from "../mod.ts";
import { closeOnSignals, serve } from "./serve.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8080" },
    peers: { type: "string" },
  },
});
const self = `http://127.0.0.1:${values.port}`;
const pool = new HttpPool(self);
pool.set(...(values.peers?.split(",") ?? [self])); // the same list on every node

const loaded: string[] = []; // the keys this node's getter made
const greetings = pool.newGroup("greetings", 1 << 20, (key) => {
  loaded.push(key);
  return `hello ${key}, made by ${self}\n`;
});

const app = new Hono();
app.all("/_groupcache/*", (c) => pool.handler(c.req.raw));
app.get("/", (c) => c.text("try /greet/ada\n"));
app.get("/greet/:name", async (c) => {
  const name = c.req.param("name");
  const view = await greetings.get(name, c.req.raw); // the caller's signal
  return c.text(view.toString(), 200, {
    "x-groupcache-owner": pool.owner(name) ?? self,
  });
});
app.get("/stats", (c) => c.json({ self, stats: greetings.stats, loaded }));

const served = await serve(app.fetch, Number(values.port), "127.0.0.1");
closeOnSignals(served);
console.log(`hono node ${self} listening on ${served.url} (${served.runtime})`);
