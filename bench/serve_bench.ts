// Peer serving: HttpPool.handler (src/http_pool.ts) on the runtime's own
// server against stock Go groupcache (NewHTTPPool on http.DefaultServeMux)
// and against the same runtime's server answering the same bytes and headers
// as a fixed body, written the way a user would (a synchronous handler
// returning a prepared body: its floor), with the same wrk load, in the
// same run.
//
// Each server runs in a process of its own: ours and the fixed body are
// bench/serve_child.ts (Deno.serve under Deno, Bun.serve under Bun), Go's is
// bench/go/server. They serve group "bench" with key "k" cached (1 KiB value,
// a 1,027-byte GetResponse); the bodies are checked to be identical (and
// ours and the fixed body's headers) before the load. A fifth server answers
// the fixed body after reading the method, the URL and the Host header, with
// a promise (pool.handler's type): the part of the gap that no router can
// remove (the runtime then builds the request's headers, and takes a turn
// for the promise). Each round runs `wrk -t1 -c64 -d5s --latency
// URL/_groupcache/bench/k` against each, rotating which goes first, after one
// warm-up run each; requests/s and p99 are wrk's.
//
// CPU placement (the machine has two cores, shared by wrk and the server):
// - "pinned", the fair setup and the one the targets are judged on: the
//   server on CPU 0 (`taskset -c 0`), wrk on CPU 1. Every server gets one
//   core; Go then runs with GOMAXPROCS=1 (it sizes itself to its affinity).
// - "stock": nothing pinned, Go with its default GOMAXPROCS (2); wrk competes
//   with the server for both cores. Reported for context (not with --quick).
//
// Usage: deno run -A bench/serve_bench.ts [--quick] [--rounds N] [--seconds S]
//        bun bench/serve_bench.ts [--quick] [--rounds N] [--seconds S]
// Writes bench/results/serve_<runtime>.md.
import { buildGo, goAvailable } from "../tests/_dev/go.ts";
import { freePort } from "../tests/_dev/ports.ts";
import {
  fmt,
  markdownTable,
  runtimeInfo,
  SECRET,
  type Stats,
  stats,
  writeMarkdownSection,
} from "./_util.ts";
import {
  benchPath,
  type CpuMode,
  cpuModes,
  cpuSeconds,
  flag,
  numberOption,
  pinned,
  targetComment,
  wrk,
  type WrkResult,
} from "./_proc.ts";
import { hasCommand, type Server, startServer } from "../tests/_dev/proc.ts";
import { runtimeCommand } from "../tests/_dev/runtimes.ts";
import { PeerSigner, SIGNATURE_HEADER } from "../src/signature.ts";

const QUICK = flag("quick");
const ROUNDS = numberOption("rounds", QUICK ? 2 : 5);
const SECONDS = numberOption("seconds", QUICK ? 1 : 5);
const WARMUP_SECONDS = QUICK ? 1 : 3;
const THREADS = 1;
const CONNECTIONS = 64;
const PATH = "/_groupcache/bench/k";
const info = runtimeInfo();
const NEEDED = info.runtime === "bun" ? 1.2 : 1.0;
/** The fixed-body server's CPU per request ÷ ours (issues 12 and 21). */
const NEEDED_FIXED = 0.92;
const WORKLOAD = "1 key cached, 1 KiB value (a 1,027-byte answer), " +
  `wrk -t${THREADS} -c${CONNECTIONS}`;

if (!goAvailable()) {
  throw new Error(
    "serve_bench needs Go and golang-github-golang-groupcache-dev",
  );
}
if (!hasCommand("wrk")) throw new Error("serve_bench needs wrk on PATH");
const goBinary = buildGo("bench/go/server", "goserver");

const modes = cpuModes(QUICK, {
  pinned: "server on CPU 0, wrk on CPU 1 (Go: GOMAXPROCS=1)",
  stock: "nothing pinned (Go: default GOMAXPROCS)",
});

interface Contender {
  name: string;
  ours: boolean;
  /** Signs the bench's request (a fresh timestamp for each run). */
  sign?: () => Promise<Record<string, string>>;
  server: Server;
  url: string;
  runs: Run[];
}

/** One wrk run, plus the server's CPU time per request when /proc tells. */
interface Run extends WrkResult {
  cpuUsPerRequest: number | undefined;
}

async function startContenders(mode: CpuMode): Promise<Contender[]> {
  const child = async (kind?: "fixed" | "reads" | "signed") => {
    const port = await freePort();
    const [cmd, cmdArgs] = runtimeCommand(benchPath("./serve_child.ts"), [
      String(port),
      ...(kind ? [kind] : []),
    ]);
    return await startServer(...pinned(mode.serverCpus, cmd, cmdArgs));
  };
  const ours = await child();
  const go = await startServer(
    ...pinned(mode.serverCpus, goBinary, ["-addr", "127.0.0.1:0"]),
  );
  const fixed = await child("fixed");
  const signed = await child("signed");
  const reads = await child("reads");
  const signer = new PeerSigner([SECRET]);
  const goPort = go.address.slice(go.address.lastIndexOf(":") + 1);
  const server = info.runtime === "bun" ? "Bun.serve" : "Deno.serve";
  return [
    {
      name: `HttpPool.handler on ${server} (ours)`,
      ours: true,
      server: ours,
      url: `http://127.0.0.1:${ours.address}${PATH}`,
      runs: [],
    },
    {
      name: "Go HTTPPool",
      ours: false,
      server: go,
      url: `http://127.0.0.1:${goPort}${PATH}`,
      runs: [],
    },
    {
      name: `a fixed body on ${server}: a synchronous handler, the same ` +
        "bytes and headers (the floor)",
      ours: false,
      server: fixed,
      url: `http://127.0.0.1:${fixed.address}${PATH}`,
      runs: [],
    },
    {
      name: `HttpPool.handler with a secret on ${server} (signed requests)`,
      ours: true,
      server: signed,
      url: `http://127.0.0.1:${signed.address}${PATH}`,
      sign: () =>
        Promise.resolve({
          [SIGNATURE_HEADER]: signer.sign("GET", PATH, undefined),
        }),
      runs: [],
    },
    {
      name: `the fixed body after reading the method, URL and Host, ` +
        `answered with a promise, on ${server} (what no router removes)`,
      ours: false,
      server: reads,
      url: `http://127.0.0.1:${reads.address}${PATH}`,
      runs: [],
    },
  ];
}

/** A contender's answer: its body, and its headers but the ones every
 * server words its own way (date, length, server). */
async function answer(
  c: Contender,
): Promise<{ bytes: Uint8Array; headers: string }> {
  const url = c.url;
  const res = await fetch(url, { headers: await c.sign?.() });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${url}: status ${res.status}`);
  const headers = [...res.headers]
    .filter(([name]) => !["date", "content-length", "server"].includes(name))
    .map(([name, value]) => `${name}: ${value}`).sort().join(", ");
  return { bytes, headers };
}

async function runMode(mode: CpuMode): Promise<Contender[]> {
  const contenders = await startContenders(mode);
  try {
    const answers = await Promise.all(contenders.map((c) => answer(c)));
    const bodies = answers.map((a) => a.bytes);
    if (
      bodies[0].length !== 1027 ||
      bodies.some((b) => b.join() !== bodies[0].join())
    ) {
      throw new Error(
        `the servers answer differently (${
          bodies.map((b) => b.length).join(", ")
        } bytes)`,
      );
    }
    // Ours and the fixed body send the same headers too (Go's are its own).
    const ourHeaders = answers[0].headers;
    if (answers.some((a, i) => i !== 1 && a.headers !== ourHeaders)) {
      throw new Error(
        `the headers differ: ${answers.map((a) => a.headers).join(" | ")}`,
      );
    }
    const load = async (c: Contender, seconds: number): Promise<Run> => {
      const headers = await c.sign?.();
      const cpu0 = cpuSeconds(c.server.pid);
      const result = wrk(c.url, {
        threads: THREADS,
        connections: CONNECTIONS,
        seconds,
        cpus: mode.wrkCpus,
        headers,
      });
      const cpu1 = cpuSeconds(c.server.pid);
      const cpuUsPerRequest = cpu0 === undefined || cpu1 === undefined
        ? undefined
        : ((cpu1 - cpu0) * 1e6) / result.requests;
      return { ...result, cpuUsPerRequest };
    };
    for (const c of contenders) await load(c, WARMUP_SECONDS);
    for (let r = 0; r < ROUNDS; r++) {
      const first = r % contenders.length;
      const order = [
        ...contenders.slice(first),
        ...contenders.slice(0, first),
      ];
      for (const c of order) {
        const result = await load(c, SECONDS);
        c.runs.push(result);
        console.error(
          `${mode.name} round ${r + 1}: ${c.name}: ` +
            `${fmt(result.requestsPerSec)} req/s, p99 ${fmt(result.p99)} ms, ` +
            `${fmt(result.cpuUsPerRequest ?? NaN)} µs CPU/request`,
        );
      }
    }
  } finally {
    await Promise.all(contenders.map((c) => c.server.stop()));
  }
  return contenders;
}

const range = (s: Stats, unit = "") =>
  `${fmt(s.min)}${unit} / **${fmt(s.median)}${unit}** / ${fmt(s.max)}${unit}`;

const sections: string[] = [];
const targets: string[] = [];
for (const mode of modes) {
  const contenders = await runMode(mode);
  const medians = contenders.map((c) =>
    stats(c.runs.map((r) => r.requestsPerSec)).median
  );
  const ratio = medians[0] / medians[1];
  const floorRatio = medians[0] / medians[2];
  const cpu = contenders.map((c) =>
    c.runs.every((r) => r.cpuUsPerRequest !== undefined)
      ? stats(c.runs.map((r) => r.cpuUsPerRequest!))
      : undefined
  );
  const cpuRatio = cpu[0] && cpu[1] ? cpu[1].median / cpu[0].median : NaN;
  const floorCpu = cpu[0] && cpu[2] ? cpu[2].median / cpu[0].median : NaN;
  // Unsigned ÷ signed CPU per request: ≥ 1/1.1 when a secret costs ≤ 10 %.
  const signedCpu = cpu[0] && cpu[3] ? cpu[0].median / cpu[3].median : NaN;
  sections.push(
    "",
    `**${mode.name}**: ${mode.describe}. Ours ÷ Go = **${
      ratio.toFixed(2)
    }×** in requests/s` +
      (mode.name === "pinned" ? ` (target ≥ ${NEEDED.toFixed(1)}×)` : "") +
      `; Go's CPU time per request ÷ ours = **${cpuRatio.toFixed(2)}×**; ` +
      `ours ÷ the fixed body = **${floorRatio.toFixed(2)}×** in requests/s; ` +
      `its CPU time per request ÷ ours = **${floorCpu.toFixed(2)}×**` +
      (mode.name === "pinned" ? ` (target ≥ ${NEEDED_FIXED})` : "") + ".",
    "",
    markdownTable(
      [
        "server",
        "requests/s",
        "p50 latency",
        "p99 latency",
        "server CPU µs/request",
        "cores busy",
        "ours ÷ it (req/s)",
      ],
      contenders.map((c, i) => [
        c.name,
        range(stats(c.runs.map((r) => r.requestsPerSec))),
        range(stats(c.runs.map((r) => r.p50)), " ms"),
        range(stats(c.runs.map((r) => r.p99)), " ms"),
        cpu[i] === undefined ? "—" : range(cpu[i]!),
        cpu[i] === undefined ? "—" : fmt(
          stats(c.runs.map((r) => r.requestsPerSec)).median *
            cpu[i]!.median / 1e6,
          2,
        ),
        i === 0 ? "—" : `**${(medians[0] / medians[i]).toFixed(2)}×**`,
      ]),
    ),
  );
  if (mode.name === "pinned") {
    const busy = contenders.map((c, i) =>
      cpu[i] === undefined ? "?" : fmt(
        stats(c.runs.map((r) => r.requestsPerSec)).median *
          cpu[i]!.median / 1e6,
        2,
      )
    );
    targets.push(
      targetComment({
        bench: "peer serving, requests/s (wrk, pinned)",
        runtime: info.runtime,
        target: `≥ ${NEEDED.toFixed(1)}× Go HTTPPool`,
        ratio: Number(ratio.toFixed(2)),
        needed: NEEDED,
        note: `servers kept ${busy[0]} (ours) and ${busy[1]} (Go) of ` +
          "their core busy: below 1, other jobs took the rest",
        workload: WORKLOAD,
      }),
      targetComment({
        bench: "peer serving, server CPU µs/request vs the runtime's fixed " +
          "body (pinned)",
        runtime: info.runtime,
        target: `the fixed body's ÷ ours ≥ ${NEEDED_FIXED}× (a synchronous ` +
          "handler, the same bytes and headers)",
        ratio: Number(floorCpu.toFixed(2)),
        needed: NEEDED_FIXED,
        note: `ours ÷ it in requests/s ${floorRatio.toFixed(2)}×; the ` +
          `fixed-body server kept ${busy[2]} of its core busy`,
        workload: WORKLOAD,
      }),
      targetComment({
        bench: "peer auth: server CPU µs/request, unsigned ÷ signed (pinned)",
        runtime: info.runtime,
        target: "≥ 0.91× (a secret costs ≤ 10 % of serving CPU)",
        ratio: Number(signedCpu.toFixed(2)),
        needed: 0.91,
        note: "every request's HMAC-SHA-256 checked (src/hmac_sha256.ts)",
        workload: WORKLOAD,
      }),
      targetComment({
        bench: "peer serving, server CPU µs/request (pinned)",
        runtime: info.runtime,
        target: `Go's ÷ ours ≥ ${NEEDED.toFixed(1)}×`,
        ratio: Number(cpuRatio.toFixed(2)),
        needed: NEEDED,
        note: "less sensitive to other jobs than requests/s",
        workload: WORKLOAD,
      }),
    );
  }
}

const markdown = [
  `### Peer serving vs Go HTTPPool and a fixed body — ${info.summary}`,
  "",
  `\`wrk -t${THREADS} -c${CONNECTIONS} -d${SECONDS}s --latency ` +
  `URL${PATH}\` (a cached 1 KiB value, 1,027-byte body), ${ROUNDS} rounds ` +
  `rotating ours, Go, the fixed body, ours signed and the fixed body ` +
  `after the reads every router makes, after one ` +
  `${WARMUP_SECONDS} s warm-up each; the fixed body is ` +
  `\`() => new Response(body, { headers })\`, a synchronous handler with ` +
  `the bytes and headers of our answer made once; ` +
  `each server in its own process. min / **median** / max over the ` +
  `rounds; the ratio compares medians of requests/s. "Server CPU ` +
  `µs/request" is the server process's user + system CPU time (all ` +
  `threads, from /proc) over the requests wrk completed: it is less ` +
  `sensitive than requests/s to other jobs on the machine. "Cores busy" ` +
  `is median requests/s × median CPU per request: a pinned server below 1 ` +
  `was held back by other jobs on its core, not by its own cost. Produced by ` +
  `\`bench/serve_bench.ts\`${QUICK ? " --quick" : ""}.`,
  ...sections,
  "",
  ...targets,
].join("\n");

console.log(markdown);
writeMarkdownSection(
  benchPath(`./results/serve_${info.runtime}.md`),
  `serve-${info.runtime}`,
  markdown,
);
