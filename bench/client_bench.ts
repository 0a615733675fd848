// Peer client: the round trip of Group.get for a key a remote Go node owns
// (src/group.ts → HttpPool's peer getter → fetch → the Go node's HTTPPool),
// sequential and 64 at a time, beside two references from the same run: a
// bare `fetch` of the same URLs (what the round trip costs without Group and
// HttpPool), and Go's own client (bench/go/client: a Go Group whose pool
// sends the same keys to the same Go node).
//
// Round trips/s have no target. CPU does: after the rounds, chunks of gets
// by Group.get, the bare fetch and Go's client take turns (the order
// rotating every turn; one caller, then 64), and each client process's user
// + system CPU time (every thread, so the runtime's own HTTP threads too) is
// taken around each chunk: process.cpuUsage() here, getrusage in Go's client,
// which runs as a fresh process per chunk after an untimed warm-up.
// Targets: Group.get ≤ 1.3× Go's client CPU per get on Deno, ≤ 1.0× on Bun;
// and Group.get's overhead (its CPU per get minus the bare fetch's in the
// same turn) ≤ 3 µs. With --baseline DIR (another checkout, e.g. `git
// archive` of main), that library's Group.get joins the chunks: before and
// after in one run.
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
// Usage: deno run -A bench/client_bench.ts [--quick] [--rounds N] [--baseline DIR]
//        bun bench/client_bench.ts [--quick] [--rounds N] [--baseline DIR]
// Writes bench/results/client_<runtime>.md.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
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
  args,
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
/** The targets: ours ÷ Go's client CPU per get, at most this. */
const GO_FACTOR: Record<string, number> = { deno: 1.3, bun: 1.0 };
/** Untimed gets that start each run of Go's client (connections, runtime). */
const GO_WARM = 200;
const GROUP = "test";
const info = runtimeInfo();
// --baseline DIR: another checkout of this library (e.g. `git archive` of
// main) whose Group.get joins the CPU chunks, for before/after in one run.
const BASELINE_AT = args().indexOf("--baseline");
const baseline = BASELINE_AT < 0 ? undefined : await import(
  resolve(args()[BASELINE_AT + 1], "mod.ts")
) as typeof import("../mod.ts");

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

/** One phase of a run of Go's client, as it prints it. */
interface GoPhase {
  phase: "sequential" | "concurrent";
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerOp: number;
}

/** The contenders of the CPU chunks; "before" is the --baseline library. */
type Side = "ours" | "before" | "bare" | "go";
type Phase = "sequential" | "concurrent";
const PHASES = ["sequential", "concurrent"] as const;

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
  /** Go's client over the keys of `file`; its phases' figures. */
  const runGo = (
    file: string,
    warm: number,
    seq: number,
    workers: number,
    concN: number,
  ): GoPhase[] => {
    const out = runSync(
      ...pinned(PIN ? "0" : undefined, goClientBinary, [
        ...["-self", self, "-peers", `${self},${goUrl}`, "-group", GROUP],
        ...["-keys", file, "-warm", String(warm), "-seq", String(seq)],
        ...["-c", String(workers), "-concn", String(concN)],
      ]),
    );
    return out.trim().split("\n").map((line) => JSON.parse(line));
  };

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
  // The same Group.get from the library at --baseline DIR, if given.
  const before = baseline === undefined ? undefined : (() => {
    const { Group, HttpPool, Registry } = baseline;
    const pool = new HttpPool(self, { registry: new Registry() });
    pool.set(self, goUrl);
    return new Group(GROUP, 64 << 20, (key: string) => {
      localLoads++;
      throw new Error(`local load of ${key}: the Go node should have answered`);
    }, { peers: pool, hotCache: "never" });
  })();
  const getBefore = async (key: string) => {
    const view = await before!.get(key);
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
  if (before !== undefined) {
    await timed(concKeys.slice(0, 2_000), WORKERS, getBefore);
  }

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
      const out = runGo(keysFile, 0, SEQ, WORKERS, CONC_N);
      for (const p of out) {
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
  // CPU chunks: ours, bare fetch and Go's client (and the baseline) take
  // turns, the order rotating every chunk, so that noise hits them all.
  const goChunk = (keys: readonly string[], workers: number): number => {
    const file = join(tmp, "chunk.txt");
    // Go's warm-up keys (connections, runtime) come first, then the chunk's.
    writeFileSync(file, [...concKeys.slice(-GO_WARM), ...keys].join("\n"));
    const n = keys.length, seq = workers === 1;
    const [phase] = runGo(file, GO_WARM, seq ? n : 0, workers, seq ? 0 : n);
    return phase.cpuUsPerOp;
  };
  const sides: Side[] = baseline === undefined
    ? ["ours", "bare", "go"]
    : ["ours", "before", "bare", "go"];
  const cpu: Record<Phase, Record<Side, number[]>> = {
    sequential: { ours: [], before: [], bare: [], go: [] },
    concurrent: { ours: [], before: [], bare: [], go: [] },
  };
  // Ours − bare fetch, chunk by chunk (neighbours in time).
  const diff: Record<Phase, number[]> = { sequential: [], concurrent: [] };
  for (const phase of PHASES) {
    const seq = phase === "sequential";
    const [workers, pool, chunk] = seq
      ? [1, seqKeys, SEQ_CHUNK]
      : [WORKERS, concKeys.slice(0, -GO_WARM), CONC_CHUNK];
    let offset = 0;
    const nextKeys = () => {
      if (offset + chunk > pool.length) offset = 0;
      return pool.slice(offset, offset += chunk);
    };
    const ops: Record<Exclude<Side, "go">, (key: string) => Promise<void>> = {
      ours: getOurs,
      before: getBefore,
      bare: getBare,
    };
    for (let i = 0; i < PAIRS; i++) {
      const order = [...sides.slice(i % sides.length), ...sides]
        .slice(0, sides.length);
      const got: Partial<Record<Side, number>> = {};
      for (const side of order) {
        const keys = nextKeys();
        got[side] = side === "go"
          ? goChunk(keys, workers)
          : await cpuPerOp(keys, workers, ops[side]);
        cpu[phase][side].push(got[side]!);
      }
      diff[phase].push(got.ours! - got.bare!);
    }
    const med = (side: Side) => fmt(stats(cpu[phase][side]).median);
    console.error(
      `CPU chunks, ${phase}: ours ${med("ours")}, bare ${med("bare")}, ` +
        `Go ${med("go")}` +
        (baseline === undefined ? "" : `, before ${med("before")}`) +
        ` µs CPU/get (medians)`,
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

  // CPU per get, from the chunks.
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const median = (phase: Phase, side: Side) => stats(cpu[phase][side]).median;
  const names: Record<Side, string> = {
    ours: ours.name,
    before: "Group.get (--baseline)",
    bare: bare.name,
    go: go.name,
  };
  const cpuTable = markdownTable(
    [
      "client",
      "sequential µs CPU/get",
      "mean",
      "÷ Go",
      `${WORKERS} callers µs CPU/get`,
      "mean",
      "÷ Go",
    ],
    [
      ...sides.map((side) => [
        names[side],
        ...PHASES.flatMap((phase) => [
          range(stats(cpu[phase][side])),
          fmt(mean(cpu[phase][side])),
          `${(median(phase, side) / median(phase, "go")).toFixed(2)}×`,
        ]),
      ]),
      [
        "**overhead**: Group.get − bare fetch, neighbouring chunks",
        ...PHASES.flatMap((phase) => [
          range(stats(diff[phase])),
          fmt(mean(diff[phase])),
          "",
        ]),
      ],
    ],
  );
  const callers = (phase: Phase) =>
    phase === "sequential" ? "1 caller" : `${WORKERS} callers`;
  const workload = (phase: Phase) =>
    `1 KiB values of keys a Go node holds cached, each get a round trip, ` +
    callers(phase);
  const factor = GO_FACTOR[info.runtime] ?? 1;
  const targets = PHASES.flatMap((phase) => {
    const overhead = stats(diff[phase]).median;
    const bareUs = median(phase, "bare");
    const oursUs = median(phase, "ours"), goUs = median(phase, "go");
    const beforeNote = baseline === undefined
      ? ""
      : `; --baseline ${fmt(median(phase, "before"))} µs (${
        (median(phase, "before") / goUs).toFixed(2)
      }× Go)`;
    return [
      targetComment({
        bench: `remote group.get CPU ÷ Go's client, ${callers(phase)}`,
        runtime: info.runtime,
        target: `ours ≤ ${
          factor.toFixed(1)
        }× Go's client CPU/get: Go ÷ ours ≥ ${(1 / factor).toFixed(2)}×`,
        ratio: Number((goUs / oursUs).toFixed(3)),
        needed: Number((1 / factor).toFixed(3)),
        workload: workload(phase),
        note: `ours ${fmt(oursUs)} µs, Go ${fmt(goUs)} µs, bare fetch ` +
          `${fmt(bareUs)} µs CPU/get (medians of ${PAIRS} chunks each)` +
          beforeNote,
      }),
      targetComment({
        bench: `remote group.get CPU overhead over bare fetch, ${
          phase === "sequential" ? "sequential" : `${WORKERS} callers`
        }`,
        runtime: info.runtime,
        target: `≤ ${OVERHEAD_US} µs CPU/get: (bare + ${OVERHEAD_US} µs) ÷ ` +
          "ours ≥ 1.0×",
        ratio: Number(
          ((bareUs + OVERHEAD_US) / (bareUs + overhead)).toFixed(3),
        ),
        needed: 1,
        workload: workload(phase),
        note: `overhead ${fmt(overhead)} µs CPU/get (median of ${PAIRS} ` +
          `neighbouring chunks; mean ${fmt(mean(diff[phase]))}); bare ` +
          `fetch ${fmt(bareUs)} µs`,
      }),
    ];
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
    `**CPU per get**: after the rounds, ${PAIRS} turns of chunks ` +
    `(${fmt(SEQ_CHUNK)} sequential gets; ${fmt(CONC_CHUNK)} gets by ` +
    `${WORKERS} callers), one chunk of each client per turn, the order ` +
    `rotating every turn; the client process's user + system CPU time of ` +
    `every thread around each chunk, per get: \`process.cpuUsage()\` here, ` +
    `getrusage in Go's client (a fresh process per chunk, after ` +
    `${GO_WARM} untimed gets). min / **median** / max over the chunks, ` +
    `the mean, and the median ÷ Go's. The overhead row subtracts the bare ` +
    `fetch's figure from Group.get's in the same turn. Targets: Group.get ` +
    `≤ ${
      factor.toFixed(1)
    }× Go's client; overhead ≤ ${OVERHEAD_US} µs CPU per get.`,
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
