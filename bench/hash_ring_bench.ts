// HashRing.get (src/hash_ring.ts) against Go's consistenthash.Map.Get, on the
// same rings and the same keys. Both include hashing the key (crc32 of its
// UTF-8 bytes), the binary search and fetching the owner.
//
// Rings: 3, 100 and 1,000 nodes ("http://10.0.x.y:8000") × 50 replicas, the
// HTTPPool default. Keys: 4,096 distinct 16-char ASCII strings such as
// "user:0001a2f3:qz", cycled through in order. The Go side is
// bench/go/ring/main.go, built and run from this script; it also returns a
// checksum of the owner of every key, which must equal ours.
//
// Usage: deno run -A bench/hash_ring_bench.ts [--rounds N] [--json]
//        bun bench/hash_ring_bench.ts [--rounds N] [--json]
// Writes its section of bench/results/hash_ring.md (one section per runtime).
import { execFileSync, spawnSync } from "node:child_process";
import { crc32 } from "../src/crc32.ts";
import { HashRing } from "../src/hash_ring.ts";
import { buildGo, goAvailable } from "../tests/_dev/go.ts";
import {
  fmt,
  markdownTable,
  measureAll,
  type Measurement,
  runtimeInfo,
  type Stats,
  stats,
  wantsJson,
  writeMarkdownSection,
} from "./_util.ts";
import { seededRandom } from "../tests/_dev/random.ts";
import { numberOption } from "./_proc.ts";

const ROUNDS = numberOption("rounds", 7);
const MIN_MS = 250;
const REPLICAS = 50;
const SIZES = [3, 100, 1000];

const random = seededRandom(0x2545f491);

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const keys: string[] = [];
for (let i = 0; i < 4096; i++) {
  const id = Math.floor(random() * 2 ** 32).toString(16).padStart(8, "0");
  const tail = ALNUM[Math.floor(random() * 36)] +
    ALNUM[Math.floor(random() * 36)];
  keys.push(`user:${id}:${tail}`);
}
const MASK = keys.length - 1;

const rings = SIZES.map((count) => {
  const nodes = Array.from(
    { length: count },
    (_, i) => `http://10.0.${i >> 8}.${i & 255}:8000`,
  );
  const ring = new HashRing(REPLICAS);
  ring.add(...nodes);
  return { count, nodes, ring };
});

const info = runtimeInfo();
const json = wantsJson();
if (!json) console.log(`${info.summary}, ${ROUNDS} rounds`);

// One case per ring, interleaved. Each loop sums owner lengths, as the Go
// side does, so the result is used.
const ours: Measurement[] = measureAll(
  rings.map(({ count, ring }) => ({
    name: `${count} nodes`,
    fn: (n: number) => {
      let x = 0;
      for (let i = 0; i < n; i++) x += ring.get(keys[i & MASK])!.length;
      return x;
    },
  })),
  { rounds: ROUNDS, minMs: MIN_MS },
);

interface GoResult {
  nodes: number;
  replicas: number;
  nsPerOp: number[];
  owners: number;
}
let go: GoResult[] | undefined;
let goVersion = "";
if (goAvailable()) {
  goVersion = execFileSync("go", ["version"], { encoding: "utf8" }).trim();
  const bin = buildGo("bench/go/ring", "bench-ring");
  const r = spawnSync(bin, [], {
    input: JSON.stringify({
      rounds: ROUNDS,
      minMs: MIN_MS,
      keys,
      rings: rings.map(({ nodes }) => ({ replicas: REPLICAS, nodes })),
    }),
    encoding: "utf8",
    maxBuffer: 16 << 20,
    timeout: 600_000,
  });
  if (r.status !== 0) {
    throw new Error(`Go bench failed: ${r.error ?? r.stderr}`);
  }
  go = JSON.parse(r.stdout) as GoResult[];
  rings.forEach(({ count, ring }, i) => {
    const owners = crc32(keys.map((k) => ring.get(k)).join("\n"));
    if (owners !== go![i].owners) {
      throw new Error(`${count} nodes: Go places the keys differently`);
    }
  });
} else if (!json) {
  console.log("Go or golang-github-golang-groupcache-dev missing: no Go rows");
}

const rows: {
  nodes: number;
  ours: Stats;
  go?: Stats;
  ratio?: number;
  bestRatio?: number;
}[] = rings.map(({ count }, i) => {
  const g = go ? stats(go[i].nsPerOp) : undefined;
  return {
    nodes: count,
    ours: ours[i].nsPerOp,
    go: g,
    ratio: g ? g.median / ours[i].nsPerOp.median : undefined,
    bestRatio: g ? g.min / ours[i].nsPerOp.min : undefined,
  };
});

const triple = (s: Stats) => `${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)}`;
if (json) {
  console.log(
    JSON.stringify({ runtime: info, goVersion, rounds: ROUNDS, rows }),
  );
} else {
  for (const r of rows) {
    console.log(
      `${String(r.nodes).padStart(4)} nodes × ${REPLICAS}: ours ns/op ${
        triple(r.ours)
      }` +
        (r.go
          ? `   Go ns/op ${triple(r.go)}   Go/ours ${
            r.ratio!.toFixed(2)
          }× (best ${r.bestRatio!.toFixed(2)}×)`
          : ""),
    );
  }
}

writeMarkdownSection(
  new URL("./results/hash_ring.md", import.meta.url).pathname,
  `hash_ring:${info.runtime}`,
  `### HashRing.get vs Go consistenthash.Get — ${info.summary}

Go: ${goVersion || "not run"}. 4,096 distinct 16-char keys, ${REPLICAS}
replicas per node, key hashing included; ns per lookup, min / median / max
over ${ROUNDS} rounds of about ${MIN_MS} ms (rounds of the three rings
interleaved; Go runs in its own process after them). "Go ÷ ours" is the
ratio of medians (in brackets: of the best rounds); above 1 means ours is
faster. Produced by \`bench/hash_ring_bench.ts\`.

${
    markdownTable(
      ["ring", "HashRing.get ns/op", "Go Get ns/op", "Go ÷ ours (best)"],
      rows.map((r) => [
        `${r.nodes} nodes × ${REPLICAS}`,
        triple(r.ours),
        r.go ? triple(r.go) : "—",
        r.ratio
          ? `**${r.ratio.toFixed(2)}×** (${r.bestRatio!.toFixed(2)}×)`
          : "—",
      ]),
    )
  }`,
);
