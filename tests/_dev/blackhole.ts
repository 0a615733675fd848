// The blackhole scenario: a three-node cluster under closed-loop load in
// which one node's process is stopped (SIGSTOP: the kernel still accepts its
// connections, nothing answers), then continued (SIGCONT). Nodes A and C run
// in this process on real sockets, B in a process of its own
// (./peer_node.ts); every node's getter answers `${label}:${key}`, so a
// value tells who loaded it. Every get asks for a fresh key, so each one
// goes through the owner's pick.
//
// It measures how gets of B's keys fare once the first timeout window after
// the stop has passed (they should load locally at once), and how long after
// SIGCONT B owns its keys again. tests/faults_test.ts runs it with a short
// timeout; run it alone for the figures under the default options:
//
//   deno run -A tests/_dev/blackhole.ts [--timeout-ms N] [--callers N] [--measure-ms N]
//   bun tests/_dev/blackhole.ts [--timeout-ms N] [--callers N] [--measure-ms N]
import process from "node:process";
import { setImmediate } from "node:timers";
import { fileURLToPath } from "node:url";
import { Group, HttpPool, type PeerHealthInfo, Registry } from "../../mod.ts";
import { startPeerNode } from "./peer_node.ts";
import { freePorts } from "./ports.ts";
import { runtimeName } from "./runtimes.ts";
import { serve, type Served } from "./serve.ts";

/** The knobs of one run. */
export interface BlackholeOptions {
  /** The pools' `timeoutMs`; undefined keeps the default. */
  timeoutMs?: number;
  /** Closed-loop callers, split over A and C (default 24). */
  callers?: number;
  /** Load before the stop, in ms (default 1,000). */
  warmMs?: number;
  /** How long B stays stopped after the first timeout window, in ms (default 2,000). */
  measureMs?: number;
  /** The longest wait for B to own its keys again after SIGCONT, in ms (default 20,000). */
  maxRecoveryMs?: number;
}

/** Latencies of a set of gets, in ms. */
export interface Latencies {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** What one run measured. */
export interface BlackholeResult {
  runtime: string;
  timeoutMs: number;
  callers: number;
  /** Gets of B's keys started in the first window after the stop. */
  window: Latencies;
  /** Gets of B's keys started after the first window, while B was stopped. */
  afterWindow: Latencies;
  /** Of those, how many were loaded locally (all of them, when it works). */
  afterWindowLocal: number;
  /** Gets of A's and C's keys while B was stopped. */
  others: Latencies;
  /** Gets per second: before the stop, and while B was stopped after the window. */
  throughput: { before: number; stopped: number };
  /** How long B was stopped, in ms. */
  stoppedMs: number;
  /** B's health on A just before SIGCONT. */
  downHealth: PeerHealthInfo;
  /** From SIGCONT to the end of the first get of B's keys that B served, in ms. */
  firstServedMs: number;
  /** From SIGCONT to the end of the last get of B's keys loaded elsewhere, in ms. */
  ownsAgainMs: number;
  /** Gets that failed (none, when it works). */
  errors: number;
}

interface Sample {
  start: number;
  ms: number;
  ownerB: boolean;
  byB: boolean;
}

function latencies(xs: number[]): Latencies {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) =>
    s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { count: s.length, p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? NaN };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the scenario once; every server and process it starts is stopped. */
export async function blackhole(
  options: BlackholeOptions = {},
): Promise<BlackholeResult> {
  const {
    timeoutMs,
    callers = 24,
    warmMs = 1_000,
    measureMs = 2_000,
    maxRecoveryMs = 20_000,
  } = options;
  const ports = await freePorts(3);
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const served: Served[] = [];
  const local: { pool: HttpPool; group: Group }[] = [];
  let b: Awaited<ReturnType<typeof startPeerNode>> | undefined;
  let running = true;
  const loops: Promise<void>[] = [];
  try {
    for (const [i, label] of [[0, "A"], [2, "C"]] as const) {
      const registry = new Registry();
      const pool = new HttpPool(urls[i], { registry, timeoutMs });
      pool.set(...urls);
      const group = new Group("blackhole", 64 << 20, (k) => `${label}:${k}`, {
        peers: pool,
      });
      served.push(await serve(pool.handler, ports[i]));
      local.push({ pool, group });
    }
    b = await startPeerNode({
      port: ports[1],
      peers: urls,
      group: "blackhole",
      label: "B",
    });
    const samples: Sample[] = [];
    let errors = 0;
    let seq = 0;
    // The loops end by this time even if `running` is never cleared.
    const hardEnd = performance.now() + warmMs + 60_000 + maxRecoveryMs;
    for (let c = 0; c < callers; c++) {
      const node = local[c % 2];
      loops.push((async () => {
        // A get that loads here with this synchronous getter settles in
        // microtasks alone: without a macrotask turn now and then, callers
        // whose keys are all local would starve the timers that stop them.
        for (let n = 1; running && performance.now() < hardEnd; n++) {
          if (n % 32 === 0) await new Promise((r) => setImmediate(r));
          const key = `k${seq++}`;
          const start = performance.now();
          try {
            const value = (await node.group.get(key)).toString();
            const ms = performance.now() - start;
            if (!value.endsWith(`:${key}`)) errors++;
            samples.push({
              start,
              ms,
              ownerB: node.pool.owner(key) === urls[1],
              byB: value.startsWith("B:"),
            });
          } catch {
            errors++;
          }
        }
      })());
    }
    await sleep(warmMs);
    const stoppedAt = performance.now();
    b.pause();
    const window = local[0].pool.timeoutMs;
    await sleep(window + measureMs);
    const downHealth = local[0].pool.peerHealth().find((h) =>
      h.peer === urls[1]
    )!;
    const continuedAt = performance.now();
    b.resume();
    // Until both A and C ask B again, and a little longer to see it stick.
    const upOnBoth = () =>
      local.every(({ pool }) =>
        pool.peerHealth().find((h) => h.peer === urls[1])!.state === "up"
      );
    while (!upOnBoth() && performance.now() - continuedAt < maxRecoveryMs) {
      await sleep(20);
    }
    await sleep(1_000);
    running = false;
    await Promise.all(loops);

    const bKeys = samples.filter((s) => s.ownerB);
    const windowEnd = stoppedAt + window;
    const inWindow = bKeys.filter((s) =>
      s.start >= stoppedAt && s.start < windowEnd
    );
    const after = bKeys.filter((s) =>
      s.start >= windowEnd && s.start < continuedAt
    );
    const others = samples.filter((s) =>
      !s.ownerB && s.start >= stoppedAt && s.start < continuedAt
    );
    const recovered = bKeys.filter((s) => s.start >= continuedAt);
    const byB = recovered.filter((s) => s.byB);
    const elsewhere = recovered.filter((s) => !s.byB);
    const end = (s: Sample) => s.start + s.ms - continuedAt;
    const perSecond = (from: number, to: number) =>
      samples.filter((s) => s.start >= from && s.start < to).length /
      ((to - from) / 1000);
    return {
      runtime: runtimeName(),
      timeoutMs: window,
      callers,
      window: latencies(inWindow.map((s) => s.ms)),
      afterWindow: latencies(after.map((s) => s.ms)),
      afterWindowLocal: after.filter((s) => !s.byB).length,
      others: latencies(others.map((s) => s.ms)),
      throughput: {
        before: perSecond(stoppedAt - warmMs / 2, stoppedAt),
        stopped: perSecond(windowEnd, continuedAt),
      },
      stoppedMs: continuedAt - stoppedAt,
      downHealth,
      firstServedMs: byB.length === 0 ? NaN : Math.min(...byB.map(end)),
      ownsAgainMs: byB.length === 0 ? NaN : Math.max(0, ...elsewhere.map(end)),
      errors,
    };
  } finally {
    running = false;
    await Promise.all(loops);
    await Promise.allSettled([
      ...served.map((s) => s.close()),
      b?.stop(),
    ]);
  }
}

function flagNumber(args: string[], name: string): number | undefined {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : Number(args[i + 1]);
}

if (
  process.argv[1] !== undefined &&
  fileURLToPath(import.meta.url) === process.argv[1]
) {
  const args = process.argv.slice(2);
  const r = await blackhole({
    timeoutMs: flagNumber(args, "timeout-ms"),
    callers: flagNumber(args, "callers"),
    measureMs: flagNumber(args, "measure-ms"),
  });
  const f = (l: Latencies) =>
    `n=${l.count} p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${
      l.max.toFixed(1)
    } ms`;
  console.log(
    [
      `blackhole on ${r.runtime}: timeoutMs ${r.timeoutMs}, ${r.callers} callers, 3 nodes (B stopped with SIGSTOP for ${
        (r.stoppedMs / 1000).toFixed(1)
      } s)`,
      `  B's keys, first window:   ${f(r.window)}`,
      `  B's keys, after it:       ${
        f(r.afterWindow)
      } (${r.afterWindowLocal} loaded locally)`,
      `  A's and C's keys, B down: ${f(r.others)}`,
      `  gets/s: ${r.throughput.before.toFixed(0)} before the stop, ${
        r.throughput.stopped.toFixed(0)
      } while B is down (after the window)`,
      `  B on A before SIGCONT: ${r.downHealth.state}, ${r.downHealth.consecutiveFailures} failures, last ${r.downHealth.lastError?.reason}`,
      `  after SIGCONT: first get served by B at ${
        r.firstServedMs.toFixed(0)
      } ms, every get of B's keys served by B from ${
        r.ownsAgainMs.toFixed(0)
      } ms`,
      `  failed gets: ${r.errors}`,
    ].join("\n"),
  );
  process.exit(0);
}
