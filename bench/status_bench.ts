// pool.status() (src/status.ts) on a node of 50 peers and 3 groups: the
// snapshot the status page asks for every few seconds. Target: ≤ 1 ms. For
// scale, the same node's pool.metrics() (Prometheus text, the same facts
// and fewer) and the status page's JSON answer (status + JSON.stringify).
//
// The node: 50 peers on a golang ring (50 replicas), 5 of them down, every
// peer with a fetch-time histogram of 1,000 fetches; 3 groups of 64 MiB
// with 10,000 entries each in the main cache and 1,000 in the hot one.
//
// Usage: deno run -A bench/status_bench.ts [--rounds N] [--json]
//        bun bench/status_bench.ts [--rounds N] [--json]
// Writes its section of bench/results/status.md (one section per runtime).
import { HttpPool, Registry, silentLogger, statusPage } from "../mod.ts";
import { poolInternals } from "../src/http_pool.ts";
import { encodeGetResponse } from "../src/protobuf.ts";
import {
  fmt,
  markdownTable,
  measureAll,
  runtimeInfo,
  type Stats,
  wantsJson,
  writeMarkdownSection,
} from "./_util.ts";
import { numberOption, targetComment } from "./_proc.ts";
import { seededRandom } from "../tests/_dev/random.ts";

const ROUNDS = numberOption("rounds", 7);
const MIN_MS = 250;
const PEERS = 50;
const DOWN = 5;

const random = seededRandom(0x5eed);
const peers = Array.from(
  { length: PEERS },
  (_, i) => `http://10.0.0.${i + 1}:8000`,
);
const self = peers[0];
// Peers 1..DOWN refuse connections (marked down on their first fetch); the
// others answer every get with a 100-byte value.
const down = new Set(peers.slice(1, 1 + DOWN));
const value = encodeGetResponse(new TextEncoder().encode("y".repeat(100)));
const pool = new HttpPool(self, {
  registry: new Registry(),
  logger: silentLogger,
  fetch: (url) =>
    down.has(url.slice(0, url.indexOf("/", 8)))
      ? Promise.reject(new TypeError("connection refused"))
      : Promise.resolve(
        new Response(value.slice(), {
          headers: { "content-type": "application/x-protobuf" },
        }),
      ),
});
const groups = ["users", "thumbnails", "sessions"].map((name) =>
  pool.newGroup(name, 64 << 20, (key) => `${name}:${key}`, {
    hotCache: "always",
  })
);
// No peers yet: every key is this node's, into the main caches.
for (const g of groups) {
  for (let i = 0; i < 10_000; i++) await g.get(`local-${i}`);
}
pool.set(...peers);
// Remote keys: the down peers' are marked down, the others' go hot.
for (const g of groups) {
  let hot = 0;
  for (let i = 0; hot < 1_000; i++) {
    const key = `remote-${i}`;
    const owner = pool.owner(key)!;
    if (owner === self) continue;
    await g.get(key);
    if (!down.has(owner)) hot++;
  }
}
const { observe } = poolInternals(pool)!.fetchTimes;
for (const peer of peers.slice(1)) {
  for (let i = 0; i < 1_000; i++) observe(peer, 0.001 + random() * 0.05);
}

const status = pool.status();
const page = statusPage(pool);
const pageJson = new Request("http://10.0.0.1:8000/status?format=json");
const info = runtimeInfo();
const json = wantsJson();
if (!json) {
  console.log(
    `${info.summary}, ${ROUNDS} rounds; ${status.peers.length} remote peers ` +
      `(${status.peers.filter((p) => p.state === "down").length} down), ` +
      `${status.groups.length} groups, main items ${
        status.groups.map((g) => g.main.items).join("/")
      }, hot items ${status.groups.map((g) => g.hot.items).join("/")}`,
  );
}

const [snapshot, metrics, served] = measureAll([
  { name: "pool.status()", fn: (n) => loop(n, () => pool.status().at) },
  { name: "pool.metrics()", fn: (n) => loop(n, () => pool.metrics().length) },
  {
    name: "status page JSON",
    fn: (n) => loop(n, () => page(pageJson).status),
  },
], { rounds: ROUNDS, minMs: MIN_MS });

function loop(n: number, op: () => number): number {
  let x = 0;
  for (let i = 0; i < n; i++) x += op();
  return x;
}

const ms = (s: Stats) =>
  `${fmt(s.min / 1e6)} / ${fmt(s.median / 1e6)} / ${fmt(s.max / 1e6)}`;
const rows = [snapshot, metrics, served].map((m) => [m.name, ms(m.nsPerOp)]);
if (json) {
  console.log(JSON.stringify({ runtime: info, rounds: ROUNDS, rows }));
} else {
  for (const [name, figures] of rows) console.log(`${name}: ms ${figures}`);
}
const medianMs = snapshot.nsPerOp.median / 1e6;
writeMarkdownSection(
  new URL("./results/status.md", import.meta.url).pathname,
  `status:${info.runtime}`,
  `### pool.status() with 50 peers and 3 groups — ${info.summary}

${PEERS} peers (${DOWN} down, each with 1,000 fetch times), 3 groups of
${fmt(status.groups[0].main.items)} main and ${
    fmt(status.groups[0].hot.items)
  } hot entries; ms per call, min / median / max over
${ROUNDS} rounds of about ${MIN_MS} ms. Target: pool.status() ≤ 1 ms.
Produced by \`bench/status_bench.ts\`.

${markdownTable(["call", "ms (min / median / max)"], rows)}

${
    targetComment({
      bench: "status",
      runtime: info.runtime,
      workload: `${PEERS} peers (${DOWN} down), 3 groups`,
      target: "pool.status() ≤ 1 ms (50 peers, 3 groups)",
      ratio: 1 / medianMs,
      needed: 1,
      note: `median ${fmt(medianMs)} ms`,
    })
  }`,
);
