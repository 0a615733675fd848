// Batches, side by side in one run, on 3 real nodes over loopback: this
// process's node (served, the one asking) and two node processes of the same
// runtime (this script with --peer), 10,000 keys of 1 KiB, `hotCache:
// "never"` so remote keys stay remote. Every key is loaded once and each case
// run once before measuring, so the owners answer from their caches, the code
// is warm, and the figures are the peer traffic. Each call asks 100 distinct
// keys drawn from a Zipf (s = 1) mix; about a third are this node's.
//
// Default mode, in rounds cut in slices in which the cases take turns:
//   - keys/s through getMany(100) against Promise.all of 100 get, one call at
//     a time and 4 at a time, with the peer requests per 100 keys (a counting
//     transport), the CPU per key of all three processes (/proc), and the
//     values checked byte for byte;
//   - (Deno, Bun) getMany(100) from two more peers that stream their batch
//     answers (each entry sent as soon as it is ready, chunked; answerEach)
//     instead of sending them all at once (answerBatch, what pool.handler
//     does);
//   - 1 and 64 callers of single get, coalesceGets off and on;
//   - what coalescing costs one get: one caller, two in-process nodes.
//   Under Deno it then runs itself under Node (bundled with Bun into
//   bench/.out/): nodeTransport asking, nodeListener answering.
// --sockets: 64 callers of single get and a loop of getMany(100) together
//   for 60 s (--quick: 10 s) through nodeTransport({ maxSockets: 16 }),
//   sampling this process's ESTABLISHED sockets to each peer (/proc) every
//   250 ms: the max against the limit, and the first against the last
//   tenth of the run.
//
// Usage: deno run -A bench/batch_bench.ts [--rounds N] [--quick] [--sockets] [--no-node]
//        bun bench/batch_bench.ts [--rounds N] [--quick] [--sockets]
// Writes its sections of bench/results/batch.md (one per runtime) and
// bench/results/batch_sockets.md.
import { spawnSync } from "node:child_process";
import { loadavg as osLoadavg } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  Group,
  HttpPool,
  type PeerTransport,
  Registry,
  silentLogger,
} from "../mod.ts";
import { nodeListener, nodeTransport } from "../node.ts";
import { answerEach } from "../src/batch_server.ts";
import {
  BATCH_HEADER,
  BATCH_TYPE,
  type BatchEntry,
  decodeBatchRequest,
  encodeBatchAnswer,
} from "../src/batch_wire.ts";
import { groupServer } from "../src/registry.ts";
import { serveNode } from "../tests/_dev/node_serve.ts";
import { freePorts } from "../tests/_dev/ports.ts";
import { runSync, type Server, startServer } from "../tests/_dev/proc.ts";
import { seededRandom, zipfSampler } from "../tests/_dev/random.ts";
import {
  findBun,
  runtimeCommand,
  runtimeName,
} from "../tests/_dev/runtimes.ts";
import { connectionsTo } from "../tests/_dev/sockets.ts";
import { serve } from "../tests/_dev/serve.ts";
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
  cpuSeconds,
  flag,
  numberOption,
  targetComment,
} from "./_proc.ts";

const quick = flag("quick");
const ROUNDS = numberOption("rounds", quick ? 2 : 5);
const ROUND_MS = quick ? 300 : 1000;
const KEYS = 10_000;
const BATCH = 100;
const VALUE_BYTES = 1024;
const CALLERS = 64;
const SLICES = 10;
// Calls at once in the "4 at a time" rows: pages served concurrently.
const CONCURRENT = 4;
const GROUPS = ["bench", "coalesced"];
const SOCKETS_MS = quick ? 10_000 : 60_000;
const MAX_SOCKETS = 16;
const WORKLOAD = `3 nodes, ${KEYS.toLocaleString("en")} keys, ` +
  `${VALUE_BYTES} B values, Zipf, batches of ${BATCH}`;
const runtime = runtimeName();
const script = fileURLToPath(import.meta.url);
// Where the figures go (the Node run, bundled elsewhere, is told).
const results = args().includes("--results")
  ? option("results")
  : benchPath("./results");

/** The value every node's getter gives `key`, `label` being the owner's. */
function valueOf(label: string, key: string): string {
  return `${label}:${key}`.padEnd(VALUE_BYTES, ".");
}

/** The 1, 5 and 15 minute load averages. */
function loadavg(): string {
  return osLoadavg().map((n) => n.toFixed(1)).join(", ");
}

/** The value of an `--name VALUE` option. */
function option(name: string): string {
  const all = args();
  const at = all.indexOf(`--${name}`);
  if (at < 0 || all[at + 1] === undefined) {
    throw new Error(`batch_bench.ts needs --${name}`);
  }
  return all[at + 1];
}

// ---- a peer node (this script with --peer) ----

/**
 * A batch answer streamed (a private variant, to measure against
 * pool.handler's all-at-once answer): the entries ready in one tick go out
 * as one chunk as soon as they are ready.
 */
function streaming(pool: HttpPool): (req: Request) => Promise<Response> {
  return async (req) => {
    if (req.method !== "POST") return pool.handler(req);
    const path = new URL(req.url).pathname;
    const name = decodeURIComponent(path.slice(pool.basePath.length, -1));
    const group = pool.registry.get(name)!;
    const keys = decodeBatchRequest(new Uint8Array(await req.arrayBuffer()));
    let ready: BatchEntry[] = [];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const flush = () => {
          controller.enqueue(encodeBatchAnswer(ready));
          ready = [];
        };
        void answerEach(groupServer(group), keys, req, false, (entry) => {
          if (ready.length === 0) queueMicrotask(flush);
          ready.push(entry);
        }).then(() => queueMicrotask(() => controller.close()));
      },
    });
    return new Response(body, {
      headers: { "content-type": BATCH_TYPE, [BATCH_HEADER]: "1" },
    });
  };
}

async function peerMain(): Promise<void> {
  const port = Number(option("port"));
  const label = option("label");
  const pool = new HttpPool(`http://127.0.0.1:${port}`, {
    registry: new Registry(),
    logger: silentLogger,
  });
  pool.set(...option("peers").split(","));
  for (const name of GROUPS) {
    new Group(name, 64 << 20, (key) => valueOf(label, key), { peers: pool });
  }
  if (runtime === "node") await serveNode(nodeListener(pool), port);
  else await serve(flag("stream") ? streaming(pool) : pool.handler, port);
  console.log(`listening 127.0.0.1:${port}`);
  const exit = () => process.exit(0);
  process.stdin.on("end", exit);
  process.stdin.on("close", exit);
  process.stdin.resume();
  process.on("SIGTERM", exit);
}

// ---- the asking node ----

/** Three nodes: this one (served here) and two peer processes. */
interface Cluster {
  readonly pool: HttpPool;
  readonly urls: string[];
  /** Per group name. */
  readonly groups: Record<string, Group>;
  /** Peer requests made so far. */
  requests(): number;
  /** CPU seconds the three processes have used so far (from /proc). */
  cpu(): number;
  stop(): Promise<void>;
}

async function startCluster(
  transport: PeerTransport | undefined,
  stream: boolean,
): Promise<Cluster> {
  const ports = await freePorts(3);
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  let requests = 0;
  const counted: PeerTransport | undefined = transport &&
    ((url, request) => {
      requests++;
      return transport(url, request);
    });
  const pool = new HttpPool(urls[0], {
    registry: new Registry(),
    logger: silentLogger,
    ...(counted !== undefined ? { transport: counted } : {
      fetch: (url: string, init: RequestInit) => {
        requests++;
        return fetch(url, init);
      },
    }),
  });
  pool.set(...urls);
  const groups: Record<string, Group> = {};
  for (const name of GROUPS) {
    groups[name] = pool.newGroup(
      name,
      64 << 20,
      (key) => valueOf("self", key),
      { hotCache: "never", coalesceGets: name === "coalesced" },
    );
  }
  const served = runtime === "node"
    ? await serveNode(nodeListener(pool), ports[0])
    : await serve(pool.handler, ports[0]);
  const peers: Server[] = [];
  const stop = async () => {
    await Promise.allSettled([served.close(), ...peers.map((p) => p.stop())]);
    pool.close();
  };
  try {
    for (const [i, port] of ports.slice(1).entries()) {
      const peerArgs = [
        "--peer",
        "--port",
        String(port),
        "--peers",
        urls.join(","),
        "--label",
        `p${i + 1}`,
        ...(stream ? ["--stream"] : []),
      ];
      const [cmd, cmdArgs] = runtime === "node"
        ? [process.execPath, [...process.execArgv, script, ...peerArgs]]
        : runtimeCommand(script, peerArgs);
      peers.push(
        await startServer(cmd, cmdArgs, {
          name: `peer node p${i + 1} on :${port}`,
          timeoutMs: 30_000,
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const pids = [process.pid, ...peers.map((p) => p.pid)];
  const cpu = () => pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
  return { pool, urls, groups, requests: () => requests, cpu, stop };
}

const all = Array.from({ length: KEYS }, (_, i) => `key-${i}`);
const zipf = zipfSampler(KEYS, seededRandom(0xba7c));
/** 100 distinct keys from the Zipf mix. */
function draw(): string[] {
  const keys = new Set<string>();
  while (keys.size < BATCH) keys.add(all[zipf()]);
  return [...keys];
}

/** Loads every key once (its owner caches it), then checks a call's bytes. */
async function prepare(cluster: Cluster): Promise<[number, number]> {
  const { pool, urls, groups } = cluster;
  for (let i = 0; i < KEYS; i += 500) {
    const page = all.slice(i, i + 500);
    await Promise.all(page.map((k) => groups.bench.get(k)));
    await groups.coalesced.getMany(page);
  }
  const want = (key: string) => {
    const owner = urls.indexOf(pool.owner(key)!);
    return valueOf(owner === 0 ? "self" : `p${owner}`, key);
  };
  const check = draw();
  let before = cluster.requests();
  const many = await groups.bench.getMany(check);
  const manyRequests = cluster.requests() - before;
  for (const key of check) {
    if (many.values.get(key)?.toString() !== want(key)) {
      throw new Error(`getMany: wrong value for ${key}`);
    }
  }
  before = cluster.requests();
  const singles = await Promise.all(check.map((k) => groups.bench.get(k)));
  const singleRequests = cluster.requests() - before;
  singles.forEach((v, i) => {
    if (v.toString() !== want(check[i])) throw new Error("get: wrong value");
  });
  return [manyRequests, singleRequests];
}

/** What one case did in a slice of a round. */
interface Done {
  /** Keys (calls of 100 keys) or gets (single gets) done. */
  units: number;
  /** Peer requests made meanwhile. */
  requests: number;
  /** CPU seconds the cluster's three processes used meanwhile. */
  cpu: number;
}

/** Per case and round: units/s, peer requests per unit, CPU µs per unit. */
type Sample = [number, number, number];

/** A case: runs for `ms`, says what it did. */
type Case = (ms: number) => Promise<Done>;

/** `n` callers of `call` (100 keys a call), each calling again once done. */
function batches(
  cluster: Cluster,
  call: () => Promise<void>,
  n = 1,
): Case {
  return (ms) =>
    measured(cluster, async (start) => {
      let keys = 0;
      await Promise.all(
        Array.from({ length: n }, async () => {
          while (performance.now() - start < ms) {
            await call();
            keys += BATCH;
          }
        }),
      );
      return keys;
    });
}

/** `n` callers of single get, each asking its next key once it has its last. */
function callers(cluster: Cluster, group: Group, n: number): Case {
  return (ms) =>
    measured(cluster, async (start) => {
      let gets = 0;
      await Promise.all(
        Array.from({ length: n }, async () => {
          while (performance.now() - start < ms) {
            await group.get(all[zipf()]);
            gets++;
          }
        }),
      );
      return gets;
    });
}

/** Runs `work` (it says how many units it did), counting requests and CPU. */
async function measured(
  cluster: Cluster,
  work: (start: number) => Promise<number>,
): Promise<Done> {
  const requests = cluster.requests();
  const cpu = cluster.cpu();
  const units = await work(performance.now());
  return {
    units,
    requests: cluster.requests() - requests,
    cpu: cluster.cpu() - cpu,
  };
}

/**
 * Runs `cases` for `rounds` rounds of ROUND_MS each, every round cut in
 * SLICES slices in which the cases take turns (A B C, then C B A, ...), so
 * that a machine whose load changes weighs on all alike. Per case and
 * round: units per second, and peer requests per unit.
 */
async function interleaved(
  cases: Record<string, Case>,
  rounds: number,
): Promise<Record<string, Sample[]>> {
  const out: Record<string, Sample[]> = {};
  const names = Object.keys(cases);
  for (let r = 0; r < rounds; r++) {
    const sum = new Map(
      names.map((name) => [name, { units: 0, requests: 0, ms: 0, cpu: 0 }]),
    );
    for (let slice = 0; slice < SLICES; slice++) {
      const order = slice % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const start = performance.now();
        const done = await cases[name](ROUND_MS / SLICES);
        const total = sum.get(name)!;
        total.units += done.units;
        total.requests += done.requests;
        total.cpu += done.cpu;
        total.ms += performance.now() - start;
      }
    }
    for (const [name, t] of sum) {
      (out[name] ??= []).push([
        t.units * 1000 / t.ms,
        t.requests / t.units,
        t.cpu * 1e6 / t.units,
      ]);
    }
  }
  return out;
}

/**
 * What coalescing costs one get's latency, without the network's noise: one
 * caller of single get, every key remote, on two in-process nodes wired by
 * a fetch that calls the other's handler. µs per get, off and on.
 */
async function coalescingCost(): Promise<[string, Stats, Stats][]> {
  const urls = ["http://a.test", "http://b.test"];
  const pools: HttpPool[] = [];
  const fetch = (url: string, init: RequestInit) =>
    pools[urls.indexOf(new URL(url).origin)].handler(new Request(url, init));
  const groups = urls.map((url) => {
    const pool = new HttpPool(url, { registry: new Registry(), fetch });
    pool.set(...urls);
    pools.push(pool);
    return GROUPS.map((name) =>
      pool.newGroup(name, 64 << 20, (key) => valueOf(url, key), {
        hotCache: "never",
        coalesceGets: name === "coalesced",
      })
    );
  })[0];
  const remote = all.filter((key) => pools[0].owner(key) === urls[1]);
  // Each get a remote key the owner has cached: a request every time.
  await groups[0].getMany(remote);
  await groups[1].getMany(remote);
  // Slices of gets, off and on taking turns; wall and CPU time per get.
  const names = ["coalesceGets: false", "coalesceGets: true"];
  const wall: number[][] = [[], []], cpu: number[][] = [[], []];
  let next = 0;
  for (let r = 0; r <= ROUNDS; r++) {
    const sums = [[0, 0, 0], [0, 0, 0]]; // gets, wall ms, CPU µs
    for (let slice = 0; slice < SLICES; slice++) {
      for (const i of slice % 2 === 0 ? [0, 1] : [1, 0]) {
        const start = performance.now();
        const used = process.cpuUsage();
        let gets = 0;
        while (performance.now() - start < ROUND_MS / SLICES) {
          await groups[i].get(remote[next++ % remote.length]);
          gets++;
        }
        const { user, system } = process.cpuUsage(used);
        sums[i][0] += gets;
        sums[i][1] += performance.now() - start;
        sums[i][2] += user + system;
      }
    }
    if (r === 0) continue; // the warm-up round
    sums.forEach(([gets, ms, us], i) => {
      wall[i].push(ms * 1000 / gets);
      cpu[i].push(us / gets);
    });
  }
  for (const pool of pools) pool.close();
  return names.map((name, i) => [name, stats(wall[i]), stats(cpu[i])]);
}

const range = (s: Stats) => `${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)}`;

async function throughput(): Promise<void> {
  const transport = runtime === "node" ? nodeTransport() : undefined;
  const cluster = await startCluster(transport, false);
  // The streaming peers' cluster (web servers only: Deno, Bun).
  let streamed: Cluster | undefined;
  try {
    if (runtime !== "node") streamed = await startCluster(undefined, true);
    const [manyRequests, singleRequests] = await prepare(cluster);
    if (streamed !== undefined) await prepare(streamed);
    const { bench, coalesced } = cluster.groups;
    const getMany = (group: Group, n = 1, of = cluster) =>
      batches(of, async () => {
        const { values } = await group.getMany(draw());
        if (values.size !== BATCH) throw new Error("getMany: errors");
      }, n);
    const all100 = async () => {
      await Promise.all(draw().map((k) => bench.get(k)));
    };
    const cases: Record<string, Case> = {
      "getMany(100)": getMany(bench),
      "Promise.all of 100 get": batches(cluster, all100),
      "getMany(100), 4 at a time": getMany(bench, CONCURRENT),
      "Promise.all of 100 get, 4 at a time": batches(
        cluster,
        all100,
        CONCURRENT,
      ),
    };
    if (streamed !== undefined) {
      cases["getMany(100), answers streamed"] = getMany(
        streamed.groups.bench,
        1,
        streamed,
      );
    }
    const singleCases: Record<string, Case> = {
      "1 caller, coalesceGets: false": callers(cluster, bench, 1),
      "1 caller, coalesceGets: true": callers(cluster, coalesced, 1),
      "64 callers, coalesceGets: false": callers(cluster, bench, CALLERS),
      "64 callers, coalesceGets: true": callers(cluster, coalesced, CALLERS),
    };
    // Warm-up: a round of each, unmeasured (the JIT, the sockets).
    await interleaved(cases, 1);
    await interleaved(singleCases, 1);
    const samples = await interleaved(cases, ROUNDS);
    const singleSamples = await interleaved(singleCases, ROUNDS);
    const latency = await coalescingCost();
    report(samples, singleSamples, manyRequests, singleRequests, latency);
  } finally {
    await Promise.allSettled([cluster.stop(), streamed?.stop()]);
    transport?.close();
  }
}

function report(
  samples: Record<string, Sample[]>,
  singleSamples: Record<string, Sample[]>,
  manyRequests: number,
  singleRequests: number,
  latency: [string, Stats, Stats][],
): void {
  const info = runtimeInfo();
  const of = (name: string, i: 0 | 1 | 2) =>
    stats(samples[name].map((sample) => sample[i]));
  const rows = Object.keys(samples).map((name) => [
    name,
    range(of(name, 0)),
    fmt(of(name, 1).median * BATCH),
    fmt(of(name, 2).median),
  ]);
  for (const row of rows) console.log(row.join(": "));
  const many = of("getMany(100)", 0).median;
  const ratio = many / of("Promise.all of 100 get", 0).median;
  const ratio4 = of("getMany(100), 4 at a time", 0).median /
    of("Promise.all of 100 get, 4 at a time", 0).median;
  const cpuRatio = of("Promise.all of 100 get", 2).median /
    of("getMany(100)", 2).median;
  console.log(
    `getMany / Promise.all: ${fmt(ratio)}× (4 at a time ${fmt(ratio4)}×), ` +
      `CPU per key ${fmt(cpuRatio)}× less`,
  );
  const streamedRatio = samples["getMany(100), answers streamed"] === undefined
    ? undefined
    : of("getMany(100), answers streamed", 0).median / many;
  const singleRows = Object.entries(singleSamples).map(([name, s]) => [
    name,
    range(stats(s.map(([g]) => g))),
    fmt(stats(s.map(([, p]) => p)).median),
  ]);
  for (const row of singleRows) console.log(row.join(": "));
  const median = (name: string, i: 0 | 1) =>
    stats(singleSamples[name].map((s) => s[i])).median;
  const on = "64 callers, coalesceGets: true";
  const off = "64 callers, coalesceGets: false";
  const coalesceGain = median(on, 0) / median(off, 0);
  const requestsRatio = median(on, 1) / median(off, 1);
  const lowLoad = median("1 caller, coalesceGets: true", 0) /
    median("1 caller, coalesceGets: false", 0);
  console.log(
    `coalescing at 64 callers: ${fmt(coalesceGain)}× gets/s, ` +
      `${fmt(requestsRatio)}× requests per get; 1 caller: ${fmt(lowLoad)}×`,
  );
  for (const [name, w, c] of latency) {
    console.log(`one get, ${name}: ${range(w)} µs, CPU ${range(c)} µs`);
  }
  const asking = runtime === "node"
    ? "nodeTransport asking, nodeListener answering (node:http)"
    : "the default fetch asking, the runtime's own server answering";
  writeMarkdownSection(
    `${results}/batch.md`,
    `batch:${info.runtime}`,
    `### getMany(100) vs Promise.all of 100 get, 3 nodes — ${info.summary}

This node and two node processes of the same runtime over loopback, ${asking};
${fmt(KEYS)} keys of 1 KiB (all cached on their owners), \`hotCache:
"never"\`; 100 distinct keys a call from a Zipf (s = 1) mix, about a third
this node's (the share varies with the ports). Keys/s, min / median / max over
${ROUNDS} rounds of ${ROUND_MS} ms per case, each cut in ${SLICES} slices in
which the cases take turns, after a warm-up round; load average
${loadavg()} at the end (a shared 2-core machine). Produced by
\`bench/batch_bench.ts\`.

${
      markdownTable([
        "call",
        "keys/s (min / median / max)",
        "peer requests per 100 keys",
        "CPU µs per key, 3 nodes",
      ], rows)
    }

getMany / Promise.all (medians): **${fmt(ratio)}×** one call at a time,
${fmt(ratio4)}× ${CONCURRENT} at a time; CPU per key ${
      fmt(cpuRatio)
    }× less (all three processes, from /proc)${
      streamedRatio === undefined
        ? ""
        : `; streamed answers / all at once (medians): ${fmt(streamedRatio)}×`
    }

1 and 64 callers of single \`get\` (Zipf keys), each asking its next key
once it has its last, with \`coalesceGets\` off and on; gets/s and peer
requests per get (median):

${
      markdownTable([
        "callers",
        "gets/s (min / median / max)",
        "peer requests per get",
      ], singleRows)
    }

Coalescing at 64 callers: ${fmt(coalesceGain)}× the gets/s, ${
      fmt(requestsRatio)
    }× the peer requests per get; at 1 caller ${fmt(lowLoad)}× the gets/s.

What it costs one get: one caller of single \`get\`, every key remote, on two
in-process nodes (a fetch that calls the other node's handler: no network,
no noise of it); µs per get, wall and CPU (both nodes), min / median / max
over ${ROUNDS} rounds:

${
      markdownTable(
        ["group", "µs per get", "CPU µs per get"],
        latency.map(([name, w, c]) => [name, range(w), range(c)]),
      )
    }

${
      targetComment({
        bench: "batch",
        runtime: info.runtime,
        workload: WORKLOAD,
        target: "getMany(100) ≥ 5× Promise.all of 100 get (keys/s)",
        ratio: ratio / 5,
        needed: 1,
        note: `${fmt(ratio)}× (${CONCURRENT} at a time ${fmt(ratio4)}×, CPU ` +
          `per key ${fmt(cpuRatio)}× less); ${manyRequests} vs ` +
          `${singleRequests} requests`,
      })
    }
${
      targetComment({
        bench: "batch",
        runtime: info.runtime,
        workload: WORKLOAD,
        target: "coalesceGets at 64 callers ≥ 1.5× the gets/s of off",
        ratio: coalesceGain / 1.5,
        needed: 1,
        note: `${fmt(coalesceGain)}×; ${fmt(requestsRatio)}× requests per get`,
      })
    }
${
      targetComment({
        bench: "batch",
        runtime: info.runtime,
        workload: WORKLOAD,
        target: "coalesceGets at 64 callers ≤ 0.3× the peer requests per get",
        ratio: 0.3 / requestsRatio,
        needed: 1,
        note: `${fmt(requestsRatio)}×`,
      })
    }`,
  );
}

async function sockets(): Promise<void> {
  const transport = nodeTransport({ maxSockets: MAX_SOCKETS });
  const cluster = await startCluster(transport, false);
  try {
    await prepare(cluster);
    const peerPorts = cluster.urls.slice(1).map((u) => Number(new URL(u).port));
    const samples: number[][] = peerPorts.map(() => []);
    const sample = () =>
      peerPorts.forEach((port, i) =>
        samples[i].push(connectionsTo(port).ESTABLISHED ?? 0)
      );
    const sampler = setInterval(sample, 250);
    const start = performance.now();
    let manyCalls = 0;
    try {
      await Promise.all([
        callers(cluster, cluster.groups.bench, CALLERS)(SOCKETS_MS),
        (async () => {
          while (performance.now() - start < SOCKETS_MS) {
            await cluster.groups.bench.getMany(draw());
            manyCalls++;
          }
        })(),
      ]);
    } finally {
      clearInterval(sampler);
    }
    sample();
    const tenth = (s: number[], last: boolean) => {
      const n = Math.max(1, Math.floor(s.length / 10));
      return stats(last ? s.slice(-n) : s.slice(0, n)).median;
    };
    const rows = samples.map((s, i) => [
      `peer ${i + 1}`,
      String(Math.max(...s)),
      fmt(stats(s).median),
      fmt(tenth(s, false)),
      fmt(tenth(s, true)),
    ]);
    for (const row of rows) console.log(row.join(": "));
    const max = Math.max(...samples.flat());
    const info = runtimeInfo();
    writeMarkdownSection(
      `${results}/batch_sockets.md`,
      `batch_sockets:${info.runtime}`,
      `### Sockets per peer over ${SOCKETS_MS / 1000} s — ${info.summary}

The 3 nodes of the batch bench, this one asking through
\`nodeTransport({ maxSockets: ${MAX_SOCKETS} })\`: ${CALLERS} callers of
single \`get\` and a loop of \`getMany(100)\` (${fmt(manyCalls)} calls) at
once, for ${SOCKETS_MS / 1000} s. This process's ESTABLISHED sockets to
each peer (from /proc), sampled every 250 ms (${samples[0].length} samples):

${
        markdownTable([
          "peer",
          "max",
          "median",
          "median, first tenth",
          "median, last tenth",
        ], rows)
      }

Produced by \`bench/batch_bench.ts --sockets\`.

${
        targetComment({
          bench: "batch_sockets",
          runtime: info.runtime,
          workload: `${CALLERS} callers of get + getMany(${BATCH}), ` +
            `${SOCKETS_MS / 1000} s`,
          target: `sockets per peer ≤ maxSockets (${MAX_SOCKETS})`,
          ratio: MAX_SOCKETS / Math.max(1, max),
          needed: 1,
          note: `max ${max}`,
        })
      }`,
    );
  } finally {
    await cluster.stop();
    transport.close();
  }
}

/** This script bundled for Node, run there with the same flags. */
function underNode(): void {
  const out = benchPath("./.out/batch_bench.bundle.mjs");
  runSync(findBun() ?? "bun", [
    "build",
    script,
    "--target=node",
    "--packages=external",
    `--outfile=${out}`,
  ]);
  const passed = args().filter((a) => a !== "--no-node");
  const done = spawnSync("node", [out, ...passed, "--results", results], {
    stdio: "inherit",
  });
  if (done.status !== 0) {
    throw new Error(`the Node run failed (${done.status})`);
  }
}

if (flag("peer")) await peerMain();
else {
  await (flag("sockets") ? sockets() : throughput());
  if (runtime === "deno" && !flag("no-node")) underNode();
}
