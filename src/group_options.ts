/**
 * What a {@linkcode Group} is made with, what its methods take and what it
 * counts: the options, the counters, and the one check that turns the
 * options into a group's settings, each mistake a {@linkcode ConfigError}
 * that says how to fix it. mod.ts exports the types; the functions are the
 * group's own.
 *
 * @module
 */

import { ENTRY_OVERHEAD } from "./cache.ts";
import { ConfigError, GetterError, LoadTimeoutError } from "./errors.ts";
import { type Getter, type GetterFunc, getterFunc } from "./getter.ts";
import { HOT_CACHE_POLICIES, type HotCachePolicy } from "./hot_admission.ts";
import { type Logger, loggerOption } from "./logger.ts";
import type { PeerPicker } from "./peers.ts";
import { defaultRegistry, type Registry } from "./registry.ts";
import type { SharedLoadsOptions } from "./shared_load.ts";

/** Options of a {@linkcode Group}. */
export interface GroupOptions {
  /**
   * Where other nodes are found. Without it the group uses the peer picker
   * of its registry's node (the `HttpPool` made with that registry), looked
   * up at each load, as Go's `initPeers`; with neither it is local-only.
   */
  peers?: PeerPicker;
  /**
   * The registry (node) to join; defaults to the registry the `peers` pool
   * serves, else {@linkcode defaultRegistry}.
   */
  registry?: Registry;
  /**
   * The bound of one load (peer fetch and getter together), in milliseconds:
   * past it every waiter gets a `LoadTimeoutError`, the getter's signal
   * aborts and the key is free for a fresh load. Default 30,000; 0 disables
   * it.
   */
  loadTimeoutMs?: number;
  /**
   * Which values fetched from their owners are mirrored in the hot cache:
   * `"popular"` (default: every one while the budget has room, then a key
   * fetched twice within a window of recent fetches), `"go"` (Go's one in
   * ten at random), `"always"` (mailgun's), `"never"`.
   */
  hotCache?: HotCachePolicy;
  /**
   * Whether single gets of keys owned by one peer, started in the same tick
   * on this node, travel as one batch request, as `getMany`'s keys do (to
   * peers that take batches; see docs/batches.md). The batch goes once a few
   * microtask turns pass without a new key (and, while other requests are in
   * flight, the event loop's turn ends): no timer. Default
   * `false` (measured: fewer requests on every runtime; at 64 callers more
   * gets/s, at one about the same).
   */
  coalesceGets?: boolean;
  /** A source of numbers in [0, 1) for the `"go"` policy's 1 in 10; defaults to `Math.random`. */
  random?: () => number;
  /**
   * Told of every failed peer fetch, before the group falls back to a local
   * load (with an `HttpPool` a `PeerError`: its `reason` says why, `"down"`
   * for a fetch released because its peer was just marked down, and the
   * pool's `peerHealth()` tells each peer's state), and of every peer a
   * {@linkcode Group.remove} could not tell. An owner's getter error that
   * ends the get (`onOwnerError: "fail"`) is not one: the caller gets it.
   */
  onPeerError?: (error: unknown, key: string) => void;
  /**
   * The lifetime, in milliseconds, of every value this node caches without
   * an expiry of its own: loaded by the getter, stored by a set, or fetched
   * from an owner that sent none. 0 (the default): such values never expire.
   */
  ttlMs?: number;
  /**
   * The clock every expiry is read against, in Unix milliseconds; default
   * `Date.now`. Read only for values that have an expiry (and, with
   * `ttlMs`, to give one).
   */
  now?: () => number;
  /**
   * Bytes charged per cached entry on top of its key and value bytes, so
   * that `cacheBytes` bounds the memory the caches really take. Defaults to
   * what an entry is measured to cost beyond those bytes in this library's
   * storage ({@linkcode ENTRY_OVERHEAD}); 0 counts exactly as Go does (key
   * bytes plus value bytes), for byte-for-byte parity of `cacheStats`.
   */
  entryOverhead?: number;
  /**
   * How long, in milliseconds, a key whose getter threw a
   * `NotFoundError` is remembered as missing (negative caching):
   * meanwhile gets of it reject at once, and peers are answered not-found,
   * without running the getter. The entry is charged to `cacheBytes` (its
   * key and message) and gives way before any value; a `set` or `remove`
   * of the key clears it. Default 1,000: one getter run per missing key per
   * second for the whole cluster, and a value the origin gains behind the
   * cache's back shows within a second. 0 remembers nothing.
   */
  notFoundTtlMs?: number;
  /**
   * What a get does when the key's owner (a node of ours) answers that its
   * getter failed: `"fail"` (default) rejects with a `PeerError`
   * of reason `"getter"` carrying the owner's URL and message, and runs no
   * getter here, so a failing origin is asked once per request, not twice;
   * `"load-locally"` runs the getter here instead, as Go does. An owner
   * that is unreachable, down, timed out, answered garbage or is not one of
   * ours (Go, mailgun) is always followed by a local load.
   */
  onOwnerError?: "fail" | "load-locally";
  /**
   * Stale-while-revalidate, in milliseconds past a value's expiry: a get
   * meanwhile is answered the expired value at once while one refresh of it
   * runs in the background (on the owner: one getter run for the whole
   * cluster). Default 0: an expired value is a miss.
   */
  staleMs?: number;
  /**
   * Stale-if-error, in milliseconds past a value's expiry (independent of
   * `staleMs`): when refreshing an expired value fails (its getter throws,
   * its owner is unreachable), the expired value is served until then, and
   * refreshes are retried about once a second; past it, the error. Default
   * 0: never.
   */
  staleIfErrorMs?: number;
  /** Where a key whose refresh fails is reported, once until it succeeds; default `console`. */
  logger?: Logger;
}

/** Options of {@linkcode Group.get}. */
export interface GetOptions {
  /** Detaches this caller only: the shared load goes on for the others. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Group.set}. */
export interface SetOptions {
  /**
   * When the value expires, in Unix milliseconds on the group's clock;
   * absent or `0`: the group's `ttlMs` applies, if any, else never.
   */
  expire?: number;
  /**
   * Also keep the value in this node's hot cache when another node owns the
   * key (mailgun's `hotCache`); else this node's copy, if any, is dropped.
   */
  hot?: boolean;
  /** Gives up the request to the owner. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Group.remove}. */
export interface RemoveOptions {
  /** Gives up the requests to the peers. */
  signal?: AbortSignal;
}

/** Go's `Stats`, counted since the group was made. */
export interface GroupStats {
  /** Every get, including those from peers. */
  gets: number;
  /** Gets answered by the main or hot cache. */
  cacheHits: number;
  /** Values fetched from a remote peer. */
  peerLoads: number;
  /**
   * Failed peer fetches (each followed by a local load), values that came
   * from a peer already expired (the same), and peers a remove could not
   * tell; a caller's abort is not one.
   */
  peerErrors: number;
  /** Gets that missed the cache (before deduplication). */
  loads: number;
  /** Loads after deduplication: actual fills. */
  loadsDeduped: number;
  /** Successful getter runs. */
  localLoads: number;
  /** Failed getter runs. */
  localLoadErrs: number;
  /** Gets that came from peers over the wire. */
  serverRequests: number;
  /** Values fetched from owners that the hot-cache policy mirrored. */
  hotAdmissions: number;
  /** Values fetched from owners that the hot-cache policy turned away. */
  hotRejections: number;
  /** Values stored by a set: this node's own, and those peers sent it. */
  sets: number;
  /** Removes: this node's own, and those peers sent it. */
  removes: number;
  /** Entries of the main or hot cache found expired on a lookup, and dropped. */
  expirations: number;
  /** Getter runs that threw a `NotFoundError` (not in `localLoadErrs`). */
  notFounds: number;
  /** Gets answered "not found" by a remembered not-found (`notFoundTtlMs`). */
  negativeHits: number;
  /**
   * Gets that failed because the key's owner answered that its getter
   * failed (`onOwnerError: "fail"`), with no local load.
   */
  ownerErrors: number;
  /** Gets answered with an expired value (`staleMs`, `staleIfErrorMs`). */
  staleHits: number;
  /** Refreshes of expired values started. */
  refreshes: number;
  /**
   * Keys whose refresh of an expired value started failing: counted (and
   * logged) once per key until one of its refreshes succeeds, not per
   * request nor per retry.
   */
  refreshErrors: number;
  /**
   * Keys this node now owns that it got from their previous owner's cache
   * after a ring change (handoff), instead of running the getter.
   */
  handoffHits: number;
  /** Handoffs that found nothing (or failed): the getter ran instead. */
  handoffMisses: number;
  /** Values handed to their next owners when the pool closed. */
  handedOff: number;
}

/** Which of a group's two caches. */
export type CacheType = "main" | "hot";

/** A group's counters, all 0. */
export function newStats(): GroupStats {
  return {
    gets: 0,
    cacheHits: 0,
    peerLoads: 0,
    peerErrors: 0,
    loads: 0,
    loadsDeduped: 0,
    localLoads: 0,
    localLoadErrs: 0,
    serverRequests: 0,
    hotAdmissions: 0,
    hotRejections: 0,
    sets: 0,
    removes: 0,
    expirations: 0,
    notFounds: 0,
    negativeHits: 0,
    ownerErrors: 0,
    staleHits: 0,
    refreshes: 0,
    refreshErrors: 0,
    handoffHits: 0,
    handoffMisses: 0,
    handedOff: 0,
  };
}

/** A group's settings: its options checked, with their defaults. */
export interface GroupSettings {
  getter: GetterFunc;
  peers: PeerPicker | undefined;
  registry: Registry;
  loadTimeoutMs: number;
  hotCache: HotCachePolicy;
  coalesceGets: boolean;
  random: () => number;
  onPeerError: ((error: unknown, key: string) => void) | undefined;
  ttlMs: number;
  now: () => number;
  entryOverhead: number;
  notFoundTtlMs: number;
  onOwnerError: "fail" | "load-locally";
  staleMs: number;
  staleIfErrorMs: number;
  logger: Logger;
}

const DEFAULT_LOAD_TIMEOUT_MS = 30_000;
const DEFAULT_NOT_FOUND_TTL_MS = 1_000;

/**
 * The settings of group `name`, or a {@linkcode ConfigError} naming the
 * first argument or option that is wrong and what it should be.
 */
export function checkGroupOptions(
  name: string,
  cacheBytes: number,
  getter: Getter,
  options: GroupOptions,
): GroupSettings {
  if (typeof name !== "string" || name === "") {
    throw new ConfigError(
      `a group needs a non-empty string name, got ${JSON.stringify(name)}`,
    );
  }
  const group = `group ${JSON.stringify(name)}`;
  if (name === "." || name === "..") {
    throw new ConfigError(
      `a group cannot be named ${
        JSON.stringify(name)
      }: URLs resolve it away, so peers could not ask for it`,
    );
  }
  if (!name.isWellFormed()) {
    throw new ConfigError(
      `group name ${
        JSON.stringify(name)
      } has a lone UTF-16 surrogate: it has no UTF-8 form for peers`,
    );
  }
  if (!(Number.isInteger(cacheBytes) && cacheBytes >= 0)) {
    throw new ConfigError(
      `cacheBytes of ${group} must be a whole number of bytes >= 0 (0 ` +
        `disables caching), got ${String(cacheBytes)}`,
    );
  }
  const func = getterFunc(getter);
  if (func === undefined) {
    throw new ConfigError(
      `${group} needs a getter: (key, dest, { signal }) => value`,
    );
  }
  const {
    peers,
    random = Math.random,
    onPeerError,
    loadTimeoutMs = DEFAULT_LOAD_TIMEOUT_MS,
    hotCache = "popular",
    coalesceGets = false,
    ttlMs = 0,
    now = Date.now,
    entryOverhead = ENTRY_OVERHEAD,
    notFoundTtlMs = DEFAULT_NOT_FOUND_TTL_MS,
    onOwnerError = "fail",
    staleMs = 0,
    staleIfErrorMs = 0,
  } = options;
  for (
    const [option, ms] of [["staleMs", staleMs], [
      "staleIfErrorMs",
      staleIfErrorMs,
    ]]
  ) {
    if (!isMs(ms)) {
      throw new ConfigError(
        `${option} of ${group} must be a number of milliseconds >= 0 (0: ` +
          `off), got ${String(ms)}`,
      );
    }
  }
  if (!isMs(notFoundTtlMs)) {
    throw new ConfigError(
      `notFoundTtlMs of ${group} must be a number of milliseconds >= 0 (0: ` +
        `not-found is not remembered), got ${String(notFoundTtlMs)}`,
    );
  }
  if (onOwnerError !== "fail" && onOwnerError !== "load-locally") {
    throw new ConfigError(
      `onOwnerError of ${group} must be "fail" or "load-locally", got ${
        JSON.stringify(onOwnerError)
      }`,
    );
  }
  if (!(Number.isInteger(entryOverhead) && entryOverhead >= 0)) {
    throw new ConfigError(
      `entryOverhead of ${group} must be a whole number of bytes >= 0 (0: ` +
        `Go's accounting), got ${String(entryOverhead)}`,
    );
  }
  if (!isMs(ttlMs)) {
    throw new ConfigError(
      `ttlMs of ${group} must be a number of milliseconds >= 0 (0: values ` +
        `never expire unless given an expiry), got ${String(ttlMs)}`,
    );
  }
  if (typeof now !== "function") {
    throw new ConfigError(
      `the now option of ${group} must be a function returning Unix ` +
        "milliseconds, like Date.now",
    );
  }
  if (!HOT_CACHE_POLICIES.includes(hotCache)) {
    throw new ConfigError(
      `hotCache of ${group} must be one of ${
        HOT_CACHE_POLICIES.map((p) => JSON.stringify(p)).join(", ")
      }, got ${JSON.stringify(hotCache)}`,
    );
  }
  if (typeof coalesceGets !== "boolean") {
    throw new ConfigError(
      `coalesceGets of ${group} must be true or false, got ${
        String(coalesceGets)
      }`,
    );
  }
  if (peers !== undefined && typeof peers?.pickPeer !== "function") {
    throw new ConfigError(
      `the peers option of ${group} must have a pickPeer(key) method, such ` +
        "as an HttpPool",
    );
  }
  if (typeof random !== "function") {
    throw new ConfigError(
      "the random option must be a function returning [0, 1)",
    );
  }
  if (!(typeof loadTimeoutMs === "number" && loadTimeoutMs >= 0)) {
    throw new ConfigError(
      `loadTimeoutMs of ${group} must be a number of milliseconds >= 0 (0 ` +
        `disables the bound), got ${String(loadTimeoutMs)}`,
    );
  }
  const served = peers?.registry;
  if (
    options.registry !== undefined && served !== undefined &&
    options.registry !== served
  ) {
    throw new ConfigError(
      `${group} was given a registry other than the one its peers pool ` +
        "serves: the pool would not serve it. Pass one of the two.",
    );
  }
  return {
    getter: func,
    peers,
    registry: options.registry ?? served ?? defaultRegistry,
    loadTimeoutMs,
    hotCache,
    coalesceGets,
    random,
    onPeerError,
    ttlMs,
    now,
    entryOverhead,
    notFoundTtlMs,
    onOwnerError,
    staleMs,
    staleIfErrorMs,
    logger: loggerOption(options.logger),
  };
}

/** A finite number of milliseconds >= 0. */
function isMs(ms: unknown): ms is number {
  return typeof ms === "number" && ms >= 0 && ms < Infinity;
}

/**
 * The bound of group `name`'s loads, and the errors of a load that
 * outlives it or waits on itself.
 */
export function loadBounds(
  name: string,
  timeoutMs: number,
): SharedLoadsOptions {
  return {
    timeoutMs,
    timeoutError: (key: string, ms: number) =>
      new LoadTimeoutError(
        name,
        key,
        ms,
        "the getter or the peer never answered (or the getter waits on a " +
          "get of its own key)",
      ),
    reentryError: (key: string) =>
      new GetterError(
        name,
        key,
        "the getter asked its own group for the key it is loading; it " +
          "would wait on itself",
      ),
  };
}
