/**
 * Cache: one of a group's two LRUs (main and hot), with Go's byte and hit
 * accounting, and mailgun's expiry: an entry found expired on a lookup is a
 * miss and is dropped. The group decides what goes in and which cache gives
 * way.
 *
 * @module
 */

import { type ByteView, utf8Length } from "./byte_view.ts";
import { LruCache } from "./lru.ts";

/** Go's `CacheStats`, for one of a group's caches. */
export interface CacheStats {
  /** Bytes held: UTF-8 key bytes plus value bytes of every entry. */
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

/** The size Go charges for an entry: key bytes (UTF-8) plus value bytes. */
export function entrySize(key: string, value: ByteView): number {
  return utf8Length(key) + value.length;
}

/**
 * An LRU of values that counts its bytes, lookups, hits and evictions, and
 * drops entries found expired.
 */
export class ByteCache {
  bytes = 0;
  gets = 0;
  hits = 0;
  evictions = 0;
  readonly #now: () => number;
  readonly #onExpired: () => void;
  #lru = new LruCache<string, ByteView>({
    onEvicted: (key, value) => {
      this.bytes -= entrySize(key, value);
    },
  });

  /**
   * @param now The clock expiries are read against (Unix milliseconds).
   * @param onExpired Told of each entry dropped because it expired.
   */
  constructor(now: () => number, onExpired: () => void) {
    this.#now = now;
    this.#onExpired = onExpired;
  }

  /**
   * The value of `key`, counted as a lookup (and a hit when found). An
   * expired entry is dropped and missed; the clock is read only for entries
   * that have an expiry.
   */
  get(key: string): ByteView | undefined {
    this.gets++;
    if (this.#lru.size === 0) return undefined; // hashing a fresh key is not free
    const value = this.#lru.get(key);
    if (value === undefined) return undefined;
    if (value.expire !== 0 && this.#now() >= value.expire) {
      this.#lru.remove(key);
      this.#onExpired();
      return undefined;
    }
    this.hits++;
    return value;
  }

  /** Drops `key`'s entry, if any (not counted as an eviction). */
  remove(key: string): boolean {
    return this.#lru.size !== 0 && this.#lru.remove(key);
  }

  /** Adds or replaces `key`'s value. */
  add(key: string, value: ByteView): void {
    // Go adds the size again on a re-add; we subtract the old one.
    const old = this.#lru.add(key, value);
    if (old !== undefined) this.bytes -= entrySize(key, old);
    this.bytes += entrySize(key, value);
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
