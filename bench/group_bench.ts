// Group.get cache hits and misses (src/group.ts) against Go's Group.Get, in
// the same run.
//
// Workload, the same on both sides: 10,000 keys "key:<n>" preloaded through
// the getter into a group of 64 MiB (no peers), values of 100 B and 1 KiB;
// one caller getting the keys round-robin, `await group.get(key)` one after
// the other; N gets per round (default 2,000,000, as bench/go/get). Go's side
// is bench/go/get, built and run from this script: one child process per
// round (rounds alternate Go, ours, so noise on the shared machine hits both),
// whose "summary" lines give its ops/s. Go is timed with ByteViewSink (hands
// out the cached ByteView, no copy: what our get returns, so the like-for-like
// figure) and with AllocatingByteSliceSink (a copy per hit).
//
// Misses, the same on both sides: each round a new group of 512 MiB (no peers)
// whose getter is `dest.setString(key)`, and M gets (default 1,000,000) of
// keys "key:<round>:<n>" it has never seen, one after the other: every get
// runs the getter and adds the value to the main cache. 512 MiB holds all M
// (about 216 B each as the caches count them, 24 with Go's accounting), so nothing is evicted (checked
// on both sides). The key strings are made before timing, fresh each round
// (so no hash is cached in them). Go's side is bench/go/get -misses M, one
// child process per round (Go groups cannot be dropped), alternating with
// ours; Go gets with a ByteViewSink.
//
// Hits at scale, the same on both sides: 10,000, 100,000 and 1,000,000 keys
// preloaded into a group of 1 GiB (holds them all, with 100-byte values),
// gets in a uniform random order and in a Zipf (s = 1) order: one sequence
// of 2^20 key indexes per keys × order, seeded, cycled, written to a file
// that Go's side reads (bench/go/get -order), so both get the same keys in
// the same order. S gets per round (default 1,000,000); rounds alternate Go
// (one child process per round) and ours, as above. Each round is timed in
// process CPU time (user + system, every thread: Go's from getrusage, ours
// from process.cpuUsage()), which the machine's other load inflates less
// than wall time, and in wall time; the targets read the CPU time.
//
// Usage: deno run -A bench/group_bench.ts [--quick] [--rounds N] [--n N] [--misses M] [--scale-n S] [--scale-only]
//        bun bench/group_bench.ts [--quick] [--rounds N] [--n N] [--misses M] [--scale-n S] [--scale-only]
// Writes bench/results/group_<runtime>.md (--scale-only: its scale section only).
import { Group, Registry } from "../mod.ts";
import { buildGo, goAvailable } from "../tests/_dev/go.ts";
import {
  fmt,
  markdownTable,
  runtimeInfo,
  type Stats,
  stats,
  writeMarkdownSection,
} from "./_util.ts";
import { benchPath, flag, numberOption, targetComment } from "./_proc.ts";
import { runSync } from "../tests/_dev/proc.ts";
import { seededRandom, zipfSampler } from "../tests/_dev/random.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const QUICK = flag("quick");
const ROUNDS = numberOption("rounds", QUICK ? 3 : 7);
const N = numberOption("n", QUICK ? 200_000 : 2_000_000);
const MISSES = numberOption("misses", QUICK ? 100_000 : 1_000_000);
const MISS_CACHE = 512 << 20;
const KEYS = 10_000;
const SIZES = [100, 1024];
const SINKS = ["ByteViewSink", "AllocatingByteSliceSink"] as const;
const SCALE_ONLY = flag("scale-only");
const SCALE_N = numberOption("scale-n", QUICK ? 200_000 : 1_000_000);
const SCALE_KEYS = [10_000, 100_000, 1_000_000];
const SCALE_ORDERS = ["uniform", "zipf"] as const;
const SCALE_CACHE = 1 << 30;
const ORDER_LENGTH = 1 << 20;

const info = runtimeInfo();
const keys: string[] = [];
for (let i = 0; i < KEYS; i++) keys.push(`key:${i}`);

/** A group of `size`-byte values with every key loaded. */
async function preloadedGroup(size: number): Promise<Group> {
  const value = new Uint8Array(size);
  for (let i = 0; i < size; i++) value[i] = i & 0xff; // as Go's byte(i)
  const group = new Group(
    `bench-${size}`,
    64 << 20,
    (_key, dest) => dest.setBytes(value),
    { registry: new Registry() },
  );
  for (const key of keys) await group.get(key);
  if (group.stats.localLoads !== KEYS) {
    throw new Error(`preload: ${group.stats.localLoads} loads, want ${KEYS}`);
  }
  return group;
}

/** `n` sequential gets, round-robin; returns the bytes seen (kept live). */
async function getLoop(group: Group, n: number): Promise<number> {
  let total = 0;
  let j = 0;
  for (let i = 0; i < n; i++) {
    total += (await group.get(keys[j])).length;
    if (++j === KEYS) j = 0;
  }
  return total;
}

interface GoSummary {
  summary: true;
  sink: string;
  size: number;
  samples: number[];
  /** CPU ns per get of each round (every thread of the process). */
  cpuNsPerOp: number[];
  go: string;
}

let goBinary: string | undefined;
let goVersion = "";
if (goAvailable()) {
  goBinary = buildGo("bench/go/get", "goget");
} else {
  console.error("Go or the groupcache sources are missing: no Go figures.");
}

/** One Go round: every sink and size, one child process. */
function goRound(): GoSummary[] {
  const out = runSync(goBinary!, [
    "-size",
    SIZES.join(","),
    "-rounds",
    "1",
    "-n",
    String(N),
    "-keys",
    String(KEYS),
  ]);
  const lines = out.trim().split("\n").map((l) => JSON.parse(l));
  return lines.filter((l) => l.summary === true) as GoSummary[];
}

interface GoMissRound {
  miss: true;
  nsPerOp: number;
  evictions: number;
  go: string;
}

/** One Go miss round in its own process: ns per miss. */
function goMissRound(): number {
  const out = runSync(goBinary!, [
    "-misses",
    String(MISSES),
    "-rounds",
    "1",
    "-cache",
    String(MISS_CACHE),
  ]);
  const line = JSON.parse(out.trim()) as GoMissRound;
  if (line.evictions !== 0) {
    throw new Error(`Go evicted ${line.evictions} entries: raise -cache`);
  }
  goVersion = line.go;
  return line.nsPerOp;
}

/** Collects garbage now where the runtime lets a script ask (Bun, --expose-gc). */
function collectGarbage(): void {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (typeof g.Bun?.gc === "function") g.Bun.gc(true);
  else if (typeof g.gc === "function") g.gc();
}

/** `n` gets of new keys on a new group: ns per miss. */
async function ourMissRound(round: number, n: number): Promise<number> {
  const fresh: string[] = new Array(n);
  for (let i = 0; i < n; i++) fresh[i] = `key:${round}:${i}`;
  const group = new Group(
    `miss-${round}`,
    MISS_CACHE,
    (key, dest) => dest.setString(key),
    { registry: new Registry() },
  );
  collectGarbage();
  const t0 = performance.now();
  let total = 0;
  for (let i = 0; i < n; i++) total += (await group.get(fresh[i])).length;
  const dt = performance.now() - t0;
  const evictions = group.cacheStats("main").evictions;
  if (group.stats.localLoads !== n || evictions !== 0 || total === 0) {
    throw new Error(
      `miss round: ${group.stats.localLoads} loads of ${n}, ` +
        `${evictions} evictions`,
    );
  }
  return (dt * 1e6) / n;
}

if (!SCALE_ONLY) await tenThousandKeys();
await atScale();

/** The 10,000-key hits and the misses. */
async function tenThousandKeys(): Promise<void> {
  const groups = new Map<number, Group>();
  for (const size of SIZES) {
    const group = await preloadedGroup(size);
    await getLoop(group, Math.min(N, 500_000)); // warm-up: let the JIT settle
    groups.set(size, group);
  }

  // Warm-up of the miss path (round numbers ≥ ROUNDS: keys not timed later).
  await ourMissRound(ROUNDS, Math.min(MISSES, 200_000));

  const ours = new Map<number, number[]>(SIZES.map((s) => [s, []]));
  const go = new Map<string, number[]>();
  const ourMisses: number[] = [];
  const goMisses: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (goBinary !== undefined) {
      for (const s of goRound()) {
        goVersion = s.go;
        const id = `${s.sink}/${s.size}`;
        if (!go.has(id)) go.set(id, []);
        go.get(id)!.push(...s.samples);
      }
    }
    for (const size of SIZES) {
      const group = groups.get(size)!;
      const t0 = performance.now();
      const total = await getLoop(group, N);
      const dt = performance.now() - t0;
      if (total !== N * size) throw new Error("a get returned a wrong value");
      ours.get(size)!.push((N * 1000) / dt);
    }
    if (goBinary !== undefined) goMisses.push(goMissRound());
    ourMisses.push(await ourMissRound(r, MISSES));
    console.error(
      `round ${r + 1}: miss ours ${fmt(ourMisses.at(-1)!)} ns, ` +
        `Go ${goMisses.length > r ? fmt(goMisses[r]) : "—"} ns`,
    );
  }
  for (const [size, group] of groups) {
    if (group.stats.localLoads !== KEYS) {
      throw new Error(`size ${size}: a timed get missed the cache`);
    }
  }

  const range = (s: Stats) =>
    `${fmt(s.min)} / **${fmt(s.median)}** / ${fmt(s.max)}`;
  const rows: string[][] = [];
  const targets: string[] = [];
  for (const size of SIZES) {
    const mine = stats(ours.get(size)!);
    const row = [`${size === 1024 ? "1 KiB" : `${size} B`}`, range(mine)];
    for (const sink of SINKS) {
      const samples = go.get(`${sink}/${size}`);
      if (samples === undefined) {
        row.push("—", "—");
        continue;
      }
      const theirs = stats(samples);
      const ratio = mine.median / theirs.median;
      row.push(range(theirs), `**${ratio.toFixed(2)}×**`);
      if (sink === "ByteViewSink") {
        targets.push(targetComment({
          bench: `group.get hit, ${row[0]} values`,
          runtime: info.runtime,
          target: "≥ 1.0× Go ByteViewSink",
          ratio: Number(ratio.toFixed(2)),
          needed: 1,
        }));
      }
    }
    rows.push(row);
  }

  // Misses: ns per miss, and ours ÷ Go in time, medians and round by round.
  const ns = (s: Stats) =>
    `${fmt(s.min)} / **${fmt(s.median)}** / ${fmt(s.max)} ns`;
  const mineMiss = stats(ourMisses);
  const missRow = ["new key, `dest.setString(key)`", ns(mineMiss)];
  if (goMisses.length === ourMisses.length) {
    const theirs = stats(goMisses);
    const timeRatio = mineMiss.median / theirs.median;
    const paired = stats(ourMisses.map((x, i) => x / goMisses[i]));
    missRow.push(
      ns(theirs),
      `**${timeRatio.toFixed(2)}×**`,
      `${paired.min.toFixed(2)}× / ${paired.median.toFixed(2)}× / ` +
        `${paired.max.toFixed(2)}×`,
    );
    targets.push(targetComment({
      bench: "group.get miss (new key, trivial getter)",
      runtime: info.runtime,
      target: "time ≤ 1.5× Go's (speed ≥ 0.67× Go)",
      ratio: Number((theirs.median / mineMiss.median).toFixed(3)),
      needed: 0.667, // 1 ÷ 1.5
      note: `${fmt(mineMiss.median)} ns per miss vs Go ${
        fmt(theirs.median)
      } ns: ours ÷ Go time ${timeRatio.toFixed(2)}×`,
    }));
  } else {
    missRow.push("—", "—", "—");
  }

  const markdown = [
    `### Group.get hits and misses vs Go Group.Get — ${info.summary}`,
    "",
    `${goVersion || "Go: not run"}. ${ROUNDS} rounds, each: Go hits, ours, ` +
    `Go misses, ours. Produced by \`bench/group_bench.ts\`${
      QUICK ? " --quick" : ""
    }.`,
    "",
    `**Hits**: ${fmt(KEYS)} preloaded keys, one caller ` +
    `awaiting \`group.get\` round-robin, ${fmt(N)} gets per round, ` +
    `${ROUNDS} rounds alternating Go (one child process per round) and ours. ` +
    `ops/s min / **median** / max; ratios compare medians (ours ÷ Go). ` +
    `ByteViewSink is the like-for-like Go figure (no copy, as our ByteView); ` +
    `AllocatingByteSliceSink copies each hit. Target: ≥ 1.0× ByteViewSink.`,
    "",
    markdownTable(
      [
        "value",
        "ours ops/s",
        "Go ByteViewSink ops/s",
        "ours ÷ Go BVS",
        "Go AllocatingByteSliceSink ops/s",
        "ours ÷ Go ABSS",
      ],
      rows,
    ),
    "",
    `**Misses**: each round a new group of 512 MiB and ${
      fmt(MISSES)
    } gets of ` +
    `keys it has never seen, one after the other; the getter is ` +
    `\`dest.setString(key)\` and every value goes into the main cache ` +
    `(nothing evicted, checked on both sides). Key strings made before timing, ` +
    `fresh each round. Go: bench/go/get -misses (ByteViewSink), one process ` +
    `per round, alternating with ours. Time per miss min / **median** / max; ` +
    `target: ours ≤ 1.5× Go's time. Issue 9's baseline: 1,000,000 misses ` +
    `took 11.2 s (Deno) and 11.1 s (Bun), Go 3.3–4.1 s.`,
    "",
    markdownTable(
      [
        "get",
        "ours per miss",
        "Go per miss",
        "ours ÷ Go (time, medians)",
        "ours ÷ Go round by round",
      ],
      [missRow],
    ),
    "",
    ...targets,
  ].join("\n");

  console.log(markdown);
  writeMarkdownSection(
    benchPath(`./results/group_${info.runtime}.md`),
    `group-${info.runtime}`,
    markdown,
  );
}

/** Key indexes `0..keyCount-1` in `order`'s order, seeded. */
function orderOf(keyCount: number, order: string): Uint32Array {
  const random = seededRandom(keyCount);
  const next = order === "zipf"
    ? zipfSampler(keyCount, random)
    : () => Math.floor(random() * keyCount);
  const out = new Uint32Array(ORDER_LENGTH);
  for (let i = 0; i < ORDER_LENGTH; i++) out[i] = next();
  return out;
}

/** `n` gets in `order`'s order; returns the bytes seen (kept live). */
async function orderLoop(
  group: Group,
  names: string[],
  order: Uint32Array,
  n: number,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += (await group.get(names[order[i % ORDER_LENGTH]])).length;
  }
  return total;
}

/** Wall and CPU nanoseconds per hit of one round. */
interface Sample {
  wall: number;
  cpu: number;
}

/** One Go round in its own process: `n` gets in the order of `file`. */
function goScaleRound(
  keyCount: number,
  size: number,
  file: string,
): Sample {
  const out = runSync(goBinary!, [
    ...["-size", String(size), "-rounds", "1", "-sinks", "ByteViewSink"],
    ...["-n", String(SCALE_N), "-keys", String(keyCount)],
    ...["-cache", String(SCALE_CACHE), "-order", file],
  ]);
  const lines = out.trim().split("\n").map((l) => JSON.parse(l));
  const bvs = lines.find((l) =>
    l.summary === true && l.sink === "ByteViewSink"
  ) as GoSummary;
  goVersion = bvs.go;
  return { wall: 1e9 / bvs.samples[0], cpu: bvs.cpuNsPerOp[0] };
}

/** One round of ours: `SCALE_N` gets in `order`'s order. */
async function ourScaleRound(
  group: Group,
  names: string[],
  order: Uint32Array,
  size: number,
): Promise<Sample> {
  collectGarbage();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const total = await orderLoop(group, names, order, SCALE_N);
  const dt = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (total !== SCALE_N * size) throw new Error("a wrong value");
  return {
    wall: (dt * 1e6) / SCALE_N,
    cpu: ((cpu.user + cpu.system) * 1e3) / SCALE_N,
  };
}

/** Hits at 10,000 to 1,000,000 keys, uniform and Zipf, against Go's. */
async function atScale(): Promise<void> {
  const size = 100;
  const value = new Uint8Array(size);
  for (let i = 0; i < size; i++) value[i] = i & 0xff;
  const dir = mkdtempSync(join(tmpdir(), "group-bench-"));
  const rows: string[][] = [];
  const targets: string[] = [];
  const medians = new Map<string, number>();
  const ns = (x: Stats) =>
    `${fmt(x.min)} / **${fmt(x.median)}** / ${fmt(x.max)}`;
  try {
    for (const keyCount of SCALE_KEYS) {
      const names = Array.from({ length: keyCount }, (_, i) => `key:${i}`);
      const group = new Group(
        `scale-${keyCount}`,
        SCALE_CACHE,
        (_key, dest) => dest.setBytes(value),
        { registry: new Registry() },
      );
      for (const key of names) await group.get(key);
      for (const orderName of SCALE_ORDERS) {
        const order = orderOf(keyCount, orderName);
        const file = join(dir, `${keyCount}-${orderName}`);
        writeFileSync(file, new Uint8Array(order.buffer));
        await orderLoop(group, names, order, Math.min(SCALE_N, 300_000)); // warm-up
        const ours: Sample[] = [];
        const go: Sample[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          if (goBinary !== undefined) {
            go.push(goScaleRound(keyCount, size, file));
          }
          ours.push(await ourScaleRound(group, names, order, size));
          console.error(
            `${keyCount} ${orderName} round ${r + 1}: ours ` +
              `${fmt(ours.at(-1)!.cpu)} ns CPU (${fmt(ours.at(-1)!.wall)} ` +
              `wall), Go ${go.length > r ? fmt(go[r].cpu) : "—"} ns CPU (` +
              `${go.length > r ? fmt(go[r].wall) : "—"} wall)`,
          );
        }
        if (group.stats.localLoads !== keyCount) {
          throw new Error(`${keyCount} keys: a timed get missed the cache`);
        }
        const mineCpu = stats(ours.map((x) => x.cpu));
        const mineWall = stats(ours.map((x) => x.wall));
        medians.set(`${keyCount}/${orderName}`, mineCpu.median);
        const row = [
          fmt(keyCount),
          orderName,
          ns(mineCpu),
          ns(mineWall),
        ];
        if (go.length > 0) {
          const goCpu = stats(go.map((x) => x.cpu));
          const goWall = stats(go.map((x) => x.wall));
          const speed = goCpu.median / mineCpu.median;
          const wallSpeed = goWall.median / mineWall.median;
          row.push(
            ns(goCpu),
            ns(goWall),
            `**${speed.toFixed(2)}×**`,
            `${wallSpeed.toFixed(2)}×`,
          );
          if (keyCount === 1_000_000 || keyCount === 10_000) {
            targets.push(targetComment({
              bench: `group.get hit, ${fmt(keyCount)} keys ${orderName}, 100 B`,
              runtime: info.runtime,
              target: "≥ 2.0× Go ByteViewSink (CPU per hit)",
              ratio: Number(speed.toFixed(2)),
              needed: 2,
              workload: `${fmt(keyCount)} keys, 100 B values, ${orderName}, ` +
                `1 caller`,
              note: `${fmt(mineCpu.median)} ns CPU per hit vs Go ` +
                `${fmt(goCpu.median)} ns; wall ${wallSpeed.toFixed(2)}×`,
            }));
          }
        } else row.push("—", "—", "—", "—");
        rows.push(row);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const orderName of SCALE_ORDERS) {
    const cliff = medians.get(`1000000/${orderName}`)! /
      medians.get(`10000/${orderName}`)!;
    targets.push(targetComment({
      bench: `group.get hit, 1,000,000 keys ÷ 10,000 keys, ${orderName}`,
      runtime: info.runtime,
      target: "CPU per hit at 1M keys ≤ 1.5× at 10k",
      ratio: Number((1.5 / cliff).toFixed(2)),
      needed: 1,
      workload: `1,000,000 and 10,000 keys, 100 B values, ${orderName}, ` +
        `1 caller`,
      note: `1M keys ${cliff.toFixed(2)}× the CPU per hit of 10k`,
    }));
  }
  const markdown = [
    `### Group.get hits at scale vs Go Group.Get — ${info.summary}`,
    "",
    `${goVersion || "Go: not run"}. Produced by \`bench/group_bench.ts\`${
      QUICK ? " --quick" : ""
    }${SCALE_ONLY ? " --scale-only" : ""}. Keys "key:<n>" preloaded into a ` +
    `group of 1 GiB (nothing evicted), 100-byte values, one caller awaiting ` +
    `\`group.get\`; the keys in a seeded uniform random or Zipf (s = 1) ` +
    `order, the same sequence of 2^20 indexes on both sides (Go: ` +
    `bench/go/get -order, ByteViewSink), ${fmt(SCALE_N)} gets per round, ` +
    `${ROUNDS} rounds alternating Go (one child process per round) and ours. ` +
    `Per hit min / **median** / max, in ns of process CPU time (user + ` +
    `system, every thread: what the machine's other load does not inflate) ` +
    `and of wall time; ours ÷ Go compares speeds (medians). Targets, on CPU ` +
    `time: ≥ 2× Go, and a hit at 1,000,000 keys ≤ 1.5× a hit at 10,000.`,
    "",
    markdownTable(
      [
        "keys",
        "order",
        "ours CPU ns",
        "ours wall ns",
        "Go CPU ns",
        "Go wall ns",
        "ours ÷ Go (CPU)",
        "ours ÷ Go (wall)",
      ],
      rows,
    ),
    "",
    ...targets,
  ].join("\n");
  console.log(markdown);
  writeMarkdownSection(
    benchPath(`./results/group_${info.runtime}.md`),
    `group-scale-${info.runtime}`,
    markdown,
  );
}
