// Hot-cache admission policies side by side (issue 16): "popular" (ours, the
// default), "go" (Go's one in ten), "always" (mailgun's), "never".
//
// Cluster: three nodes in this process, each a Registry + HttpPool + Group,
// wired through their handlers by an injected fetch (no sockets: the figures
// count what each policy makes the nodes do, and time it on one core). Every
// node has the same budget; 10,000 keys of 1 KiB values; Zipf (s = 1) over
// the keys, requests spread round-robin over the three nodes. Per round and
// policy: a fresh cluster, WARMUP requests, then MEASURED requests: peer
// fetches per user request and user requests per second. The policies take
// turns in a rotating order, round after round.
// Scan: a node with the smaller budget warmed with 400 popular remote keys
// (each asked 4 times), then 100,000 distinct one-off remote keys through it:
// the share of the popular keys still answered without asking their owner;
// again with 50,000 distinct keys of any owner (issue 21: the node's own keys
// grow its main cache, and the hot cache gives way).
// Best static set (issue 21): at the budget that does not hold every key, the
// fewest peer fetches a fixed choice could give: each node keeps its own keys
// and fills the rest of its budget with the most popular remote keys.
// Bookkeeping: the heap the "popular" policy's window takes when full, per
// byte of budget (one process, after GC where the runtime exposes it).
//
// Usage: deno run -A bench/hot_cache_bench.ts [--quick] [--rounds N]
//        bun bench/hot_cache_bench.ts [--quick] [--rounds N]
// Writes bench/results/hot_cache_<runtime>.md.
import process from "node:process";
import {
  ENTRY_OVERHEAD,
  type Group,
  type HotCachePolicy,
  HttpPool,
  Registry,
} from "../mod.ts";
import { Doorkeeper, doorkeeperCapacity } from "../src/hot_admission.ts";
import { entrySize } from "../src/cache.ts";
import { seededRandom, zipfSampler } from "../tests/_dev/random.ts";
import { collector } from "../tests/_dev/memory.ts";
import { benchPath, flag, numberOption, targetComment } from "./_proc.ts";
import {
  fmt,
  markdownTable,
  runtimeInfo,
  stats,
  writeMarkdownSection,
} from "./_util.ts";

const QUICK = flag("quick");
const ROUNDS = numberOption("rounds", QUICK ? 2 : 5);
const KEYS = 10_000;
const VALUE_BYTES = 1024;
// Per node: 64 MiB holds every key (the hot cache is bounded by admission
// alone); 8 MiB holds the owned third and part of the rest (LRU pressure).
const BUDGETS = [64 << 20, 8 << 20];
const BUDGET = BUDGETS[0];
const WARMUP = QUICK ? 20_000 : 100_000;
const MEASURED = QUICK ? 20_000 : 100_000;
const SCAN = QUICK ? 20_000 : 100_000;
const POLICIES: HotCachePolicy[] = ["popular", "go", "always", "never"];
const VALUE = "v".repeat(VALUE_BYTES);
const URLS = ["http://n0.test", "http://n1.test", "http://n2.test"];
// Where the clusters' keys live (every node's ring is this one).
const ring = new HttpPool(URLS[0], { registry: new Registry() });
ring.set(...URLS);
const WORKLOAD = `3 nodes in one process, ${KEYS.toLocaleString("en")} keys, ` +
  `${VALUE_BYTES} B values, Zipf`;

interface Cluster {
  groups: Group[];
  fetches: () => number;
}

function cluster(
  policy: HotCachePolicy,
  seed: number,
  budget = BUDGET,
): Cluster {
  const pools: HttpPool[] = [];
  let fetches = 0;
  const fetch = (input: string, init: RequestInit) => {
    fetches++;
    const i = URLS.findIndex((u) => input.startsWith(u + "/"));
    return pools[i].handler(new Request(input, init));
  };
  const random = seededRandom(seed);
  const groups = URLS.map((url) => {
    const pool = new HttpPool(url, { registry: new Registry(), fetch });
    pools.push(pool);
    return pool.newGroup("bench", budget, () => VALUE, {
      hotCache: policy,
      random,
    });
  });
  for (const pool of pools) pool.set(...URLS);
  return { groups, fetches: () => fetches };
}

const keys = Array.from({ length: KEYS }, (_, i) => `item:${i}`);
const ownerOf = Int8Array.from(
  keys,
  (key) => URLS.indexOf(ring.owner(key) ?? ""),
);

/**
 * Per node, which keys the best static choice holds at `budget`: its own,
 * then remote keys by popularity (index 0 is the most popular) while they fit.
 */
function bestStaticSets(budget: number): Uint8Array[] {
  const charge = (k: number) => entrySize(keys[k], VALUE_BYTES, ENTRY_OVERHEAD);
  return URLS.map((_, node) => {
    const held = new Uint8Array(KEYS);
    let left = budget;
    for (let k = 0; k < KEYS; k++) {
      if (ownerOf[k] !== node) continue;
      held[k] = 1;
      left -= charge(k);
    }
    for (let k = 0; k < KEYS && left > 0; k++) {
      if (held[k] === 1 || charge(k) > left) continue;
      held[k] = 1;
      left -= charge(k);
    }
    return held;
  });
}
const BEST = new Map(BUDGETS.map((b) => [b, bestStaticSets(b)]));

async function run(c: Cluster, stream: Int32Array, from: number, to: number) {
  for (let i = from; i < to; i++) {
    await c.groups[i % 3].get(keys[stream[i]]);
  }
}

const perGet: Record<string, Record<string, number[]>> = {};
const perSecond: Record<string, Record<string, number[]>> = {};
const bestPerGet: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  const next = zipfSampler(KEYS, seededRandom(100 + round));
  const stream = Int32Array.from({ length: WARMUP + MEASURED }, next);
  for (const budget of BUDGETS) {
    const best = BEST.get(budget)!;
    let bestFetches = 0;
    for (let i = WARMUP; i < WARMUP + MEASURED; i++) {
      if (best[i % 3][stream[i]] === 0) bestFetches++;
    }
    (bestPerGet[budget] ??= []).push(bestFetches / MEASURED);
    for (let k = 0; k < POLICIES.length; k++) {
      const policy = POLICIES[(k + round) % POLICIES.length];
      const c = cluster(policy, round, budget);
      await run(c, stream, 0, WARMUP);
      const before = c.fetches();
      const started = performance.now();
      await run(c, stream, WARMUP, WARMUP + MEASURED);
      const seconds = (performance.now() - started) / 1000;
      const fetches = (c.fetches() - before) / MEASURED;
      ((perGet[budget] ??= {})[policy] ??= []).push(fetches);
      ((perSecond[budget] ??= {})[policy] ??= []).push(MEASURED / seconds);
      console.log(
        `round ${round + 1} ${budget >> 20} MiB ${policy}: ${
          fmt(fetches)
        } fetches/get, ${fmt(MEASURED / seconds)} gets/s`,
      );
    }
  }
}

/**
 * Share of 400 popular remote keys still mirrored after a scan: of `SCAN`
 * remote keys, or with `anyOwner` of 50,000 keys, a third of them the node's.
 */
async function scanRetention(
  policy: HotCachePolicy,
  anyOwner = false,
): Promise<number> {
  const c = cluster(policy, 7, BUDGETS[1]); // the scan cannot all fit
  const node = c.groups[0];
  const remote = (prefix: string, n: number) => {
    const out: string[] = [];
    for (let i = 0; out.length < n; i++) {
      const key = `${prefix}${i}`;
      if (ring.owner(key) !== URLS[0]) out.push(key);
    }
    return out;
  };
  const popular = remote("popular:", 400);
  for (let r = 0; r < 4; r++) for (const key of popular) await node.get(key);
  const scan = anyOwner
    ? Array.from({ length: 50_000 }, (_, i) => `scan:${i}`)
    : remote("scan:", SCAN);
  for (const key of scan) await node.get(key);
  let kept = 0;
  for (const key of popular) {
    const before = c.fetches();
    await node.get(key);
    if (c.fetches() === before) kept++;
  }
  return kept / popular.length;
}
const retention: Record<string, number> = {};
const retentionAny: Record<string, number> = {};
for (const policy of POLICIES) {
  retention[policy] = await scanRetention(policy);
  retentionAny[policy] = await scanRetention(policy, true);
}

const gc = collector();
gc();
const heapBefore = process.memoryUsage().heapUsed;
const door = new Doorkeeper(doorkeeperCapacity(BUDGET * 64));
for (let i = 0; i < door.capacity; i++) door.admit(`item:${i * 7919}:v2`);
gc();
const doorBytes = process.memoryUsage().heapUsed - heapBefore;
const doorShare = doorBytes / (BUDGET * 64);

const info = runtimeInfo();
const med = (xs: number[]) => stats(xs).median;
const triple = (xs: number[], digits = 3) => {
  const s = stats(xs);
  return `${fmt(s.min, digits)} / **${fmt(s.median, digits)}** / ${
    fmt(s.max, digits)
  }`;
};
const table = (budget: number) =>
  markdownTable(
    [
      "policy",
      "peer fetches per request",
      "requests/s (one process)",
      '÷ "go"',
    ],
    POLICIES.map((p) => [
      `"${p}"${p === "popular" ? " (ours, default)" : ""}`,
      triple(perGet[budget][p]),
      triple(perSecond[budget][p]),
      fmt(med(perSecond[budget][p]) / med(perSecond[budget].go)) + "×",
    ]),
  );
const fetchRatio = med(perGet[BUDGET].popular);
const SMALL = BUDGETS[1];
const bestRatio = med(perGet[SMALL].popular) /
  Math.max(med(bestPerGet[SMALL]), 1e-9);
const speedRatio = med(perSecond[BUDGET].popular) / med(perSecond[BUDGET].go);
const md = `### Hot-cache admission — ${info.summary}

Three nodes in one process, wired through their handlers (no sockets);
${fmt(KEYS)} keys of 1 KiB; Zipf (s = 1)
requests spread over the three nodes; per round and policy a fresh cluster,
${fmt(WARMUP)} warm-up requests, then ${fmt(MEASURED)} measured. ${ROUNDS}
rounds, policies in rotating order. min / **median** / max. Scan: 400 popular
remote keys asked 4 times each, then ${fmt(SCAN)} one-off remote keys through
the same node. Produced by \`bench/hot_cache_bench.ts\`.

**${BUDGETS[0] >> 20} MiB per node** (every key fits: the hot cache is
bounded by admission alone):

${table(BUDGETS[0])}

**${BUDGETS[1] >> 20} MiB per node** (the owned third fits, the hot cache
competes for the rest):

${table(BUDGETS[1])}

The best static choice at ${SMALL >> 20} MiB (each node keeps its own keys and
fills the rest of its budget with the most popular remote keys, charged as the
group charges them), on the same request streams: ${
  triple(bestPerGet[SMALL])
} peer fetches per request; "popular" makes ${fmt(bestRatio)}× that.

Popular keys still answered without asking their owner after the scan
(${BUDGETS[1] >> 20} MiB per node):
${POLICIES.map((p) => `"${p}" ${fmt(retention[p] * 100)} %`).join(", ")};
after 50,000 keys of any owner instead (the node's own third grows its main
cache, which the hot cache gives way to):
${POLICIES.map((p) => `"${p}" ${fmt(retentionAny[p] * 100)} %`).join(", ")}.

The "popular" policy's window when full (${fmt(door.capacity)} keys for a
${fmt((BUDGET * 64) / 2 ** 20)} MiB budget): ${
  fmt(doorBytes / 2 ** 20)
} MiB of heap, ${fmt(doorShare * 100)} % of the budget.

${
  targetComment({
    bench: "hot cache: peer fetches per request, Zipf 3-node cluster",
    runtime: info.runtime,
    workload: WORKLOAD,
    target: "≤ 0.05 (Go's rule ~0.24)",
    ratio: 0.05 / Math.max(fetchRatio, 1e-9),
    needed: 1,
    note: `${BUDGET >> 20} MiB per node: "popular" ${fmt(fetchRatio)}, "go" ${
      fmt(med(perGet[BUDGET].go))
    }, "always" ${fmt(med(perGet[BUDGET].always))}; ${
      BUDGETS[1] >> 20
    } MiB: "popular" ${fmt(med(perGet[BUDGETS[1]].popular))}, "go" ${
      fmt(med(perGet[BUDGETS[1]].go))
    }`,
  })
}
${
  targetComment({
    bench:
      "hot cache: peer fetches vs the best static set, budget below the keys",
    runtime: info.runtime,
    workload: WORKLOAD + `, ${SMALL >> 20} MiB per node`,
    target: "≤ 1.3× the best static set's",
    ratio: 1.3 / Math.max(bestRatio, 1e-9),
    needed: 1,
    note: `"popular" ${fmt(med(perGet[SMALL].popular))} vs best static ${
      fmt(med(bestPerGet[SMALL]))
    } peer fetches per request: ${fmt(bestRatio)}×`,
  })
}
${
  targetComment({
    bench: 'hot cache: requests/s vs the "go" policy (in-process cluster)',
    runtime: info.runtime,
    workload: WORKLOAD,
    target: '≥ 1.3× "go"',
    ratio: speedRatio / 1.3,
    needed: 1,
    note: `${fmt(speedRatio)}× "go"`,
  })
}
${
  targetComment({
    bench: "hot cache: popular keys kept through a one-off scan",
    runtime: info.runtime,
    workload: WORKLOAD,
    target: "≥ 90 %",
    ratio: retention.popular / 0.9,
    needed: 1,
    note: `${fmt(retention.popular * 100)} % ("always" ${
      fmt(retention.always * 100)
    } %)`,
  })
}
${
  targetComment({
    bench: "hot cache: popular keys kept through 50,000 keys of any owner",
    runtime: info.runtime,
    workload: WORKLOAD,
    target: "≥ 90 %",
    ratio: retentionAny.popular / 0.9,
    needed: 1,
    note: `${fmt(retentionAny.popular * 100)} % ("always" ${
      fmt(retentionAny.always * 100)
    } %)`,
  })
}
${
  targetComment({
    bench: "hot cache: policy bookkeeping memory",
    runtime: info.runtime,
    workload: WORKLOAD,
    target: "≤ 5 % of the budget",
    ratio: 0.05 / doorShare,
    needed: 1,
    note: `${fmt(doorShare * 100)} %`,
  })
}`;
writeMarkdownSection(
  benchPath(`results/hot_cache_${info.runtime}.md`),
  `hot-cache-${info.runtime}`,
  md,
);
console.log(md);
