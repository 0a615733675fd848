/**
 * Cache: one of a group's two LRUs (main and hot), with Go's byte and hit
 * accounting, and mailgun's expiry: an entry found expired on a lookup is a
 * miss and is dropped — unless it expired less than the group's grace ago
 * (`staleMs`, `staleIfErrorMs`): then it is kept for `stale`. The group decides what goes in and which cache gives
 * way.
 *
 * @module
 */

import { type ByteView, utf8Length } from "./byte_view.ts";
import { LruCache } from "./lru.ts";
import { FramedView } from "./framed.ts";
import { SlabStore } from "./slab_store.ts";

/** Go's `CacheStats`, for one of a group's caches. */
export interface CacheStats {
  /**
   * Bytes counted: UTF-8 key bytes plus value bytes of every entry, plus the
   * group's `entryOverhead` per entry (0: Go's figure exactly).
   */
  bytes: number;
  /** Entries held. */
  items: number;
  /** Lookups. */
  gets: number;
  /** Lookups that found the key. */
  hits: number;
  /** Entries removed to make room. */
  evictions: number;
}

/**
 * What an entry costs beyond its key and value bytes in this library's
 * storage (src/slab_store.ts): the key's string and its slot in the LRU's
 * index, the LRU's links and arrays, the store's per-entry slots, a record's
 * header and padding. bench/memory_bench.ts measures about 130 bytes on
 * Deno and 145 on Bun with 1,000,000 entries; the arrays grow by doubling,
 * so up to about 45 bytes more per entry can sit in their headroom. Charging
 * it makes `cacheBytes` bound what the process really holds; Go charges
 * nothing (the `entryOverhead` option of a Group, 0 for Go's accounting).
 */
export const ENTRY_OVERHEAD = 192;

/**
 * The share of a segmented cache's bytes its protected entries may hold
 * when it evicts (the usual segmented LRU's 80 %): past it the oldest of
 * them go back on probation, so that a key no longer asked for ages out.
 */
const PROTECTED = 0.8;

/**
 * The size an entry is charged: key bytes (UTF-8) plus value bytes, as Go,
 * plus `overhead`.
 */
export function entrySize(
  key: string,
  length: number,
  overhead: number,
): number {
  return utf8Length(key) + length + overhead;
}

/**
 * An LRU of values that counts its bytes, lookups, hits and evictions, and
 * drops entries found expired. Values live in a {@linkcode SlabStore}; a
 * lookup hands out a fresh ByteView of the stored bytes.
 */
export class ByteCache {
  bytes = 0;
  gets = 0;
  hits = 0;
  evictions = 0;
  readonly #now: () => number;
  readonly #onExpired: () => void;
  readonly #overhead: number;
  readonly #graceMs: number;
  readonly #store = new SlabStore((id) => this.#forget(id));
  // A segmented cache's probation (entries not hit since they came in), or
  // the whole of a cache that is not segmented.
  readonly #lru = new LruCache<string, number>({
    onEvicted: (key, id) => this.#dropped(key, id),
  });
  // A segmented cache's protected entries (hit at least once since they
  // came in): evicted only when probation is empty or they hold more than
  // PROTECTED of the bytes. So a scan of one-off keys, however long, only
  // ever evicts other one-off keys.
  readonly #kept: LruCache<string, number> | undefined;
  #keptBytes = 0;
  #moving = false; // an entry changes segment: its bytes stay
  // Views kept, by id, direct-mapped: a key hit again gets the same view
  // without allocating (a fresh view costs about as much as the rest of a
  // hit). A slot keeps the first view put there until its entry leaves or
  // moves: an id whose slot is taken gets a fresh view each hit, which dies
  // young. Replacing it instead would store a young object into this
  // long-lived array on nearly every hit once the keys outnumber the slots,
  // and each garbage collection would then copy the views kept: hits cost
  // several times more past 65,536 keys (bench/README.md, issue 21).
  readonly #viewMask: number;
  #views: (ByteView | undefined)[] = [];
  #viewIds = new Int32Array(0);

  /**
   * @param now The clock expiries are read against (Unix milliseconds).
   * @param onExpired Told of each entry dropped because it expired.
   * @param overhead Bytes charged per entry beyond its key and value.
   * @param budget The group's cacheBytes: sizes the views kept, one per
   * 2 KiB of budget (a power of two, 1 to 65,536), about 8 % of it when
   * every slot holds a 100-byte view and the promise a get answered with it
   * (src/framed.ts's `answer`).
   * @param graceMs How long past its expiry an entry is kept for `stale`.
   * @param segmented Whether entries hit again are protected from entries
   * not hit since they came in (a segmented LRU: the hot cache).
   */
  constructor(
    now: () => number,
    onExpired: () => void,
    overhead = 0,
    budget = 0,
    graceMs = 0,
    segmented = false,
  ) {
    this.#now = now;
    this.#onExpired = onExpired;
    this.#overhead = overhead;
    this.#graceMs = graceMs;
    let slots = 1;
    while (slots < 65536 && slots * 2 * 2048 <= budget) slots *= 2;
    this.#viewMask = slots - 1;
    this.#kept = segmented
      ? new LruCache({
        onEvicted: (key, id) => {
          if (!this.#moving) this.#keptBytes -= this.#size(key, id);
          this.#dropped(key, id);
        },
      })
      : undefined;
  }

  #size(key: string, id: number): number {
    return entrySize(key, this.#store.length(id), this.#overhead);
  }

  /** An entry left its LRU: its bytes go, unless it only changes segment. */
  #dropped(key: string, id: number): void {
    if (this.#moving) return;
    this.bytes -= this.#size(key, id);
    this.#forget(id);
    this.#store.free(id);
  }

  #forget(id: number): void {
    const slot = id & this.#viewMask;
    if (this.#viewIds.length !== 0 && this.#viewIds[slot] === id) {
      this.#viewIds[slot] = -1;
      this.#views[slot] = undefined;
    }
  }

  /**
   * The value of `key`, counted as a lookup (and a hit when found). An
   * expired entry is dropped and missed; the clock is read only for entries
   * that have an expiry.
   */
  get(key: string): ByteView | undefined {
    this.gets++;
    const kept = this.#kept;
    let id: number | undefined;
    if (kept !== undefined && kept.size !== 0) id = kept.get(key);
    if (id === undefined) {
      if (this.#lru.size === 0) return undefined; // hashing a fresh key is not free
      id = this.#lru.get(key);
      if (id === undefined) return undefined;
      if (kept !== undefined) this.#protect(key, id);
    }
    // A view kept for the entry carries its expiry: the store's record of
    // it, one more memory access per hit, is read only for the others.
    const view = this.#keptView(id);
    const expire = view !== undefined ? view.expire : this.#store.expire(id);
    if (expire !== 0) {
      const age = this.#now() - expire;
      if (age >= 0) {
        if (age >= this.#graceMs) {
          this.remove(key);
          this.#onExpired();
        } // else kept, stale, for `stale`
        return undefined;
      }
    }
    this.hits++;
    return view ?? this.#newView(id, expire);
  }

  /**
   * `key`'s entry if it expired less than `graceMs` ago, not counted as a
   * lookup (a `get` just missed it) and left where it is in the LRU.
   */
  stale(key: string): ByteView | undefined {
    if (this.#graceMs === 0 || this.items === 0) return undefined;
    const id = this.#lru.peek(key) ?? this.#kept?.peek(key);
    if (id === undefined) return undefined;
    const expire = this.#store.expire(id);
    const age = this.#now() - expire;
    return expire !== 0 && age >= 0 && age < this.#graceMs
      ? this.#view(id, expire)
      : undefined;
  }

  /** The view kept for entry `id`, if any. */
  #keptView(id: number): ByteView | undefined {
    const slot = id & this.#viewMask;
    const ids = this.#viewIds;
    return ids.length !== 0 && ids[slot] === id ? this.#views[slot] : undefined;
  }

  /** A view of entry `id`: the one kept for it, if any. */
  #view(id: number, expire: number): ByteView {
    return this.#keptView(id) ?? this.#newView(id, expire);
  }

  /** A new view of entry `id`, kept if its slot is free. */
  #newView(id: number, expire: number): ByteView {
    const store = this.#store;
    const slot = id & this.#viewMask;
    const ids = this.#viewIds;
    // A peer gets its frame; no Uint8Array until the bytes are read.
    const view = new FramedView(
      store.slab(id),
      expire,
      store.start(id),
      store.length(id),
    );
    if (ids.length === 0) {
      this.#viewIds = new Int32Array(this.#viewMask + 1).fill(-1);
    } else if (ids[slot] !== -1) return view; // taken: this one dies young
    this.#viewIds[slot] = id;
    this.#views[slot] = view;
    return view;
  }

  /**
   * The entries that have not expired, most recently used first (a
   * segmented cache's protected ones first), not counted as lookups nor
   * refreshed.
   */
  *newest(): IterableIterator<[string, ByteView]> {
    const now = this.#now();
    for (const lru of [this.#kept, this.#lru]) {
      if (lru === undefined) continue;
      for (const [key, id] of lru.entries({ newestFirst: true })) {
        const expire = this.#store.expire(id);
        if (expire === 0 || expire > now) yield [key, this.#view(id, expire)];
      }
    }
  }

  /** Drops `key`'s entry, if any (not counted as an eviction). */
  remove(key: string): boolean {
    if (this.#lru.size !== 0 && this.#lru.remove(key)) return true;
    const kept = this.#kept;
    return kept !== undefined && kept.size !== 0 && kept.remove(key);
  }

  /**
   * In a segmented cache, moves `key` from probation to the protected
   * segment (a key known to be asked for again), if it is there.
   */
  protect(key: string): void {
    if (this.#kept === undefined || this.#lru.size === 0) return;
    const id = this.#lru.peek(key);
    if (id !== undefined) this.#protect(key, id);
  }

  /** Moves probation's `key` to the protected segment, as its newest. */
  #protect(key: string, id: number): void {
    this.#moving = true;
    this.#lru.remove(key);
    this.#kept!.add(key, id);
    this.#moving = false;
    this.#keptBytes += this.#size(key, id);
  }

  /** Moves the protected segment's oldest entry to probation, as its newest. */
  #demote(): void {
    this.#moving = true;
    const [key, id] = this.#kept!.removeOldest()!;
    this.#lru.add(key, id);
    this.#moving = false;
    this.#keptBytes -= this.#size(key, id);
  }

  /**
   * Adds or replaces `key`'s value (a copy of its bytes). In a segmented
   * cache it goes on probation, unless it replaces a protected entry.
   */
  add(key: string, value: ByteView): void {
    const id = this.#store.put(value);
    const size = entrySize(key, value.length, this.#overhead);
    const kept = this.#kept;
    const where = kept !== undefined && kept.size !== 0 && kept.has(key)
      ? kept
      : this.#lru;
    // Go adds the size again on a re-add; we subtract the old one.
    const old = where.add(key, id);
    if (old !== undefined) {
      const oldSize = this.#size(key, old);
      this.bytes -= oldSize;
      if (where === kept) this.#keptBytes -= oldSize;
      this.#forget(old);
      this.#store.free(old);
    }
    this.bytes += size;
    if (where === kept) this.#keptBytes += size;
  }

  /** Evicts the least recently used entry. */
  removeOldest(): void {
    const kept = this.#kept;
    if (kept !== undefined) {
      while (
        kept.size !== 0 &&
        (this.#lru.size === 0 || this.#keptBytes > this.bytes * PROTECTED)
      ) this.#demote();
    }
    if (this.#lru.removeOldest() !== undefined) this.evictions++;
  }

  /** Entries held. */
  get items(): number {
    return this.#lru.size + (this.#kept?.size ?? 0);
  }

  /** A snapshot of the counters. */
  stats(): CacheStats {
    const { bytes, items, gets, hits, evictions } = this;
    return { bytes, items, gets, hits, evictions };
  }
}

/**
 * Evicts until a group's caches fit its budget together: remembered
 * not-founds first while they exceed main/8, then hot while hot exceeds
 * main/8, else main (Go's rule, with not-founds giving way first).
 */
export function evictToFit(
  budget: number,
  main: ByteCache,
  hot: ByteCache,
  missing: ByteCache,
): void {
  for (;;) {
    const mainBytes = main.bytes;
    if (mainBytes + hot.bytes + missing.bytes <= budget) return;
    const eighth = Math.floor(mainBytes / 8);
    const victim = missing.bytes > eighth
      ? missing
      : hot.bytes > eighth
      ? hot
      : main;
    if (victim.items === 0) return; // accounting says over, but nothing to evict
    victim.removeOldest();
  }
}
