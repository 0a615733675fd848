// When the origin fails or has nothing (issue 22), on 3 nodes in this
// process, each behind a real server on 127.0.0.1 (tests/_dev/
// loopback_cluster.ts): getter runs per request for missing keys and for a
// failing origin, latency while values expire under staleMs, and errors
// after the origin dies under staleIfErrorMs. The rival is today's rule
// (Go's): a plain getter error, a local load after any owner error, nothing
// remembered, an expired value a miss.
//
//   deno run -A bench/origin_bench.ts [--quick] [--rounds N]
import { type Group, type GroupOptions, NotFoundError } from "../mod.ts";
import { loopbackCluster } from "../tests/_dev/loopback_cluster.ts";
import { flag, numberOption, percentile, targetComment } from "./_proc.ts";
import { benchPath } from "./_proc.ts";
import { fmt, markdownTable, runtimeInfo, stats } from "./_util.ts";
import { writeMarkdownSection } from "./_util.ts";

const quick = flag("quick");
const rounds = numberOption("rounds", quick ? 2 : 3);
const info = runtimeInfo();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };
const GO_RULE: GroupOptions = {
  onOwnerError: "load-locally",
  notFoundTtlMs: 0,
};

/** A cluster whose getter is `getter`, counting its runs; closed after `run`. */
async function withCluster<T>(
  getter: (key: string) => string | Promise<string>,
  options: GroupOptions,
  run: (groups: Group[], runs: () => number) => Promise<T>,
): Promise<T> {
  let runs = 0;
  const c = await loopbackCluster(3, "origin", () => (key) => {
    runs++;
    return getter(key);
  }, { logger: SILENT, ...options });
  try {
    return await run(c.nodes.map((n) => n.group), () => runs);
  } finally {
    await c.close();
  }
}

/** `total` gets of `keyOf(i)`, round robin over the nodes, `inFlight` at a time. */
async function drive(
  groups: Group[],
  total: number,
  keyOf: (i: number) => string,
  inFlight = 64,
): Promise<number> {
  let next = 0, failed = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await groups[i % groups.length].get(keyOf(i)).catch(() => failed++);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return failed;
}

// 1. Missing keys: 10,000 requests for 100 keys the origin does not have.
const MISSING_REQUESTS = quick ? 2_000 : 10_000;
async function missingRuns(ours: boolean): Promise<number> {
  return await withCluster(
    (key) => {
      throw ours ? new NotFoundError(`no ${key}`) : new Error(`no ${key}`);
    },
    ours ? { notFoundTtlMs: 60_000 } : GO_RULE,
    async (groups, runs) => {
      await drive(groups, MISSING_REQUESTS, (i) => `missing-${i % 100}`);
      return runs() / 100;
    },
  );
}

// 2. A failing origin: getter runs per failing request (distinct keys).
const FAILING_REQUESTS = quick ? 600 : 3_000;
async function failingRuns(ours: boolean): Promise<number> {
  return await withCluster(
    (key) => {
      throw new Error(`origin down for ${key}`);
    },
    ours ? {} : GO_RULE,
    async (groups, runs) => {
      await drive(groups, FAILING_REQUESTS, (i) => `k${i}`);
      return runs() / FAILING_REQUESTS;
    },
  );
}

/**
 * Open loop: `rate` gets a second of 100 keys at random, round robin over
 * the nodes, for `seconds`; latencies in ms, and failures with their time
 * since the start.
 */
async function openLoop(
  groups: Group[],
  rate: number,
  seconds: number,
): Promise<{ latencies: number[]; failures: number[] }> {
  const latencies: number[] = [];
  const failures: number[] = [];
  const pending: Promise<unknown>[] = [];
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; sent < due; sent++) {
      const t0 = performance.now();
      const key = `k${Math.floor(Math.random() * 100)}`;
      pending.push(
        groups[sent % 3].get(key).then(
          () => latencies.push(performance.now() - t0),
          () => failures.push((performance.now() - start) / 1000),
        ),
      );
    }
    await sleep(5);
  }
  await Promise.all(pending);
  return { latencies: latencies.sort((a, b) => a - b), failures };
}

// 3. TTL 1 s, staleMs 5 s, a 200 ms getter, ~2,000 gets/s over 3 nodes.
const RATE = 2_000;
const SWR_SECONDS = quick ? 5 : 20;
const slowOrigin = async (key: string) => {
  await sleep(200);
  return `${key}@${Date.now()}`;
};
async function expiring(options: GroupOptions, seconds: number) {
  return await withCluster(slowOrigin, options, async (groups, runs) => {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => groups[0].get(`k${i}`)),
    );
    const before = runs();
    const { latencies, failures } = await openLoop(groups, RATE, seconds);
    return {
      p99: percentile(latencies, 99),
      runsPerKeySecond: (runs() - before) / 100 / seconds,
      failures: failures.length,
    };
  });
}

// 4. TTL 1 s, staleIfErrorMs 10 s: the origin dies; errors for 10 s after.
const SIE_MS = quick ? 3_000 : 10_000;
async function originDies(ours: boolean) {
  let dead = false;
  const getter = (key: string) => {
    if (dead) throw new Error("origin down");
    return `${key} ok`;
  };
  const options = ours
    ? { ttlMs: 1_000, staleIfErrorMs: SIE_MS }
    : { ttlMs: 1_000, ...GO_RULE };
  return await withCluster(getter, options, async (groups) => {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => groups[0].get(`k${i}`)),
    );
    dead = true;
    const windowS = SIE_MS / 1000;
    const { latencies, failures } = await openLoop(groups, 500, windowS + 2);
    return {
      within: failures.filter((t) => t < windowS).length,
      gets: latencies.length + failures.length,
      firstError: failures.length === 0 ? NaN : Math.min(...failures),
      after: await groups[1].get("k0").then(
        () => "a value",
        (e) => e.reason ? `${e.name} (${e.reason})` : String(e.name),
      ),
    };
  });
}

const missing = { ours: [] as number[], go: [] as number[] };
const failing = { ours: [] as number[], go: [] as number[] };
for (let r = 0; r < rounds; r++) {
  missing.ours.push(await missingRuns(true));
  missing.go.push(await missingRuns(false));
  failing.ours.push(await failingRuns(true));
  failing.go.push(await failingRuns(false));
}
const warm = await expiring({ ttlMs: 0 }, quick ? 3 : 5);
const swr = await expiring({ ttlMs: 1_000, staleMs: 5_000 }, SWR_SECONDS);
const noSwr = await expiring({ ttlMs: 1_000 }, quick ? 3 : 5);
const sie = await originDies(true);
const noSie = await originDies(false);

const mmm = (xs: number[]) => {
  const s = stats(xs);
  return `${fmt(s.min)} / **${fmt(s.median)}** / ${fmt(s.max)}`;
};
const swrBound = Math.max(2 * warm.p99, 50);
const md = `### Origin misses and failures — ${info.summary}

Three nodes in one process, each behind a real server on 127.0.0.1; gets
spread round robin over the nodes. Produced by \`bench/origin_bench.ts\`${
  quick ? " (--quick)" : ""
}.
"Go's rule": a plain getter error, \`onOwnerError: "load-locally"\`,
\`notFoundTtlMs: 0\`, no \`staleMs\`/\`staleIfErrorMs\` (what every
groupcache did before). Getter runs: min / **median** / max of ${rounds}
rounds, 64 gets in flight.

${
  markdownTable(["getter runs", "ours", "Go's rule"], [
    [
      `per missing key (${fmt(MISSING_REQUESTS)} gets of 100 keys)`,
      mmm(missing.ours),
      mmm(missing.go),
    ],
    [
      `per failing request (${fmt(FAILING_REQUESTS)} distinct keys)`,
      mmm(failing.ours),
      mmm(failing.go),
    ],
  ])
}

TTL 1 s, a 200 ms getter, ${fmt(RATE)} gets/s (open loop) of 100 keys; one
run each:

${
  markdownTable([
    "",
    "p99 latency (ms)",
    "getter runs per key per second",
    "errors",
  ], [
    [
      "warm hits (no expiry)",
      fmt(warm.p99),
      fmt(warm.runsPerKeySecond),
      String(warm.failures),
    ],
    [
      `\`staleMs: 5000\` (${SWR_SECONDS} s)`,
      `**${fmt(swr.p99)}**`,
      fmt(swr.runsPerKeySecond),
      String(swr.failures),
    ],
    [
      "no staleMs (every expiry waits)",
      fmt(noSwr.p99),
      fmt(noSwr.runsPerKeySecond),
      String(noSwr.failures),
    ],
  ])
}

TTL 1 s, the origin dies (the getter throws) once 100 keys are cached, then
500 gets/s for ${SIE_MS / 1000 + 2} s:

${
  markdownTable([
    "",
    `errors in the first ${SIE_MS / 1000} s`,
    "first error (s after death)",
    "a get afterwards",
  ], [
    [
      `\`staleIfErrorMs: ${SIE_MS}\``,
      `**${sie.within}** of ${fmt(sie.gets)}`,
      fmt(sie.firstError),
      sie.after,
    ],
    [
      "Go's rule",
      `${noSie.within} of ${fmt(noSie.gets)}`,
      fmt(noSie.firstError),
      noSie.after,
    ],
  ])
}

${
  targetComment({
    bench: "origin: getter runs per missing key (notFoundTtlMs)",
    runtime: info.runtime,
    workload: `3 nodes, ${
      fmt(MISSING_REQUESTS)
    } requests for 100 keys the origin lacks`,
    target: "≤ 1",
    ratio: 1 / Math.max(stats(missing.ours).median, 1e-9),
    needed: 1,
    note: `Go's rule ${fmt(stats(missing.go).median)}`,
  })
}
${
  targetComment({
    bench: "origin: getter runs per failing request",
    runtime: info.runtime,
    workload: `3 nodes, ${
      fmt(FAILING_REQUESTS)
    } requests for distinct keys, failing origin`,
    target: "= 1 (Go's rule 2)",
    ratio: 1 / Math.max(stats(failing.ours).median, 1e-9),
    needed: 1,
    note: `Go's rule ${fmt(stats(failing.go).median)}`,
  })
}
${
  targetComment({
    bench: "origin: p99 under staleMs vs max(2 × warm p99, 50 ms)",
    runtime: info.runtime,
    workload: `3 nodes, 100 keys, TTL 1 s, 200 ms getter, ${fmt(RATE)} gets/s`,
    target: `≤ ${fmt(swrBound)} ms`,
    ratio: swrBound / swr.p99,
    needed: 1,
    note: `${fmt(swr.p99)} ms; ${
      fmt(swr.runsPerKeySecond)
    } runs/key/s; without staleMs ${fmt(noSwr.p99)} ms`,
  })
}
${
  targetComment({
    bench: "origin: errors within staleIfErrorMs after the origin dies",
    runtime: info.runtime,
    workload: `3 nodes, 100 keys, TTL 1 s, ${fmt(RATE)} gets/s, origin dies`,
    target: "0",
    ratio: sie.within === 0 ? 1 : 0,
    needed: 1,
    note: `${sie.within} of ${sie.gets}; Go's rule ${noSie.within}`,
  })
}`;
writeMarkdownSection(
  benchPath(`results/origin_${info.runtime}.md`),
  `origin-${info.runtime}`,
  md,
);
console.log(md);
