// The 3-node cluster end to end: three processes per cluster, each with an
// application route that calls group.get (GET /get?key=K) and the peer
// handler on the same port, driven by wrk with a Zipf (s = 1) mix over
// 10,000 keys spread over all three nodes. Clusters side by side:
// - Go: stock golang/groupcache, HTTPPool + net/http (bench/go/cluster);
// - ours on Deno (Deno.serve), Bun (Bun.serve) and Node 20 through the web
//   adapter @hono/node-server (bench/cluster/node.ts; Node runs a bundle
//   Bun makes of it, in bench/.out/cluster/).
// Another kind of node is one entry in `kinds` below: how to prepare it
// (build, bundle) and the command line of one node.
//
// Every value is 1 KiB derived from its key, the same bytes on every node
// (checked before each load). Every node has 64 MiB: all 10,000 keys fit,
// so after the warm-up the owned keys are main-cache hits and the rest are
// hot-cache hits or peer fetches (how many is the "peer fetches per user
// request" column: each group's peerLoads over the /get requests served,
// from each node's GET /stats).
//
// Load: one wrk, `-t3 -c96 -s bench/cluster/zipf.lua`: thread i talks to
// node i (32 connections each) and cycles through 65,536 requests drawn
// from the Zipf mix in its init (seeded, so every run asks the same keys).
//
// Rounds: every round starts each cluster afresh on the same three ports
// (so the ring, and which node owns which key, is the same for every
// cluster), asks its first node for every key once (every key then sits in
// its owner's main cache, however slow the cluster), warms it up with wrk
// for WARMUP seconds, measures SECONDS, and stops it; the clusters take
// turns, in an order that alternates round after round. CPU seconds per node process (user + system, all
// threads) come from /proc, wrk's from GNU time.
//
// CPU placement (the machine has two cores, shared by wrk and three nodes):
// - "pinned": all three nodes on CPU 0 (`taskset -c 0`; Go then runs with
//   GOMAXPROCS=1), wrk on CPU 1, so the load generator never takes CPU from
//   the nodes; the nodes' CPU per request is judged here too;
// - "stock": nothing pinned (Go with its default GOMAXPROCS, 2), wrk and
//   the nodes share both cores (not with --quick).
// Both report requests/s against the targets. Other jobs on the machine
// take their share of either; each run says how much (from /proc/stat).
//
// Usage: deno run -A bench/cluster_bench.ts [--quick] [--rounds N]
//          [--seconds S] [--kinds go,deno,bun,node] [--modes pinned,stock]
// (under Deno only: it starts Deno, Bun and Node nodes itself). Writes
// bench/results/cluster.md.
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
const ROUNDS = numberOption("rounds", QUICK ? 2 : 5);
const SECONDS = numberOption("seconds", QUICK ? 1 : 5);
const WARMUP_SECONDS = QUICK ? 1 : 3;
const NODES = 3;
const THREADS = 3; // one wrk thread per node (see zipf.lua)
const CONNECTIONS = 96;
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
  /** The target its requests/s are judged on, against Go's. */
  target?: { needed: number; name: string };
}

const nodeArgs = (port: number, peers: string[]) => [
  "--port",
  String(port),
  "--peers",
  peers.join(","),
  "--size",
  String(VALUE_BYTES),
];

let goBinary = "";
const nodeBundle = `${root}/bench/.out/cluster/node.bundle.mjs`;

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
    target: { needed: 1.2, name: "deno" },
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
    target: { needed: 1.8, name: "bun" },
  },
  {
    id: "node",
    name: "ours on Node (@hono/node-server)",
    prepare() {
      // Node 20 cannot run TypeScript: a bundle, npm packages left as
      // imports (resolved from the repository's node_modules).
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
    },
    command: (port, peers) => ["node", [nodeBundle, ...nodeArgs(port, peers)]],
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

/** wrk with the Zipf script against the nodes on `ports`. */
function wrk(
  ports: number[],
  seconds: number,
  cpus: string | undefined,
  warmUp = false,
): { rps: number; requests: number; p50: number; p99: number; cpu: number } {
  const [cmd, cmdArgs] = pinned(cpus, "/usr/bin/time", [
    "-f",
    "wrk-cpu %U %S",
    "wrk",
    `-t${THREADS}`,
    `-c${CONNECTIONS}`,
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

/** Starts a cluster of `kind`, warms it up, measures one run, stops it. */
async function round(kind: Kind, ports: number[], mode: CpuMode): Promise<Run> {
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
    await prefill(ports[0]);
    wrk(ports, WARMUP_SECONDS, mode.wrkCpus, true);
    const before = await Promise.all(ports.map(nodeStats));
    const cpu0 = servers.map((s) => cpuSeconds(s.pid) ?? NaN);
    const busy0 = busySeconds(mode.serverCpus);
    const w = wrk(ports, SECONDS, mode.wrkCpus);
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
  pinned: "all three nodes on CPU 0 (Go: GOMAXPROCS=1), wrk on CPU 1",
  stock: "nothing pinned (Go: default GOMAXPROCS), wrk and the three " +
    "nodes share both cores",
});

const range = (s: Stats, unit = "", digits = 3) =>
  `${fmt(s.min, digits)}${unit} / **${fmt(s.median, digits)}${unit}** / ${
    fmt(s.max, digits)
  }${unit}`;

const sections: string[] = [];
const targets: string[] = [];
for (const mode of modes) {
  if (modesWanted !== undefined && !modesWanted.includes(mode.name)) continue;
  const ports = await freePorts(NODES);
  const runs: Run[][] = kinds.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    const order = kinds.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const run = await round(kinds[i], ports, mode);
      runs[i].push(run);
      console.error(
        `${mode.name} round ${r + 1}: ${kinds[i].name}: ` +
          `${fmt(run.requestsPerSec)} req/s, p99 ${fmt(run.p99)} ms, ` +
          `${fmt(run.peerFetchesPerRequest)} peer fetches/request, node CPU ` +
          `${run.nodeCpu.map((c) => c.toFixed(2)).join(" + ")} s, other ` +
          `jobs ${run.othersCpu.toFixed(2)} s, wrk ` +
          `${run.wrkCpu.toFixed(2)} s`,
      );
    }
  }
  const rps = runs.map((rs) => stats(rs.map((r) => r.requestsPerSec)));
  const cpuPerRequest = runs.map((rs) =>
    stats(
      rs.map((r) => r.nodeCpu.reduce((a, b) => a + b, 0) * 1e6 / r.requests),
    )
  );
  const go = 0;
  const ratio = (i: number) => rps[i].median / rps[go].median;
  const cpuRatio = (i: number) =>
    cpuPerRequest[go].median / cpuPerRequest[i].median;
  sections.push(
    "",
    `**${mode.name}**: ${mode.describe}.`,
    "",
    markdownTable(
      [
        "cluster",
        "requests/s",
        "÷ Go",
        "p50 latency",
        "p99 latency",
        "peer fetches per user request",
        "peer errors (all rounds)",
        "CPU s per node process (medians)",
        "other jobs' CPU s on the nodes' CPUs",
        "nodes' CPU µs per request",
        "Go's CPU per request ÷ this",
        "wrk CPU s",
      ],
      kinds.map((k, i) => [
        k.name,
        range(rps[i], "", 3),
        `**${ratio(i).toFixed(2)}×**`,
        range(stats(runs[i].map((r) => r.p50)), " ms"),
        range(stats(runs[i].map((r) => r.p99)), " ms"),
        fmt(stats(runs[i].map((r) => r.peerFetchesPerRequest)).median),
        String(runs[i].reduce((a, r) => a + r.peerErrors, 0)),
        [0, 1, 2].map((n) =>
          stats(runs[i].map((r) => r.nodeCpu[n])).median.toFixed(2)
        ).join(" / "),
        fmt(stats(runs[i].map((r) => r.othersCpu)).median, 2),
        range(cpuPerRequest[i]),
        `${cpuRatio(i).toFixed(2)}×`,
        fmt(stats(runs[i].map((r) => r.wrkCpu)).median),
      ]),
    ),
  );
  kinds.forEach((k, i) => {
    if (k.target === undefined) return;
    targets.push(targetComment({
      bench: `3-node cluster, requests/s (Zipf over 10,000 keys, ${mode.name})`,
      runtime: k.target.name,
      target: `≥ ${k.target.needed.toFixed(1)}× 3 Go nodes`,
      ratio: Number(ratio(i).toFixed(2)),
      needed: k.target.needed,
      note: `other jobs took ${
        fmt(stats(runs[i].map((r) => r.othersCpu)).median, 2)
      } CPU s of the nodes' CPUs per run (Go's runs: ${
        fmt(stats(runs[0].map((r) => r.othersCpu)).median, 2)
      })`,
    }));
    if (mode.name !== "pinned") return;
    targets.push(targetComment({
      bench: "3-node cluster, nodes' CPU per request (pinned)",
      runtime: k.target.name,
      target: `Go's ÷ ours ≥ ${k.target.needed.toFixed(1)}×`,
      ratio: Number(cpuRatio(i).toFixed(2)),
      needed: k.target.needed,
      note: "does not depend on how much of the core other jobs left",
    }));
  });
}

const markdown = [
  `### 3-node cluster end to end vs 3 Go nodes — driven from ${info.summary}`,
  "",
  `Three processes per cluster on the same three ports, each serving ` +
  `\`GET /get?key=K\` (\`group.get\`, a 1 KiB value derived from the key) ` +
  `and the peer protocol on one port; every node 64 MiB. ` +
  `\`wrk -t${THREADS} -c${CONNECTIONS} -d${SECONDS}s ` +
  `--timeout ${TIMEOUT_SECONDS}s --latency -s bench/cluster/zipf.lua\`: ` +
  `one wrk thread (${CONNECTIONS / THREADS} connections) per node, each ` +
  `cycling through 65,536 requests drawn from a Zipf (s = 1) mix over ` +
  `${fmt(KEYS)} keys. ${ROUNDS} rounds; in each, every cluster is started ` +
  `afresh, asked for every key once through its first node (so every key ` +
  `is in its owner's main cache, however fast the cluster), warmed up with ` +
  `${WARMUP_SECONDS} s of the Zipf load, measured, and stopped; the ` +
  `clusters take turns in an order that alternates round after round. ` +
  `min / **median** / max over the rounds; ratios compare medians. Peer ` +
  `fetches per user request: Σ peerLoads ÷ Σ /get requests of the three ` +
  `nodes over the measured run (what each hot-cache policy leaves to the ` +
  `network: Go mirrors one remote value in ten, ours the popular ones). ` +
  `CPU: each node process's user + system time (all threads, /proc) over ` +
  `the measured run, which also counts ${SECONDS} s plus wrk's start and ` +
  `stop: nodes summing to less than that on one core were held back by ` +
  `other jobs on the machine, which is why "nodes' CPU µs per request" is ` +
  `given too (it does not depend on how much of the core the nodes got). ` +
  `"Other jobs' CPU s": busy time of the nodes' CPUs (/proc/stat; CPU 0 ` +
  `when pinned, both otherwise) that neither the nodes nor wrk used, over ` +
  `the run: what other work on the shared machine took. ` +
  `wrk's CPU from GNU time. Node 20 runs a Bun bundle of ` +
  `bench/cluster/node.ts. Produced by \`bench/cluster_bench.ts\`${
    QUICK ? " --quick" : ""
  } (needs Go with golang-github-golang-groupcache-dev, wrk, taskset, GNU ` +
  `time, Node 20 and Bun).`,
  "",
  `groupcache-js (github.com/sameer-m-dev/groupcache-js, issue 15's ` +
  `rival for the Node cluster) is not in this run: it is not on npm and ` +
  `no snapshot of it could be had on the machine that ran this, so the ` +
  `Node row is recorded against Go until one can be built (a fourth entry ` +
  `in \`kinds\` in bench/cluster_bench.ts).`,
  ...sections,
  "",
  ...targets,
].join("\n");

console.log(markdown);
if (kindsWanted === undefined && modesWanted === undefined) {
  writeMarkdownSection(benchPath("./results/cluster.md"), "cluster", markdown);
} else {
  console.error("--kinds or --modes: a partial run, results/cluster.md kept");
}
