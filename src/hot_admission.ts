/**
 * Hot-cache admission: which values fetched from their owners a group
 * mirrors in its hot cache. Go mirrors one in ten at random, whatever the
 * key's popularity, so a hot key is fetched about ten times before it stays;
 * mailgun mirrors every one, so a scan of cold keys flushes the popular ones.
 * The default here mirrors every value while the budget has room (that
 * evicts nothing), and past that a key the second time it is fetched within
 * a window of recent fetches: a key asked for again soon is popular, and a
 * one-off key never gets in, so a scan cannot displace anything. What came
 * in on the room alone is on trial: the hot cache evicts it before any key
 * hit since or admitted as popular (src/cache.ts), so a scan that starts
 * while there is room only ever pushes out its own keys.
 *
 * @module
 */

import { LruCache } from "./lru.ts";

/**
 * How a group chooses the remote values it mirrors in its hot cache:
 * `"popular"` (the default) every one while the budget has room, then a key
 * fetched twice within a window of recent fetches, `"go"` Go's one in ten at random, `"always"` every one
 * (mailgun's), `"never"` none.
 */
export type HotCachePolicy = "popular" | "go" | "always" | "never";

/** The policies, for validation. */
export const HOT_CACHE_POLICIES: readonly HotCachePolicy[] = [
  "popular",
  "go",
  "always",
  "never",
];

/**
 * Whether a value fetched from its owner is mirrored: `false` not;
 * `"on trial"` because the budget has room (a scan's keys come in this way,
 * so the hot cache evicts them before keys hit since: see src/cache.ts);
 * `"proven"` because it was asked for again (or by Go's or mailgun's rule).
 */
export type HotAdmission = false | "on trial" | "proven";

/**
 * Whether a group mirrors a value just fetched from its owner in its hot
 * cache, under `policy`; `fits` says whether it fits the budget without
 * evicting anything (asked by `"popular"` only).
 */
export function admitHot(
  policy: HotCachePolicy,
  random: () => number,
  door: Doorkeeper | undefined,
  key: string,
  fits: () => boolean,
): HotAdmission {
  switch (policy) {
    case "never":
      return false;
    case "always":
      return "proven";
    case "go":
      return random() < 0.1 && "proven"; // Go: rand.Intn(10) == 0
  }
  if (door === undefined) return false; // caching is off
  // Room to spare: mirroring evicts nothing, so it costs nothing.
  if (fits()) return "on trial";
  // Else it displaces something: only a key fetched again while
  // remembered is popular enough; a one-off never is.
  return door.admit(key) && "proven";
}

/**
 * Remembers the last `capacity` keys fetched once, and lets a key through
 * the second time it comes while still remembered. Memory: one LRU entry
 * (the key string and a slot) per remembered key.
 *
 * @example Second time in
 * ```ts
 * import { Doorkeeper } from "./hot_admission.ts";
 * import assert from "node:assert/strict";
 *
 * const door = new Doorkeeper(2);
 * assert.equal(door.admit("a"), false); // first time: remembered
 * assert.equal(door.admit("a"), true); // second time: in
 * door.admit("b");
 * door.admit("c");
 * door.admit("d"); // "b" is forgotten: the window holds two
 * assert.equal(door.admit("b"), false);
 * assert.equal(door.admit("d"), true);
 * ```
 */
export class Doorkeeper {
  readonly #seen: LruCache<string, true>;

  /** Makes a doorkeeper that remembers up to `capacity` keys (at least 1). */
  constructor(capacity: number) {
    this.#seen = new LruCache({
      maxEntries: Math.max(1, Math.floor(capacity)),
    });
  }

  /** Whether `key` passes: it was fetched once recently. Else it is remembered. */
  admit(key: string): boolean {
    if (this.#seen.remove(key)) return true;
    this.#seen.add(key, true);
    return false;
  }

  /** Keys remembered now. */
  get size(): number {
    return this.#seen.size;
  }

  /** The most keys remembered. */
  get capacity(): number {
    return this.#seen.maxEntries;
  }
}

/**
 * The window of a group with `cacheBytes` of budget: one remembered key per
 * 4 KiB of budget (at least 64), so that it spans about twice the hot
 * cache's entries of 1 KiB and costs about 2 % of the budget with 80-byte
 * keys.
 */
export function doorkeeperCapacity(cacheBytes: number): number {
  return Math.max(64, Math.floor(cacheBytes / 4096));
}
