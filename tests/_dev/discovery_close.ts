// A process that starts discovery, waits until it found its peers, closes it
// and then has nothing left to do: it must exit by itself. Prints
// "closed <Date.now()>" right after close() resolves, so the test can time
// the exit.
//
//   deno run -A tests/_dev/discovery_close.ts --dns 127.0.0.1:5353
//   bun tests/_dev/discovery_close.ts --etcd http://127.0.0.1:2379
//   deno run -A tests/_dev/discovery_close.ts --etcd http://… --pool
//
// With --pool it closes the pool instead (pool.close() must stop the
// discovery started on it), while a get waits on a peer that never answers:
// the get must load here, and print "got <value>".
import process from "node:process";
import { dnsPeers } from "../../dns.ts";
import { etcdPeers, HttpPool, Registry, silentLogger } from "../../mod.ts";

const [how, where, closeWhat] = process.argv.slice(2);
const byPool = closeWhat === "--pool";
const pool = new HttpPool("http://127.0.0.11:8000", {
  registry: new Registry(),
  logger: silentLogger,
  timeoutMs: 30_000,
  // Peers that never answer until aborted.
  fetch: (_url, init) =>
    new Promise((_, reject) =>
      init.signal!.addEventListener("abort", () => reject(init.signal!.reason))
    ),
});
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const discovery = how === "--dns"
  ? dnsPeers(pool, {
    name: "peers.test",
    port: 8000,
    nameServer: where,
    intervalMs: 5_000, // a timer left behind would keep the process 5 s
    logger: quiet,
  })
  : etcdPeers(pool, {
    endpoint: where,
    prefix: "/groupcache/close-test/",
    ttlSeconds: 10, // a keepalive timer left behind would keep it 3 s
    logger: quiet,
  });
const deadline = Date.now() + 10_000;
while (pool.peers.length < 2 && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
console.log(`peers ${pool.peers.join(" ")}`);
if (byPool) {
  const group = pool.newGroup("g", 1 << 20, (key) => `here ${key}`);
  let key = "k0";
  for (let i = 1; pool.owner(key) === pool.self; i++) key = `k${i}`;
  const waiting = group.get(key);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await pool.close();
  console.log(`got ${(await waiting).toString()}`);
} else {
  await discovery.close();
}
console.log(`closed ${Date.now()}`);
