/**
 * Group: a named cache namespace and its read-through path, Go's
 * `groupcache.Group`. Read {@linkcode Group.get} top to bottom: it is the
 * whole algorithm.
 *
 * @module
 */

import { type ByteView, utf8Length } from "./byte_view.ts";
import { ConfigError, InvalidKeyError, SinkNotSetError } from "./errors.ts";
import { LruCache } from "./lru.ts";
import { defaultRegistry, type Registry } from "./registry.ts";
import { ByteViewSink, type Sink } from "./sink.ts";
import { SingleFlight } from "./singleflight.ts";

let serveKey: (
  group: Group,
  key: string,
  options: GetOptions | undefined,
) => ByteView | Promise<ByteView>;

/** What a getter is told besides the key and the sink. */
export interface GetterContext {
  /**
   * Aborts when nobody is waiting for this load any more (every caller that
   * shares it has detached through its own signal). A getter that honours it
   * saves work; one that ignores it still has its value cached.
   */
  signal: AbortSignal;
}

/**
 * Loads the value of `key` from the source of truth into `dest`. Runs at most
 * once at a time per key within a group (per node). Throw to report an error;
 * errors are never cached.
 */
export type GetterFunc = (
  key: string,
  dest: Sink,
  context: GetterContext,
) => void | Promise<void>;

/** A getter as a function, or as an object with a `get` method (Go's `Getter`). */
export type Getter = GetterFunc | { get: GetterFunc };

/** Fetches a group's value from one remote peer (Go's `ProtoGetter`). */
export interface PeerGetter {
  /** The peer's base URL (or another name for it), for errors and logs. */
  readonly url: string;
  /** Asks the peer for `key` of `group`. */
  get(group: string, key: string, signal: AbortSignal): Promise<ByteView>;
}

/** Names the peer that owns a key (Go's `PeerPicker`). */
export interface PeerPicker {
  /** The owner of `key`, or `undefined` when this node owns it (load locally). */
  pickPeer(key: string): PeerGetter | undefined;
  /** The registry whose groups this picker's node serves, if it has one. */
  readonly registry?: Registry;
}

/** Options of a {@linkcode Group}. */
export interface GroupOptions {
  /** Where other nodes are found; without it the group is local-only (Go's `NoPeers`). */
  peers?: PeerPicker;
  /** The registry to join; defaults to the `peers` pool's, else {@linkcode defaultRegistry}. */
  registry?: Registry;
  /** A source of numbers in [0, 1) for hot-cache admission (1 in 10); defaults to `Math.random`. */
  random?: () => number;
  /** Told of every failed peer fetch, before the group falls back to a local load. */
  onPeerError?: (error: unknown, key: string) => void;
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
  /** Failed peer fetches (each followed by a local load). */
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
}

/** Which of a group's two caches. */
export type CacheType = "main" | "hot";

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

function entrySize(key: string, value: ByteView): number {
  return utf8Length(key) + value.length;
}

/** One LRU of a group, with Go's byte and hit accounting. */
class ByteCache {
  bytes = 0;
  gets = 0;
  hits = 0;
  evictions = 0;
  #lru = new LruCache<string, ByteView>({
    onEvicted: (key, value) => {
      this.bytes -= entrySize(key, value);
      this.evictions++;
    },
  });

  get(key: string): ByteView | undefined {
    this.gets++;
    const value = this.#lru.get(key);
    if (value !== undefined) this.hits++;
    return value;
  }

  add(key: string, value: ByteView): void {
    // Go adds the size again on a re-add; we subtract the old one.
    const old = this.#lru.add(key, value);
    if (old !== undefined) this.bytes -= entrySize(key, old);
    this.bytes += entrySize(key, value);
  }

  removeOldest(): void {
    this.#lru.removeOldest();
  }

  get items(): number {
    return this.#lru.size;
  }

  stats(): CacheStats {
    const { bytes, items, gets, hits, evictions } = this;
    return { bytes, items, gets, hits, evictions };
  }
}

/**
 * Deduplicated loads of one kind: one run per key at a time, shared by every
 * waiter, and aborted when the last waiter detaches.
 */
class SharedLoads {
  #flight = new SingleFlight();
  // Keyed by the flight's promise, which every caller of one run shares.
  #states = new WeakMap<Promise<ByteView>, LoadState>();

  join(
    key: string,
    run: (signal: AbortSignal) => Promise<ByteView>,
    signal: AbortSignal | undefined,
  ): Promise<ByteView> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let created: LoadState | undefined;
    const promise = this.#flight.do(key, () => {
      created = {
        controller: new AbortController(),
        waiters: 0,
        settled: false,
      };
      return run(created.controller.signal);
    });
    if (created !== undefined) {
      const state = created;
      this.#states.set(promise, state);
      const settle = () => {
        state.settled = true;
      };
      promise.then(settle, settle);
    }
    const state = this.#states.get(promise)!;
    state.waiters++;
    if (signal === undefined) return promise;
    return new Promise<ByteView>((resolve, reject) => {
      const detach = () => {
        reject(signal.reason);
        if (--state.waiters === 0 && !state.settled) {
          // Nobody waits: let the getter stop, and let the next caller start afresh.
          this.#flight.forget(key);
          state.controller.abort(signal.reason);
        }
      };
      signal.addEventListener("abort", detach, { once: true });
      promise.then((value) => {
        signal.removeEventListener("abort", detach);
        resolve(value);
      }, (err) => {
        signal.removeEventListener("abort", detach);
        reject(err);
      });
    });
  }
}

interface LoadState {
  controller: AbortController;
  waiters: number;
  settled: boolean;
}

/**
 * A cache namespace: values loaded by one getter, spread over the peers.
 *
 * `get` looks in the main cache (keys this node owns) and the hot cache
 * (popular keys owned elsewhere); on a miss, one load per key runs: the
 * owner is asked over HTTP, or, when this node owns the key or the owner
 * fails, the getter runs here. Values are immutable; there is no set.
 *
 * @example
 * ```ts
 * import { Group, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * let loads = 0;
 * const greetings = new Group("greetings", 1 << 20, (key, dest) => {
 *   loads++;
 *   dest.setString(`hello, ${key}`);
 * }, { registry: new Registry() });
 *
 * assert.equal((await greetings.get("ada")).toString(), "hello, ada");
 * assert.equal((await greetings.get("ada")).toString(), "hello, ada");
 * assert.equal(loads, 1);
 * assert.equal(greetings.stats.cacheHits, 1);
 * ```
 */
export class Group {
  /**
   * The group's name, the same on every peer.
   *
   * @example
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const g = new Group("avatars", 1024, (key, dest) => dest.setString(key), {
   *   registry,
   * });
   * assert.equal(g.name, "avatars");
   * assert.equal(registry.get("avatars"), g);
   * ```
   */
  readonly name: string;
  /**
   * The byte budget of the main and hot caches together; `<= 0` disables
   * caching.
   *
   * @example
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * let loads = 0;
   * const g = new Group("uncached", 0, (key, dest) => {
   *   loads++;
   *   dest.setString(key);
   * }, { registry: new Registry() });
   * assert.equal(g.cacheBytes, 0);
   * await g.get("k");
   * await g.get("k");
   * assert.equal(loads, 2); // a budget of 0 caches nothing
   * ```
   */
  readonly cacheBytes: number;
  /**
   * The registry the group belongs to.
   *
   * @example
   * ```ts
   * import { Group, HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", { registry: new Registry() });
   * const g = new Group("joined", 1024, (key, dest) => dest.setString(key), {
   *   peers: pool,
   * });
   * assert.equal(g.registry, pool.registry); // so the pool serves it
   * assert.ok(pool.registry.has("joined"));
   * ```
   */
  readonly registry: Registry;
  readonly #getter: GetterFunc;
  readonly #peers: PeerPicker | undefined;
  readonly #random: () => number;
  readonly #onPeerError: ((error: unknown, key: string) => void) | undefined;
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
  };
  readonly #main = new ByteCache();
  readonly #hot = new ByteCache();
  readonly #loads = new SharedLoads(); // may ask a peer
  readonly #localLoads = new SharedLoads(); // runs the getter here

  /**
   * Makes a group and registers it (a name already registered is a
   * {@linkcode ConfigError}).
   *
   * @param name Unique within the registry, the same on every peer.
   * @param cacheBytes Budget of the main and hot caches together, in bytes.
   * @param getter Loads a value on a miss.
   * @param options Peers, registry, random source, peer-error hook.
   *
   * @example
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
   * const getter = () => {};
   * const again = () => new Group("made", 1024, getter, { registry });
   * assert.throws(again, ConfigError); // the name is taken
   * assert.throws(() => new Group("", 1024, getter), ConfigError);
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
          "(key, dest, { signal }) => dest.setBytes(...)",
      );
    }
    const { peers, random = Math.random, onPeerError } = options;
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
    if (
      options.registry !== undefined && peers?.registry !== undefined &&
      options.registry !== peers.registry
    ) {
      throw new ConfigError(
        `group ${JSON.stringify(name)} was given a registry other than its ` +
          "peers pool's: the pool would not serve it. Pass one of the two.",
      );
    }
    this.name = name;
    this.cacheBytes = cacheBytes;
    this.#peers = peers;
    this.#random = random;
    this.#onPeerError = onPeerError;
    this.registry = options.registry ?? peers?.registry ?? defaultRegistry;
    this.registry.add(this);
  }

  /**
   * The counters (live, read-only); see {@linkcode GroupStats}.
   *
   * @example
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const g = new Group("counted", 1024, (key, dest) => dest.setString(key), {
   *   registry: new Registry(),
   * });
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
   * (popular keys owned elsewhere).
   *
   * @example
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const g = new Group("sizes", 1000, (key, dest) => dest.setString("0123456789"), {
   *   registry: new Registry(),
   * });
   * await g.get("k");
   * assert.deepEqual(g.cacheStats("main"), { bytes: 11, items: 1, gets: 2, hits: 0, evictions: 0 });
   * ```
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
   * the getter. Concurrent gets of one key share one load.
   *
   * @example
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const squares = new Group("squares", 1 << 20, (key, dest) => {
   *   dest.setString(String(Number(key) ** 2));
   * }, { registry: new Registry() });
   * const views = await Promise.all(["3", "3", "4"].map((k) => squares.get(k)));
   * assert.deepEqual(views.map(String), ["9", "9", "16"]);
   * assert.equal(squares.stats.localLoads, 2);
   * ```
   */
  get(key: string, options?: GetOptions): Promise<ByteView> {
    if (typeof key !== "string") return Promise.reject(keyTypeError(key));
    this.#stats.gets++;
    const cached = this.#lookupCache(key);
    if (cached !== undefined) {
      this.#stats.cacheHits++;
      return Promise.resolve(cached);
    }
    this.#stats.loads++;
    return this.#loads.join(
      key,
      (signal) => this.#load(key, signal),
      options?.signal,
    );
  }

  /**
   * Go's `Get(ctx, key, dest)`: the value of `key`, stored into `dest`.
   *
   * @example
   * ```ts
   * import { bytesSink, Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const g = new Group("into", 1 << 20, (key, dest) => dest.setString(key.toUpperCase()), {
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
   * What a peer handler calls for a request that came from another node:
   * counts a server request, answers from the cache or loads locally. It
   * never forwards to a third peer, so nodes whose peer lists disagree
   * cannot ask each other in a circle (Go can).
   *
   * @example
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const g = new Group("served", 1 << 20, (key, dest) => dest.setString(key), {
   *   registry: new Registry(),
   * });
   * assert.equal((await g.getForPeer("x")).toString(), "x");
   * assert.equal(g.stats.serverRequests, 1);
   * ```
   */
  getForPeer(key: string, options?: GetOptions): Promise<ByteView> {
    if (typeof key !== "string") return Promise.reject(keyTypeError(key));
    const found = this.#serve(key, options);
    return found instanceof Promise ? found : Promise.resolve(found);
  }

  /** getForPeer, with a cached value handed back as is (no promise). */
  #serve(key: string, options?: GetOptions): ByteView | Promise<ByteView> {
    this.#stats.serverRequests++;
    this.#stats.gets++;
    const cached = this.#lookupCache(key);
    if (cached !== undefined) {
      this.#stats.cacheHits++;
      return cached;
    }
    this.#stats.loads++;
    return this.#localLoads.join(
      key,
      (signal) => this.#loadLocally(key, signal, true),
      options?.signal, // read only on a miss: Deno makes req.signal lazily
    );
  }

  static {
    serveKey = (group, key, options) => group.#serve(key, options);
  }

  #lookupCache(key: string): ByteView | undefined {
    if (this.cacheBytes <= 0) return undefined;
    return this.#main.get(key) ?? this.#hot.get(key);
  }

  /** One deduplicated load: cache again, then the owner, then the getter. */
  async #load(key: string, signal: AbortSignal): Promise<ByteView> {
    const cached = this.#lookupCache(key);
    if (cached !== undefined) {
      this.#stats.cacheHits++;
      return cached;
    }
    this.#stats.loadsDeduped++;
    const peer = this.#peers?.pickPeer(key);
    if (peer !== undefined) {
      try {
        const value = await peer.get(this.name, key, signal);
        this.#stats.peerLoads++;
        // Go: rand.Intn(10) == 0 — mirror one popular remote key in ten.
        if (this.#random() < 0.1) this.#populateCache(key, value, this.#hot);
        return value;
      } catch (err) {
        if (err instanceof InvalidKeyError) throw err; // not the peer's fault
        this.#stats.peerErrors++;
        this.#onPeerError?.(err, key);
        if (signal.aborted) throw signal.reason;
      }
    }
    return this.#localLoads.join(
      key,
      (localSignal) => this.#loadLocally(key, localSignal, false),
      signal,
    );
  }

  /** Runs the getter (deduplicated with loads that peers asked for). */
  async #loadLocally(
    key: string,
    signal: AbortSignal,
    forPeer: boolean,
  ): Promise<ByteView> {
    if (forPeer) {
      const cached = this.#lookupCache(key);
      if (cached !== undefined) {
        this.#stats.cacheHits++;
        return cached;
      }
      this.#stats.loadsDeduped++;
    }
    const sink = new ByteViewSink();
    try {
      await this.#getter(key, sink, { signal });
    } catch (err) {
      this.#stats.localLoadErrs++;
      if (err instanceof Error) throw err;
      throw new Error(
        `getter of group ${JSON.stringify(this.name)} threw ${
          String(err)
        } for key ${JSON.stringify(key)}`,
        { cause: err },
      );
    }
    if (!sink.isSet) {
      this.#stats.localLoadErrs++;
      throw new SinkNotSetError(
        `getter of group ${
          JSON.stringify(this.name)
        } returned without setting ` +
          `a value for key ${JSON.stringify(key)}: call dest.setBytes, ` +
          "setString or setView, or throw",
      );
    }
    this.#stats.localLoads++;
    const value = sink.view;
    this.#populateCache(key, value, this.#main);
    return value;
  }

  /** Adds to one cache, then evicts until both fit: hot first while hot > main/8. */
  #populateCache(key: string, value: ByteView, cache: ByteCache): void {
    if (this.cacheBytes <= 0) return;
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
}

/**
 * {@linkcode Group.getForPeer} for the library's peer handler: a cached value
 * comes back synchronously, so a hit needs no promise; `options.signal` is
 * read only on a miss. Not exported from mod.ts.
 */
export function getForPeerNow(
  group: Group,
  key: string,
  options?: GetOptions,
): ByteView | Promise<ByteView> {
  return serveKey(group, key, options);
}

function keyTypeError(key: unknown): TypeError {
  return new TypeError(`a key must be a string, got ${typeof key}`);
}

/**
 * The group called `name` in the default registry (Go's `GetGroup`), or
 * `undefined`.
 *
 * @example
 * ```ts
 * import { getGroup, Group } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const g = new Group("doc-getGroup", 1024, (key, dest) => dest.setString(key));
 * assert.equal(getGroup("doc-getGroup"), g);
 * assert.equal(getGroup("nope"), undefined);
 * ```
 */
export function getGroup(name: string): Group | undefined {
  return defaultRegistry.get(name);
}
