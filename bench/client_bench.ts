// Peer client: the round trip of Group.get for a key a remote Go node owns
// (src/group.ts → HttpPool's peer getter → fetch → the Go node's HTTPPool),
// sequential and 64 at a time, beside two references from the same run: a
// bare `fetch` of the same URLs (what the round trip costs without Group and
// HttpPool), and Go's own client (bench/go/client: a Go Group whose pool
// sends the same keys to the same Go node).
//
// Round trips/s have no target. CPU does: after the rounds, Group.get and the
// bare fetch alternate in short chunks (A B, B A, ...; one caller, then 64),
// and this process's user + system CPU time (process.cpuUsage(): every
// thread, so the runtime's own HTTP threads too) is taken around each chunk.
// Group.get's overhead is its CPU per get minus the bare fetch's in the
// neighbouring chunk; target ≤ 3 µs per get, sequential and at 64 callers.
// Go's client reports its own getrusage figure over its phases.
//
// Setup: a real Go node (tests/go/node) owns the keys "size:1024:<n>" (1 KiB
// values) and has them all cached before timing, so its getter is not
// measured. Our node's peer list is [self, Go node] and we get only keys the
// ring gives to the Go node; the group's hot cache never admits
// (hotCache "never"), so every get is a real fetch. Go's client uses the same peer
// list, hence the same owners, with each key once per process. When taskset
// is there, the client (this process, or Go's client) runs on CPU 0 and the
// Go node on CPU 1 (so both Go processes run with GOMAXPROCS=1).
//
// Usage: deno run -A bench/client_bench.ts [--quick] [--rounds N]
//        bun bench/client_bench.ts [--quick] [--rounds N]
// Writes bench/results/client_<runtime>.md.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { Group, HttpPool, Registry } from "../mod.ts";
import { buildGo, goAvailable } from "../tests/_dev/go.ts";
import { freePort } from "../tests/_dev/ports.ts";
import {
  fmt,
  markdownTable,
  runtimeInfo,
  type Stats,
  stats,
  writeMarkdownSection,
} from "./_util.ts";
import {
  benchPath,
  canPin,
  flag,
  numberOption,
  percentile,
  pinned,
  pinSelf,
  targetComment,
} from "./_proc.ts";
import { runSync, startServer } from "../tests/_dev/proc.ts";

const QUICK = flag("quick");
const ROUNDS = numberOption("rounds", QUICK ? 2 : 5);
const SEQ = QUICK ? 300 : 2_000;
const CONC_N = QUICK ? 3_000 : 20_000;
const WORKERS = 64;
/** The target: Group.get may cost this much more CPU than a bare fetch. */
const OVERHEAD_US = 3;
/** CPU pairs: chunks of gets, ours and bare fetch alternating. */
const PAIRS = QUICK ? 4 : 30;
const SEQ_CHUNK = QUICK ? 200 : 500;
const CONC_CHUNK = QUICK ? 1_000 : 2_000;
const VALUE_SIZE = 1024;
const GROUP = "test";
const info = runtimeInfo();

if (!goAvailable()) {
  throw new Error(
    "client_bench needs Go and golang-github-golang-groupcache-dev",
  );
}
const PIN = canPin();
if (PIN) pinSelf("0");
const goNodeBinary = buildGo("tests/go/node", "gonode");
const goClientBinary = buildGo("bench/go/client", "goclient");

/**
 * One phase of one round: throughput, latency percentiles (ms) and the
 * client process's CPU time per op (µs).
 */
interface PhaseResult {
  opsPerSec: number;
  p50: number;
  p99: number;
  cpuUs: number;
}

interface Row {
  name: string;
  sequential: PhaseResult[];
  concurrent: PhaseResult[];
}

/** Runs `op` over `keys` with `workers` callers; per-op latencies. */
async function timed(
  keys: readonly string[],
  workers: number,
  op: (key: string) => Promise<unknown>,
): Promise<PhaseResult> {
  const lat = new Float64Array(keys.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < keys.length; i = next++) {
      const t = performance.now();
      await op(keys[i]);
      lat[i] = performance.now() - t;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, worker));
  const total = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  lat.sort();
  return {
    opsPerSec: (keys.length * 1000) / total,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    cpuUs: (cpu.user + cpu.system) / keys.length,
  };
}

/** This process's CPU time (user + system, all threads) per op, in µs. */
async function cpuPerOp(
  keys: readonly string[],
  workers: number,
  op: (key: string) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < keys.length; i = next++) await op(keys[i]);
  };
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: workers }, worker));
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / keys.length;
}

/** CPU µs per get of each chunk, ours and bare alternating, and the pairs' differences. */
interface CpuPairs {
  ours: number[];
  bare: number[];
  diff: number[];
}

const goNode = await startServer(
  ...pinned(PIN ? "1" : undefined, goNodeBinary, ["-addr", "127.0.0.1:0"]),
);
const tmp = mkdtempSync(join(tmpdir(), "groupcache-client-bench-"));
try {
  const goUrl = `http://${goNode.address}`;
  const self = `http://127.0.0.1:${await freePort()}`; // never served
  const registry = new Registry();
  const pool = new HttpPool(self, { registry });
  pool.set(self, goUrl);
  let localLoads = 0;
  const group = new Group(GROUP, 64 << 20, (key) => {
    localLoads++;
    throw new Error(`local load of ${key}: the Go node should have answered`);
  }, { peers: pool, hotCache: "never" });

  // Keys the ring gives to the Go node, all cached there before timing.
  const keys: string[] = [];
  for (let i = 0; keys.length < SEQ + CONC_N; i++) {
    const key = `size:${VALUE_SIZE}:${i}`;
    if (pool.owner(key) === goUrl) keys.push(key);
  }
  const preload = await timed(keys, 16, async (key) => {
    const res = await fetch(`${goUrl}/get?key=${encodeURIComponent(key)}`);
    const body = await res.arrayBuffer();
    if (res.status !== 200 || body.byteLength !== VALUE_SIZE) {
      throw new Error(`preload ${key}: ${res.status}, ${body.byteLength} B`);
    }
  });
  const goStats = await (await fetch(`${goUrl}/stats`)).json();
  if (goStats.LocalLoads !== keys.length) {
    throw new Error(`Go node loaded ${goStats.LocalLoads} keys`);
  }
  console.error(
    `preloaded ${keys.length} keys into the Go node ` +
      `(${fmt(preload.opsPerSec)}/s)`,
  );
  const keysFile = join(tmp, "keys.txt");
  writeFileSync(keysFile, keys.join("\n") + "\n");
  const seqKeys = keys.slice(0, SEQ);
  const concKeys = keys.slice(SEQ);
  const base = `${goUrl}/_groupcache/${GROUP}/`;

  const ours: Row = {
    name: "Group.get (ours)",
    sequential: [],
    concurrent: [],
  };
  const bare: Row = {
    name: "bare fetch, same URLs",
    sequential: [],
    concurrent: [],
  };
  const go: Row = {
    name: "Go Group.Get (Go client)",
    sequential: [],
    concurrent: [],
  };
  const getOurs = async (key: string) => {
    const view = await group.get(key);
    if (view.length !== VALUE_SIZE) throw new Error(`${key}: wrong length`);
  };
  const getBare = async (key: string) => {
    const res = await fetch(base + encodeURIComponent(key));
    const body = await res.arrayBuffer();
    if (res.status !== 200 || body.byteLength !== VALUE_SIZE + 3) {
      throw new Error(`${key}: ${res.status}, ${body.byteLength} B`);
    }
  };
  // Warm-up: connections, JIT.
  await timed(concKeys.slice(0, 2_000), WORKERS, getOurs);
  await timed(concKeys.slice(0, 2_000), WORKERS, getBare);

  const runs: [Row, () => Promise<void>][] = [
    [ours, async () => {
      ours.sequential.push(await timed(seqKeys, 1, getOurs));
      ours.concurrent.push(await timed(concKeys, WORKERS, getOurs));
    }],
    [bare, async () => {
      bare.sequential.push(await timed(seqKeys, 1, getBare));
      bare.concurrent.push(await timed(concKeys, WORKERS, getBare));
    }],
    [go, () => {
      const out = runSync(
        ...pinned(PIN ? "0" : undefined, goClientBinary, [
          "-self",
          self,
          "-peers",
          `${self},${goUrl}`,
          "-group",
          GROUP,
          "-keys",
          keysFile,
          "-seq",
          String(SEQ),
          "-c",
          String(WORKERS),
          "-concn",
          String(CONC_N),
        ]),
      );
      for (const line of out.trim().split("\n")) {
        const p = JSON.parse(line);
        const result = {
          opsPerSec: p.opsPerSec,
          p50: p.p50Us / 1000,
          p99: p.p99Us / 1000,
          cpuUs: p.cpuUsPerOp,
        };
        if (p.phase === "sequential") go.sequential.push(result);
        else go.concurrent.push(result);
      }
      return Promise.resolve();
    }],
  ];
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order so no contender always runs first.
    for (let j = 0; j < runs.length; j++) {
      const [row, run] = runs[(r + j) % runs.length];
      await run();
      const s = row.sequential.at(-1)!, c = row.concurrent.at(-1)!;
      console.error(
        `round ${r + 1}: ${row.name}: sequential ${fmt(s.opsPerSec)}/s ` +
          `${fmt(s.cpuUs)} µs CPU/get, ${WORKERS} at a time ` +
          `${fmt(c.opsPerSec)}/s ${fmt(c.cpuUs)} µs CPU/get`,
      );
    }
  }
  // CPU pairs: ours and bare fetch in alternating chunks (order swapped
  // every pair), so that noise hits both.
  const pairs: Record<"sequential" | "concurrent", CpuPairs> = {
    sequential: { ours: [], bare: [], diff: [] },
    concurrent: { ours: [], bare: [], diff: [] },
  };
  for (const phase of ["sequential", "concurrent"] as const) {
    const seq = phase === "sequential";
    const [workers, pool, chunk] = seq
      ? [1, seqKeys, SEQ_CHUNK]
      : [WORKERS, concKeys, CONC_CHUNK];
    let offset = 0;
    const nextKeys = () => {
      if (offset + chunk > pool.length) offset = 0;
      return pool.slice(offset, offset += chunk);
    };
    const p = pairs[phase];
    for (let i = 0; i < PAIRS; i++) {
      const keysA = nextKeys(), keysB = nextKeys();
      let a: number, b: number;
      if (i % 2 === 0) {
        a = await cpuPerOp(keysA, workers, getOurs);
        b = await cpuPerOp(keysB, workers, getBare);
      } else {
        b = await cpuPerOp(keysA, workers, getBare);
        a = await cpuPerOp(keysB, workers, getOurs);
      }
      p.ours.push(a);
      p.bare.push(b);
      p.diff.push(a - b);
    }
    console.error(
      `CPU pairs, ${phase}: ours ${fmt(stats(p.ours).median)}, bare ` +
        `${fmt(stats(p.bare).median)}, overhead ` +
        `${fmt(stats(p.diff).median)} µs CPU/get (medians)`,
    );
  }

  if (localLoads !== 0 || group.stats.peerErrors !== 0) {
    throw new Error(
      `${localLoads} local loads, ${group.stats.peerErrors} peer errors`,
    );
  }

  const range = (s: Stats) =>
    `${fmt(s.min)} / **${fmt(s.median)}** / ${fmt(s.max)}`;
  const ms = (x: number) => `${fmt(x)} ms`;
  const table = (phase: "sequential" | "concurrent") =>
    markdownTable(
      ["client", "round trips/s", "p50", "p99", "÷ Go"],
      [ours, bare, go].map((row) => {
        const results = row[phase];
        const ops = stats(results.map((x) => x.opsPerSec));
        const goOps = stats(go[phase].map((x) => x.opsPerSec));
        return [
          row.name,
          range(ops),
          ms(stats(results.map((x) => x.p50)).median),
          ms(stats(results.map((x) => x.p99)).median),
          `${(ops.median / goOps.median).toFixed(2)}×`,
        ];
      }),
    );

  // CPU per get, from the pairs; Go's client from its rounds.
  const us = (s: Stats) =>
    `${fmt(s.min)} / **${fmt(s.median)}** / ${fmt(s.max)}`;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const phases = ["sequential", "concurrent"] as const;
  const cpuTable = markdownTable(
    [
      "client",
      "sequential µs CPU/get",
      "mean",
      `${WORKERS} callers µs CPU/get`,
      "mean",
    ],
    [
      ...(["ours", "bare"] as const).map((side) => [
        side === "ours" ? ours.name : bare.name,
        ...phases.flatMap((phase) => [
          us(stats(pairs[phase][side])),
          fmt(mean(pairs[phase][side])),
        ]),
      ]),
      [
        "**overhead**: Group.get − bare fetch, pair by pair",
        ...phases.flatMap((phase) => [
          us(stats(pairs[phase].diff)),
          fmt(mean(pairs[phase].diff)),
        ]),
      ],
      [
        `${go.name}, over its rounds`,
        ...phases.flatMap((phase) => {
          const xs = go[phase].map((x) => x.cpuUs);
          return [us(stats(xs)), fmt(mean(xs))];
        }),
      ],
    ],
  );
  const targets = phases.map((phase) => {
    const overhead = stats(pairs[phase].diff).median;
    const bareUs = stats(pairs[phase].bare).median;
    return targetComment({
      bench: `remote group.get CPU overhead over bare fetch, ${
        phase === "sequential" ? "sequential" : `${WORKERS} callers`
      }`,
      runtime: info.runtime,
      target:
        `≤ ${OVERHEAD_US} µs CPU/get: (bare + ${OVERHEAD_US} µs) ÷ ours ≥ 1.0×`,
      ratio: Number(
        ((bareUs + OVERHEAD_US) / (bareUs + overhead)).toFixed(3),
      ),
      needed: 1,
      note: `overhead ${fmt(overhead)} µs CPU/get (median of ${PAIRS} ` +
        `pairs; mean ${fmt(mean(pairs[phase].diff))}); bare fetch ` +
        `${fmt(bareUs)} µs`,
    });
  });

  const markdown = [
    `### Peer client round trips (to a Go node) — ${info.summary}`,
    "",
    `Keys \`size:1024:<n>\` owned by a real Go node (tests/go/node) that ` +
    `has them cached; every get is a fetch (1 KiB value, 1,027-byte body). ` +
    `${fmt(SEQ)} sequential round trips, then ${fmt(CONC_N)} with ` +
    `${WORKERS} in flight, per round; ${ROUNDS} rounds rotating the ` +
    `three clients. Round trips/s min / **median** / max; p50 and p99 are ` +
    `medians over the rounds. ` +
    (PIN
      ? "Client on CPU 0, Go node on CPU 1 (taskset; Go GOMAXPROCS=1). "
      : "Nothing pinned. ") +
    `"bare fetch" requests the same URLs with \`fetch\` and no Group; Go's ` +
    `client is bench/go/client (stock HTTPPool, http.DefaultTransport). ` +
    `Produced by \`bench/client_bench.ts\`${QUICK ? " --quick" : ""}.`,
    "",
    "**Sequential** (one caller):",
    "",
    table("sequential"),
    "",
    `**Concurrent** (${WORKERS} callers):`,
    "",
    table("concurrent"),
    "",
    `**CPU per get**: after the rounds, ${PAIRS} pairs of chunks ` +
    `(${fmt(SEQ_CHUNK)} sequential gets; ${fmt(CONC_CHUNK)} gets by ` +
    `${WORKERS} callers), Group.get and bare fetch alternating (order ` +
    `swapped every pair); this process's user + system CPU time of every ` +
    `thread, from \`process.cpuUsage()\` around each chunk, per get. ` +
    `min / **median** / max over the chunks, and the mean. The overhead ` +
    `row subtracts the bare fetch's figure from Group.get's pair by pair. ` +
    `Go's client: its own getrusage over its phases of the rounds above. ` +
    `Target: overhead ≤ ${OVERHEAD_US} µs CPU per get.`,
    "",
    cpuTable,
    "",
    ...targets,
  ].join("\n");

  console.log(markdown);
  writeMarkdownSection(
    benchPath(`./results/client_${info.runtime}.md`),
    `client-${info.runtime}`,
    markdown,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
  await goNode.stop();
}
