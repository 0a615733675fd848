// Node 20, natively: @x/groupcache/node (node.ts) against Node's own floor
// and against our web handler through @hono/node-server, every contender a
// Node process, side by side in one run.
//
// Serving: three Node servers, each in its own process pinned to CPU 0
// (wrk on CPU 1), all answering GET /_groupcache/bench/k with the same
// 1,027-byte GetResponse (a cached 1 KiB value):
//   - nodeListener(pool) on node:http (ours, native);
//   - a bare node:http server writing that fixed body (Node's floor);
//   - pool.handler through @hono/node-server (ours, web Request/Response).
// Each round runs `wrk -t1 -c64 -d5s --latency` against each, rotating who
// goes first, after a warm-up each; the server's CPU time per request comes
// from /proc. Target: native ≥ 0.9× the bare server's requests/s.
//
// Fetching: one Node client process (CPU 0) asks a native server (CPU 1)
// for 1 KiB values, in short alternating chunks (A B C, C B A, ...): a
// remote group.get through nodeTransport (hot cache "never", so every get
// is a round trip), the same through the default fetch, and a bare
// keep-alive http.request that reads the body; and, to split the cost, the
// pool's peer getter (HttpPeer.get) and nodeTransport alone (a request and
// its body, no checks, no decode). process.cpuUsage() around
// each chunk gives CPU per GET. Target: nodeTransport ≤ 1.2× the bare
// request's CPU (bare ÷ ours ≥ 0.83×), sequential and at 64 callers.
//
// groupcache-js (github sameer-m-dev/groupcache-js) is not measured here:
// it is not on npm, and no copy of it can be had here (npm and Debian only).
//
// With --baseline DIR (another checkout, e.g. `git archive` of main), that
// library's group.get through its nodeTransport joins the fetching chunks:
// before and after in one run.
//
// Usage: deno run -A bench/node_bench.ts [--quick] [--rounds N] [--seconds S]
//          [--baseline DIR]
// Bundles itself with Bun into bench/.out/ for Node (which cannot run
// TypeScript); the children are that bundle run with `--child MODE`.
// Writes bench/results/node.md.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Agent, createServer, request as httpRequest } from "node:http";
import process from "node:process";
import {
  encodeGetResponse,
  Group,
  HttpPool,
  Registry,
  silentLogger,
} from "../mod.ts";
import { nodeListener, nodeTransport } from "../node.ts";
import { freePort } from "../tests/_dev/ports.ts";
import { runSync, type Server, startServer } from "../tests/_dev/proc.ts";
import { findBun } from "../tests/_dev/runtimes.ts";
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
  cpuSeconds,
  flag,
  numberOption,
  pinned,
  targetComment,
  wrk,
  type WrkResult,
} from "./_proc.ts";

const PATH = "/_groupcache/bench/k";
const VALUE = Uint8Array.from({ length: 1024 }, (_, i) => i & 0xff);

/** The cached value's group, as every server and the client have it. */
function benchGroup(pool: HttpPool | undefined, registry: Registry): Group {
  return new Group("bench", 64 << 20, (_key, dest) => dest.setBytes(VALUE), {
    registry,
    peers: pool,
    hotCache: "never",
  });
}

// ---- children (run by Node from the bundle) ----

async function serveChild(mode: string, port: number): Promise<void> {
  const registry = new Registry();
  const pool = new HttpPool(`http://127.0.0.1:${port}`, {
    registry,
    logger: silentLogger,
  });
  const group = benchGroup(undefined, registry);
  await group.get("k");
  if (mode === "native") {
    const server = createServer(nodeListener(pool));
    await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  } else if (mode === "bare") {
    const body = encodeGetResponse(VALUE);
    const server = createServer((_req, res) => {
      res.writeHead(200, {
        "content-type": "application/x-protobuf",
        "content-length": String(body.length),
      });
      res.end(body);
    });
    await new Promise<void>((ok) => server.listen(port, "127.0.0.1", ok));
  } else if (mode === "hono") {
    const { serve } = await import("@hono/node-server");
    await new Promise<void>((ok) =>
      serve({ fetch: pool.handler, port, hostname: "127.0.0.1" }, () => ok())
    );
  } else throw new Error(`unknown server mode ${mode}`);
  console.log(`listening ${port}`);
  process.stdin.on("data", () => {});
  process.stdin.on("end", () => process.exit(0));
}

interface ClientFigures {
  /** CPU µs per GET, one sample per chunk, by contender and by phase. */
  cpu: Record<string, { sequential: number[]; concurrent: number[] }>;
  /** GETs per second of the same chunks. */
  rate: Record<string, { sequential: number[]; concurrent: number[] }>;
}

async function clientChild(
  server: string,
  quick: boolean,
  baselineBundle: string | undefined,
): Promise<void> {
  const self = "http://127.0.0.1:9"; // only asks
  const make = (transport?: ReturnType<typeof nodeTransport>) => {
    const registry = new Registry();
    const pool = new HttpPool(self, {
      registry,
      logger: silentLogger,
      ...(transport ? { transport } : {}),
    });
    pool.set(self, server);
    return { pool, group: benchGroup(pool, registry) };
  };
  const transport = nodeTransport();
  const native = make(transport);
  const viaFetch = make();
  const keys: string[] = [];
  for (let i = 0; keys.length < 256; i++) {
    if (native.pool.owner(`key-${i}`) === server) keys.push(`key-${i}`);
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const peer = native.pool.pickPeer(keys[0])!;
  const signals = Array.from(
    { length: 64 },
    () => new AbortController().signal,
  );
  let turn = 0;
  const bare = (key: string) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server}/_groupcache/bench/${key}`, {
        agent,
        headers: { "accept-encoding": "identity" },
      }, (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("end", () => resolve(chunks.length));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
  // The same group.get from the library at --baseline DIR, if given.
  const before = baselineBundle === undefined ? undefined : await (async () => {
    const lib = await import(baselineBundle) as Baseline;
    const registry = new lib.Registry();
    const pool = new lib.HttpPool(self, {
      registry,
      logger: silentLogger,
      transport: lib.nodeTransport(),
    });
    pool.set(self, server);
    return new lib.Group(
      "bench",
      64 << 20,
      (_key, dest) => dest.setBytes(VALUE),
      {
        registry,
        peers: pool,
        hotCache: "never",
      },
    );
  })();
  const ops: Record<string, (key: string) => Promise<unknown>> = {
    "group.get, nodeTransport": (key) => native.group.get(key),
    "bare http.request, keep-alive": bare,
    "group.get, fetch (default)": (key) => viaFetch.group.get(key),
    // The pool's peer getter alone, with signals made once: what Group.get
    // adds on top (its own AbortController per peer fetch among it) shows.
    "HttpPeer.get, nodeTransport": (key) =>
      peer.get("bench", key, signals[turn++ & 63]),
    // The transport alone: one request and its body, as HttpPeer asks.
    "nodeTransport alone": async (key) => {
      const reply = await transport(`${server}/_groupcache/bench/${key}`, {
        method: "GET",
        headers: { "accept-encoding": "identity" },
        get signal(): AbortSignal {
          throw new Error("nodeTransport reads onAbort, not signal");
        },
        onAbort: () => () => {},
      });
      return reply.body(1 << 20, false);
    },
    ...(before === undefined
      ? {}
      : { "group.get, nodeTransport (--baseline)": (key) => before.get(key) }),
  };
  const names = Object.keys(ops);
  const chunk = async (
    op: (key: string) => Promise<unknown>,
    n: number,
    workers: number,
  ) => {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < n; i = next++) await op(keys[i % keys.length]);
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: workers }, worker));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { cpuUs: (cpu.user + cpu.system) / n, rate: (n * 1000) / ms };
  };
  const figures: ClientFigures = { cpu: {}, rate: {} };
  for (const name of names) {
    figures.cpu[name] = { sequential: [], concurrent: [] };
    figures.rate[name] = { sequential: [], concurrent: [] };
  }
  const pairs = quick ? 4 : 12;
  for (
    const [phase, n, workers] of [
      ["sequential", quick ? 200 : 1_000, 1],
      ["concurrent", quick ? 1_000 : 4_000, 64],
    ] as const
  ) {
    for (const name of names) await chunk(ops[name], n, workers); // warm-up
    for (let p = 0; p < pairs; p++) {
      const order = p % 2 === 0 ? names : [...names].reverse();
      for (const name of order) {
        const r = await chunk(ops[name], n, workers);
        figures.cpu[name][phase].push(r.cpuUs);
        figures.rate[name][phase].push(r.rate);
      }
    }
  }
  console.log(`figures ${JSON.stringify(figures)}`);
  process.exit(0);
}

// ---- the orchestrator (Deno or Bun) ----

const QUICK = flag("quick");
const ROUNDS = numberOption("rounds", QUICK ? 2 : 5);
const SECONDS = numberOption("seconds", QUICK ? 1 : 5);
const WARMUP_SECONDS = QUICK ? 1 : 3;
const SERVE_NEEDED = 0.9;
const CPU_FACTOR = 1.2;

function nodeVersion(): string {
  return spawnSync("node", ["--version"], { encoding: "utf8" }).stdout.trim();
}

/** The library at --baseline DIR, bundled for Node. */
type Baseline = typeof import("../mod.ts") & typeof import("../node.ts");

/**
 * The library at `dir` (another checkout, e.g. `git archive` of main) bundled
 * for Node beside this script, for before/after in one run; its path.
 */
function bundleBaseline(dir: string): string {
  const entry = benchPath("./.out/baseline_entry.ts");
  mkdirSync(dirname(entry), { recursive: true });
  writeFileSync(
    entry,
    ["mod.ts", "node.ts"].map((f) =>
      `export * from ${JSON.stringify(resolve(dir, f))};\n`
    ).join(""),
  );
  return bundle(entry, "./.out/baseline.bundle.mjs");
}

/** `entry` (this script by default) bundled for Node into `out`; its path. */
function bundle(
  entry = benchPath("./node_bench.ts"),
  out = "./.out/node_bench.bundle.mjs",
): string {
  const path = benchPath(out);
  runSync(findBun() ?? "bun", [
    "build",
    entry,
    "--target=node",
    "--packages=external",
    `--outfile=${path}`,
  ]);
  return path;
}

interface Contender {
  name: string;
  mode: string;
  server: Server;
  url: string;
  runs: (WrkResult & { cpuUs: number | undefined })[];
}

const range = (s: Stats, unit = "") =>
  `${fmt(s.min)}${unit} / **${fmt(s.median)}${unit}** / ${fmt(s.max)}${unit}`;

/**
 * One wrk run; again (twice at most) when requests timed out (wrk's 2 s):
 * on a machine other jobs load, a slow server's queue can pass that.
 */
function wrkRetried(
  url: string,
  seconds: number,
  cpus: string | undefined,
): WrkResult {
  for (let attempt = 1;; attempt++) {
    try {
      return wrk(url, { threads: 1, connections: 64, seconds, cpus });
    } catch (err) {
      if (attempt === 3 || !/socket errors/.test(String(err))) throw err;
      console.error(`wrk timed out against ${url}; again (${attempt})`);
      retries++;
    }
  }
}
let retries = 0;

async function orchestrate(): Promise<void> {
  const info = runtimeInfo();
  const node = nodeVersion();
  const script = bundle();
  const pin = canPin();
  const serverCpus = pin ? "0" : undefined;
  const otherCpus = pin ? "1" : undefined;
  const startNode = async (mode: string, cpus: string | undefined) => {
    const port = await freePort();
    const server = await startServer(
      ...pinned(cpus, "node", [script, "--child", mode, String(port)]),
      { name: `node ${mode} server` },
    );
    return { server, url: `http://127.0.0.1:${port}` };
  };

  // Serving.
  const contenders: Contender[] = [];
  const names: [string, string][] = [
    ["native", "nodeListener(pool) on node:http (ours)"],
    ["bare", "bare node:http, fixed body (Node's floor)"],
    ["hono", "pool.handler via @hono/node-server (ours, web)"],
  ];
  try {
    for (const [mode, name] of names) {
      const { server, url } = await startNode(mode, serverCpus);
      contenders.push({ name, mode, server, url: url + PATH, runs: [] });
    }
    const bodies = await Promise.all(
      contenders.map(async (c) => {
        const res = await fetch(c.url);
        return new Uint8Array(await res.arrayBuffer()).join();
      }),
    );
    if (bodies.some((b) => b !== bodies[0])) {
      throw new Error("the servers answer differently");
    }
    const load = (c: Contender, seconds: number) => {
      const cpu0 = cpuSeconds(c.server.pid);
      const r = wrkRetried(c.url, seconds, otherCpus);
      const cpu1 = cpuSeconds(c.server.pid);
      const cpuUs = cpu0 === undefined || cpu1 === undefined
        ? undefined
        : ((cpu1 - cpu0) * 1e6) / r.requests;
      return { ...r, cpuUs };
    };
    for (const c of contenders) load(c, WARMUP_SECONDS);
    for (let r = 0; r < ROUNDS; r++) {
      const order = [...contenders.slice(r % 3), ...contenders.slice(0, r % 3)];
      for (const c of order) {
        const run = load(c, SECONDS);
        c.runs.push(run);
        console.error(
          `serve round ${r + 1}: ${c.name}: ${
            fmt(run.requestsPerSec)
          } req/s, ` +
            `${fmt(run.cpuUs ?? NaN)} µs CPU/request`,
        );
      }
    }
  } finally {
    await Promise.all(contenders.map((c) => c.server.stop()));
  }

  // Fetching.
  let figures: ClientFigures;
  const target = await startNode("native", otherCpus);
  try {
    const baselineAt = args().indexOf("--baseline");
    const [cmd, cmdArgs] = pinned(serverCpus, "node", [
      script,
      "--child",
      "client",
      target.url,
      ...(QUICK ? ["--quick"] : []),
      ...(baselineAt < 0
        ? []
        : ["--baseline", bundleBaseline(args()[baselineAt + 1])]),
    ]);
    const out = runSync(cmd, cmdArgs);
    const line = /^figures (.*)$/m.exec(out);
    if (line === null) {
      throw new Error(`the client printed no figures:\n${out}`);
    }
    figures = JSON.parse(line[1]);
  } finally {
    await target.server.stop();
  }

  // The report.
  const med = (c: Contender) =>
    stats(c.runs.map((r) => r.requestsPerSec)).median;
  const cpuStats = (c: Contender) =>
    c.runs.every((r) => r.cpuUs !== undefined)
      ? stats(c.runs.map((r) => r.cpuUs!))
      : undefined;
  const [native, bare, hono] = contenders;
  const serveRatio = med(native) / med(bare);
  const serveCpu = [native, bare, hono].map(cpuStats);
  const cpuServeRatio = serveCpu[0] && serveCpu[1]
    ? serveCpu[1].median / serveCpu[0].median
    : NaN;
  const busy = (c: Contender, i: number) =>
    serveCpu[i] === undefined
      ? "?"
      : fmt((med(c) * serveCpu[i]!.median) / 1e6, 2);
  const honoRatio = med(native) / med(hono);
  const clientNames = Object.keys(figures.cpu);
  const cpuRatio = (phase: "sequential" | "concurrent") =>
    stats(figures.cpu[clientNames[1]][phase]).median /
    stats(figures.cpu[clientNames[0]][phase]).median;
  const markdown = [
    `### Node ${node} natively — @x/groupcache/node vs Node's floor and our web path`,
    "",
    `Orchestrated from ${info.summary}; every contender is a Node ${node} ` +
    `process. Produced by \`bench/node_bench.ts\`${QUICK ? " --quick" : ""}.`,
    "",
    `**Serving** \`wrk -t1 -c64 -d${SECONDS}s --latency URL${PATH}\` (a ` +
    `cached 1 KiB value, the same 1,027-byte body from each), ${ROUNDS} ` +
    `rounds rotating the order after a ${WARMUP_SECONDS} s warm-up each; ` +
    (pin
      ? "each server pinned to CPU 0, wrk to CPU 1. "
      : "nothing pinned (no taskset). ") +
    `min / **median** / max over the rounds. Native ÷ bare = ` +
    `**${serveRatio.toFixed(2)}×** (target ≥ ${SERVE_NEEDED}×); native ÷ ` +
    `web via @hono/node-server = **${honoRatio.toFixed(2)}×**. In server ` +
    `CPU per request, bare ÷ native = **${cpuServeRatio.toFixed(2)}×**: ` +
    `less sensitive to other jobs than requests/s ("cores busy" below 1 ` +
    `means other jobs held the server or wrk back).`,
    "",
    markdownTable(
      [
        "server",
        "requests/s",
        "p99 latency",
        "server CPU µs/request",
        "cores busy",
        "÷ bare (req/s)",
      ],
      contenders.map((c, i) => {
        const cpu = cpuStats(c);
        return [
          c.name,
          range(stats(c.runs.map((r) => r.requestsPerSec))),
          range(stats(c.runs.map((r) => r.p99)), " ms"),
          cpu === undefined ? "—" : range(cpu),
          busy(c, i),
          `${(med(c) / med(bare)).toFixed(2)}×`,
        ];
      }),
    ),
    "",
    `**Fetching** a remote 1 KiB value from a native server (client ` +
    (pin ? "on CPU 0, server on CPU 1" : "and server unpinned") +
    `), the client's CPU per GET (process.cpuUsage(), all threads) over ` +
    `${figures.cpu[clientNames[0]].sequential.length} alternating chunks ` +
    `per contender and phase, min / **median** / max. Bare ÷ nodeTransport: ` +
    `**${cpuRatio("sequential").toFixed(2)}×** sequential, ` +
    `**${cpuRatio("concurrent").toFixed(2)}×** at 64 callers (target ≥ ` +
    `${(1 / CPU_FACTOR).toFixed(2)}×, i.e. ≤ ${CPU_FACTOR}× the bare CPU).`,
    "",
    markdownTable(
      [
        "client",
        "CPU µs/GET, 1 caller",
        "GETs/s, 1 caller",
        "CPU µs/GET, 64 callers",
        "GETs/s, 64 callers",
      ],
      clientNames.map((name) => [
        name,
        range(stats(figures.cpu[name].sequential)),
        range(stats(figures.rate[name].sequential)),
        range(stats(figures.cpu[name].concurrent)),
        range(stats(figures.rate[name].concurrent)),
      ]),
    ),
    "",
    "groupcache-js is not in this table: it is not on npm, and no copy of " +
    "it could be had on the machine that ran this (npm and Debian only)." +
    (retries > 0
      ? ` ${retries} wrk run(s) had requests time out (over 2 s, on a ` +
        "loaded machine) and were run again."
      : ""),
    "",
    targetComment({
      bench: "Node: peer serving, requests/s (wrk, pinned)",
      runtime: `node ${node}`,
      target: `≥ ${SERVE_NEEDED}× a bare node:http fixed-body server`,
      ratio: Number(serveRatio.toFixed(2)),
      needed: SERVE_NEEDED,
      note: `${honoRatio.toFixed(2)}× our web handler via @hono/node-server; ` +
        `servers kept ${busy(native, 0)} (ours) and ${busy(bare, 1)} (bare) ` +
        "of their core busy: below 1, other jobs took the rest",
    }),
    targetComment({
      bench: "Node: peer serving, server CPU µs/request (pinned)",
      runtime: `node ${node}`,
      target: `bare's ÷ ours ≥ ${SERVE_NEEDED}×`,
      ratio: Number(cpuServeRatio.toFixed(2)),
      needed: SERVE_NEEDED,
      note: `ours ${fmt(serveCpu[0]?.median ?? NaN)} µs, bare ${
        fmt(serveCpu[1]?.median ?? NaN)
      } µs, web via @hono/node-server ${fmt(serveCpu[2]?.median ?? NaN)} µs`,
    }),
    ...(["sequential", "concurrent"] as const).map((phase) =>
      targetComment({
        bench: `Node: remote get CPU, ${
          phase === "sequential" ? "1 caller" : "64 callers"
        }`,
        runtime: `node ${node}`,
        target:
          `≤ ${CPU_FACTOR}× a bare keep-alive http.request (bare ÷ ours ≥ ${
            (1 / CPU_FACTOR).toFixed(2)
          }×)`,
        ratio: Number(cpuRatio(phase).toFixed(2)),
        needed: Number((1 / CPU_FACTOR).toFixed(2)),
        workload: "one 1 KiB value from a native server, each get a round " +
          `trip, ${phase === "sequential" ? "1 caller" : "64 callers"}`,
        note:
          `nodeTransport ${
            fmt(stats(figures.cpu[clientNames[0]][phase]).median)
          } µs, ` +
          `bare ${fmt(stats(figures.cpu[clientNames[1]][phase]).median)} µs, ` +
          `fetch ${
            fmt(stats(figures.cpu[clientNames[2]][phase]).median)
          } µs, HttpPeer.get alone ${
            fmt(stats(figures.cpu[clientNames[3]][phase]).median)
          } µs, nodeTransport alone ${
            fmt(stats(figures.cpu[clientNames[4]][phase]).median)
          } µs per GET` + (clientNames[5] === undefined
            ? ""
            : `; --baseline ${
              fmt(stats(figures.cpu[clientNames[5]][phase]).median)
            } µs`),
      })
    ),
  ].join("\n");
  console.log(markdown);
  writeMarkdownSection(benchPath("./results/node.md"), "node", markdown);
}

const argv = args();
const child = argv.indexOf("--child");
if (child >= 0) {
  const mode = argv[child + 1];
  if (mode === "client") {
    const baselineAt = argv.indexOf("--baseline");
    await clientChild(
      argv[child + 2],
      argv.includes("--quick"),
      baselineAt < 0 ? undefined : argv[baselineAt + 1],
    );
  } else await serveChild(mode, Number(argv[child + 2]));
} else {
  await orchestrate();
  process.exit(0);
}
