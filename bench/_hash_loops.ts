// The timed loops of bench/string_hash_bench.ts. That bench copies this file
// beside a copy of src/ for each string hash it compares, so each copy's
// loops see one LruCache and one Group class (no engine's call sites shared
// between the contenders) and run the same code.
import { Group, LruCache, Registry } from "../mod.ts";

/** A cache of capacity `n` holding `keys[0..n-1]`. */
export function lruFilled(n: number, keys: string[]): LruCache<string, number> {
  const cache = new LruCache<string, number>({ maxEntries: n });
  for (let i = 0; i < n; i++) cache.add(keys[i], i);
  return cache;
}

/**
 * The operations of `kinds` (1 add, 0 get) on the keys of `keyIndex`, taken
 * from `keys` or built per operation (`fresh`); the number of get hits.
 */
export function lruRun(
  cache: LruCache<string, number>,
  kinds: Uint8Array,
  keyIndex: Int32Array,
  keys: string[],
  fresh: boolean,
): number {
  let hits = 0;
  for (let i = 0; i < kinds.length; i++) {
    const k = keyIndex[i];
    const key = fresh ? "key:" + k : keys[k];
    if (kinds[i] === 1) cache.add(key, k);
    else if (cache.get(key) !== undefined) hits++;
  }
  return hits;
}

/** A group of 1 GiB holding every key of `keys`, with 100-byte values. */
export async function groupFilled(keys: string[]): Promise<Group> {
  const value = new Uint8Array(100);
  const group = new Group("hits", 1 << 30, (_key, dest) => {
    dest.setBytes(value);
  }, { registry: new Registry() });
  for (const key of keys) await group.get(key);
  return group;
}

/** `group.get` of the keys of `order`, one after the other; bytes seen. */
export async function groupGets(
  group: Group,
  keys: string[],
  order: Uint32Array,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < order.length; i++) {
    total += (await group.get(keys[order[i]])).length;
  }
  return total;
}

/** `group.get` of `keys`, none cached, on a new group; its local loads. */
export async function groupMisses(keys: string[]): Promise<number> {
  const group = new Group("misses", 1 << 30, (key, dest) => {
    dest.setString(key);
  }, { registry: new Registry() });
  for (let i = 0; i < keys.length; i++) await group.get(keys[i]);
  return group.stats.localLoads;
}
