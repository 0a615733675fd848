// LruCache against the fastest LRU caches on npm: lru-cache@11, mnemonist's
// LRUCache and tiny-lru, in the same process, on the same operations.
//
// Workload: capacity 100,000; 1,000,000 operations per round, 90% get and
// 10% add (a get miss does not add), keys drawn from 1,000,000 distinct
// "key:<n>" strings, either Zipf-like (s = 1, rank n has weight 1/(n+1)) or
// uniform, by a seeded PRNG (mulberry32); keys and operations are generated
// before timing. A third workload repeats the Zipf stream with each key built
// during the operation ("key:" + n, a fresh string that is not interned, as a
// server gets after parsing a URL), so the index cannot rely on a hash or an
// interned copy cached in the string by an earlier lookup. Every round starts
// from a fresh cache pre-filled (untimed) with keys 0..capacity-1. The hit
// count of every round must be the same for all contenders, which checks that
// they implement the same LRU policy. Rounds are timed by the wall clock; the
// contenders take turns, in a rotating order, so that a noisy neighbour
// spreads over all of them. A full GC runs before each timed round (Bun.gc, or
// V8's gc() exposed through node:v8's setFlagsFromString).
//
// After the timed rounds, the live heap each contender needs per entry is
// measured: 1,000,000 entries with the (already allocated) keys of the stream
// and small-integer values, after a full GC, so what is counted is the index
// and the list, not the key strings (except copies the index makes of them).
//
// Usage: deno run -A bench/lru_bench.ts [--rounds N] [--json]
//        bun bench/lru_bench.ts [--rounds N] [--json]
// Writes bench/results/lru_<runtime>.md.
import { numberOption, targetComment } from "./_proc.ts";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { LRUCache as IsaacsLru } from "lru-cache";
import { LRUCache as MnemonistLru } from "mnemonist";
import { lru as tinyLru } from "tiny-lru";
import { LruCache } from "../src/lru.ts";
import {
  fmt,
  markdownTable,
  runtimeInfo,
  sink,
  type Stats,
  stats,
  wantsJson,
  writeMarkdownSection,
} from "./_util.ts";
import { seededRandom } from "../tests/_dev/random.ts";
import { collector } from "../tests/_dev/memory.ts";

const CAPACITY = 100_000;
const OPERATIONS = 1_000_000;
const DISTINCT_KEYS = 1_000_000;
const ADD_SHARE = 0.1;
const WARMUP_ROUNDS = 2;
const MEMORY_ENTRIES = 1_000_000;
const MEMORY_ROUNDS = 3;

/** One operation stream: kind 1 = add, 0 = get; `keyIndex` numbers keys. */
interface Workload {
  name: string;
  kinds: Uint8Array;
  keyIndex: Int32Array;
  /** Build each key during the operation instead of taking a prebuilt one. */
  fresh: boolean;
}

/** A contender: builds a pre-filled cache and runs a stream on it. */
interface Contender {
  name: string;
  ours: boolean;
  /** Untimed: a fresh cache of capacity `n` holding keys 0..n-1. */
  fill(n: number, keys: readonly string[]): unknown;
  /** Timed: runs the stream, returns the number of get hits. */
  run(cache: unknown, w: Workload, keys: readonly string[]): number;
}

/**
 * The key strings, one copy per contender: an object index interns the
 * strings it is given (V8 turns them into thin strings pointing at the
 * interned copy), which changes what reading them costs whoever comes next,
 * so sharing one copy would make the contenders measure each other. Separate
 * copies behave as if each contender ran in its own process.
 */
function makeKeys(): string[] {
  const keys: string[] = [];
  for (let i = 0; i < DISTINCT_KEYS; i++) keys.push(`key:${i}`);
  return keys;
}

function zipfSampler(n: number, s: number, rng: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) cdf[i] = total += 1 / Math.pow(i + 1, s);
  return () => {
    const u = rng() * total;
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function makeWorkload(
  name: string,
  seed: number,
  pick: (rng: () => number) => () => number,
  fresh = false,
): Workload {
  const rng = seededRandom(seed);
  const next = pick(rng);
  const kinds = new Uint8Array(OPERATIONS);
  const keyIndex = new Int32Array(OPERATIONS);
  for (let i = 0; i < OPERATIONS; i++) {
    kinds[i] = rng() < ADD_SHARE ? 1 : 0;
    keyIndex[i] = next();
  }
  return { name, kinds, keyIndex, fresh };
}

// One run function per contender, so that every call site in a timed loop
// sees a single cache class (no megamorphic penalty for whoever comes last).
const contenders: Contender[] = [
  {
    name: "LruCache (ours)",
    ours: true,
    fill(n, keys) {
      const c = new LruCache<string, number>({ maxEntries: n });
      for (let i = 0; i < n; i++) c.add(keys[i], i);
      return c;
    },
    run(cache, { kinds, keyIndex, fresh }, keys) {
      const c = cache as LruCache<string, number>;
      let hits = 0;
      for (let i = 0; i < OPERATIONS; i++) {
        const k = keyIndex[i];
        const key = fresh ? "key:" + k : keys[k];
        if (kinds[i] === 1) c.add(key, k);
        else if (c.get(key) !== undefined) hits++;
      }
      return hits;
    },
  },
  {
    name: "lru-cache",
    ours: false,
    fill(n, keys) {
      const c = new IsaacsLru<string, number>({ max: n });
      for (let i = 0; i < n; i++) c.set(keys[i], i);
      return c;
    },
    run(cache, { kinds, keyIndex, fresh }, keys) {
      const c = cache as IsaacsLru<string, number>;
      let hits = 0;
      for (let i = 0; i < OPERATIONS; i++) {
        const k = keyIndex[i];
        const key = fresh ? "key:" + k : keys[k];
        if (kinds[i] === 1) c.set(key, k);
        else if (c.get(key) !== undefined) hits++;
      }
      return hits;
    },
  },
  {
    name: "mnemonist",
    ours: false,
    fill(n, keys) {
      const c = new MnemonistLru<string, number>(n);
      for (let i = 0; i < n; i++) c.set(keys[i], i);
      return c;
    },
    run(cache, { kinds, keyIndex, fresh }, keys) {
      const c = cache as MnemonistLru<string, number>;
      let hits = 0;
      for (let i = 0; i < OPERATIONS; i++) {
        const k = keyIndex[i];
        const key = fresh ? "key:" + k : keys[k];
        if (kinds[i] === 1) c.set(key, k);
        else if (c.get(key) !== undefined) hits++;
      }
      return hits;
    },
  },
  {
    name: "tiny-lru",
    ours: false,
    fill(n, keys) {
      const c = tinyLru<number>(n);
      for (let i = 0; i < n; i++) c.set(keys[i], i);
      return c;
    },
    run(cache, { kinds, keyIndex, fresh }, keys) {
      const c = cache as ReturnType<typeof tinyLru<number>>;
      let hits = 0;
      for (let i = 0; i < OPERATIONS; i++) {
        const k = keyIndex[i];
        const key = fresh ? "key:" + k : keys[k];
        if (kinds[i] === 1) c.set(key, k);
        else if (c.get(key) !== undefined) hits++;
      }
      return hits;
    },
  },
];
const keysOf = contenders.map(() => makeKeys());

/** A full garbage collection (Bun's, or V8's exposed by a flag). */
const collectGarbage = collector();

/**
 * Bytes the engine holds for live objects, typed arrays' storage included:
 * V8 keeps that outside its heap (`external`), JavaScriptCore counts it in
 * `heapStats().heapSize` (Bun's `process.memoryUsage()` leaves it out).
 */
const liveBytes: () => number = await (async () => {
  if ((globalThis as { Bun?: unknown }).Bun !== undefined) {
    // A computed specifier, so that Deno does not try to resolve it.
    const jsc = await import(["bun", "jsc"].join(":"));
    return () => jsc.heapStats().heapSize;
  }
  return () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
})();

interface Row {
  name: string;
  ours: boolean;
  ops: Stats;
  hitRate: number;
}

function benchWorkload(w: Workload, rounds: number): Row[] {
  const samples = contenders.map(() => [] as number[]);
  let expectedHits = -1;
  for (let r = -WARMUP_ROUNDS; r < rounds; r++) {
    // Rotate the order so no contender always runs right after another.
    for (let j = 0; j < contenders.length; j++) {
      const at = (j + Math.max(r, 0)) % contenders.length;
      const c = contenders[at];
      let cache = c.fill(CAPACITY, keysOf[at]);
      collectGarbage();
      const t0 = performance.now();
      const hits = c.run(cache, w, keysOf[at]);
      const dt = performance.now() - t0;
      cache = undefined;
      if (expectedHits === -1) expectedHits = hits;
      else if (hits !== expectedHits) {
        throw new Error(
          `${w.name}: ${c.name} had ${hits} hits, expected ${expectedHits}: ` +
            `the contenders disagree on the LRU policy`,
        );
      }
      if (r >= 0) samples[at].push((OPERATIONS * 1000) / dt);
    }
  }
  const gets = w.kinds.length - w.kinds.reduce((a, b) => a + b, 0);
  return contenders.map((c, i) => ({
    name: c.name,
    ours: c.ours,
    ops: stats(samples[i]),
    hitRate: expectedHits / gets,
  }));
}

const rounds = numberOption("rounds", 9);
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new RangeError(`--rounds must be a positive integer`);
}
const info = runtimeInfo();
const workloads = [
  makeWorkload(
    "zipf keys",
    0x5eed,
    (rng) => zipfSampler(DISTINCT_KEYS, 1, rng),
  ),
  makeWorkload(
    "uniform keys",
    0x5eed + 1,
    (rng) => () => Math.floor(rng() * DISTINCT_KEYS),
  ),
  makeWorkload(
    "zipf keys built per operation",
    0x5eed,
    (rng) => zipfSampler(DISTINCT_KEYS, 1, rng),
    true,
  ),
];

const results: { workload: string; rows: Row[]; ratio: number }[] = [];
for (const w of workloads) {
  const rows = benchWorkload(w, rounds);
  const ours = rows.find((r) => r.ours)!;
  const bestRival = Math.max(
    ...rows.filter((r) => !r.ours).map((r) => r.ops.median),
  );
  results.push({ workload: w.name, rows, ratio: ours.ops.median / bestRival });
}

/**
 * Live heap bytes per entry of each contender holding MEMORY_ENTRIES entries,
 * one sample per round, the contenders alternating.
 */
function benchMemory(rounds: number): Stats[] {
  const samples = contenders.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < contenders.length; j++) {
      const at = (j + r) % contenders.length;
      collectGarbage();
      const before = liveBytes();
      let cache = contenders[at].fill(MEMORY_ENTRIES, keysOf[at]);
      collectGarbage();
      samples[at].push((liveBytes() - before) / MEMORY_ENTRIES);
      sink(cache);
      cache = undefined;
    }
  }
  return samples.map((s) => stats(s));
}
const memory = benchMemory(MEMORY_ROUNDS);

const sections: string[] = [
  `### LRU cache — ${info.summary}`,
  "",
  `Capacity ${fmt(CAPACITY)}, ${fmt(OPERATIONS)} operations per round ` +
  `(90% get, 10% add; a miss does not add), keys from ` +
  `${fmt(DISTINCT_KEYS)} distinct strings, fresh cache pre-filled with ` +
  `${fmt(CAPACITY)} keys each round; ${rounds} timed rounds after ` +
  `${WARMUP_ROUNDS} warm-up rounds. "vs best rival" compares medians.`,
];
for (const { workload, rows, ratio } of results) {
  const best = Math.max(
    ...rows.filter((r) => !r.ours).map((r) => r.ops.median),
  );
  sections.push(
    "",
    `**${workload}** (get hit rate ${
      (rows[0].hitRate * 100).toFixed(1)
    }%): ours / fastest rival = **${ratio.toFixed(2)}×**`,
    "",
    markdownTable(
      ["contender", "median ops/s", "min ops/s", "max ops/s", "vs best rival"],
      rows.map((r) => [
        r.name,
        fmt(r.ops.median),
        fmt(r.ops.min),
        fmt(r.ops.max),
        `${(r.ops.median / best).toFixed(2)}×`,
      ]),
    ),
  );
}
const ourMemory = memory[contenders.findIndex((c) => c.ours)].median;
sections.push(
  "",
  `**Memory**: live heap per entry of a cache holding ` +
    `${fmt(MEMORY_ENTRIES)} entries (string keys allocated beforehand, ` +
    `small-integer values), typed arrays' storage included, after a full ` +
    `GC; ${MEMORY_ROUNDS} rounds.`,
  "",
  markdownTable(
    ["contender", "median bytes/entry", "min", "max", "vs ours"],
    contenders.map((c, i) => [
      c.name,
      fmt(memory[i].median),
      fmt(memory[i].min),
      fmt(memory[i].max),
      `${(memory[i].median / ourMemory).toFixed(2)}×`,
    ]),
  ),
);
for (const { workload, ratio } of results) {
  sections.push(targetComment({
    bench: `LruCache, ${workload}`,
    runtime: info.runtime,
    workload: `capacity ${fmt(CAPACITY)}, ${fmt(OPERATIONS)} operations ` +
      `over ${fmt(DISTINCT_KEYS)} keys, ${ADD_SHARE * 100} % adds`,
    target: "≥ 1.0× fastest of lru-cache, mnemonist, tiny-lru",
    ratio: Number(ratio.toFixed(2)),
    needed: 1,
  }));
}
const markdown = sections.join("\n");

if (wantsJson()) {
  console.log(JSON.stringify({ runtime: info, results, memory }, null, 2));
} else {
  console.log(markdown);
}
const out = new URL(`./results/lru_${info.runtime}.md`, import.meta.url);
writeMarkdownSection(
  fileURLToPath(out),
  `lru-${info.runtime}`,
  markdown,
);
