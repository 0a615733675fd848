// The LRU under a hash flood (issue 20): LruCache (src/lru.ts) filled with
// 32,768 keys crafted to collide under a seeded multiply-and-shift string
// hash whatever its seed (tests/_dev/crafted_keys.ts; the hash the LRU had
// before issue 20 sent them all to one bucket chain), against 32,768
// random keys of the same length; and 32,768 ASCII keys built against the
// tabulation hash that replaced it (src/string_hash.ts; every combination of
// two letters at 15 positions, whose hashes form a linear subspace). Each
// round adds every key to a fresh cache then gets each twice; the key sets
// take turns in a rotating order.
//
// Usage: deno run -A bench/hash_flood_bench.ts [--rounds N]
//        bun bench/hash_flood_bench.ts [--rounds N]
// Writes its section of bench/results/hash_flood.md (one per runtime).
import { numberOption, targetComment } from "./_proc.ts";
import { LruCache } from "../src/lru.ts";
import { fmt, runtimeInfo, stats, writeMarkdownSection } from "./_util.ts";
import {
  craftedKeys,
  productKeys,
  randomKeys,
} from "../tests/_dev/crafted_keys.ts";
import { seededRandom } from "../tests/_dev/random.ts";

const ROUNDS = numberOption("rounds", 7);
const KEYS = 1 << 15;
const crafted = craftedKeys(KEYS);
const random = randomKeys(KEYS, seededRandom(20));
const product = productKeys(KEYS);

/** Nanoseconds per operation (an add, then two gets of every key). */
function perOp(keys: string[]): number {
  const cache = new LruCache<string, number>({ maxEntries: 0 });
  const t0 = performance.now();
  for (const key of keys) cache.add(key, 1);
  for (let r = 0; r < 2; r++) for (const key of keys) cache.get(key);
  return ((performance.now() - t0) * 1e6) / (3 * keys.length);
}

const sets = [
  { name: "random", keys: random },
  { name: "crafted against the former hash", keys: crafted },
  { name: "crafted against tabulation", keys: product },
];
for (const set of sets) perOp(set.keys); // warm-up
const times = sets.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  for (let j = 0; j < sets.length; j++) {
    const at = (j + r) % sets.length;
    times[at].push(perOp(sets[at].keys));
  }
}
const info = runtimeInfo();
const s = times.map((t) => stats(t));
const ratios = s.map((x) => x.median / s[0].median);
console.log(
  `${info.summary}: ${
    sets.map((set, i) => `${set.name} ${fmt(s[i].median)} ns/op`).join(", ")
  }; crafted ÷ random ${ratios.slice(1).map((x) => x.toFixed(2)).join(", ")}`,
);
writeMarkdownSection(
  new URL("./results/hash_flood.md", import.meta.url).pathname,
  `hash_flood:${info.runtime}`,
  `### LRU under a hash flood — ${info.summary}

${KEYS.toLocaleString("en-US")} keys added to a fresh \`LruCache\`, then each
got twice; ns per operation, min / **median** / max over ${ROUNDS} rounds,
the key sets in a rotating order. Produced by \`bench/hash_flood_bench.ts\`.

| keys | ns/operation | ÷ random |
| --- | ---: | ---: |
${
    sets.map((set, i) =>
      `| ${set.name} | ${fmt(s[i].min)} / **${fmt(s[i].median)}** / ${
        fmt(s[i].max)
      } | ${ratios[i].toFixed(2)}× |`
    ).join("\n")
  }

${
    sets.slice(1).map((set, i) =>
      targetComment({
        bench: `LRU hash flood, random ÷ ${set.name} ns/op`,
        runtime: info.runtime,
        workload: `${KEYS.toLocaleString("en")} keys in one LruCache`,
        target: "≥ 0.5 (crafted keys ≤ 2× random)",
        ratio: Number((1 / ratios[i + 1]).toFixed(2)),
        needed: 0.5,
      })
    ).join("\n")
  }`,
);
