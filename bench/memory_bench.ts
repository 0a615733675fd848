// Memory per cached entry (src/cache.ts) against Go's groupcache, and the
// byte budget's bound, one child process per measurement.
//
// Per entry: a Group of 1 TiB fills its main cache with N entries (default
// 1,000,000) of 100-byte values keyed "key:<n>", each value a fresh
// Uint8Array handed to `dest.setBytes` (as a getter makes them); after a
// forced GC the child reports live bytes (the JS heap plus memory held
// outside it: array buffers' backing stores) and RSS, before and after.
// Go's side is bench/go/mem (Go groupcache filled the same way,
// runtime.ReadMemStats after runtime.GC), one process per round too. Rounds
// alternate Go, ours.
//
// Bound: 1,000,000 distinct keys through a group of cacheBytes 8 MiB (it
// evicts as it fills), for values of 1 B, 100 B, 10 KiB and 1 MiB (fewer
// keys for the large values: enough to fill the budget many times over);
// live growth ÷ cacheBytes, target ≤ 2.
//
// RSS under churn: the same distinct keys through (a) a Group of cacheBytes
// 8 MiB and (b) a plain Map bounded to 8 MiB of key and value bytes that
// drops its oldest entry when over (what a user would write), each value a
// fresh Uint8Array from the same getter, for values from 1 B to 1 MiB; each
// in a fresh process, alternating Map and ours; the peak growth of RSS over
// the churn (no forced GC: what the runtime does by itself). Target: ours ≤
// 1.25 × the Map's + 8 MiB. Then what to expect: ours alone at cacheBytes of
// 8, 64 and 256 MiB.
//
// Usage: deno run -A bench/memory_bench.ts [--quick] [--rounds N] [--n N]
//        bun bench/memory_bench.ts [--quick] [--rounds N] [--n N]
// Writes bench/results/memory_<runtime>.md.
import process from "node:process";
import { readFileSync } from "node:fs";
import { ByteView, Group, LruCache, Registry } from "../mod.ts";
import { buildGo, goAvailable } from "../tests/_dev/go.ts";
import { runtimeCommand } from "../tests/_dev/runtimes.ts";
import { runSync } from "../tests/_dev/proc.ts";
import { collector, liveBytes } from "../tests/_dev/memory.ts";
import {
  fmt,
  markdownTable,
  runtimeInfo,
  stats,
  writeMarkdownSection,
} from "./_util.ts";
import { args, benchPath, flag, numberOption, targetComment } from "./_proc.ts";

const MIB = 2 ** 20;

/** What one child measured. */
interface Sample {
  liveBefore: number;
  liveAfter: number;
  rssBefore: number;
  rssAfter: number;
  items: number;
  bytes: number;
  evictions: number;
}

/** The child: fills one group and prints a Sample as JSON. */
async function child(n: number, size: number, cacheBytes: number) {
  const gc = collector();
  const keys: string[] = [];
  const group = new Group(
    "mem",
    cacheBytes,
    (key, dest) => {
      const v = new Uint8Array(size);
      for (let i = 0; i < size; i++) v[i] = key.charCodeAt(i % key.length);
      dest.setBytes(v);
    },
    { registry: new Registry() },
  );
  const liveBefore = liveBytes(gc);
  const rssBefore = process.memoryUsage.rss();
  for (let i = 0; i < n; i++) await group.get(`key:${i}`);
  const liveAfter = liveBytes(gc);
  // Freed pages go back to the system in the background (Bun's allocator
  // returns them within a second of a collection); Go's side asks for it at
  // once (debug.FreeOSMemory). So RSS is read once that is done.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  gc();
  const rssAfter = process.memoryUsage.rss();
  const { bytes, items, evictions } = group.cacheStats("main");
  keys.length = 0;
  const sample: Sample = {
    liveBefore,
    liveAfter,
    rssBefore,
    rssAfter,
    items,
    bytes,
    evictions,
  };
  console.log(JSON.stringify(sample));
}

/**
 * The child for one part of an entry: N of them alone, live bytes per item
 * (where the bytes go).
 */
async function part(name: string, n: number) {
  const gc = collector();
  const keys: string[] = [];
  if (name !== "key strings") {
    for (let i = 0; i < n; i++) keys.push(`key:${i}`);
  }
  const before = liveBytes(gc);
  // deno-lint-ignore no-explicit-any
  let held: any;
  if (name === "key strings") {
    held = [];
    for (let i = 0; i < n; i++) held.push(`key:${i}`);
  } else if (name === "LRU index + links (string → number)") {
    held = new LruCache<string, number>();
    for (let i = 0; i < n; i++) held.add(keys[i], i);
  } else if (name === "Uint8Array(100) each with its ArrayBuffer") {
    held = [];
    for (let i = 0; i < n; i++) held.push(new Uint8Array(100));
  } else if (name === "ByteView over its own Uint8Array(100)") {
    held = [];
    for (let i = 0; i < n; i++) held.push(new ByteView(new Uint8Array(100)));
  } else if (name === "Uint8Array(100) views into shared slabs") {
    held = [];
    const slab = new ArrayBuffer(n * 100);
    for (let i = 0; i < n; i++) held.push(new Uint8Array(slab, i * 100, 100));
  } else throw new Error(`no part ${name}`);
  const after = liveBytes(gc);
  console.log(JSON.stringify({ name, perItem: (after - before) / n }));
  await Promise.resolve(held);
}

/**
 * The churn child: `keys` distinct keys through a Group of `budget` bytes
 * ("ours", "ours-view") or a Map bounded to as many key and value bytes ("map"); prints
 * the peak growth of RSS over the churn (MiB) and the peak of RSS itself
 * (VmHWM).
 */
async function churn(kind: string, size: number, keys: number, budget: number) {
  const make = (key: string) => {
    const v = new Uint8Array(size);
    for (let i = 0; i < size; i++) v[i] = key.charCodeAt(i % key.length);
    return v;
  };
  let get: (key: string) => Promise<unknown>;
  if (kind !== "map") {
    // "ours-view": the getter hands its fresh array over (no copy) rather
    // than `setBytes` copying it.
    const group = new Group("mem", budget, (key, dest) => {
      if (kind === "ours-view") dest.setView(new ByteView(make(key)));
      else dest.setBytes(make(key));
    }, { registry: new Registry() });
    get = (key) => group.get(key);
  } else {
    // Oldest first from an array of keys: a Map's own iterator walks past
    // every deleted entry on V8 (minutes for a million keys).
    const map = new Map<string, Uint8Array>();
    const order: string[] = [];
    let head = 0;
    let bytes = 0;
    // deno-lint-ignore require-await
    get = async (key) => {
      let v = map.get(key);
      if (v === undefined) {
        v = make(key);
        map.set(key, v);
        order.push(key);
        bytes += key.length + size;
        while (bytes > budget) {
          const old = order[head++];
          bytes -= old.length + map.get(old)!.length;
          map.delete(old);
        }
        if (head > 4096 && head * 2 > order.length) {
          order.splice(0, head);
          head = 0;
        }
      }
      return v;
    };
  }
  await get("warm-up");
  collector()();
  const rss = () => process.memoryUsage.rss();
  const before = rss();
  let peak = before;
  // RSS read every 64 KiB of values or 1,024 keys, whichever comes first.
  const every = Math.max(1, Math.min(1024, Math.floor(65536 / size)));
  for (let i = 0; i < keys; i++) {
    await get(`key:${i}`);
    if (i % every === 0) peak = Math.max(peak, rss());
  }
  peak = Math.max(peak, rss());
  const hwm = /VmHWM:\s+(\d+) kB/.exec(
    readFileSync("/proc/self/status", "utf8"),
  );
  console.log(JSON.stringify({
    growth: (peak - before) / MIB,
    peak: hwm === null ? peak / MIB : Number(hwm[1]) / 1024,
  }));
}

const argv = args();
if (argv[0] === "--part") {
  await part(argv[1], Number(argv[2]));
  process.exit(0);
}
if (argv[0] === "--churn") {
  await churn(argv[1], Number(argv[2]), Number(argv[3]), Number(argv[4]));
  process.exit(0);
}
if (argv[0] === "--child") {
  await child(Number(argv[1]), Number(argv[2]), Number(argv[3]));
  process.exit(0);
}

const QUICK = flag("quick");
const ROUNDS = numberOption("rounds", QUICK ? 2 : 3);
const N = numberOption("n", QUICK ? 200_000 : 1_000_000);
const TIB = 2 ** 40;
const BUDGET = 8 << 20;
const info = runtimeInfo();
const script = benchPath("memory_bench.ts");

function ours(n: number, size: number, cacheBytes: number): Sample {
  const [cmd, cmdArgs] = runtimeCommand(script, [
    "--child",
    String(n),
    String(size),
    String(cacheBytes),
  ]);
  return JSON.parse(runSync(cmd, cmdArgs).trim().split("\n").pop()!);
}

let goBinary: string | undefined;
if (goAvailable()) goBinary = buildGo("bench/go/mem", "gomem");
else console.error("Go or the groupcache sources are missing: no Go figures.");

function go(n: number, size: number, cacheBytes: number): Sample {
  const out = JSON.parse(
    runSync(goBinary!, [
      "-n",
      String(n),
      "-size",
      String(size),
      "-cache",
      String(cacheBytes),
    ]).trim(),
  );
  return {
    liveBefore: out.heapBefore,
    liveAfter: out.heapAfter,
    rssBefore: out.rssBefore,
    rssAfter: out.rssAfter,
    items: out.items,
    bytes: out.bytes,
    evictions: out.evictions,
  };
}

const perEntry = (s: Sample, what: "live" | "rss") =>
  what === "live"
    ? (s.liveAfter - s.liveBefore) / s.items
    : (s.rssAfter - s.rssBefore) / s.items;

// Per entry, alternating Go and ours.
const mine: Sample[] = [], theirs: Sample[] = [];
for (let r = 0; r < ROUNDS; r++) {
  if (goBinary !== undefined) theirs.push(go(N, 100, TIB));
  mine.push(ours(N, 100, TIB));
  const last = mine[mine.length - 1];
  console.log(
    `round ${r + 1}: ours ${fmt(perEntry(last, "live"))} live B/entry, ${
      fmt(perEntry(last, "rss"))
    } RSS B/entry` +
      (goBinary !== undefined
        ? `; Go ${fmt(perEntry(theirs[r], "live"))} / ${
          fmt(perEntry(theirs[r], "rss"))
        }`
        : ""),
  );
}

// Where the bytes go: each part of an entry alone, one child per part.
const PARTS = [
  "key strings",
  "LRU index + links (string → number)",
  "Uint8Array(100) each with its ArrayBuffer",
  "ByteView over its own Uint8Array(100)",
  "Uint8Array(100) views into shared slabs",
];
const parts = PARTS.map((name) => {
  const [cmd, cmdArgs] = runtimeCommand(script, ["--part", name, String(N)]);
  const out = JSON.parse(runSync(cmd, cmdArgs).trim().split("\n").pop()!);
  console.log(`${name}: ${fmt(out.perItem)} B each`);
  return out.perItem as number;
});

// The bound: live growth ÷ cacheBytes for several value sizes.
const SIZES = [1, 100, 10 << 10, 1 << 20];
const keysFor = (size: number) =>
  Math.min(N, Math.max(64, Math.ceil((8 * BUDGET) / size)));
const bound: Record<number, number[]> = {};
const boundRss: Record<number, number[]> = {};
for (const size of SIZES) {
  bound[size] = [];
  boundRss[size] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const s = ours(keysFor(size), size, BUDGET);
    bound[size].push((s.liveAfter - s.liveBefore) / BUDGET);
    boundRss[size].push((s.rssAfter - s.rssBefore) / BUDGET);
    console.log(
      `bound ${size} B: live growth ${
        fmt((s.liveAfter - s.liveBefore) / BUDGET)
      }× cacheBytes, ${fmt(s.items)} items, counted ${fmt(s.bytes)} B`,
    );
  }
}

// RSS under churn: ours against a Map bounded to the same bytes, each in a
// fresh process, alternating.
const CHURN_SIZES = [1, 100, 1 << 10, 10 << 10, 100 << 10, 1 << 20];
const churnKeys = (size: number) =>
  Math.min(QUICK ? 100_000 : 400_000, Math.max(64, (32 * BUDGET) / size));
/** What a churn child printed: RSS growth and peak, MiB. */
interface Churned {
  growth: number;
  peak: number;
}
function churned(
  kind: "ours" | "ours-view" | "map",
  size: number,
  keys: number,
  cacheBytes: number,
): Churned {
  const [cmd, cmdArgs] = runtimeCommand(script, [
    "--churn",
    kind,
    String(size),
    String(Math.ceil(keys)),
    String(cacheBytes),
  ]);
  return JSON.parse(runSync(cmd, cmdArgs).trim().split("\n").pop()!);
}
/** Alternating rounds of the Map and ours at one value size: RSS growths. */
function churnRounds(size: number): { ours: number[]; map: number[] } {
  const rounds = { ours: [] as number[], map: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    const map = churned("map", size, churnKeys(size), BUDGET).growth;
    const mine = churned("ours", size, churnKeys(size), BUDGET).growth;
    rounds.map.push(map);
    rounds.ours.push(mine);
    console.log(
      `churn ${size} B: RSS +${fmt(mine)} MiB, Map +${fmt(map)} MiB`,
    );
  }
  return rounds;
}
const churns = new Map(CHURN_SIZES.map((size) => [size, churnRounds(size)]));
const churnOurs = (size: number) => churns.get(size)!.ours;
const churnMap = (size: number) => churns.get(size)!.map;
const churnLimit = (size: number) => 1.25 * stats(churnMap(size)).median + 8;

// What to expect: ours alone at larger budgets, twice the budget's worth of
// keys through it.
const EXPECT_BUDGETS = [8 * MIB, 64 * MIB, 256 * MIB];
const EXPECT_SIZES = [1 << 10, 100 << 10];
const expectKeys = (size: number, cacheBytes: number) =>
  (2 * cacheBytes) / (size + 200);
const expected: Record<string, Churned> = {};
for (const cacheBytes of EXPECT_BUDGETS) {
  for (const size of EXPECT_SIZES) {
    const c = churned("ours", size, expectKeys(size, cacheBytes), cacheBytes);
    expected[`${cacheBytes}/${size}`] = c;
    console.log(
      `cacheBytes ${fmt(cacheBytes / MIB)} MiB, ${size} B: RSS peak ${
        fmt(c.peak)
      } MiB (+${fmt(c.growth)})`,
    );
  }
}

const triple = (xs: number[], digits = 3) => {
  const s = stats(xs);
  return `${fmt(s.min, digits)} / **${fmt(s.median, digits)}** / ${
    fmt(s.max, digits)
  }`;
};
const med = (xs: number[]) => stats(xs).median;
const liveMine = mine.map((s) => perEntry(s, "live"));
const rssMine = mine.map((s) => perEntry(s, "rss"));
const liveGo = theirs.map((s) => perEntry(s, "live"));
const rssGo = theirs.map((s) => perEntry(s, "rss"));
const countedMine = mine.map((s) => s.bytes / s.items);
const rows = [[
  "ours",
  triple(liveMine),
  triple(rssMine),
  fmt(med(countedMine)),
]];
if (goBinary !== undefined) {
  rows.push([
    "Go groupcache",
    triple(liveGo),
    triple(rssGo),
    fmt(med(theirs.map((s) => s.bytes / s.items))),
  ]);
}
const id = `memory-${info.runtime}`;
const targets = [
  targetComment({
    bench: "memory: live bytes per entry, 1M × 100 B",
    runtime: info.runtime,
    target: "≤ 250 B",
    ratio: 250 / med(liveMine),
    needed: 1,
    note: `${fmt(med(liveMine))} B per entry`,
    workload: `${fmt(N)} keys, 100-B values, nothing evicted`,
  }),
];
if (goBinary !== undefined) {
  targets.push(targetComment({
    bench: "memory: RSS per entry vs Go, 1M × 100 B",
    runtime: info.runtime,
    target: "≤ Go's",
    ratio: med(rssGo) / med(rssMine),
    needed: 1,
    note: `${fmt(med(rssMine))} B vs Go ${fmt(med(rssGo))} B`,
    workload: `${fmt(N)} keys, 100-B values, nothing evicted`,
  }));
}
for (const size of SIZES) {
  targets.push(targetComment({
    bench: `memory: live growth ÷ cacheBytes, ${fmt(size)}-B values`,
    runtime: info.runtime,
    target: "≤ 2",
    ratio: 2 / med(bound[size]),
    needed: 1,
    note: `${fmt(med(bound[size]))}×`,
    workload: `${fmt(keysFor(size))} distinct keys, ${
      fmt(size)
    }-B values, through cacheBytes 8 MiB`,
  }));
}
for (const size of CHURN_SIZES) {
  const mine = stats(churnOurs(size)).median;
  targets.push(targetComment({
    bench: `memory: RSS growth under churn vs a bounded Map, ${
      fmt(size)
    }-B values`,
    runtime: info.runtime,
    target: "≤ 1.25× Map + 8 MiB",
    ratio: churnLimit(size) / mine,
    needed: 1,
    note: `${fmt(mine)} MiB vs Map ${fmt(stats(churnMap(size)).median)} MiB`,
    workload: `${fmt(Math.ceil(churnKeys(size)))} distinct keys, ${
      fmt(size)
    }-B values, through cacheBytes 8 MiB`,
  }));
}
const md = `### Memory per entry and the byte budget — ${info.summary}

${ROUNDS} rounds${
  QUICK ? " (`--quick`)" : ""
}, one child process per measurement, alternating Go and ours.
Produced by \`bench/memory_bench.ts\`; Go: bench/go/mem.

**Per entry**: ${fmt(N)} entries of 100-byte values keyed \`"key:<n>"\` in a
Group's main cache (budget 1 TiB, nothing evicted); bytes per entry after a
forced GC (RSS a second later, once the runtime has handed freed pages
back: Go's side calls \`debug.FreeOSMemory\`), min / **median** / max. Live: the JS heap plus memory held outside
it (array buffers' backing stores; on Bun \`heapUsed\` alone, which counts them); Go: \`HeapAlloc\`. "Counted" is what
\`cacheStats("main").bytes\` charges per entry.

${markdownTable(["", "live B/entry", "RSS B/entry", "counted B/entry"], rows)}

**Where the bytes go** (one child per part, ${fmt(N)} of each alone, live
bytes each; the key strings part includes its slot in an array):

${
  markdownTable(
    ["part", "live B each"],
    PARTS.map((name, i) => [name, fmt(parts[i])]),
  )
}

**Bound**: distinct keys through a group with cacheBytes 8 MiB (evicting as
it fills; ${fmt(keysFor(1))} keys of 1 B, 8 × the budget's worth for
larger values); growth of live bytes and of RSS ÷ cacheBytes. Target:
live ≤ 2.

${
  markdownTable(
    ["value", "live growth ÷ cacheBytes", "RSS growth ÷ cacheBytes"],
    SIZES.map((size) => [
      `${fmt(size)} B`,
      triple(bound[size]),
      triple(boundRss[size]),
    ]),
  )
}

**RSS under churn**: distinct keys (${
  fmt(churnKeys(1))
} of 1 B and 100 B, 32 × the budget's worth for larger values) through a
Group of cacheBytes 8 MiB and through a plain \`Map\` bounded to 8 MiB of
key and value bytes (dropping its oldest entry when over), each value a fresh
\`Uint8Array\` from the same getter (ours: \`dest.setBytes\`); each in a
fresh process, alternating Map and ours; peak RSS growth over the churn in
MiB, without a forced GC, min / **median** / max. Target: ours ≤ 1.25 × the
Map's median + 8 MiB.

${
  markdownTable(
    ["value", "keys", "ours", "Map", "limit", "ours ÷ Map (medians)"],
    CHURN_SIZES.map((size) => [
      `${fmt(size)} B`,
      fmt(Math.ceil(churnKeys(size))),
      triple(churnOurs(size)),
      triple(churnMap(size)),
      fmt(churnLimit(size)),
      `${
        fmt(stats(churnOurs(size)).median / stats(churnMap(size)).median, 2)
      }×`,
    ]),
  )
}

**RSS to expect**: ours alone, twice the budget's worth of distinct keys
through cacheBytes of 8, 64 and 256 MiB; the process's peak RSS (VmHWM) and
its growth over the churn, MiB, one run each.

${
  markdownTable(
    ["cacheBytes", ...EXPECT_SIZES.map((size) => `${fmt(size)}-B values`)],
    EXPECT_BUDGETS.map((cacheBytes) => [
      `${fmt(cacheBytes / MIB)} MiB`,
      ...EXPECT_SIZES.map((size) => {
        const c = expected[`${cacheBytes}/${size}`];
        return `${fmt(c.peak)} (+${fmt(c.growth)})`;
      }),
    ]),
  )
}

${targets.join("\n")}
`;
writeMarkdownSection(benchPath(`results/memory_${info.runtime}.md`), id, md);
console.log(md);
