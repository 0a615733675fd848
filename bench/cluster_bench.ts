// Clusters end to end, cold and warm, at 3 and 9 nodes: node processes on
// loopback, each with an application route that calls group.get
// (GET /get?key=K) and the peer handler on the same port, driven by wrk.
// Clusters side by side:
// - Go: stock golang/groupcache, HTTPPool + net/http (bench/go/cluster);
// - ours on Deno (Deno.serve), Bun (Bun.serve) and Node 20, through the web
//   adapter @hono/node-server ("node") or natively, node:http with
//   nodePeers and nodeTransport ("node-native") (bench/cluster/node.ts;
//   Node runs a bundle Bun makes of it, in bench/.out/cluster/).
// Another kind of node is one entry in `kinds` below: how to prepare it
// (build, bundle) and the command line of one node. At 9 nodes only Go and
// the kinds with a 9-node target run (Deno, Bun).
//
// Every value is 1 KiB derived from its key by a getter that only computes
// it, the same bytes on every node (checked before each round). Every node
// has 64 MiB.
//
// Rounds: every round starts each cluster afresh on the same ports (so the
// ring, and which node owns which key, is the same for every cluster),
// checks a few keys on every node, and measures three workloads:
// - cold (cold start): at once, wrk for COLD_SECONDS with `COLD=1`
//   (zipf.lua): every request asks a key never asked before, so every
//   request in the window is a first load (a miss on the node asked, then
//   either a load there or a peer fetch and a load on its owner: 2 in 3 at
//   3 nodes, 8 in 9 at 9); the runtimes' JIT and the connections warm up
//   inside the window, as they do when a cluster starts. Requests/s, CPU
//   per request and the p99 of that fill are reported;
// - cold cache: the same workload on other never-asked keys for
//   WARMUP_LOADS first loads per node since the start, at most
//   CODE_WARMUP_SECONDS (not measured: the same work for every runtime, so
//   a slow starter warms longer), then measured for COLD_SECONDS on keys
//   never asked either: the code is warm, the cache is not, so this reads
//   the first-load path itself, without the JIT's warm-up (Go has none:
//   its two cold readings differ by little; native Node needs about
//   30,000 first loads at 3 nodes);
// - warm: then every one of 10,000 keys is asked once through the first
//   node (every key in its owner's main cache), wrk warms the cluster up
//   for WARMUP_SECONDS with the Zipf (s = 1) mix, and measures SECONDS:
//   owned keys are main-cache hits, the rest hot-cache hits or peer
//   fetches (the "peer fetches per user request" column: peerLoads over
//   the /get requests served, from each node's GET /stats).
// The clusters take turns, in an order that alternates round after round.
// CPU seconds per node process (user + system, all threads) come from
// /proc, wrk's from GNU time.
//
// Load: one wrk, `-tN -cC -s bench/cluster/zipf.lua`, one thread per node
// (thread i talks to node i; C = 96 at 3 nodes, 99 at 9); warm, each
// thread cycles through 65,536 requests drawn from the Zipf mix in its init
// (seeded, so every run asks the same keys).
//
// Handoff is on, as a pool's defaults have it: a node's first list counts
// as a join, so each node asks the previous owner of its first misses from
// cache only, until 64 asks in a row miss (src/handoff.ts). That needs the
// peer to be known as ours (its answers carry x-groupcache-batch: 1), so
// the cold window pays for at most a few hundred peeks per node; `--handoff
// off` runs every node with handoffWindowMs: 0 to measure it.
//
// CPU placement (the machine has two cores, shared by wrk and the nodes):
// - "pinned": all nodes on CPU 0 (`taskset -c 0`; Go then runs with
//   GOMAXPROCS=1), wrk on CPU 1, so the load generator never takes CPU from
//   the nodes; the nodes' CPU per request is judged here too;
// - "stock": nothing pinned (Go with its default GOMAXPROCS, 2), wrk and
//   the nodes share both cores (not with --quick).
// Both report requests/s against the targets. Other jobs on the machine
// take their share of either; each run says how much (from /proc/stat).
//
// Usage: deno run -A bench/cluster_bench.ts [--quick] [--rounds N]
//          [--rounds9 N] [--seconds S] [--cold-seconds S]
//          [--code-warmup-seconds S] [--sizes 3,9]
//          [--kinds go,deno,bun,node,node-native] [--modes pinned,stock]
//          [--handoff off]
// (under Deno only: it starts Deno, Bun and Node nodes itself). Writes
// bench/results/cluster.md (a full run only).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import process from "node:process";
import { buildGo, goAvailable } from "../tests/_dev/go.ts";
import { root } from "../tests/_dev/paths.ts";
import { freePorts } from "../tests/_dev/ports.ts";
import { hasCommand, type Server, startServer } from "../tests/_dev/proc.ts";
import { findBun, findDeno } from "../tests/_dev/runtimes.ts";
import {
  benchPath,
  type CpuMode,
  cpuModes,
  cpuSeconds,
  flag,
  numberOption,
  pinned,
  targetComment,
} from "./_proc.ts";
import {
  fmt,
  markdownTable,
  runtimeInfo,
  type Stats,
  stats,
  writeMarkdownSection,
} from "./_util.ts";

const QUICK = flag("quick");
const ROUNDS = numberOption("rounds", QUICK ? 2 : 3);
const WARMUP_SECONDS = QUICK ? 1 : 2;
// Three cold windows (cold start, the code's warm-up, cold cache) take the
// place of one 4-s window: 3 s, 1 to 12 s, 3 s; the warm one 3 s instead of
// 4. A round of Go, Deno or Bun takes about 2 s more than with the cold
// start alone, of native Node about 10 s more.
const SECONDS = numberOption("seconds", QUICK ? 1 : 3);
const COLD_SECONDS = numberOption("cold-seconds", QUICK ? 1 : 3);
const CODE_WARMUP_SECONDS = numberOption(
  "code-warmup-seconds",
  QUICK ? 2 : 12,
);
const WARMUP_LOADS = QUICK ? 2_000 : 10_000;
// The 9-node clusters: fewer rounds, to keep the whole run near 10 minutes.
const ROUNDS_9 = numberOption("rounds9", QUICK ? 1 : 2);
// Cluster sizes: 3 nodes (every kind), 9 nodes (the kinds with a 9-node
// target); wrk runs one thread per node (see zipf.lua) with about 96
// connections in all.
const SIZES = listOption("sizes")?.map(Number) ?? [3, 9];
const connectionsFor = (nodes: number) => nodes * Math.round(96 / nodes);
// wrk's default of 2 s counts a slow cluster's queueing as errors.
const TIMEOUT_SECONDS = 10;
const KEYS = 10_000;
const VALUE_BYTES = 1024;
// /proc/stat counts in USER_HZ, 100 on Linux.
const CLOCK_TICKS = Number(
  spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout,
) || 100;
const LUA = benchPath("./cluster/zipf.lua");
const NODE_SCRIPT = benchPath("./cluster/node.ts");
const info = runtimeInfo();

/** One kind of cluster node. */
interface Kind {
  /** For --kinds. */
  id: string;
  name: string;
  /** Builds what its nodes run; called once, before any round. */
  prepare(): void;
  /** The command line of the node on `port` with the peer list `peers`. */
  command(port: number, peers: string[]): [string, string[]];
  /**
   * Its targets against Go's: requests/s (cold and warm) at 3 nodes and,
   * when `nine` is set, at 9 nodes; `p99` bounds its cold fill's p99 as a
   * multiple of Go's (3 nodes). Kinds without targets run at 3 nodes only.
   */
  target?: { name: string; three: number; nine?: number; p99?: number };
}

// --handoff off: every node of ours without handoff (see the header).
const HANDOFF_OFF = listOption("handoff")?.[0] === "off";

const nodeArgs = (port: number, peers: string[]) => [
  "--port",
  String(port),
  "--peers",
  peers.join(","),
  "--size",
  String(VALUE_BYTES),
  ...(HANDOFF_OFF ? ["--handoff-ms", "0"] : []),
];

let goBinary = "";
const nodeBundle = `${root}/bench/.out/cluster/node.bundle.mjs`;
let bundled = false;

/** Node 20 cannot run TypeScript: a bundle of the node script, made once. */
function bundleNode(): void {
  if (bundled) return;
  // npm packages left as imports (resolved from the repository's
  // node_modules).
  const out = spawnSync(findBun()!, [
    "build",
    NODE_SCRIPT,
    "--target=node",
    "--packages=external",
    `--outfile=${nodeBundle}`,
  ], { cwd: root, encoding: "utf8" });
  if (out.status !== 0) {
    throw new Error(`bundling ${NODE_SCRIPT} failed:\n${out.stderr}`);
  }
  bundled = true;
}

const allKinds: Kind[] = [
  {
    id: "go",
    name: "Go (HTTPPool + net/http)",
    prepare() {
      goBinary = buildGo("bench/go/cluster", "gocluster");
    },
    command: (port, peers) => [goBinary, [
      "-addr",
      `127.0.0.1:${port}`,
      "-peers",
      peers.join(","),
      "-size",
      String(VALUE_BYTES),
    ]],
  },
  {
    id: "deno",
    name: "ours on Deno (Deno.serve)",
    prepare() {},
    command: (port, peers) => [
      findDeno()!,
      ["run", "-A", NODE_SCRIPT, ...nodeArgs(port, peers)],
    ],
    target: { name: "deno", three: 1.2, nine: 1.2 },
  },
  {
    id: "bun",
    name: "ours on Bun (Bun.serve)",
    prepare() {
      if (findBun() === undefined) throw new Error("cluster_bench needs Bun");
    },
    command: (port, peers) => [
      findBun()!,
      ["run", NODE_SCRIPT, ...nodeArgs(port, peers)],
    ],
    target: { name: "bun", three: 1.8, nine: 1.2 },
  },
  {
    id: "node",
    name: "ours on Node (@hono/node-server)",
    prepare: bundleNode,
    command: (port, peers) => ["node", [nodeBundle, ...nodeArgs(port, peers)]],
  },
  {
    id: "node-native",
    name: "ours on Node (nodePeers + nodeTransport)",
    prepare: bundleNode,
    command: (
      port,
      peers,
    ) => ["node", [nodeBundle, ...nodeArgs(port, peers), "--native"]],
    target: { name: "node", three: 1.2, p99: 2 },
  },
];

// --kinds go,deno,... and --modes pinned,stock: part of the run only (for
// profiling one kind); Go always stays, as the ratios' base.
const kindsWanted = listOption("kinds");
const kinds = allKinds.filter((k) =>
  k.id === "go" || kindsWanted === undefined || kindsWanted.includes(k.id)
);
const modesWanted = listOption("modes");

function listOption(name: string): string[] | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i < 0 ? undefined : (Deno.args[i + 1] ?? "").split(",");
}

/** What one measured wrk run, and the nodes meanwhile, did. */
interface Run {
  requestsPerSec: number;
  requests: number;
  p50: number;
  p99: number;
  /** CPU seconds of each node process over the run. */
  nodeCpu: number[];
  /**
   * CPU seconds that neither the nodes nor wrk used, on the CPUs the nodes
   * ran on, over the run: other jobs on the machine.
   */
  othersCpu: number;
  /** wrk's own CPU seconds. */
  wrkCpu: number;
  /** Σ peerLoads ÷ Σ /get requests over the run, all nodes. */
  peerFetchesPerRequest: number;
  /** Σ peerErrors over the run, all nodes. */
  peerErrors: number;
}

interface NodeStats {
  requests: number;
  peerLoads: number;
  peerErrors: number;
}

/** The value every node serves for `key`. */
function expectedValue(key: string): Uint8Array {
  const n = new TextEncoder().encode(key).length;
  const out = new Uint8Array(VALUE_BYTES);
  for (let i = 0; i < VALUE_BYTES; i++) out[i] = (i * 31 + n) & 0xff;
  return out;
}

async function nodeStats(port: number): Promise<NodeStats> {
  const res = await fetch(`http://127.0.0.1:${port}/stats`);
  if (res.status !== 200) throw new Error(`:${port}/stats: ${res.status}`);
  return await res.json() as NodeStats;
}

/** Every node answers a few keys (owned by each of them) with the right bytes. */
async function check(ports: number[]): Promise<void> {
  for (const port of ports) {
    for (const key of ["key-0", "key-1", "key-2", "key-9999"]) {
      const res = await fetch(`http://127.0.0.1:${port}/get?key=${key}`);
      const body = new Uint8Array(await res.arrayBuffer());
      if (res.status !== 200 || body.join() !== expectedValue(key).join()) {
        throw new Error(
          `node :${port} answered ${key} with ${res.status}, ${body.length} ` +
            "bytes, not the expected value",
        );
      }
    }
  }
}

/**
 * Asks node `port` for every key once (32 at a time), so every key is in its
 * owner's main cache before the timed load, however fast the cluster.
 */
async function prefill(port: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < KEYS) {
      const res = await fetch(`http://127.0.0.1:${port}/get?key=key-${next++}`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`prefill: ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

/**
 * wrk with zipf.lua against the nodes on `ports`, one thread per node: the
 * Zipf mix, or with `cold` (a key prefix) a key never asked before in every
 * request.
 */
function wrk(
  ports: number[],
  seconds: number,
  cpus: string | undefined,
  { warmUp = false, cold = "" } = {},
): { rps: number; requests: number; p50: number; p99: number; cpu: number } {
  const [cmd, cmdArgs] = pinned(cpus, "/usr/bin/time", [
    "-f",
    "wrk-cpu %U %S",
    "wrk",
    `-t${ports.length}`,
    `-c${connectionsFor(ports.length)}`,
    `-d${seconds}s`,
    `--timeout`,
    `${TIMEOUT_SECONDS}s`,
    "--latency",
    "-s",
    LUA,
    `http://127.0.0.1:${ports[0]}`,
  ]);
  const r = spawnSync(cmd, cmdArgs, {
    encoding: "utf8",
    env: {
      ...process.env,
      CLUSTER_PORTS: ports.join(","),
      ZIPF_KEYS: String(KEYS),
      COLD: cold === "" ? "0" : "1",
      COLD_PREFIX: cold,
    },
    timeout: (seconds + 30) * 1000,
  });
  const out = r.stdout ?? "";
  if (r.status !== 0) {
    throw new Error(`wrk exited with ${r.status ?? r.signal}:\n${r.stderr}`);
  }
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const total = /^\s*(\d+) requests in /m.exec(out);
  const cpu = /wrk-cpu ([\d.]+) ([\d.]+)/.exec(r.stderr ?? "");
  if (rps === null || total === null || cpu === null) {
    throw new Error(`cannot read wrk's output:\n${out}\n${r.stderr}`);
  }
  const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (bad !== null) throw new Error(`${bad[1]} responses not 200:\n${out}`);
  const errors = /Socket errors: (.*)/.exec(out);
  // A slow cluster may time out requests while it warms up; never later.
  const counted = warmUp ? errors?.[1].replace(/timeout \d+/, "") : errors?.[1];
  if (counted !== undefined && /[1-9]/.test(counted)) {
    throw new Error(`wrk saw socket errors:\n${out}`);
  }
  const latency = (label: string) => {
    const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, "m")
      .exec(out);
    if (m === null) throw new Error(`wrk printed no ${label} latency:\n${out}`);
    return Number(m[1]) * (m[2] === "us" ? 1e-3 : m[2] === "ms" ? 1 : 1e3);
  };
  return {
    rps: Number(rps[1]),
    requests: Number(total[1]),
    p50: latency("50%"),
    p99: latency("99%"),
    cpu: Number(cpu[1]) + Number(cpu[2]),
  };
}

/**
 * Busy CPU seconds (all but idle and iowait) of the machine since boot, from
 * /proc/stat: of the CPUs in `cpus` ("0", "0,1"), or of all of them.
 */
function busySeconds(cpus: string | undefined): number {
  const wanted = cpus?.split(",").map((c) => `cpu${c}`) ?? ["cpu"];
  let ticks = 0;
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const f = line.split(/\s+/);
    if (!wanted.includes(f[0])) continue;
    const n = f.slice(1, 9).map(Number);
    ticks += n.reduce((a, b) => a + b, 0) - n[3] - n[4];
  }
  return ticks / CLOCK_TICKS;
}

/** One measured wrk run against a running cluster, with the nodes' CPU. */
async function measure(
  servers: Server[],
  ports: number[],
  mode: CpuMode,
  cold: string,
): Promise<Run> {
  const before = await Promise.all(ports.map(nodeStats));
  const cpu0 = servers.map((s) => cpuSeconds(s.pid) ?? NaN);
  const busy0 = busySeconds(mode.serverCpus);
  const w = wrk(ports, cold === "" ? SECONDS : COLD_SECONDS, mode.wrkCpus, {
    cold,
  });
  const busy1 = busySeconds(mode.serverCpus);
  const cpu1 = servers.map((s) => cpuSeconds(s.pid) ?? NaN);
  const after = await Promise.all(ports.map(nodeStats));
  const sum = (f: (s: NodeStats) => number) =>
    after.reduce((a, s, i) => a + f(s) - f(before[i]), 0);
  return {
    requestsPerSec: w.rps,
    requests: w.requests,
    p50: w.p50,
    p99: w.p99,
    nodeCpu: cpu1.map((c, i) => c - cpu0[i]),
    othersCpu: busy1 - busy0 - cpu1.reduce((a, c, i) => a + c - cpu0[i], 0) -
      (mode.wrkCpus === undefined ? w.cpu : 0),
    wrkCpu: w.cpu,
    peerFetchesPerRequest: sum((s) => s.peerLoads) / sum((s) => s.requests),
    // A failed peer fetch is followed by a local load: counted, not fatal.
    peerErrors: sum((s) => s.peerErrors),
  };
}

/**
 * The code's warm-up before the cold cache run: never-asked keys, a second
 * at a time, until WARMUP_LOADS first loads per node since the start (the
 * `served` of the cold run and more), at most CODE_WARMUP_SECONDS.
 */
function warmCode(ports: number[], mode: CpuMode, served: number): void {
  const until = Date.now() + CODE_WARMUP_SECONDS * 1000;
  // Prefixes w0x, w1x, ...: no key asked twice (zipf.lua).
  for (let i = 0; served < WARMUP_LOADS * ports.length; i++) {
    if (Date.now() >= until) return;
    const cold = `w${i}x`;
    served += wrk(ports, 1, mode.wrkCpus, { warmUp: true, cold }).requests;
  }
}

/**
 * Starts a cluster of `kind` on `ports`, measures the cold run at once,
 * warms the code on other new keys and measures the cold cache run, then
 * fills and warms it up and measures the warm run, and stops it.
 */
async function round(
  kind: Kind,
  ports: number[],
  mode: CpuMode,
): Promise<Record<Workload, Run>> {
  const peers = ports.map((p) => `http://127.0.0.1:${p}`);
  const servers: Server[] = [];
  try {
    const started = await Promise.allSettled(ports.map((port) => {
      const [cmd, args] = kind.command(port, peers);
      return startServer(...pinned(mode.serverCpus, cmd, args), {
        cwd: root,
        name: `${kind.name} node on :${port}`,
        timeoutMs: 30_000,
      });
    }));
    for (const s of started) {
      if (s.status === "fulfilled") servers.push(s.value);
    }
    for (const s of started) if (s.status === "rejected") throw s.reason;
    await check(ports);
    // Key prefixes (zipf.lua): c, w and k never ask the same key twice.
    const cold = await measure(servers, ports, mode, "c");
    warmCode(ports, mode, cold.requests);
    const coldCache = await measure(servers, ports, mode, "k");
    await prefill(ports[0]);
    wrk(ports, WARMUP_SECONDS, mode.wrkCpus, { warmUp: true });
    const warm = await measure(servers, ports, mode, "");
    return { cold, "cold cache": coldCache, warm };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

// ---------------------------------------------------------------------------

if (info.runtime !== "deno") {
  throw new Error("run bench/cluster_bench.ts under Deno (it starts the rest)");
}
if (!goAvailable()) {
  throw new Error(
    "cluster_bench needs Go and golang-github-golang-groupcache-dev",
  );
}
if (!hasCommand("wrk")) throw new Error("cluster_bench needs wrk on PATH");
if (!hasCommand("/usr/bin/time")) {
  throw new Error("cluster_bench needs GNU time at /usr/bin/time");
}
for (const kind of kinds) kind.prepare();

const modes = cpuModes(QUICK, {
  pinned: "all nodes on CPU 0 (Go: GOMAXPROCS=1), wrk on CPU 1",
  stock: "nothing pinned (Go: default GOMAXPROCS), wrk and the nodes " +
    "share both cores",
});

const range = (s: Stats, unit = "", digits = 3) =>
  `${fmt(s.min, digits)}${unit} / **${fmt(s.median, digits)}${unit}** / ${
    fmt(s.max, digits)
  }${unit}`;

const WORKLOADS = ["cold", "cold cache", "warm"] as const;
type Workload = typeof WORKLOADS[number];

/** What each workload asks, for the tables and the targets. */
function workloadOf(workload: Workload, nodes: number): string {
  const callers = `wrk -t${nodes} -c${connectionsFor(nodes)}`;
  const cold = `every request a key never asked before, 1 KiB values, ` +
    `${callers}, ${COLD_SECONDS} s`;
  return workload === "cold"
    ? `${nodes} fresh nodes, ${cold} from the start`
    : workload === "cold cache"
    ? `${nodes} fresh nodes, ${cold} after ${
      fmt(WARMUP_LOADS)
    } first loads per node (at most ${
      COLD_SECONDS + CODE_WARMUP_SECONDS
    } s) of other never-asked keys`
    : `${nodes} nodes, ${fmt(KEYS)} keys prefilled, 1 KiB values, Zipf ` +
      `(s = 1), ${callers}`;
}

/** The table of one cluster size, CPU placement and workload. */
function table(sized: Kind[], runs: Run[][]): string {
  const rps = runs.map((rs) => stats(rs.map((r) => r.requestsPerSec)));
  const p99 = runs.map((rs) => stats(rs.map((r) => r.p99)));
  const cpu = runs.map((rs) =>
    stats(
      rs.map((r) => r.nodeCpu.reduce((a, b) => a + b, 0) * 1e6 / r.requests),
    )
  );
  return markdownTable(
    [
      "cluster",
      "requests/s",
      "÷ Go",
      "p50 latency",
      "p99 latency",
      "p99 ÷ Go's",
      "peer fetches per user request",
      "peer errors (all rounds)",
      "nodes' CPU s (sum)",
      "other jobs' CPU s on the nodes' CPUs",
      "nodes' CPU µs per request",
      "Go's CPU per request ÷ this",
      "wrk CPU s",
    ],
    sized.map((k, i) => [
      k.name,
      range(rps[i], "", 3),
      `**${(rps[i].median / rps[0].median).toFixed(2)}×**`,
      range(stats(runs[i].map((r) => r.p50)), " ms"),
      range(p99[i], " ms"),
      `${(p99[i].median / p99[0].median).toFixed(2)}×`,
      fmt(stats(runs[i].map((r) => r.peerFetchesPerRequest)).median),
      String(runs[i].reduce((a, r) => a + r.peerErrors, 0)),
      fmt(
        stats(runs[i].map((r) => r.nodeCpu.reduce((a, b) => a + b, 0)))
          .median,
        2,
      ),
      fmt(stats(runs[i].map((r) => r.othersCpu)).median, 2),
      range(cpu[i]),
      `${(cpu[0].median / cpu[i].median).toFixed(2)}×`,
      fmt(stats(runs[i].map((r) => r.wrkCpu)).median),
    ]),
  );
}

/** The target comments of one table (Go is `runs[0]`). */
function tableTargets(
  sized: Kind[],
  runs: Run[][],
  nodes: number,
  mode: CpuMode,
  workload: Workload,
): string[] {
  const median = (rs: Run[], f: (r: Run) => number) => stats(rs.map(f)).median;
  const cpuOf = (r: Run) =>
    r.nodeCpu.reduce((a, b) => a + b, 0) * 1e6 / r.requests;
  const out: string[] = [];
  sized.forEach((k, i) => {
    const needed = nodes === 3 ? k.target?.three : k.target?.nine;
    if (k.target === undefined || needed === undefined) return;
    const ratio = median(runs[i], (r) => r.requestsPerSec) /
      median(runs[0], (r) => r.requestsPerSec);
    const common = {
      runtime: k.target.name,
      needed,
      workload: workloadOf(workload, nodes),
    };
    out.push(targetComment({
      ...common,
      bench: `${nodes}-node cluster, ${workload}, requests/s (${mode.name})`,
      target: `≥ ${needed.toFixed(1)}× ${nodes} Go nodes`,
      ratio: Number(ratio.toFixed(2)),
      note: `other jobs took ${
        othersText(median(runs[i], (r) => r.othersCpu))
      } CPU s of the nodes' CPUs per run (Go's runs: ${
        othersText(median(runs[0], (r) => r.othersCpu))
      })`,
    }));
    if (mode.name === "pinned") {
      out.push(targetComment({
        ...common,
        bench: `${nodes}-node cluster, ${workload}, nodes' CPU per request ` +
          "(pinned)",
        target: `Go's ÷ ours ≥ ${needed.toFixed(1)}×`,
        ratio: Number(
          (median(runs[0], cpuOf) / median(runs[i], cpuOf)).toFixed(2),
        ),
        note: "does not depend on how much of the core other jobs left",
      }));
    }
    const p99 = k.target.p99;
    if (workload !== "warm" && nodes === 3 && p99 !== undefined) {
      out.push(targetComment({
        ...common,
        bench: `3-node cluster, ${workload} fill's p99 latency (${mode.name})`,
        target: `≤ ${p99}× Go's`,
        // Go's ÷ ours, so that higher is better as everywhere else.
        ratio: Number(
          (median(runs[0], (r) => r.p99) / median(runs[i], (r) => r.p99))
            .toFixed(2),
        ),
        needed: Number((1 / p99).toFixed(2)),
      }));
    }
  });
  return out;
}

/** The machine's load average, "1-min, 5-min, 15-min". */
function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3)
    .join(", ");
}

const sections: string[] = [];
const targets: string[] = [];
const began = Date.now();
const loadStart = loadAverage();
for (const nodes of SIZES) {
  // 9 nodes: Go and the kinds with a 9-node target.
  const sized = nodes === 3
    ? kinds
    : kinds.filter((k) => k.id === "go" || k.target?.nine !== undefined);
  const rounds = nodes === 3 ? ROUNDS : ROUNDS_9;
  for (const mode of modes) {
    if (modesWanted !== undefined && !modesWanted.includes(mode.name)) continue;
    const ports = await freePorts(nodes);
    const runs = sized.map(() =>
      ({ cold: [], "cold cache": [], warm: [] }) as Record<Workload, Run[]>
    );
    for (let r = 0; r < rounds; r++) {
      const order = sized.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        const done = await round(sized[i], ports, mode);
        for (const w of WORKLOADS) {
          const run = done[w];
          runs[i][w].push(run);
          console.error(
            `${nodes} nodes, ${mode.name}, round ${r + 1}, ${w}: ` +
              `${sized[i].name}: ${fmt(run.requestsPerSec)} req/s, p99 ` +
              `${fmt(run.p99)} ms, ${fmt(run.peerFetchesPerRequest)} peer ` +
              `fetches/request, node CPU ${
                run.nodeCpu.reduce((a, b) => a + b, 0).toFixed(2)
              } s, other jobs ${run.othersCpu.toFixed(2)} s, wrk ` +
              `${run.wrkCpu.toFixed(2)} s`,
          );
        }
      }
    }
    for (const w of WORKLOADS) {
      sections.push(
        "",
        `**${nodes} nodes, ${w}, ${mode.name}** (${
          workloadOf(w, nodes)
        }; ${rounds} rounds): ${mode.describe}.`,
        "",
        table(sized, runs.map((rs) => rs[w])),
      );
      targets.push(
        ...tableTargets(sized, runs.map((rs) => rs[w]), nodes, mode, w),
      );
    }
  }
}
const elapsed = Math.round((Date.now() - began) / 1000);

const markdown = [
  `### 3- and 9-node clusters end to end, cold and warm, vs Go nodes — ` +
  `driven from ${info.summary}`,
  "",
  `Node processes on loopback, each serving \`GET /get?key=K\` ` +
  `(\`group.get\`, a 1 KiB value derived from the key by a getter that ` +
  `only computes it, the same bytes on every node) and the peer protocol ` +
  `on one port; every node 64 MiB. ` +
  `\`wrk -tN -cC --timeout ${TIMEOUT_SECONDS}s --latency -s ` +
  `bench/cluster/zipf.lua\`: one wrk thread per node (C = 96 for 3 nodes, ` +
  `99 for 9). In each round every cluster is started afresh on the same ` +
  `ports and, after one check of a few keys per node, measured three ` +
  `times: **cold** (cold start), wrk from the first second for ` +
  `${COLD_SECONDS} s, every request a key never asked before (so every ` +
  `request is a first load: a miss on the node asked, then a load there ` +
  `or a peer fetch and a load on the owner; the JIT and the connections ` +
  `warm up inside the window); **cold cache**, the same workload on other ` +
  `never-asked keys until ${
    fmt(WARMUP_LOADS)
  } first loads per node since the start (at most ${CODE_WARMUP_SECONDS} ` +
  `s more; not measured, the same work for every runtime), then ` +
  `measured for ${COLD_SECONDS} s on keys never asked either (the code is ` +
  `warm, the cache still empty of them: the first-load path without the ` +
  `JIT's warm-up); ` +
  `then every one of ${fmt(KEYS)} keys is asked once through the first ` +
  `node, ${WARMUP_SECONDS} s of the Zipf load warm it up, and **warm** is ` +
  `measured over ${SECONDS} s: each thread cycles through 65,536 requests ` +
  `drawn from a Zipf (s = 1) mix over the ${fmt(KEYS)} keys. The ` +
  `clusters take turns in an order that alternates round after round ` +
  `(${ROUNDS} rounds at 3 nodes, ${ROUNDS_9} at 9, where only Go, Deno ` +
  `and Bun run). min / **median** / max over the rounds; ratios compare ` +
  `medians. Peer fetches per user request: Σ peerLoads ÷ Σ /get requests ` +
  `of the nodes over the measured run. CPU: each node process's user + ` +
  `system time (all threads, /proc) over the measured run (which also ` +
  `counts wrk's start and stop), summed over the nodes; "nodes' CPU µs ` +
  `per request" does not depend on how much of the CPU the nodes got. ` +
  `"Other jobs' CPU s": busy time of the nodes' CPUs (/proc/stat; CPU 0 ` +
  `when pinned, both otherwise) that neither the nodes nor wrk used, over ` +
  `the run: what other work on the shared machine took. wrk's CPU from ` +
  `GNU time. Node 20 runs a Bun bundle of bench/cluster/node.ts, through ` +
  `@hono/node-server or, "nodePeers + nodeTransport", natively ` +
  `(node:http's createServer, \`nodePeers\` in front of the app's ` +
  `routes, \`nodeTransport()\` with its defaults). ${
    HANDOFF_OFF
      ? "Handoff off (handoffWindowMs: 0 on every node of ours)."
      : "Handoff on (the pool's defaults)."
  } Load average (1, 5, 15 min) ${loadStart} at the ` +
  `start, ${loadAverage()} at the end; the run took ${elapsed} s. ` +
  `Produced by \`bench/cluster_bench.ts\`${QUICK ? " --quick" : ""} ` +
  `(needs Go with golang-github-golang-groupcache-dev, wrk, taskset, GNU ` +
  `time, Node 20 and Bun).`,
  "",
  `groupcache-js (github.com/sameer-m-dev/groupcache-js, issue 15's ` +
  `rival for the Node cluster) is not in this run: it is not on npm and ` +
  `no snapshot of it could be had on the machine that ran this, so the ` +
  `Node rows are recorded against Go until one can be built (another ` +
  `entry in \`kinds\` in bench/cluster_bench.ts).`,
  ...sections,
  "",
  ...targets,
].join("\n");

console.log(markdown);
if (
  kindsWanted === undefined && modesWanted === undefined &&
  !Deno.args.includes("--sizes") && !HANDOFF_OFF
) {
  writeMarkdownSection(benchPath("./results/cluster.md"), "cluster", markdown);
} else {
  console.error("a partial run: results/cluster.md kept");
}

/**
 * Other jobs' CPU seconds for a note: two decimals, and 0 for what /proc's
 * tick counts leave below a hundredth either way (busy minus ours).
 */
function othersText(seconds: number): string {
  return Math.abs(seconds) < 0.005 ? "0" : seconds.toFixed(2);
}
