/**
 * Cache: one of a group's two LRUs (main and hot), with Go's byte and hit
 * accounting, and mailgun's expiry: an entry found expired on a lookup is a
 * miss and is dropped — unless it expired less than the group's grace ago
 * (`staleMs`, `staleIfErrorMs`): then it is kept for `stale`. The group decides what goes in and which cache gives
 * way.
 *
 * @module
 */

import { ByteView, utf8Length } from "./byte_view.ts";
import { LruCache } from "./lru.ts";
import { markFramed } from "./framed.ts";
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
  #lru = new LruCache<string, number>({
    onEvicted: (key, id) => {
      this.bytes -= entrySize(key, this.#store.length(id), this.#overhead);
      this.#forget(id);
      this.#store.free(id);
    },
  });
  // Views handed out lately, by id, direct-mapped: a key hit again gets the
  // same view without allocating (a fresh view costs about as much as the
  // rest of a hit). A view is forgotten when its entry leaves or moves, so
  // the views kept hold live slabs only; at most `slots` of them.
  readonly #viewMask: number;
  #views: (ByteView | undefined)[] = [];
  #viewIds = new Int32Array(0);

  /**
   * @param now The clock expiries are read against (Unix milliseconds).
   * @param onExpired Told of each entry dropped because it expired.
   * @param overhead Bytes charged per entry beyond its key and value.
   * @param budget The group's cacheBytes: sizes the views kept, one per
   * 2 KiB of budget (a power of two, 1 to 65,536), about 7 % of it when
   * every slot holds a 100-byte view.
   * @param graceMs How long past its expiry an entry is kept for `stale`.
   */
  constructor(
    now: () => number,
    onExpired: () => void,
    overhead = 0,
    budget = 0,
    graceMs = 0,
  ) {
    this.#now = now;
    this.#onExpired = onExpired;
    this.#overhead = overhead;
    this.#graceMs = graceMs;
    let slots = 1;
    while (slots < 65536 && slots * 2 * 2048 <= budget) slots *= 2;
    this.#viewMask = slots - 1;
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
    if (this.#lru.size === 0) return undefined; // hashing a fresh key is not free
    const id = this.#lru.get(key);
    if (id === undefined) return undefined;
    const expire = this.#store.expire(id);
    if (expire !== 0) {
      const age = this.#now() - expire;
      if (age >= 0) {
        if (age >= this.#graceMs) {
          this.#lru.remove(key);
          this.#onExpired();
        } // else kept, stale, for `stale`
        return undefined;
      }
    }
    this.hits++;
    return this.#view(id, expire);
  }

  /**
   * `key`'s entry if it expired less than `graceMs` ago, not counted as a
   * lookup (a `get` just missed it) and left where it is in the LRU.
   */
  stale(key: string): ByteView | undefined {
    if (this.#graceMs === 0 || this.#lru.size === 0) return undefined;
    const id = this.#lru.peek(key);
    if (id === undefined) return undefined;
    const expire = this.#store.expire(id);
    const age = this.#now() - expire;
    return expire !== 0 && age >= 0 && age < this.#graceMs
      ? this.#view(id, expire)
      : undefined;
  }

  /** A view of entry `id`, the one handed out last if it is still there. */
  #view(id: number, expire: number): ByteView {
    const store = this.#store;
    const slot = id & this.#viewMask;
    const ids = this.#viewIds;
    if (ids.length !== 0 && ids[slot] === id) return this.#views[slot]!;
    const bytes = store.bytes(id);
    const view = new ByteView(bytes, expire);
    markFramed(view, bytes); // a peer is answered with the frame around it
    if (ids.length === 0) {
      this.#viewIds = new Int32Array(this.#viewMask + 1).fill(-1);
    }
    this.#viewIds[slot] = id;
    this.#views[slot] = view;
    return view;
  }

  /** Drops `key`'s entry, if any (not counted as an eviction). */
  remove(key: string): boolean {
    return this.#lru.size !== 0 && this.#lru.remove(key);
  }

  /** Adds or replaces `key`'s value (a copy of its bytes). */
  add(key: string, value: ByteView): void {
    const id = this.#store.put(value);
    // Go adds the size again on a re-add; we subtract the old one.
    const old = this.#lru.add(key, id);
    if (old !== undefined) {
      this.bytes -= entrySize(key, this.#store.length(old), this.#overhead);
      this.#forget(old);
      this.#store.free(old);
    }
    this.bytes += entrySize(key, value.length, this.#overhead);
  }

  /** Evicts the least recently used entry. */
  removeOldest(): void {
    if (this.#lru.removeOldest() !== undefined) this.evictions++;
  }

  /** Entries held. */
  get items(): number {
    return this.#lru.size;
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
