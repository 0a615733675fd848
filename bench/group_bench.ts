// Group.get cache hits (src/group.ts) against Go's Group.Get, in the same run.
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
// Usage: deno run -A bench/group_bench.ts [--quick] [--rounds N] [--n N]
//        bun bench/group_bench.ts [--quick] [--rounds N] [--n N]
// Writes bench/results/group_<runtime>.md.
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

const QUICK = flag("quick");
const ROUNDS = numberOption("rounds", QUICK ? 3 : 7);
const N = numberOption("n", QUICK ? 200_000 : 2_000_000);
const KEYS = 10_000;
const SIZES = [100, 1024];
const SINKS = ["ByteViewSink", "AllocatingByteSliceSink"] as const;

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

const groups = new Map<number, Group>();
for (const size of SIZES) {
  const group = await preloadedGroup(size);
  await getLoop(group, Math.min(N, 500_000)); // warm-up: let the JIT settle
  groups.set(size, group);
}

const ours = new Map<number, number[]>(SIZES.map((s) => [s, []]));
const go = new Map<string, number[]>();
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

const markdown = [
  `### Group.get cache hits vs Go Group.Get — ${info.summary}`,
  "",
  `${goVersion || "Go: not run"}. ${fmt(KEYS)} preloaded keys, one caller ` +
  `awaiting \`group.get\` round-robin, ${fmt(N)} gets per round, ` +
  `${ROUNDS} rounds alternating Go (one child process per round) and ours. ` +
  `ops/s min / **median** / max; ratios compare medians (ours ÷ Go). ` +
  `ByteViewSink is the like-for-like Go figure (no copy, as our ByteView); ` +
  `AllocatingByteSliceSink copies each hit. Target: ≥ 1.0× ByteViewSink. ` +
  `Produced by \`bench/group_bench.ts\`${QUICK ? " --quick" : ""}.`,
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
  ...targets,
].join("\n");

console.log(markdown);
writeMarkdownSection(
  benchPath(`./results/group_${info.runtime}.md`),
  `group-${info.runtime}`,
  markdown,
);
