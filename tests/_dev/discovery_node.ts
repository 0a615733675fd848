// One node of the discovery tests, as its own process (Deno or Bun): a pool
// whose peers come from DNS or etcd, one group "test" whose getter counts its
// loads, served on HOST:PORT.
//
//   deno run -A tests/_dev/discovery_node.ts --host 127.0.0.11 --port 8000 \
//     --dns peers.test,A,127.0.0.1:5353,300
//   bun tests/_dev/discovery_node.ts --port 8000 \
//     --etcd http://127.0.0.1:2379,/gc/,2
//
// Routes: the pool under /_groupcache/; GET /get?key=K (the value, with
// x-owner); /peers (JSON); /ring (the ring's fingerprint); /loads (getter runs by key, JSON); /metrics.
// Prints "listening http://HOST:PORT" once serving; log lines go to stderr,
// each prefixed with its level ("WARN groupcache ...").
import process from "node:process";
import { dnsPeers } from "../../dns.ts";
import { etcdPeers, HttpPool, type Logger, Registry } from "../../mod.ts";
import { serve } from "./serve.ts";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const host = arg("host") ?? "127.0.0.1";
const port = Number(arg("port"));
const self = `http://${host}:${port}`;
const logger: Logger = {
  debug() {},
  info: (...data) => console.error("INFO", ...data),
  warn: (...data) => console.error("WARN", ...data),
  error: (...data) => console.error("ERROR", ...data),
};

const pool = new HttpPool(self, { registry: new Registry(), timeoutMs: 2_000 });
const loads: Record<string, number> = {};
const group = pool.newGroup("test", 1 << 20, (key) => {
  loads[key] = (loads[key] ?? 0) + 1;
  return `${key} loaded by ${self}`;
});

const json = (value: unknown) =>
  new Response(JSON.stringify(value), {
    headers: { "content-type": "application/json" },
  });

const served = await serve(
  async (req) => {
    const url = new URL(req.url);
    if (url.pathname.startsWith(pool.basePath)) return pool.handler(req);
    if (url.pathname === "/get") {
      const key = url.searchParams.get("key") ?? "";
      try {
        const value = await group.get(key);
        return new Response(value.toString(), {
          headers: { "x-owner": pool.owner(key) ?? self },
        });
      } catch (err) {
        return new Response(String(err), { status: 500 });
      }
    }
    if (url.pathname === "/peers") return json(pool.peers);
    if (url.pathname === "/ring") return new Response(pool.ringFingerprint);
    if (url.pathname === "/loads") return json(loads);
    if (url.pathname === "/stats") return json(group.stats);
    if (url.pathname === "/metrics") {
      return new Response(pool.metrics(), {
        headers: { "content-type": "text/plain; version=0.0.4" },
      });
    }
    return new Response("not found", { status: 404 });
  },
  port,
  host,
);

const dns = arg("dns");
const etcd = arg("etcd");
if (dns !== undefined) {
  const [name, type, nameServer, intervalMs] = dns.split(",");
  dnsPeers(pool, {
    name,
    type: type as "A",
    port,
    nameServer,
    intervalMs: Number(intervalMs),
    logger,
  });
} else if (etcd !== undefined) {
  const [endpoint, prefix, ttlSeconds] = etcd.split(",");
  etcdPeers(pool, {
    endpoint,
    prefix,
    ttlSeconds: Number(ttlSeconds),
    requestTimeoutMs: 1_000,
    logger,
  });
}
console.log(`listening ${served.url}`);
