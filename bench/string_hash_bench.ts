// The LRU's string hash (src/string_hash.ts) against the hashes it replaced,
// in the same process, on LruCache operations and on Group.get hits and
// misses: the speed half of issue 20's hash target (hash_flood_bench.ts is
// the flood half).
//
// Contenders, each a copy of src/ (and of bench/_hash_loops.ts, the timed
// loops) in a temporary folder, differing only in src/string_hash.ts:
// - "former": the seeded multiply-and-shift hash src/lru.ts had before issue
//   20 (`git log -S hashString src/lru.ts`; its seed was per cache, here the
//   per-process k0), which crafted keys could flood;
// - "HalfSipHash-1-3": issue 20's first keyed hash, for every key;
// - "now": the repository's src/string_hash.ts as it is.
//
// Workloads: the LruCache ones of bench/lru_bench.ts (capacity 100,000;
// 1,000,000 operations a round, 90 % get, 10 % add, over 1,000,000 distinct
// "key:<n>" strings, Zipf s = 1, prebuilt or built per operation); Group.get
// hits (100,000 keys of 100 B preloaded, 1,000,000 gets a round in a Zipf
// order) and misses (200,000 new keys a round, each loaded by the getter).
// Rounds rotate the contenders' order; each builds its cache or group afresh
// (untimed); CPU ns of the process per operation, min / median / max.
//
// Usage: deno run -A bench/string_hash_bench.ts [--quick] [--rounds N] [--only WORD]
//        bun bench/string_hash_bench.ts [--quick] [--rounds N] [--only WORD]
// Writes its section of bench/results/string_hash.md (one per runtime).
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { args, benchPath, flag, numberOption, targetComment } from "./_proc.ts";
import {
  fmt,
  markdownTable,
  runtimeInfo,
  type Stats,
  stats,
  writeMarkdownSection,
} from "./_util.ts";
import { seededRandom, zipfSampler } from "../tests/_dev/random.ts";

const QUICK = flag("quick");
const ROUNDS = numberOption("rounds", QUICK ? 3 : 7);
const CAPACITY = 100_000;
const OPERATIONS = QUICK ? 300_000 : 1_000_000;
const DISTINCT = 1_000_000;
const GROUP_KEYS = 100_000;
const GETS = QUICK ? 300_000 : 1_000_000;
const MISSES = QUICK ? 50_000 : 200_000;
/** Now ÷ former, time per operation: issue 20's "within 10 %". */
const WITHIN = 1.1;

const FORMER =
  `// The LRU's string hash before issue 20 (src/lru.ts's hashString).
export const randomTables = () => new Int32Array(0);
export function stringHash(s: string, _: unknown, seed: number): number {
  let h = seed ^ s.length;
  const last = s.length - 1;
  let i = 0;
  for (; i < last; i += 2) {
    h = Math.imul(
      h ^ (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)),
      0x9e3779b1,
    );
    h ^= h >>> 16;
  }
  if (i === last) h = Math.imul(h ^ s.charCodeAt(i), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}
`;

const SIP = `// Issue 20's first keyed hash: HalfSipHash-1-3 for every key.
import { halfSipHashString } from "./siphash.ts";
export const randomTables = () => new Int32Array(0);
export function stringHash(s: string, _: unknown, k0: number, k1: number) {
  return halfSipHashString(s, k0, k1);
}
`;

type Loops = typeof import("./_hash_loops.ts");

interface Contender {
  name: string;
  loops: Loops;
}

/** A copy of src/ and the loops with `stringHash` (undefined: as it is). */
async function contender(
  name: string,
  dir: string,
  stringHash: string | undefined,
): Promise<Contender> {
  const at = join(dir, name.replace(/\W+/g, "_"));
  cpSync(benchPath("../src"), join(at, "src"), { recursive: true });
  cpSync(benchPath("../mod.ts"), join(at, "mod.ts"));
  cpSync(benchPath("./_hash_loops.ts"), join(at, "bench", "_hash_loops.ts"));
  if (stringHash !== undefined) {
    writeFileSync(join(at, "src", "string_hash.ts"), stringHash);
  }
  const url = pathToFileURL(join(at, "bench", "_hash_loops.ts")).href;
  return { name, loops: await import(url) };
}

/** CPU time of this process (user + system), in ms: other jobs on the
 * machine change it less than they change the wall clock. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const dir = mkdtempSync(join(tmpdir(), "string-hash-bench-"));
let contenders: Contender[];
try {
  contenders = [
    await contender("former multiply-and-shift", dir, FORMER),
    await contender("HalfSipHash-1-3", dir, SIP),
    await contender("now (src/string_hash.ts)", dir, undefined),
  ];
} finally {
  // The modules are loaded: their files are no longer needed.
  rmSync(dir, { recursive: true, force: true });
}

/** One copy of the keys per contender (an engine may intern what it hashes). */
const keysOf = (make: (i: number) => string, n: number) =>
  contenders.map(() => Array.from({ length: n }, (_, i) => make(i)));

interface Workload {
  name: string;
  /** One timed round of contender `c`: ns per operation. */
  round(c: number, round: number): Promise<number>;
}

function lruWorkload(fresh: boolean): Workload {
  const random = seededRandom(0x5eed);
  const next = zipfSampler(DISTINCT, random);
  const kinds = new Uint8Array(OPERATIONS);
  const keyIndex = new Int32Array(OPERATIONS);
  for (let i = 0; i < OPERATIONS; i++) {
    kinds[i] = random() < 0.1 ? 1 : 0;
    keyIndex[i] = next();
  }
  const keys = keysOf((i) => `key:${i}`, DISTINCT);
  let hitsSeen = -1;
  return {
    name: `LruCache, Zipf keys${fresh ? " built per operation" : ""}`,
    round(c) {
      const { lruFilled, lruRun } = contenders[c].loops;
      const cache = lruFilled(CAPACITY, keys[c]);
      const t0 = cpuMs();
      const hits = lruRun(cache, kinds, keyIndex, keys[c], fresh);
      const ns = ((cpuMs() - t0) * 1e6) / OPERATIONS;
      if (hitsSeen >= 0 && hits !== hitsSeen) {
        throw new Error(`${contenders[c].name}: ${hits} hits, not ${hitsSeen}`);
      }
      hitsSeen = hits;
      return Promise.resolve(ns);
    },
  };
}

function groupHitWorkload(): Workload {
  const keys = keysOf((i) => `key:${i}`, GROUP_KEYS);
  const next = zipfSampler(GROUP_KEYS, seededRandom(GROUP_KEYS));
  const order = Uint32Array.from({ length: GETS }, next);
  return {
    name: `Group.get hits, ${fmt(GROUP_KEYS)} keys, Zipf`,
    async round(c) {
      // Filled afresh each round, as the caches of the LRU workloads: the
      // group filled first would otherwise have its memory laid out best.
      const { groupFilled, groupGets } = contenders[c].loops;
      const group = await groupFilled(keys[c]);
      const t0 = cpuMs();
      const bytes = await groupGets(group, keys[c], order);
      const ns = ((cpuMs() - t0) * 1e6) / GETS;
      if (bytes !== GETS * 100) throw new Error(`hits: ${bytes} bytes`);
      return ns;
    },
  };
}

function groupMissWorkload(): Workload {
  return {
    name: "Group.get misses",
    async round(c, round) {
      const keys = Array.from(
        { length: MISSES },
        (_, i) => `key:${round}:${c}:${i}`,
      );
      const t0 = cpuMs();
      const loads = await contenders[c].loops.groupMisses(keys);
      const ns = ((cpuMs() - t0) * 1e6) / MISSES;
      if (loads !== MISSES) throw new Error(`misses: ${loads} loads`);
      return ns;
    },
  };
}

// --only WORD: the workloads whose word has WORD (lru, fresh, hits, misses).
const only = args().includes("--only")
  ? args()[args().indexOf("--only") + 1]
  : undefined;
const workloads: [string, () => Workload | Promise<Workload>][] = [
  ["lru", () => lruWorkload(false)],
  ["lru fresh", () => lruWorkload(true)],
  ["hits", groupHitWorkload],
  ["misses", groupMissWorkload],
];
const info = runtimeInfo();
const rows: string[][] = [];
const targets: string[] = [];
for (const [word, make] of workloads) {
  if (only !== undefined && !word.includes(only)) continue;
  const w = await make();
  const samples = contenders.map(() => [] as number[]);
  // One untimed warm-up round each, then rounds in a rotating order.
  for (let r = -1; r < ROUNDS; r++) {
    for (let j = 0; j < contenders.length; j++) {
      const c = (j + Math.max(r, 0)) % contenders.length;
      const ns = await w.round(c, r + 1);
      if (r >= 0) samples[c].push(ns);
    }
  }
  const s: Stats[] = samples.map((x) => stats(x));
  const now = s.length - 1;
  rows.push([
    w.name,
    ...s.map((x) => `${fmt(x.min)} / **${fmt(x.median)}** / ${fmt(x.max)}`),
    `**${(s[now].median / s[0].median).toFixed(2)}×**`,
  ]);
  console.error(`${w.name}: ${rows.at(-1)!.slice(1).join(" | ")}`);
  targets.push(targetComment({
    bench: `LRU string hash, ${w.name}: former ÷ now ns/op`,
    runtime: info.runtime,
    workload: w.name,
    target: `≥ ${(1 / WITHIN).toFixed(2)} (within 10 % of the former hash)`,
    ratio: Number((s[0].median / s[now].median).toFixed(2)),
    needed: Number((1 / WITHIN).toFixed(2)),
  }));
}

const markdown = [
  `### The LRU's string hash against the former ones — ${info.summary}`,
  "",
  `CPU ns of the process per operation, min / **median** / max over ` +
  `${ROUNDS} rounds rotating ` +
  `the contenders (copies of src/ differing only in src/string_hash.ts) ` +
  `after a warm-up round each; the last column compares medians. LruCache: ` +
  `capacity ${fmt(CAPACITY)}, ${fmt(OPERATIONS)} operations a round (90 % ` +
  `get), Zipf over ${fmt(DISTINCT)} "key:<n>" keys. Group.get: ` +
  `${fmt(GETS)} hits a round, ${fmt(MISSES)} misses a round. Produced by ` +
  `\`bench/string_hash_bench.ts\`${QUICK ? " --quick" : ""}.`,
  "",
  markdownTable(
    ["workload", ...contenders.map((c) => c.name), "now ÷ former"],
    rows,
  ),
  "",
  ...targets,
].join("\n");
console.log(markdown);
writeMarkdownSection(
  benchPath("./results/string_hash.md"),
  `string_hash:${info.runtime}`,
  markdown,
);
