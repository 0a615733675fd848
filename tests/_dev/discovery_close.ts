// A process that starts discovery, waits until it found its peers, closes it
// and then has nothing left to do: it must exit by itself. Prints
// "closed <Date.now()>" right after close() resolves, so the test can time
// the exit.
//
//   deno run -A tests/_dev/discovery_close.ts --dns 127.0.0.1:5353
//   bun tests/_dev/discovery_close.ts --etcd http://127.0.0.1:2379
import process from "node:process";
import { dnsPeers } from "../../dns.ts";
import { etcdPeers, HttpPool, Registry } from "../../mod.ts";

const [how, where] = process.argv.slice(2);
const pool = new HttpPool("http://127.0.0.11:8000", {
  registry: new Registry(),
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
await discovery.close();
console.log(`closed ${Date.now()}`);
