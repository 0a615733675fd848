// Keys/s through group.getMany(100) against Promise.all of 100 group.get,
// side by side in one run, on 3 real nodes over loopback: this process's
// node (served, the one asking) and two node processes of the same runtime
// (tests/_dev/peer_node.ts), 10,000 keys of 1 KiB, `hotCache: "never"` so
// remote keys stay remote. Every key is loaded once before measuring, so the
// owners answer from their caches and the figures are the peer traffic:
// per-key GETs against one batch POST per owner. Each call asks 100 distinct
// keys drawn from a Zipf (s = 1) mix; about a third are this node's (main-cache hits in
// both cases). Also counted: peer requests per call, through a counting
// fetch, and the values checked byte for byte.
//
// Usage: deno run -A bench/batch_bench.ts [--rounds N] [--quick]
//        bun bench/batch_bench.ts [--rounds N] [--quick]
// Writes its section of bench/results/batch.md (one per runtime).
import { HttpPool, Registry, silentLogger } from "../mod.ts";
import { freePorts } from "../tests/_dev/ports.ts";
import { type PeerNode, startPeerNode } from "../tests/_dev/peer_node.ts";
import { seededRandom, zipfSampler } from "../tests/_dev/random.ts";
import { serve } from "../tests/_dev/serve.ts";
import { fmt, markdownTable, runtimeInfo, type Stats, stats } from "./_util.ts";
import { writeMarkdownSection } from "./_util.ts";
import { flag, numberOption, targetComment } from "./_proc.ts";

const quick = flag("quick");
const ROUNDS = numberOption("rounds", quick ? 2 : 5);
const ROUND_MS = quick ? 300 : 1000;
const KEYS = 10_000;
const BATCH = 100;
const VALUE_BYTES = 1024;

const ports = await freePorts(3);
const urls = ports.map((p) => `http://127.0.0.1:${p}`);
let requests = 0;
const pool = new HttpPool(urls[0], {
  registry: new Registry(),
  logger: silentLogger,
  fetch: (url, init) => {
    requests++;
    return fetch(url, init);
  },
});
pool.set(...urls);
const label = "self";
const group = pool.newGroup(
  "bench",
  64 << 20,
  (key) => `${label}:${key}`.padEnd(VALUE_BYTES, "."),
  { hotCache: "never" },
);
// The same, with single gets coalesced (coalesceGets).
const coalesced = pool.newGroup(
  "coalesced",
  64 << 20,
  (key) => `${label}:${key}`.padEnd(VALUE_BYTES, "."),
  { hotCache: "never", coalesceGets: true },
);
const CALLERS = 64;
const served = await serve(pool.handler, ports[0]);
const peers: PeerNode[] = [];
try {
  for (const [i, port] of ports.slice(1).entries()) {
    peers.push(
      await startPeerNode({
        port,
        peers: urls,
        group: "bench,coalesced",
        label: `p${i + 1}`,
        valueBytes: VALUE_BYTES,
      }),
    );
  }
  await run();
} finally {
  await Promise.allSettled([served.close(), ...peers.map((p) => p.stop())]);
  pool.close();
}

function want(key: string): string {
  const owner = urls.indexOf(pool.owner(key)!);
  return `${owner === 0 ? "self" : `p${owner}`}:${key}`.padEnd(
    VALUE_BYTES,
    ".",
  );
}

async function run(): Promise<void> {
  const all = Array.from({ length: KEYS }, (_, i) => `key-${i}`);
  // Every key loaded once (its owner caches it), in pages.
  for (let i = 0; i < KEYS; i += 500) {
    await Promise.all(all.slice(i, i + 500).map((k) => group.get(k)));
    await coalesced.getMany(all.slice(i, i + 500));
  }
  const zipf = zipfSampler(KEYS, seededRandom(0xba7c));
  const draw = () => {
    const keys = new Set<string>();
    while (keys.size < BATCH) keys.add(all[zipf()]);
    return [...keys];
  };
  // Checked once each: the right bytes, and how many requests a call takes.
  const check = draw();
  requests = 0;
  const many = await group.getMany(check);
  const manyRequests = requests;
  for (const key of check) {
    if (many.values.get(key)?.toString() !== want(key)) {
      throw new Error(`getMany: wrong value for ${key}`);
    }
  }
  requests = 0;
  const singles = await Promise.all(check.map((k) => group.get(k)));
  const singleRequests = requests;
  singles.forEach((v, i) => {
    if (v.toString() !== want(check[i])) throw new Error("get: wrong value");
  });

  const cases = {
    "getMany(100)": async (keys: string[]) => {
      const { values } = await group.getMany(keys);
      if (values.size !== keys.length) throw new Error("getMany: errors");
    },
    "Promise.all of 100 get": async (keys: string[]) => {
      await Promise.all(keys.map((k) => group.get(k)));
    },
  };
  // 1 and 64 callers of single get, each asking its next key once it has its
  // last: gets/s, and peer requests per get.
  const callers = (g: typeof group, n = CALLERS) => async () => {
    let gets = 0;
    const before = requests;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: n }, async () => {
        while (performance.now() - start < ROUND_MS) {
          await g.get(all[zipf()]);
          gets++;
        }
      }),
    );
    return [
      gets * 1000 / (performance.now() - start),
      (requests - before) / gets,
    ];
  };
  const singleCases = {
    "1 caller, coalesceGets: false": callers(group, 1),
    "1 caller, coalesceGets: true": callers(coalesced, 1),
    "64 callers, coalesceGets: false": callers(group),
    "64 callers, coalesceGets: true": callers(coalesced),
  };
  const singleSamples: Record<string, number[][]> = {};
  const samples: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    // The two take turns, in an order that alternates round after round.
    const names = Object.keys(cases) as (keyof typeof cases)[];
    if (r % 2 === 1) names.reverse();
    for (const name of names) {
      let keys = 0;
      const start = performance.now();
      while (performance.now() - start < ROUND_MS) {
        await cases[name](draw());
        keys += BATCH;
      }
      (samples[name] ??= []).push(keys * 1000 / (performance.now() - start));
    }
    const singles = Object.keys(singleCases) as (keyof typeof singleCases)[];
    if (r % 2 === 1) singles.reverse();
    for (const name of singles) {
      (singleSamples[name] ??= []).push(await singleCases[name]());
    }
  }
  const singleRows = Object.entries(singleSamples).map(([name, s]) => {
    const gets = stats(s.map(([g]) => g));
    const perGet = stats(s.map(([, p]) => p));
    return [
      name,
      `${fmt(gets.min)} / ${fmt(gets.median)} / ${fmt(gets.max)}`,
      fmt(perGet.median),
    ];
  });
  for (const row of singleRows) console.log(row.join(": "));
  const figures = Object.entries(samples).map((
    [name, s],
  ) => [name, stats(s)] as const);
  const info = runtimeInfo();
  const keysPerSec = (s: Stats) =>
    `${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)}`;
  const perCall = [manyRequests, singleRequests];
  const rows = figures.map(([name, s], i) => [
    name,
    keysPerSec(s),
    String(perCall[i]),
  ]);
  for (const row of rows) console.log(row.join(": "));
  const ratio = figures[0][1].median / figures[1][1].median;
  console.log(`getMany / Promise.all: ${fmt(ratio)}×`);
  writeMarkdownSection(
    new URL("./results/batch.md", import.meta.url).pathname,
    `batch:${info.runtime}`,
    `### getMany(100) vs Promise.all of 100 get, 3 nodes — ${info.summary}

This node and two node processes of the same runtime over loopback,
${fmt(KEYS)} keys of 1 KiB (all cached on their owners), \`hotCache:
"never"\`; 100 distinct keys a call from a Zipf (s = 1) mix, about a third
this node's. Keys/s,
min / median / max over ${ROUNDS} rounds of ${ROUND_MS} ms, and the peer
requests one call of 100 keys made. Produced by \`bench/batch_bench.ts\`.

${markdownTable(["call", "keys/s (min / median / max)", "peer requests"], rows)}

getMany / Promise.all (medians): ${fmt(ratio)}×

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

${
      targetComment({
        bench: "batch",
        runtime: info.runtime,
        target: "getMany(100) ≥ 5× Promise.all of 100 get (keys/s)",
        ratio: ratio / 5,
        needed: 1,
        note: `${fmt(ratio)}×; ${manyRequests} vs ${singleRequests} requests`,
      })
    }`,
  );
}
