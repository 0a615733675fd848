// The LRU under a hash flood (issue 20): LruCache (src/lru.ts) filled with
// 32,768 keys crafted to collide under a seeded multiply-and-shift string
// hash whatever its seed (tests/_dev/crafted_keys.ts; the hash the LRU had
// before HalfSipHash sent them all to one bucket chain), against 32,768
// random keys of the same length. Each round adds every key to a fresh
// cache then gets each twice; crafted and random rounds alternate.
//
// Usage: deno run -A bench/hash_flood_bench.ts [--rounds N]
//        bun bench/hash_flood_bench.ts [--rounds N]
// Writes its section of bench/results/hash_flood.md (one per runtime).
import { numberOption, targetComment } from "./_proc.ts";
import { LruCache } from "../src/lru.ts";
import { fmt, runtimeInfo, stats, writeMarkdownSection } from "./_util.ts";
import { craftedKeys, randomKeys } from "../tests/_dev/crafted_keys.ts";
import { seededRandom } from "../tests/_dev/random.ts";

const ROUNDS = numberOption("rounds", 7);
const KEYS = 1 << 15;
const crafted = craftedKeys(KEYS);
const random = randomKeys(KEYS, seededRandom(20));

/** Nanoseconds per operation (an add, then two gets of every key). */
function perOp(keys: string[]): number {
  const cache = new LruCache<string, number>({ maxEntries: 0 });
  const t0 = performance.now();
  for (const key of keys) cache.add(key, 1);
  for (let r = 0; r < 2; r++) for (const key of keys) cache.get(key);
  return ((performance.now() - t0) * 1e6) / (3 * keys.length);
}

perOp(random);
perOp(crafted);
const times = { random: [] as number[], crafted: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2
    ? ["crafted", "random"] as const
    : ["random", "crafted"] as const;
  for (const which of order) {
    times[which].push(perOp(which === "random" ? random : crafted));
  }
}
const info = runtimeInfo();
const r = stats(times.random), c = stats(times.crafted);
const ratio = c.median / r.median;
console.log(
  `${info.summary}: random ${fmt(r.median)} ns/op, crafted ${
    fmt(c.median)
  } ns/op, crafted ÷ random ${ratio.toFixed(2)}×`,
);
writeMarkdownSection(
  new URL("./results/hash_flood.md", import.meta.url).pathname,
  `hash_flood:${info.runtime}`,
  `### LRU under a hash flood — ${info.summary}

${KEYS.toLocaleString("en-US")} keys added to a fresh \`LruCache\`, then each
got twice; ns per operation, min / **median** / max over ${ROUNDS} rounds,
crafted and random alternating. Produced by \`bench/hash_flood_bench.ts\`.

| keys | ns/operation |
| --- | ---: |
| random | ${fmt(r.min)} / **${fmt(r.median)}** / ${fmt(r.max)} |
| crafted to collide | ${fmt(c.min)} / **${fmt(c.median)}** / ${fmt(c.max)} |

${
    targetComment({
      bench: "LRU hash flood, random ÷ crafted ns/op",
      runtime: info.runtime,
      target: "≥ 0.5 (crafted keys ≤ 2× random)",
      ratio: Number((1 / ratio).toFixed(2)),
      needed: 0.5,
    })
  }`,
);
