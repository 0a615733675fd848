/**
 * Group: a named cache namespace and its read-through path, Go's
 * `groupcache.Group`. Read it top to bottom as Go's `groupcache.go`:
 * {@linkcode Group.get} → cache → one shared load per key → owner → peer
 * fetch (hot-cache admission) → getter → populate.
 *
 * @module
 */

import { ByteView } from "./byte_view.ts";
import { ByteCache, type CacheStats } from "./cache.ts";
import {
  ConfigError,
  GetterError,
  InvalidKeyError,
  LoadTimeoutError,
  SinkNotSetError,
} from "./errors.ts";
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
 * What a getter may return: the value itself (a `Uint8Array` is copied, as
 * `dest.setBytes` does), or nothing when it filled `dest` the Go way.
 */
export type GetterResult = Uint8Array | string | ByteView | void | undefined;

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

/** Fetches a group's value from one remote peer (Go's `ProtoGetter`). */
export interface PeerGetter {
  /** The peer's base URL (or another name for it), for errors and logs. */
  readonly url: string;
  /** Asks the peer for `key` of `group`. */
  get(group: string, key: string, signal: AbortSignal): Promise<ByteView>;
}

/** Names the peer that owns a key (Go's `PeerPicker`). */
export interface PeerPicker {
  /**
   * The owner of `key`, or `undefined` to load it locally: this node owns
   * it, or its owner is not to be asked now (an `HttpPool` skips a peer it
   * has marked down).
   */
  pickPeer(key: string): PeerGetter | undefined;
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
  /** A source of numbers in [0, 1) for hot-cache admission (1 in 10); defaults to `Math.random`. */
  random?: () => number;
  /**
   * Told of every failed peer fetch, before the group falls back to a local
   * load. With an `HttpPool` that is a `PeerError`; its `reason` says why,
   * `"down"` for a fetch released because its peer was just marked down
   * (the pool's `peerHealth()` tells each peer's state).
   */
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
  /** Failed peer fetches (each followed by a local load); a caller's abort is not one. */
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

const DEFAULT_LOAD_TIMEOUT_MS = 30_000;

/**
 * A cache namespace: values loaded by one getter, spread over the peers.
 *
 * `get` looks in the main cache (keys this node owns) and the hot cache
 * (popular keys owned elsewhere); on a miss, one load per key runs: the
 * owner is asked over HTTP, or, when this node owns the key or the owner
 * fails, the getter runs here. Values are immutable; there is no set.
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
 *   bytes: 13, items: 1, gets: 2, hits: 1, evictions: 0,
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
   * @param options Peers, registry, load bound, random source, peer-error hook.
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
    } = options;
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
    this.#onPeerError = onPeerError;
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
    if (typeof key !== "string") {
      return Promise.reject(
        new TypeError(`a key must be a string, got ${typeof key}`),
      );
    }
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
    const fetch = new AbortController();
    load.link(fetch);
    this.#peerFetches.set(key, fetch);
    try {
      const value = await peer.get(this.name, key, fetch.signal);
      this.#stats.peerLoads++;
      // Go: rand.Intn(10) == 0 — mirror one popular remote key in ten.
      if (this.#random() < 0.1) this.#populateCache(key, value, this.#hot);
      return value;
    } catch (err) {
      if (load.aborted) throw load.reason; // the callers left, or the bound passed
      if (err instanceof InvalidKeyError) throw err; // not the peer's fault
      if (!fetch.signal.aborted) {
        this.#stats.peerErrors++;
        this.#onPeerError?.(err, key);
      } // else: a peer asked us for this key; the rings disagree
    } finally {
      if (this.#peerFetches.get(key) === fetch) this.#peerFetches.delete(key);
      load.link(undefined);
    }
    return this.#getLocally(key, load);
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
        (returned) => this.#populateMain(key, sink, returned),
        (err) => {
          throw this.#getterFailed(key, err);
        },
      );
    }
    return this.#populateMain(key, sink, result);
  }

  /** The getter's value, cached in the main cache. */
  #populateMain(
    key: string,
    sink: ByteViewSink,
    returned: GetterResult,
  ): ByteView {
    let value: ByteView;
    try {
      value = this.#valueOf(key, sink, returned);
    } catch (err) {
      this.#stats.localLoadErrs++;
      throw err;
    }
    this.#stats.localLoads++;
    this.#populateCache(key, value, this.#main);
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
    if (typeof returned === "string") return new ByteView(returned);
    if (returned instanceof Uint8Array) return ByteView.copyOf(returned);
    if (returned instanceof ByteView) return returned;
    throw new GetterError(
      this.name,
      key,
      "the getter returned " +
        (returned === null ? "null" : `a ${typeof returned}`) +
        ": return a Uint8Array, a string or a ByteView (or fill dest)",
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
