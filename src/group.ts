/**
 * Group: a named cache namespace and its read-through path, Go's
 * `groupcache.Group`. Read it top to bottom as Go's `groupcache.go`:
 * {@linkcode Group.get} → cache → one shared load per key → owner → peer
 * fetch (hot-cache admission) → getter → populate; then mailgun's writes,
 * {@linkcode Group.set} and {@linkcode Group.remove}.
 *
 * @module
 */

import { ByteView } from "./byte_view.ts";
import {
  ByteCache,
  type CacheStats,
  ENTRY_OVERHEAD,
  entrySize,
} from "./cache.ts";
import { MAX_VALUE_BYTES } from "./slab_store.ts";
import {
  ConfigError,
  GetterError,
  InvalidKeyError,
  LoadTimeoutError,
  PeerError,
  SinkNotSetError,
} from "./errors.ts";
import {
  Doorkeeper,
  doorkeeperCapacity,
  HOT_CACHE_POLICIES,
  type HotCachePolicy,
} from "./hot_admission.ts";
import {
  defaultRegistry,
  type Registry,
  registryServedBy,
} from "./registry.ts";
import type { LoadHandle } from "./shared_load.ts";
import { SharedLoads } from "./shared_load.ts";
import { ByteViewSink, type Sink } from "./sink.ts";

export type { CacheStats } from "./cache.ts";

/** What a getter is told besides the key and the sink. */
export interface GetterContext {
  /**
   * Aborts when nobody waits for this load any more (every caller that
   * shares it left through its own signal) or when it outlives the group's
   * `loadTimeoutMs`. A getter that honours it saves work; a value it still
   * produces is cached.
   */
  readonly signal: AbortSignal;
}

/**
 * A value with its expiry, as a getter may return it: `expire` is in Unix
 * milliseconds on the group's clock (`now`, `Date.now()` by default), `0`
 * for never.
 */
export interface ExpiringValue {
  /** The value, as a getter may return it plainly. */
  value: Uint8Array | string | ByteView;
  /** When it expires, in Unix milliseconds; `0`: never. */
  expire: number;
}

/**
 * What a getter may return: the value itself (a `Uint8Array` is copied, as
 * `dest.setBytes` does), the value with an expiry (`{ value, expire }`), or
 * nothing when it filled `dest` the Go way (`dest.setBytes(bytes, expire)`).
 */
export type GetterResult =
  | Uint8Array
  | string
  | ByteView
  | ExpiringValue
  | void
  | undefined;

/**
 * Loads the value of `key` from the source of truth: return it, or store it
 * into `dest` (one or the other: doing both is a {@linkcode GetterError}).
 * Runs at most once at a time per key within a group (per node). Throw to
 * report an error; errors are never cached.
 */
export type GetterFunc = (
  key: string,
  dest: Sink,
  context: GetterContext,
) => GetterResult | Promise<GetterResult>;

/** A getter as a function, or as an object with a `get` method (Go's `Getter`). */
export type Getter = GetterFunc | { get: GetterFunc };

/**
 * Fetches a group's value from one remote peer (Go's `ProtoGetter`), and,
 * optionally, writes to it (mailgun's `Set` and `Remove`): a peer without
 * them serves gets only, and {@linkcode Group.set} or
 * {@linkcode Group.remove} of a key it owns is a {@linkcode ConfigError}.
 */
export interface PeerGetter {
  /** The peer's base URL (or another name for it), for errors and logs. */
  readonly url: string;
  /** Asks the peer for `key` of `group`; the view carries its expiry. */
  get(group: string, key: string, signal: AbortSignal): Promise<ByteView>;
  /** Stores `value` (with its expiry) as `key` in the peer's main cache. */
  set?(
    group: string,
    key: string,
    value: ByteView,
    signal: AbortSignal,
  ): Promise<void>;
  /** Drops `key` from the peer's main and hot caches. */
  remove?(group: string, key: string, signal: AbortSignal): Promise<void>;
}

/** Names the peer that owns a key (Go's `PeerPicker`). */
export interface PeerPicker {
  /**
   * The owner of `key`, or `undefined` to load it locally: this node owns
   * it, or its owner is not to be asked now (an `HttpPool` skips a peer it
   * has marked down).
   */
  pickPeer(key: string): PeerGetter | undefined;
  /**
   * Every remote peer (mailgun's `GetAll`, without this node), for
   * {@linkcode Group.remove} to tell them all; without it, a remove reaches
   * the owner only.
   */
  getAll?(): readonly PeerGetter[];
}

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
   * past it every waiter gets a {@linkcode LoadTimeoutError}, the getter's
   * signal aborts and the key is free for a fresh load. Default 30,000; 0
   * disables it.
   */
  loadTimeoutMs?: number;
  /**
   * Which values fetched from their owners are mirrored in the hot cache:
   * `"popular"` (default: every one while the budget has room, then a key
   * fetched twice within a window of recent fetches), `"go"` (Go's one in
   * ten at random), `"always"` (mailgun's), `"never"`.
   */
  hotCache?: HotCachePolicy;
  /** A source of numbers in [0, 1) for the `"go"` policy's 1 in 10; defaults to `Math.random`. */
  random?: () => number;
  /**
   * Told of every failed peer fetch, before the group falls back to a local
   * load (with an `HttpPool` a `PeerError`: its `reason` says why, `"down"`
   * for a fetch released because its peer was just marked down, and the
   * pool's `peerHealth()` tells each peer's state), and of every peer a {@linkcode Group.remove} could not tell.
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

/** Options of {@linkcode Group.get}. */
export interface GetOptions {
  /** Detaches this caller only: the shared load goes on for the others. */
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
}

/** Which of a group's two caches. */
export type CacheType = "main" | "hot";

const DEFAULT_LOAD_TIMEOUT_MS = 30_000;
// The signal of a write whose caller gave none.
const NO_SIGNAL = new AbortController().signal;

/**
 * A cache namespace: values loaded by one getter, spread over the peers.
 *
 * `get` looks in the main cache (keys this node owns) and the hot cache
 * (popular keys owned elsewhere); on a miss, one load per key runs: the
 * owner is asked over HTTP, or, when this node owns the key or the owner
 * fails, the getter runs here. A value may carry an expiry (from the getter,
 * a set, or the `ttlMs` option): from then on it is a miss. `set` and
 * `remove` write through the owner, as mailgun's groupcache does.
 *
 * @example Read through, once per key
 * ```ts
 * import { Group, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * let loads = 0;
 * const greetings = new Group("greetings", 1 << 20, (key) => {
 *   loads++;
 *   return `hello, ${key}`; // or dest.setString(...), the Go way
 * }, { registry: new Registry() });
 *
 * assert.equal((await greetings.get("ada")).toString(), "hello, ada");
 * assert.equal((await greetings.get("ada")).toString(), "hello, ada");
 * assert.equal(loads, 1);
 * assert.equal(greetings.stats.cacheHits, 1);
 * assert.equal(greetings.name, "greetings");
 * assert.equal(greetings.cacheBytes, 1 << 20);
 * assert.deepEqual(greetings.cacheStats("main"), {
 *   bytes: 3 + 10 + 192, // key, value, and what an entry costs beyond them
 *   items: 1, gets: 2, hits: 1, evictions: 0,
 * });
 * ```
 */
export class Group {
  /** The group's name, the same on every peer. */
  readonly name: string;
  /** The byte budget of the main and hot caches together; `<= 0` disables caching. */
  readonly cacheBytes: number;
  /** The registry (node) the group belongs to: its pool serves the group. */
  readonly registry: Registry;
  /** The bound of one load in milliseconds (0: none). */
  readonly loadTimeoutMs: number;
  readonly #getter: GetterFunc;
  readonly #peers: PeerPicker | undefined;
  readonly #random: () => number;
  readonly #hotCache: HotCachePolicy;
  // Remote keys fetched once lately, for the "popular" policy.
  readonly #doorkeeper: Doorkeeper | undefined;
  readonly #onPeerError: ((error: unknown, key: string) => void) | undefined;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #stats: GroupStats = {
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
  };
  readonly #entryOverhead: number;
  readonly #main: ByteCache;
  readonly #hot: ByteCache;
  readonly #loads: SharedLoads<ByteView>;
  // The peer fetch of each load that is asking a remote owner right now.
  readonly #peerFetches = new Map<string, AbortController>();

  /**
   * Makes a group and registers it in its registry (a name already
   * registered there is a {@linkcode ConfigError}).
   *
   * @param name Unique within the registry, the same on every peer.
   * @param cacheBytes Budget of the main and hot caches together, in bytes.
   * @param getter Loads a value on a miss.
   * @param options Peers, registry, load bound, hot-cache policy, random
   *   source, peer-error hook, default TTL, clock.
   *
   * @example Getters, names and misuse
   * ```ts
   * import { ConfigError, Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * // A getter may also be an object with a get method, as in Go.
   * const g = new Group("made", 1 << 20, {
   *   get: (key, dest) => dest.setString(key.toUpperCase()),
   * }, { registry });
   * assert.equal((await g.get("x")).toString(), "X");
   * assert.equal(registry.get("made"), g);
   * const again = () => new Group("made", 1024, () => "", { registry });
   * assert.throws(again, ConfigError); // the name is taken
   * assert.throws(() => new Group("", 1024, () => ""), ConfigError);
   * ```
   */
  constructor(
    name: string,
    cacheBytes: number,
    getter: Getter,
    options: GroupOptions = {},
  ) {
    if (typeof name !== "string" || name === "") {
      throw new ConfigError(
        `a group needs a non-empty string name, got ${JSON.stringify(name)}`,
      );
    }
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
    if (typeof cacheBytes !== "number" || Number.isNaN(cacheBytes)) {
      throw new ConfigError(
        `cacheBytes of group ${JSON.stringify(name)} must be a number ` +
          `(bytes; 0 disables caching), got ${String(cacheBytes)}`,
      );
    }
    if (typeof getter === "function") {
      this.#getter = getter;
    } else if (getter !== null && typeof getter?.get === "function") {
      const object = getter;
      this.#getter = (key, dest, context) => object.get(key, dest, context);
    } else {
      throw new ConfigError(
        `group ${JSON.stringify(name)} needs a getter: ` +
          "(key, dest, { signal }) => value",
      );
    }
    const {
      peers,
      random = Math.random,
      onPeerError,
      loadTimeoutMs = DEFAULT_LOAD_TIMEOUT_MS,
      hotCache = "popular",
      ttlMs = 0,
      now = Date.now,
      entryOverhead = ENTRY_OVERHEAD,
    } = options;
    if (
      !(typeof entryOverhead === "number" && Number.isInteger(entryOverhead) &&
        entryOverhead >= 0)
    ) {
      throw new ConfigError(
        `entryOverhead of group ${JSON.stringify(name)} must be a whole ` +
          `number of bytes >= 0 (0: Go's accounting), got ${
            String(entryOverhead)
          }`,
      );
    }
    if (!(typeof ttlMs === "number" && ttlMs >= 0 && ttlMs < Infinity)) {
      throw new ConfigError(
        `ttlMs of group ${JSON.stringify(name)} must be a number of ` +
          `milliseconds >= 0 (0: values never expire unless given an ` +
          `expiry), got ${String(ttlMs)}`,
      );
    }
    if (typeof now !== "function") {
      throw new ConfigError(
        `the now option of group ${JSON.stringify(name)} must be a function ` +
          "returning Unix milliseconds, like Date.now",
      );
    }
    if (!HOT_CACHE_POLICIES.includes(hotCache)) {
      throw new ConfigError(
        `hotCache of group ${JSON.stringify(name)} must be one of ${
          HOT_CACHE_POLICIES.map((p) => JSON.stringify(p)).join(", ")
        }, got ${JSON.stringify(hotCache)}`,
      );
    }
    if (peers !== undefined && typeof peers?.pickPeer !== "function") {
      throw new ConfigError(
        `the peers option of group ${JSON.stringify(name)} must have a ` +
          "pickPeer(key) method, such as an HttpPool",
      );
    }
    if (typeof random !== "function") {
      throw new ConfigError(
        "the random option must be a function returning [0, 1)",
      );
    }
    if (!(typeof loadTimeoutMs === "number" && loadTimeoutMs >= 0)) {
      throw new ConfigError(
        `loadTimeoutMs of group ${JSON.stringify(name)} must be a number of ` +
          `milliseconds >= 0 (0 disables the bound), got ${
            String(loadTimeoutMs)
          }`,
      );
    }
    const served = peers === undefined ? undefined : registryServedBy(peers);
    if (
      options.registry !== undefined && served !== undefined &&
      options.registry !== served
    ) {
      throw new ConfigError(
        `group ${JSON.stringify(name)} was given a registry other than the ` +
          "one its peers pool serves: the pool would not serve it. Pass one " +
          "of the two.",
      );
    }
    this.name = name;
    this.cacheBytes = cacheBytes;
    this.loadTimeoutMs = loadTimeoutMs;
    this.#peers = peers;
    this.#random = random;
    this.#hotCache = hotCache;
    this.#doorkeeper = hotCache === "popular" && cacheBytes > 0
      ? new Doorkeeper(doorkeeperCapacity(cacheBytes))
      : undefined;
    this.#onPeerError = onPeerError;
    this.#ttlMs = ttlMs;
    this.#now = now;
    const expired = () => this.#stats.expirations++;
    this.#entryOverhead = entryOverhead;
    this.#main = new ByteCache(now, expired, entryOverhead, cacheBytes);
    this.#hot = new ByteCache(now, expired, entryOverhead, cacheBytes);
    this.#loads = new SharedLoads<ByteView>({
      timeoutMs: loadTimeoutMs,
      timeoutError: (key, ms) =>
        new LoadTimeoutError(
          name,
          key,
          ms,
          "the getter or the peer never answered (or the getter waits on a " +
            "get of its own key)",
        ),
      reentryError: (key) =>
        new GetterError(
          name,
          key,
          "the getter asked its own group for the key it is loading; it " +
            "would wait on itself",
        ),
    });
    this.registry = options.registry ?? served ?? defaultRegistry;
    this.registry.add(this);
  }

  /**
   * The counters (live, read-only); see {@linkcode GroupStats}.
   *
   * @example Counting gets and loads
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const g = new Group("counted", 1024, (key) => key, { registry: new Registry() });
   * await g.get("a");
   * await g.get("a");
   * await g.get("b");
   * assert.equal(g.stats.gets, 3);
   * assert.equal(g.stats.cacheHits, 1);
   * assert.equal(g.stats.localLoads, 2);
   * ```
   */
  get stats(): Readonly<GroupStats> {
    return this.#stats;
  }

  /**
   * The counters of the main cache (keys this node owns) or the hot cache
   * (popular keys owned elsewhere); see the class example.
   */
  cacheStats(which: CacheType): CacheStats {
    if (which === "main") return this.#main.stats();
    if (which === "hot") return this.#hot.stats();
    throw new TypeError(
      `cacheStats takes "main" or "hot", got ${JSON.stringify(which)}`,
    );
  }

  /**
   * The value of `key`: from the cache, else from the key's owner, else from
   * the getter. Concurrent gets of one key share one load; a caller's
   * `signal` detaches that caller only.
   *
   * @example Concurrent gets share one load
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const squares = new Group("squares", 1 << 20, async (key) => {
   *   await new Promise((resolve) => setTimeout(resolve, 5));
   *   return String(Number(key) ** 2);
   * }, { registry: new Registry() });
   * const views = await Promise.all(["3", "3", "4"].map((k) => squares.get(k)));
   * assert.deepEqual(views.map(String), ["9", "9", "16"]);
   * assert.equal(squares.stats.localLoads, 2);
   * ```
   */
  get(key: string, options?: GetOptions): Promise<ByteView> {
    const found = this.lookupOrLoad(key, options, true);
    return found instanceof ByteView ? Promise.resolve(found) : found;
  }

  /**
   * Go's `Get(ctx, key, dest)`: the value of `key`, stored into `dest`.
   *
   * @example Into a Go-style sink
   * ```ts
   * import { bytesSink, Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const g = new Group("into", 1 << 20, (key) => key.toUpperCase(), {
   *   registry: new Registry(),
   * });
   * const sink = bytesSink();
   * await g.getInto("abc", sink);
   * assert.deepEqual(sink.value, new TextEncoder().encode("ABC"));
   * ```
   */
  async getInto(key: string, dest: Sink, options?: GetOptions): Promise<void> {
    if (typeof dest?.setView !== "function") {
      throw new TypeError("getInto needs a sink, such as bytesSink()");
    }
    dest.setView(await this.get(key, options));
  }

  /**
   * What the peer handler does for a request that came from another node:
   * counts a server request, answers from the cache or loads locally. It
   * never forwards to a third peer, so nodes whose peer lists disagree
   * cannot ask each other in a circle (Go can).
   *
   * @example Serving a peer
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const g = new Group("served", 1 << 20, (key) => key, { registry: new Registry() });
   * assert.equal((await g.getForPeer("x")).toString(), "x");
   * assert.equal(g.stats.serverRequests, 1);
   * ```
   */
  getForPeer(key: string, options?: GetOptions): Promise<ByteView> {
    const found = this.lookupOrLoad(key, options, false);
    return found instanceof ByteView ? Promise.resolve(found) : found;
  }

  /**
   * The one Get path, for {@linkcode Group.get} (`forward` true) and the
   * peer handler (`forward` false: a peer asked, so load here). A cached
   * value comes back as is, without a promise; `options.signal` is read only
   * on a miss (Deno makes a request's signal on first read).
   *
   * @internal
   */
  lookupOrLoad(
    key: string,
    options: GetOptions | undefined,
    forward: boolean,
  ): ByteView | Promise<ByteView> {
    if (typeof key !== "string") return Promise.reject(keyTypeError(key));
    if (!forward) this.#stats.serverRequests++;
    this.#stats.gets++;
    const cached = this.#lookupCache(key);
    if (cached !== undefined) {
      this.#stats.cacheHits++;
      return cached;
    }
    if (!forward) {
      // A peer asks us for a key our own load is asking a peer for: the
      // rings disagree. Load here now rather than wait on each other until
      // the peer timeout.
      this.#peerFetches.get(key)?.abort(
        new Error("a peer asked this node for the key: loading it here"),
      );
    }
    this.#stats.loads++;
    return this.#loads.join(
      key,
      forward ? this.#loadForwarding : this.#loadHere,
      options?.signal,
    );
  }

  // The load of a key, made once per group rather than per get.
  readonly #loadForwarding = (key: string, load: LoadHandle) =>
    this.#load(key, load, true);
  readonly #loadHere = (key: string, load: LoadHandle) =>
    this.#load(key, load, false);

  /**
   * Go's `load`, run once per key at a time: owner, then getter. Go first
   * looks in the cache again, because another goroutine may have filled it
   * between its lookup and `singleflight.Do`; here the lookup and the join
   * run in one synchronous step, so nothing can, and the re-check is left
   * out.
   */
  #load(
    key: string,
    load: LoadHandle,
    forward: boolean,
  ): ByteView | Promise<ByteView> {
    this.#stats.loadsDeduped++;
    const peer = forward
      ? (this.#peers ?? this.registry.peerPicker)?.pickPeer(key)
      : undefined;
    if (peer !== undefined) return this.#getFromPeer(key, peer, load);
    return this.#getLocally(key, load);
  }

  /** Asks the owner; on failure (not the caller's) loads here instead. */
  async #getFromPeer(
    key: string,
    peer: PeerGetter,
    load: LoadHandle,
  ): Promise<ByteView> {
    const asking = new AbortController();
    load.link(asking);
    this.#peerFetches.set(key, asking);
    try {
      const fetched = await peer.get(this.name, key, asking.signal);
      if (fetched.expire !== 0 && this.#now() >= fetched.expire) {
        throw this.#arrivedExpired(key, peer);
      }
      const value = this.#withDefaultTtl(fetched);
      this.#stats.peerLoads++;
      if (load.superseded) {
        // Set or removed meanwhile: this value may be the old one.
      } else if (this.#admitHot(key, value)) {
        this.#stats.hotAdmissions++;
        this.#populateCache(key, value, this.#hot);
      } else {
        this.#stats.hotRejections++;
      }
      return value;
    } catch (err) {
      if (load.aborted) throw load.reason; // the callers left, or the bound passed
      if (err instanceof InvalidKeyError) throw err; // not the peer's fault
      if (!asking.signal.aborted) {
        this.#stats.peerErrors++;
        this.#onPeerError?.(err, key);
      } // else: a peer asked us for this key; the rings disagree
    } finally {
      if (this.#peerFetches.get(key) === asking) this.#peerFetches.delete(key);
      load.link(undefined);
    }
    return this.#getLocally(key, load);
  }

  /** mailgun's "peer returned expired value": a peer error, then a local load. */
  #arrivedExpired(key: string, peer: PeerGetter): PeerError {
    return new PeerError(
      `peer ${peer.url}, group ${this.name}, key ${JSON.stringify(key)}: ` +
        "the value arrived already expired (are the clocks in sync?)",
      { peer: peer.url, group: this.name, key, reason: "expired" },
    );
  }

  /** Whether to mirror the value just fetched from `key`'s owner in the hot cache. */
  #admitHot(key: string, value: ByteView): boolean {
    switch (this.#hotCache) {
      case "never":
        return false;
      case "always":
        return true;
      case "go":
        return this.#random() < 0.1; // Go: rand.Intn(10) == 0
    }
    const door = this.#doorkeeper;
    if (door === undefined) return false; // caching is off
    const size = entrySize(key, value.length, this.#entryOverhead);
    // Room to spare: mirroring evicts nothing, so it costs nothing.
    if (this.#main.bytes + this.#hot.bytes + size <= this.cacheBytes) {
      return true;
    }
    // Else it displaces something: only a key fetched again while
    // remembered is popular enough; a one-off never is.
    return door.admit(key);
  }

  /** Runs the getter; a synchronous getter is finished without a promise. */
  #getLocally(key: string, load: LoadHandle): ByteView | Promise<ByteView> {
    const sink = new ByteViewSink();
    let result: GetterResult | Promise<GetterResult>;
    try {
      result = this.#getter(key, sink, {
        get signal() {
          return load.signal;
        },
      });
    } catch (err) {
      throw this.#getterFailed(key, err);
    }
    if (result instanceof Promise) {
      return result.then(
        (returned) => this.#populateMain(key, sink, returned, load),
        (err) => {
          throw this.#getterFailed(key, err);
        },
      );
    }
    return this.#populateMain(key, sink, result, load);
  }

  /**
   * The getter's value, with the default TTL when it has no expiry, cached
   * in the main cache unless the key was written meanwhile.
   */
  #populateMain(
    key: string,
    sink: ByteViewSink,
    returned: GetterResult,
    load: LoadHandle,
  ): ByteView {
    let value: ByteView;
    try {
      value = this.#valueOf(key, sink, returned);
    } catch (err) {
      this.#stats.localLoadErrs++;
      throw err;
    }
    this.#stats.localLoads++;
    value = this.#withDefaultTtl(value);
    if (!load.superseded) this.#populateCache(key, value, this.#main);
    return value;
  }

  #valueOf(key: string, sink: ByteViewSink, returned: GetterResult): ByteView {
    if (returned === undefined) {
      if (sink.isSet) return sink.view;
      throw new SinkNotSetError(
        `getter of group ${
          JSON.stringify(this.name)
        } returned without a value for key ${JSON.stringify(key)}: return ` +
          "it, or call dest.setBytes, setString or setView, or throw",
      );
    }
    if (sink.isSet) {
      throw new GetterError(
        this.name,
        key,
        "the getter both filled dest and returned a value: do one or the other",
      );
    }
    const view = viewOf(returned);
    if (view !== undefined) return view;
    if (returned !== null && typeof returned === "object") {
      const { value, expire } = returned as Partial<ExpiringValue>;
      const inner = viewOf(value);
      if (inner !== undefined && expire === 0) return inner;
      if (inner !== undefined && Number.isFinite(expire)) {
        return inner.withExpire(expire!);
      }
      if (inner !== undefined) {
        throw new GetterError(
          this.name,
          key,
          `the getter returned { value, expire } with expire ${
            String(expire)
          }: return a Uint8Array, a string or a ByteView, or { value, ` +
            "expire } with expire in Unix milliseconds (0: never)",
        );
      }
    }
    throw new GetterError(
      this.name,
      key,
      "the getter returned " +
        (returned === null ? "null" : `a ${typeof returned}`) +
        ": return a Uint8Array, a string or a ByteView (or { value, expire }, " +
        "or fill dest)",
    );
  }

  #getterFailed(key: string, err: unknown): Error {
    this.#stats.localLoadErrs++;
    if (err instanceof Error) return err;
    return new GetterError(
      this.name,
      key,
      `the getter threw ${String(err)}`,
      { cause: err },
    );
  }

  #lookupCache(key: string): ByteView | undefined {
    if (this.cacheBytes <= 0) return undefined;
    return this.#main.get(key) ?? this.#hot.get(key);
  }

  /**
   * Adds to one cache (unless the value already expired), then evicts until
   * both fit: hot first while hot > main/8. A value larger than the whole
   * budget is not cached: it could only stay by evicting everything, and
   * then not even fit (Go evicts the whole cache for it); nor is one
   * larger than the store's `MAX_VALUE_BYTES` (2 GiB less 64 KiB), whatever
   * the budget.
   */
  #populateCache(key: string, value: ByteView, cache: ByteCache): void {
    if (this.cacheBytes <= 0) return;
    const size = entrySize(key, value.length, this.#entryOverhead);
    if (size > this.cacheBytes || value.length > MAX_VALUE_BYTES) return;
    if (value.expire !== 0 && this.#now() >= value.expire) return;
    cache.add(key, value);
    for (;;) {
      const mainBytes = this.#main.bytes;
      const hotBytes = this.#hot.bytes;
      if (mainBytes + hotBytes <= this.cacheBytes) return;
      const victim = hotBytes > Math.floor(mainBytes / 8)
        ? this.#hot
        : this.#main;
      if (victim.items === 0) return; // accounting says over, but nothing to evict
      victim.removeOldest();
    }
  }

  /**
   * Stores `value` as `key`'s value (mailgun's `Set`): in the owner's main
   * cache (a `PUT` to the owner, or here when this node owns the key), and,
   * with `hot`, in this node's hot cache too. Other nodes' hot copies stay
   * until they expire; {@linkcode Group.remove} reaches them all. A load of
   * the key running meanwhile is not cached. Rejects, storing nothing here,
   * when the owner fails.
   *
   * @example Set with an expiry, read back, expire (on a clock of our own)
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * let now = 1_000;
   * const g = new Group("set", 1 << 20, (key) => `loaded ${key}`, {
   *   registry: new Registry(),
   *   now: () => now,
   * });
   * await g.set("k", "stored", { expire: now + 500 });
   * assert.equal((await g.get("k")).toString(), "stored");
   * assert.equal((await g.get("k")).expire, 1_500);
   * now = 1_500; // the expiry instant: a miss, so the getter runs
   * assert.equal((await g.get("k")).toString(), "loaded k");
   * assert.deepEqual([g.stats.sets, g.stats.expirations], [1, 1]);
   * ```
   */
  async set(
    key: string,
    value: Uint8Array | string | ByteView,
    options: SetOptions = {},
  ): Promise<void> {
    if (typeof key !== "string") throw keyTypeError(key);
    const { expire, hot = false, signal = NO_SIGNAL } = options;
    let view = viewOf(value);
    if (view === undefined) {
      throw new TypeError(
        `set needs a Uint8Array, a string or a ByteView, got ${
          value === null ? "null" : typeof value
        }`,
      );
    }
    view = expire !== undefined && expire !== 0
      ? view.withExpire(expire)
      : this.#withDefaultTtl(view);
    const owner = (this.#peers ?? this.registry.peerPicker)?.pickPeer(key);
    if (owner === undefined) {
      this.#storeMain(key, view);
      return;
    }
    if (typeof owner.set !== "function") {
      throw this.#cannot("set", owner);
    }
    await owner.set(this.name, key, view, signal);
    this.#stats.sets++;
    this.#removeHere(key);
    if (hot) this.#populateCache(key, view, this.#hot);
  }

  /**
   * Drops `key` everywhere (mailgun's `Remove`): from its owner first (a
   * `DELETE`; when that fails, the remove stops there and rejects), then
   * from this node, then from every other peer at once, best effort: a peer
   * that fails is counted in `peerErrors` and told to `onPeerError`, and
   * the remove still resolves. Each request is bounded by the pool's
   * timeout. A load of the key running here meanwhile is not cached.
   *
   * @example Removed values load again
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * let version = 1;
   * const g = new Group("removed", 1 << 20, (key) => `${key} v${version}`, {
   *   registry: new Registry(),
   * });
   * assert.equal((await g.get("doc")).toString(), "doc v1");
   * version = 2;
   * assert.equal((await g.get("doc")).toString(), "doc v1"); // cached
   * await g.remove("doc");
   * assert.equal((await g.get("doc")).toString(), "doc v2");
   * assert.equal(g.stats.removes, 1);
   * ```
   */
  async remove(key: string, options: RemoveOptions = {}): Promise<void> {
    if (typeof key !== "string") throw keyTypeError(key);
    const { signal = NO_SIGNAL } = options;
    const picker = this.#peers ?? this.registry.peerPicker;
    const owner = picker?.pickPeer(key);
    if (owner !== undefined) {
      if (typeof owner.remove !== "function") {
        throw this.#cannot("remove", owner);
      }
      await owner.remove(this.name, key, signal);
    }
    this.#drop(key);
    const others = (picker?.getAll?.() ?? []).filter((p) => p !== owner);
    await Promise.all(others.map((p) => this.#tell(p, key, signal)));
    signal.throwIfAborted();
  }

  /** Sends a remove to a peer that is not the owner; failures are reported. */
  async #tell(peer: PeerGetter, key: string, signal: AbortSignal) {
    if (typeof peer.remove !== "function") return; // it serves gets only
    try {
      await peer.remove(this.name, key, signal);
    } catch (err) {
      // A key no URL can carry was never fetched by anyone.
      if (err instanceof InvalidKeyError || signal.aborted) return;
      this.#stats.peerErrors++;
      this.#onPeerError?.(err, key);
    }
  }

  #cannot(what: "set" | "remove", peer: PeerGetter): ConfigError {
    return new ConfigError(
      `group ${JSON.stringify(this.name)}: cannot ${what} a key owned by ` +
        `peer ${peer.url}: its PeerGetter has no ${what} method (an ` +
        `HttpPool's peers have one)`,
    );
  }

  /**
   * What the peer handler does for a peer's set (`PUT`): stores `value` in
   * this node's main cache, as mailgun does, whoever owns the key.
   *
   * @internal
   */
  setForPeer(key: string, value: ByteView): void {
    this.#storeMain(key, value);
  }

  /**
   * What the peer handler does for a peer's remove (`DELETE`): drops `key`
   * from this node's main and hot caches.
   *
   * @internal
   */
  removeForPeer(key: string): void {
    this.#drop(key);
  }

  /** A set here: the value, given the default TTL if it has no expiry, into main. */
  #storeMain(key: string, value: ByteView): void {
    this.#stats.sets++;
    this.#removeHere(key);
    this.#populateCache(key, this.#withDefaultTtl(value), this.#main);
  }

  /** `value` with the group's default TTL when it has no expiry of its own. */
  #withDefaultTtl(value: ByteView): ByteView {
    return value.expire === 0 && this.#ttlMs > 0
      ? value.withExpire(this.#now() + this.#ttlMs)
      : value;
  }

  /** A remove here. */
  #drop(key: string): void {
    this.#stats.removes++;
    this.#removeHere(key);
  }

  /** Drops `key` here, and keeps a load of it now running out of the cache. */
  #removeHere(key: string): void {
    this.#loads.supersede(key);
    this.#main.remove(key);
    this.#hot.remove(key);
  }
}

/** The error of a key that is not a string. */
function keyTypeError(key: unknown): TypeError {
  return new TypeError(`a key must be a string, got ${typeof key}`);
}

/** A getter's plain value as a view (a `Uint8Array` copied), else `undefined`. */
function viewOf(value: unknown): ByteView | undefined {
  if (typeof value === "string") return new ByteView(value);
  if (value instanceof Uint8Array) return ByteView.copyOf(value);
  if (value instanceof ByteView) return value;
  return undefined;
}

/**
 * The group called `name` in the default registry (Go's `GetGroup`), or
 * `undefined`.
 *
 * @example Go's GetGroup
 * ```ts
 * import { getGroup, Group } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const g = new Group("doc-getGroup", 1024, (key) => key);
 * assert.equal(getGroup("doc-getGroup"), g);
 * assert.equal(getGroup("nope"), undefined);
 * ```
 */
export function getGroup(name: string): Group | undefined {
  return defaultRegistry.get(name);
}
