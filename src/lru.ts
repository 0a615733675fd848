/**
 * A least-recently-used cache: the port of Go's `groupcache/lru.Cache`, laid
 * out for speed.
 *
 * Entries live in numbered slots. An index gives each key its slot: string
 * keys (what groupcache uses) go to a hash table of our own, any other key to
 * a `Map`. The table is open addressing with linear probing: an `Int32Array`
 * of buckets, at most half full, each holding a slot and its key's 32-bit
 * hash side by side, so that a probe compares hashes before keys without
 * touching another cache line (at a million keys every line a lookup
 * touches is a miss), and a removal shifts the following entries back
 * instead of leaving tombstones.
 * It exists because the engines' own indexes are fast only for strings that
 * already carry their hash or an interned copy: a key built per request (a
 * URL's path, say) costs a `Map` a re-hash and a dictionary object an
 * interning, on V8 and JavaScriptCore alike, while the table hashes each key
 * once per operation; and it takes about half the memory of a dictionary
 * object (see bench/lru_bench.ts for both). The price, on V8 only: a string
 * object used again and again (a key held in a variable) has its hash cached
 * by the engine, and reading its characters from JavaScript costs more than
 * V8's own lookup would.
 *
 * One more `Int32Array` holds, for every slot, a row of four words: the two
 * links of a circular doubly linked list ordered oldest to newest, with slot
 * 0 as its sentinel, and the value itself while every value is a 32-bit
 * integer (a group's cache's values are), so that a hit reads its value from
 * the line its move reads anyway, not from one more array (a 16-byte row
 * never straddles two cache lines). A plain array holds the keys, and
 * another the values once one is not such an integer. A hit is one hash, one
 * probe and a handful of typed-array writes, with no allocation. Freed slots
 * are kept on a free list (chained through the links) and reused; storage
 * grows geometrically, never beyond `maxEntries + 1` slots when the cache is
 * bounded.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { randomTables, stringHash } from "./string_hash.ts";

/** Options for {@linkcode LruCache}. */
export interface LruCacheOptions<K, V> {
  /**
   * The most entries the cache holds before `add` evicts the oldest one.
   * 0 (the default) means no limit: the caller evicts, as the groupcache
   * `Group` does by byte size with `removeOldest`.
   */
  maxEntries?: number;
  /**
   * Called with each entry that leaves the cache through eviction by
   * `maxEntries`, `remove`, `removeOldest` or `clear` — but not when `add`
   * replaces the value of a key already present (as in Go). It runs after
   * the cache has finished the change, so it may call any method of the
   * cache, including `add` and `remove`.
   */
  onEvicted?: (key: K, value: V) => void;
}

/** Options for the iterators of {@linkcode LruCache}. */
export interface LruIterOptions {
  /** Walk from the most recently used entry to the least (default false). */
  newestFirst?: boolean;
}

/** Largest slot count: slots are indices in an `Int32Array`. */
const MAX_SLOTS = 2 ** 31 - 1;
/** Slots allocated at first when the cache may grow beyond that. */
const INITIAL_SLOTS = 64;
/** `older` link that marks a slot as free (live slots hold a slot index). */
const FREE = -1;

// The keys of the string hash: random per process, so that keys chosen by a
// client cannot be aimed at one bucket chain (see string_hash.ts).
const TABLES = randomTables();
const [K0, K1] = crypto.getRandomValues(new Int32Array(2));

/**
 * An LRU cache: Go's `lru.Cache` with the same rules. `add` inserts or
 * replaces and makes the entry the newest; `get` refreshes an entry, `peek`
 * does not; when `maxEntries` is exceeded the oldest entry is evicted and
 * passed to `onEvicted`.
 *
 * Changing the cache from `onEvicted` is allowed: the callback runs after
 * the cache is consistent again. Changing it while iterating is allowed too
 * and never corrupts it nor loops forever: the entry just visited may be
 * read, refreshed, replaced or removed freely; other changes may make the
 * walk skip entries, visit one twice or end early, and a walk never yields
 * more entries than the cache held when it began.
 *
 * @typeParam K Key type; keys are compared as `Map` keys (SameValueZero).
 * @typeParam V Value type.
 *
 * @example Eviction order
 * ```ts
 * import { LruCache } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const evicted: string[] = [];
 * const cache = new LruCache<string, number>({
 *   maxEntries: 2,
 *   onEvicted: (key) => evicted.push(key),
 * });
 * cache.add("a", 1);
 * cache.add("b", 2);
 * assert.equal(cache.get("a"), 1); // "a" is now the newest, "b" the oldest
 * assert.equal(cache.peek("b"), 2); // peek leaves "b" the oldest
 * cache.add("c", 3); // full: evicts "b"
 * assert.deepEqual(evicted, ["b"]);
 * assert.equal(cache.has("b"), false);
 * assert.equal(cache.size, 2);
 * assert.deepEqual([...cache.keys()], ["a", "c"]); // oldest first
 * ```
 *
 * @example Walking and emptying
 * ```ts
 * import { LruCache } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const gone: string[] = [];
 * const cache = new LruCache<string, number>({ onEvicted: (k) => gone.push(k) });
 * for (const [k, v] of [["a", 1], ["b", 2], ["c", 3], ["d", 4]] as const) {
 *   cache.add(k, v);
 * }
 * assert.deepEqual(cache.oldest(), ["a", 1]);
 * assert.deepEqual(cache.newest(), ["d", 4]);
 * assert.deepEqual([...cache.values({ newestFirst: true })], [4, 3, 2, 1]);
 * assert.deepEqual(cache.removeOldest(), ["a", 1]);
 * assert.equal(cache.remove("c"), true);
 * assert.equal(cache.remove("c"), false); // already gone
 * assert.deepEqual(new Map(cache), new Map([["b", 2], ["d", 4]]));
 * cache.clear(); // reports the rest oldest first
 * assert.deepEqual(gone, ["a", "c", "b", "d"]);
 * assert.equal(cache.size, 0);
 * ```
 */
export class LruCache<K, V> {
  readonly #maxEntries: number;
  readonly #onEvicted: ((key: K, value: V) => void) | undefined;
  /**
   * The string index: buckets, a power of two at least twice the slot
   * count; bucket `b` is `table[2 * b]`, a slot (0 = empty), and
   * `table[2 * b + 1]`, the `stringHash` (keyed per process) of its key.
   */
  #table = new Int32Array(0);
  /** Slots of the keys that are not strings. */
  #others = new Map<K, number>();
  #size = 0;
  #keys: (K | undefined)[] = [];
  /** The values by slot, once one is not a 32-bit integer (see `#ints`). */
  #values: (V | undefined)[] = [];
  /**
   * The list: `links[4 * slot]` is the next newer slot, `links[4 * slot + 1]`
   * the next older one (0, the sentinel, past either end), and while
   * `#ints`, `links[4 * slot + 2]` is the slot's value. A free slot holds the
   * next free slot (0 = none) and `FREE`.
   */
  #links = new Int32Array(0);
  /** Whether every value added since the last reset was a 32-bit integer. */
  #ints = true;
  /** Head of the free list (0 = empty). */
  #free = 0;
  /** First slot never used yet. */
  #top = 1;
  /** Bumped by `clear`, so that running iterators stop. */
  #epoch = 0;

  /**
   * Creates an empty cache.
   *
   * @param options `maxEntries` (non-negative integer, 0 = unbounded) and
   * `onEvicted`.
   * @throws {ConfigError} when an option has the wrong type or range.
   */
  constructor(options: LruCacheOptions<K, V> = {}) {
    if (typeof options !== "object" || options === null) {
      throw new ConfigError(
        `LruCache options must be an object such as { maxEntries: 100 }, ` +
          `got ${describe(options)}`,
      );
    }
    const { maxEntries = 0, onEvicted } = options;
    if (
      typeof maxEntries !== "number" || !Number.isInteger(maxEntries) ||
      maxEntries < 0 || maxEntries >= MAX_SLOTS
    ) {
      throw new ConfigError(
        `LruCache maxEntries must be an integer from 0 (unbounded) to ` +
          `${MAX_SLOTS - 1}, got ${describe(maxEntries)}`,
      );
    }
    if (onEvicted !== undefined && typeof onEvicted !== "function") {
      throw new ConfigError(
        `LruCache onEvicted must be a function (key, value) => void or ` +
          `undefined, got ${describe(onEvicted)}`,
      );
    }
    this.#maxEntries = maxEntries;
    this.#onEvicted = onEvicted;
    this.#reset();
  }

  /** The most entries the cache holds; 0 means no limit. */
  get maxEntries(): number {
    return this.#maxEntries;
  }

  /** The number of entries (Go's `Len`). */
  get size(): number {
    return this.#size;
  }

  /**
   * Inserts `key` or replaces its value, and makes it the newest entry.
   * Replacing does not call `onEvicted` (as in Go). Inserting into a full
   * cache evicts the oldest entry and then calls `onEvicted` with it.
   *
   * @returns the value `key` had before when it was present (so a caller
   * can account for the replaced value), otherwise `undefined`. Use `has`
   * first if the cache may store `undefined` as a value.
   *
   * @example Replacing returns the old value, and evicts nothing
   * ```ts
   * import { LruCache } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const evicted: string[] = [];
   * const cache = new LruCache<string, string>({
   *   onEvicted: (key) => evicted.push(key),
   * });
   * assert.equal(cache.add("k", "old"), undefined);
   * assert.equal(cache.add("k", "new"), "old");
   * assert.deepEqual(evicted, []);
   * ```
   */
  add(key: K, value: V): V | undefined {
    if (typeof key === "string") return this.#addString(key, value);
    const slot = this.#others.get(key);
    if (slot !== undefined) {
      const old = this.#value(slot);
      this.#setValue(slot, value);
      this.#touch(slot);
      return old;
    }
    const max = this.#maxEntries;
    if (max !== 0 && this.#size >= max) {
      // Full: the oldest entry's slot becomes the new entry's.
      const oldest = this.#links[0];
      const keys = this.#keys;
      const oldKey = keys[oldest] as K, oldValue = this.#value(oldest);
      this.#unindex(oldKey, oldest);
      this.#index(key, oldest);
      keys[oldest] = key;
      this.#setValue(oldest, value);
      this.#touch(oldest);
      this.#onEvicted?.(oldKey, oldValue);
      return undefined;
    }
    const fresh = this.#allocate();
    this.#keys[fresh] = key;
    this.#setValue(fresh, value);
    this.#index(key, fresh);
    this.#size++;
    this.#linkNewest(fresh);
    return undefined;
  }

  /**
   * The value of `key`, which becomes the newest entry; `undefined` when
   * absent.
   */
  get(key: K): V | undefined {
    const slot = typeof key === "string"
      ? this.#find(key, stringHash(key, TABLES, K0, K1))
      : this.#others.get(key) ?? 0;
    if (slot === 0) return undefined;
    this.#touch(slot);
    return this.#ints
      ? this.#links[4 * slot + 2] as unknown as V
      : this.#values[slot];
  }

  /** The value of `key` without refreshing it; `undefined` when absent. */
  peek(key: K): V | undefined {
    const slot = this.#slotOf(key);
    return slot === undefined ? undefined : this.#value(slot);
  }

  /** Whether `key` is present; does not refresh it. */
  has(key: K): boolean {
    return this.#slotOf(key) !== undefined;
  }

  /**
   * Removes `key` and calls `onEvicted` with it (as Go's `Remove`).
   *
   * @returns whether `key` was present.
   */
  remove(key: K): boolean {
    const slot = this.#slotOf(key);
    if (slot === undefined) return false;
    this.#evict(slot);
    return true;
  }

  /**
   * Removes the oldest entry and calls `onEvicted` with it (as Go's
   * `RemoveOldest`).
   *
   * @returns the removed `[key, value]`, or `undefined` when empty.
   */
  removeOldest(): [K, V] | undefined {
    const oldest = this.#links[0];
    if (oldest === 0) return undefined;
    const entry: [K, V] = [
      this.#keys[oldest] as K,
      this.#value(oldest),
    ];
    this.#evict(oldest);
    return entry;
  }

  /**
   * The least recently used entry as `[key, value]`, without removing or
   * refreshing it; `undefined` when empty.
   */
  oldest(): [K, V] | undefined {
    const slot = this.#links[0];
    return slot === 0 ? undefined : [this.#keys[slot] as K, this.#value(slot)];
  }

  /**
   * The most recently used entry as `[key, value]`, without changing it;
   * `undefined` when empty.
   */
  newest(): [K, V] | undefined {
    const slot = this.#links[1];
    return slot === 0 ? undefined : [this.#keys[slot] as K, this.#value(slot)];
  }

  /**
   * Removes every entry, then calls `onEvicted` with each of them from the
   * oldest to the newest (Go's `Clear`, whose order is random). Entries the
   * callback adds stay in the cache. Should the callback throw, the entries
   * not yet reported are gone all the same.
   */
  clear(): void {
    const keys = this.#keys, values = this.#values, links = this.#links;
    const ints = this.#ints;
    const count = this.#size;
    this.#reset();
    const onEvicted = this.#onEvicted;
    if (onEvicted === undefined) return;
    // The old arrays are detached from the cache, so the callback may change
    // the cache without disturbing this walk.
    for (let slot = links[0], n = 0; slot !== 0 && n < count; n++) {
      const value = ints ? links[4 * slot + 2] : values[slot];
      onEvicted(keys[slot] as K, value as V);
      slot = links[4 * slot];
    }
  }

  /**
   * The entries as `[key, value]` pairs, oldest first (or newest first with
   * `{ newestFirst: true }`). Does not refresh them.
   */
  *entries(options: LruIterOptions = {}): IterableIterator<[K, V]> {
    for (const slot of this.#slots(options.newestFirst === true)) {
      yield [this.#keys[slot] as K, this.#value(slot)];
    }
  }

  /** The keys, oldest first (or newest first with `{ newestFirst: true }`). */
  *keys(options: LruIterOptions = {}): IterableIterator<K> {
    for (const slot of this.#slots(options.newestFirst === true)) {
      yield this.#keys[slot] as K;
    }
  }

  /**
   * The values, oldest first (or newest first with `{ newestFirst: true }`).
   */
  *values(options: LruIterOptions = {}): IterableIterator<V> {
    for (const slot of this.#slots(options.newestFirst === true)) {
      yield this.#value(slot);
    }
  }

  /** The entries, oldest first: `for (const [key, value] of cache)`. */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** The slot of `key`, if present. */
  #slotOf(key: K): number | undefined {
    if (typeof key !== "string") return this.#others.get(key);
    const slot = this.#find(key, stringHash(key, TABLES, K0, K1));
    return slot === 0 ? undefined : slot;
  }

  /** The slot of string `key` of hash `h`, or 0 when absent. */
  #find(key: string, h: number): number {
    const table = this.#table, keys = this.#keys;
    const mask = table.length - 2; // indexes of buckets are even
    for (let i = (h << 1) & mask;; i = (i + 2) & mask) {
      const s = table[i];
      if (s === 0) return 0;
      if (table[i + 1] === h && keys[s] === key) return s;
    }
  }

  /** Adds `slot`, whose string key has hash `h`, to the table. */
  #put(slot: number, h: number): void {
    putBucket(this.#table, slot, h);
  }

  /**
   * Takes `slot`, whose string key has hash `h`, out of the table, then
   * moves each entry of the run after it back into the hole unless that
   * would put it before its home bucket (backward-shift deletion: no
   * tombstones, so probes stay short).
   */
  #cut(slot: number, h: number): void {
    const table = this.#table;
    const mask = table.length - 2;
    let i = (h << 1) & mask;
    while (table[i] !== slot) i = (i + 2) & mask;
    for (let j = (i + 2) & mask;; j = (j + 2) & mask) {
      const s = table[j];
      if (s === 0) break;
      if (((j - (table[j + 1] << 1)) & mask) >= ((j - i) & mask)) {
        table[i] = s;
        table[i + 1] = table[j + 1];
        i = j;
      }
    }
    table[i] = 0;
  }

  /** `add` for a string key: the same steps, hashing the key once. */
  #addString(key: string, value: V): V | undefined {
    const h = stringHash(key, TABLES, K0, K1);
    const slot = this.#find(key, h);
    if (slot !== 0) {
      const old = this.#value(slot);
      this.#setValue(slot, value);
      this.#touch(slot);
      return old;
    }
    const max = this.#maxEntries;
    const keys = this.#keys;
    if (max !== 0 && this.#size >= max) {
      const oldest = this.#links[0];
      const oldKey = keys[oldest] as K, oldValue = this.#value(oldest);
      this.#unindex(oldKey, oldest);
      this.#put(oldest, h);
      keys[oldest] = key as K;
      this.#setValue(oldest, value);
      this.#touch(oldest);
      this.#onEvicted?.(oldKey, oldValue);
      return undefined;
    }
    const fresh = this.#allocate();
    this.#keys[fresh] = key as K;
    this.#setValue(fresh, value);
    this.#put(fresh, h);
    this.#size++;
    this.#linkNewest(fresh);
    return undefined;
  }

  /** The value of live `slot`. */
  #value(slot: number): V {
    return (this.#ints ? this.#links[4 * slot + 2] : this.#values[slot]) as V;
  }

  /**
   * Stores `slot`'s value: in its row while every value is a 32-bit integer,
   * else in `#values`, which the first other value fills from the rows.
   */
  #setValue(slot: number, value: V): void {
    if (this.#ints) {
      if (
        typeof value === "number" && (value | 0) === value &&
        (value !== 0 || 1 / value > 0) // not -0, which the row would make 0
      ) {
        this.#links[4 * slot + 2] = value;
        return;
      }
      this.#widen();
    }
    this.#values[slot] = value;
  }

  /** Moves the values out of the rows into `#values`, for good (till a reset). */
  #widen(): void {
    const links = this.#links, top = this.#top;
    const values: (V | undefined)[] = [];
    for (let slot = 0; slot < this.#keys.length; slot++) {
      const live = slot !== 0 && slot < top && links[4 * slot + 1] !== FREE;
      values.push(live ? links[4 * slot + 2] as V : undefined);
    }
    this.#values = values;
    this.#ints = false;
  }

  #index(key: K, slot: number): void {
    if (typeof key === "string") {
      this.#put(slot, stringHash(key, TABLES, K0, K1));
    } else this.#others.set(key, slot);
  }

  #unindex(key: K, slot: number): void {
    if (typeof key === "string") {
      this.#cut(slot, stringHash(key, TABLES, K0, K1));
    } else this.#others.delete(key);
  }

  /** Links a fresh slot in as the newest entry. */
  #linkNewest(fresh: number): void {
    const links = this.#links;
    const newest = links[1];
    links[4 * newest] = fresh;
    links[4 * fresh] = 0;
    links[4 * fresh + 1] = newest;
    links[1] = fresh;
  }

  /** Makes `slot` the newest entry. */
  #touch(slot: number): void {
    const links = this.#links;
    const newest = links[1];
    if (newest === slot) return;
    const at = 4 * slot;
    const newer = links[at], older = links[at + 1];
    links[4 * older] = newer;
    links[4 * newer + 1] = older;
    links[4 * newest] = slot;
    links[at] = 0;
    links[at + 1] = newest;
    links[1] = slot;
  }

  /** Unlinks and frees a live slot, then calls `onEvicted` with its entry. */
  #evict(slot: number): void {
    const links = this.#links, keys = this.#keys;
    const key = keys[slot] as K, value = this.#value(slot);
    const at = 4 * slot;
    const newer = links[at], older = links[at + 1];
    links[4 * older] = newer;
    links[4 * newer + 1] = older;
    links[at] = this.#free;
    links[at + 1] = FREE;
    this.#free = slot;
    this.#unindex(key, slot);
    keys[slot] = undefined;
    if (!this.#ints) this.#values[slot] = undefined;
    this.#size--;
    this.#onEvicted?.(key, value);
  }

  /** A free slot, growing the storage when none is left. */
  #allocate(): number {
    const free = this.#free;
    if (free !== 0) {
      this.#free = this.#links[4 * free];
      return free;
    }
    const slot = this.#top;
    if (slot === this.#keys.length) this.#grow();
    this.#top = slot + 1;
    return slot;
  }

  #grow(): void {
    const max = this.#maxEntries;
    const old = this.#keys.length;
    let slots = Math.max(old * 2, INITIAL_SLOTS);
    slots = Math.min(slots, max !== 0 ? max + 1 : MAX_SLOTS);
    if (slots <= old) {
      throw new RangeError(`LruCache cannot hold more than ${old - 1} entries`);
    }
    const links = new Int32Array(4 * slots);
    links.set(this.#links);
    this.#links = links;
    // At most half full, so a miss ends after a probe or two on average.
    let buckets = 8;
    while (buckets < 2 * slots) buckets *= 2;
    const before = this.#table;
    if (2 * buckets !== before.length) {
      const table = new Int32Array(2 * buckets);
      for (let i = 0; i < before.length; i += 2) {
        if (before[i] !== 0) putBucket(table, before[i], before[i + 1]);
      }
      this.#table = table;
    }
    // Keep the plain arrays packed (no holes) so reads stay fast.
    const keys = this.#keys, values = this.#values, ints = this.#ints;
    for (let i = old; i < slots; i++) {
      keys.push(undefined);
      if (!ints) values.push(undefined);
    }
  }

  /** Empties the cache with fresh storage (the old may still be walked). */
  #reset(): void {
    this.#table = new Int32Array(0);
    this.#others = new Map();
    this.#size = 0;
    this.#keys = [];
    this.#values = [];
    this.#links = new Int32Array(0);
    this.#free = 0;
    this.#top = 1;
    this.#ints = true;
    this.#epoch++;
    this.#grow(); // slot 0, the sentinel, links to itself: an empty list
  }

  /** Live slots in list order; tolerates changes between steps. */
  *#slots(newestFirst: boolean): Generator<number, void, undefined> {
    const epoch = this.#epoch;
    const side = newestFirst ? 1 : 0;
    let left = this.#size;
    let slot = this.#links[side];
    while (slot !== 0 && left-- > 0) {
      // Read the neighbour first: the caller may move or remove `slot`.
      const following = this.#links[4 * slot + side];
      yield slot;
      if (this.#epoch !== epoch || this.#links[4 * following + 1] === FREE) {
        return;
      }
      slot = following;
    }
  }
}

/** Puts `slot`, whose key has hash `h`, in the first free bucket from its home. */
function putBucket(table: Int32Array, slot: number, h: number): void {
  const mask = table.length - 2;
  let i = (h << 1) & mask;
  while (table[i] !== 0) i = (i + 2) & mask;
  table[i] = slot;
  table[i + 1] = h;
}

function describe(value: unknown): string {
  if (typeof value === "function") return "a function";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}
