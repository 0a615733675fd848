/**
 * Group, read top to bottom as Go's `groupcache.go`: get → cache → one
 * shared load per key → owner (hot-cache admission) → getter → populate;
 * then mailgun's set and remove. Peers: `peers.ts`; getters: `getter.ts`;
 * options and counters: `group_options.ts`.
 *
 * @module
 */

import { ByteView } from "./byte_view.ts";
import { ByteCache, type CacheStats, entrySize, evictToFit } from "./cache.ts";
import { InvalidKeyError, NotFoundError, PeerError } from "./errors.ts";
import { type Getter, type GetterResult, loadedValue } from "./getter.ts";
import { LoadContext, thrownError, valueToSet } from "./getter.ts";
import { checkGroupOptions, loadBounds, newStats } from "./group_options.ts";
import type { CacheType, GetOptions, GroupOptions } from "./group_options.ts";
import type { GroupSettings, GroupStats } from "./group_options.ts";
import type { RemoveOptions, SetOptions } from "./group_options.ts";
import { admitHot, Doorkeeper, doorkeeperCapacity } from "./hot_admission.ts";
import type { PeerGetter, PeerPicker } from "./peers.ts";
import { arrivedExpired, writableOwner } from "./peers.ts";
import { enroll, type GroupServer, type Registry } from "./registry.ts";
import { type LoadHandle, SharedLoads } from "./shared_load.ts";
import { ByteViewSink, type Sink } from "./sink.ts";
import { type StaleValues, staleValues } from "./stale.ts";
import { getMany, type GetManyResult } from "./get_many.ts";
import { askPreviousOwner, PEEK_WAIT_MS } from "./handoff.ts";
import { MAX_VALUE_BYTES } from "./slab_store.ts";
import { answer } from "./framed.ts";
import { ask, Asking } from "./asking.ts";

/**
 * A cache namespace: values loaded by one getter, spread over the peers.
 *
 * `get` looks in the main cache (keys this node owns) and the hot cache
 * (popular keys owned elsewhere); on a miss, one load per key runs: the
 * owner is asked over HTTP, or, when this node owns the key or the owner
 * cannot answer, the getter runs here. An expired value is a miss, or stale
 * (`staleMs`, `staleIfErrorMs`). `set` and `remove` write through the owner.
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
 * assert.deepEqual([loads, greetings.stats.cacheHits], [1, 1]);
 * assert.equal(greetings.cacheStats("main").bytes, 3 + 10 + 192); // key, value, entry overhead
 * ```
 */
export class Group {
  /** The group's name, the same on every peer. */
  readonly name: string;
  /** The byte budget of the main and hot caches together; 0 disables caching. */
  readonly cacheBytes: number;
  /** The registry (node) the group belongs to: its pool serves the group. */
  readonly registry: Registry;
  /** The bound of one load in milliseconds (0: none). */
  readonly loadTimeoutMs: number;
  readonly #settings: GroupSettings;
  // Remote keys fetched once lately, for the "popular" policy.
  readonly #doorkeeper: Doorkeeper | undefined;
  readonly #stats: GroupStats = newStats();
  readonly #main: ByteCache;
  readonly #hot: ByteCache;
  // Keys remembered as not found (notFoundTtlMs), their message as value.
  readonly #missing: ByteCache;
  readonly #staleValues: StaleValues | undefined;
  readonly #loads: SharedLoads<ByteView>;
  // The peer fetch of each load that is asking a remote owner right now.
  readonly #peerFetches = new Map<string, Asking>();
  // Set while getMany starts its gets: peer fetches may then go in batches.
  #batching = false;

  /**
   * Makes a group and registers it in its registry (a name already
   * registered there is a {@linkcode ConfigError}, as is any argument or
   * option that is wrong: the message says how to fix it).
   *
   * @param name Unique within the registry, the same on every peer.
   * @param cacheBytes Budget of the main and hot caches together, in bytes.
   * @param getter Loads a value on a miss.
   * @param options See {@linkcode GroupOptions}.
   *
   * @example A getter object, as in Go; a name taken is a ConfigError
   * ```ts
   * import { ConfigError, Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const g = new Group("made", 1024, { get: (key) => key }, { registry });
   * assert.equal(registry.get("made"), g);
   * assert.throws(() => new Group("made", 1024, () => "", { registry }), ConfigError);
   * ```
   */
  constructor(
    name: string,
    cacheBytes: number,
    getter: Getter,
    options: GroupOptions = {},
  ) {
    const settings = checkGroupOptions(name, cacheBytes, getter, options);
    const { now, entryOverhead, loadTimeoutMs } = settings;
    this.name = name;
    this.cacheBytes = cacheBytes;
    this.registry = settings.registry;
    this.loadTimeoutMs = loadTimeoutMs;
    this.#settings = settings;
    this.#doorkeeper = settings.hotCache === "popular" && cacheBytes > 0
      ? new Doorkeeper(doorkeeperCapacity(cacheBytes))
      : undefined;
    const expired = () => this.#stats.expirations++;
    const stale = this.#staleValues = staleValues(settings, this.#stats, {
      name,
      stale: (key) => this.#main.stale(key) ?? this.#hot.stale(key),
      reload: async (key, fromPeer) => await this.#load(key, {}, fromPeer),
    });
    const grace = stale?.graceMs ?? 0;
    const caches = [now, expired, entryOverhead, cacheBytes, grace] as const;
    this.#main = new ByteCache(...caches);
    this.#hot = new ByteCache(...caches, settings.hotCache === "popular");
    this.#missing = new ByteCache(now, () => {}, entryOverhead);
    this.#loads = new SharedLoads<ByteView>(loadBounds(name, loadTimeoutMs));
    enroll(this.registry, this, this.#server);
  }

  /**
   * The value of `key`: from the cache, else from the key's owner, else from
   * the getter. Concurrent gets of one key share one load; a caller's
   * `signal` detaches that caller only. Hits of a cached value may answer
   * with the same (settled) promise.
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
    const found = this.#get(key, options, false);
    return answer(found);
  }

  /**
   * The values of many keys: each key once, as {@linkcode Group.get} would
   * get it, and the keys of each remote owner that takes batches in one
   * request to it (docs/batches.md). Every key lands in `values` or, with
   * its own error, in `errors`; it rejects only for bad arguments or when
   * `options.signal` aborts.
   *
   * @example A page of keys
   * ```ts
   * import { Group, NotFoundError, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const g = new Group("many", 1 << 20, (key) => {
   *   if (key === "gone") throw new NotFoundError("no such row");
   *   return key.toUpperCase();
   * }, { registry: new Registry() });
   * const { values, errors } = await g.getMany(["a", "b", "a", "gone"]);
   * assert.deepEqual([...values].map(([k, v]) => k + v), ["aA", "bB"]);
   * assert.ok(errors.get("gone") instanceof NotFoundError);
   * ```
   */
  getMany(
    keys: Iterable<string>,
    options?: GetOptions,
  ): Promise<GetManyResult> {
    return getMany(keys, options, (key, options) => {
      this.#batching = true;
      try {
        return this.#get(key, options, false);
      } finally {
        this.#batching = false;
      }
    });
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
   * The one Get path, for {@linkcode Group.get} and for a peer's get
   * (`fromPeer`: load here, never forward). A cached value comes back as
   * is, without a promise; `options.signal` is read only on a miss (Deno
   * makes a request's signal on first read).
   */
  #get(
    key: string,
    options: GetOptions | undefined,
    fromPeer: boolean,
  ): ByteView | Promise<ByteView> {
    if (typeof key !== "string") return Promise.reject(keyTypeError(key));
    if (fromPeer) this.#stats.serverRequests++;
    this.#stats.gets++;
    const cached = this.#lookupCache(key);
    if (cached !== undefined) {
      this.#stats.cacheHits++;
      return cached;
    }
    const missing = this.#missing.get(key);
    if (missing !== undefined) {
      this.#stats.negativeHits++;
      return Promise.reject(new NotFoundError(missing.toString()));
    }
    const stale = this.#staleValues?.serve(key, options, fromPeer);
    if (stale !== undefined) return stale;
    return this.#load(key, options, fromPeer);
  }

  /**
   * Go's `load`: one load per key at a time, shared by every get that
   * misses meanwhile. Go first looks in the cache again, because another
   * goroutine may have filled it between its lookup and `singleflight.Do`;
   * here the lookup and the join run in one synchronous step, so nothing
   * can, and the re-check is left out.
   */
  #load(
    key: string,
    options: GetOptions | undefined,
    fromPeer: boolean,
  ): ByteView | Promise<ByteView> {
    this.#stats.loads++;
    if (fromPeer) {
      // A peer asks us for a key our own load is asking a peer for: the
      // rings disagree. Load here now rather than wait on each other until
      // the peer timeout.
      this.#peerFetches.get(key)?.abort(
        new Error("a peer asked this node for the key: loading it here"),
      );
    }
    const run = fromPeer ? this.#loadHere : this.#loadAnywhere;
    return this.#loads.join(key, run, options?.signal);
  }

  // What one load runs (inside Go's `singleflight.Do`), made once per group
  // rather than per get: the owner, then the getter; or, for a peer, the
  // getter only, so nodes whose peer lists disagree cannot ask each other
  // in a circle (Go can).
  readonly #loadAnywhere = (key: string, load: LoadHandle) => {
    this.#stats.loadsDeduped++;
    const peer = this.#peerPicker()?.pickPeer(key);
    if (peer !== undefined) return this.#getFromPeer(key, peer, load);
    return this.#getHere(key, load);
  };
  readonly #loadHere = (key: string, load: LoadHandle) => {
    this.#stats.loadsDeduped++;
    return this.#getHere(key, load);
  };

  /**
   * A load on this node: when the ring changed lately and the key had
   * another owner, first from that node's cache (handoff.ts), else (and
   * then) the getter.
   */
  #getHere(key: string, load: LoadHandle): ByteView | Promise<ByteView> {
    const previous = this.#peerPicker()?.previousOwner?.(key);
    if (previous?.peek === undefined) return this.#getLocally(key, load);
    return this.#handedOver(key, previous, load);
  }

  async #handedOver(
    key: string,
    previous: PeerGetter,
    load: LoadHandle,
  ): Promise<ByteView> {
    const { now } = this.#settings;
    const found = await askPreviousOwner(previous, this.name, key, load, now);
    if (found === undefined) {
      this.#stats.handoffMisses++;
      return this.#getLocally(key, load);
    }
    this.#stats.handoffHits++;
    const value = this.#withDefaultTtl(found);
    if (!load.superseded) this.#populateCache(key, value, this.#main);
    return value;
  }

  /** The `peers` option, else the node's picker, looked up now (Go's `initPeers`). */
  #peerPicker(): PeerPicker | undefined {
    return this.#settings.peers ?? this.registry.peerPicker;
  }

  /** Asks the owner; on failure (not the caller's) loads here instead. */
  async #getFromPeer(
    key: string,
    peer: PeerGetter,
    load: LoadHandle,
  ): Promise<ByteView> {
    // No AbortController unless the peer reads a signal (HttpPeer's plain
    // get takes the Asking itself): a remote get's most costly object.
    const asking = new Asking();
    load.link(asking);
    this.#peerFetches.set(key, asking);
    try {
      const batched = this.#batching || this.#settings.coalesceGets;
      const fetched = await ask(peer, this.name, key, asking, batched);
      const { expire } = fetched;
      const stale = expire !== 0 && this.#settings.now() >= expire;
      if (stale && !this.#staleValues?.servable(fetched)) {
        throw arrivedExpired(peer.url, this.name, key);
      }
      const value = this.#withDefaultTtl(fetched);
      this.#stats.peerLoads++;
      // Written meanwhile (may be the old value), or stale: not cached.
      if (!load.superseded && !stale) {
        this.#mirror(key, value);
      }
      return value;
    } catch (err) {
      if (load.aborted) throw load.reason; // the callers left, or the bound passed
      if (err instanceof InvalidKeyError) throw err; // not the peer's fault
      // The owner has nothing either, or its getter failed (onOwnerError).
      if (err instanceof NotFoundError || this.#ownerFailed(err)) throw err;
      if (!asking.aborted) {
        this.#stats.peerErrors++;
        this.#settings.onPeerError?.(err, key);
      } // else: a peer asked us for this key; the rings disagree
    } finally {
      if (this.#peerFetches.get(key) === asking) this.#peerFetches.delete(key);
      load.link(undefined);
    }
    return this.#getLocally(key, load);
  }

  /** Mirrors the value just fetched from `key`'s owner, if admitted to the hot cache. */
  #mirror(key: string, value: ByteView): void {
    const { hotCache, random, entryOverhead } = this.#settings;
    const fits = () =>
      this.#main.bytes + this.#hot.bytes + this.#missing.bytes +
          entrySize(key, value.length, entryOverhead) <= this.cacheBytes;
    const admitted = admitHot(hotCache, random, this.#doorkeeper, key, fits);
    if (admitted === false) {
      this.#stats.hotRejections++;
      this.#hot.remove(key); // a stale copy, if any, is older still
      return;
    }
    this.#stats.hotAdmissions++;
    this.#populateCache(key, value, this.#hot);
    if (admitted === "proven") this.#hot.protect(key); // else on trial
  }

  /** Runs the getter; a synchronous getter is finished without a promise. */
  #getLocally(key: string, load: LoadHandle): ByteView | Promise<ByteView> {
    const sink = new ByteViewSink();
    let result: GetterResult | Promise<GetterResult>;
    try {
      result = this.#settings.getter(key, sink, new LoadContext(load));
    } catch (err) {
      throw this.#getterFailed(key, err, load);
    }
    if (result instanceof Promise) {
      return result.then(
        (returned) => this.#populateMain(key, sink, returned, load),
        (err) => {
          throw this.#getterFailed(key, err, load);
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
      value = loadedValue(this.name, key, sink, returned);
    } catch (err) {
      this.#stats.localLoadErrs++;
      throw err;
    }
    this.#stats.localLoads++;
    value = this.#withDefaultTtl(value);
    if (!load.superseded) this.#populateCache(key, value, this.#main);
    return value;
  }

  /** A getter's failure; a not-found is remembered for `notFoundTtlMs`. */
  #getterFailed(key: string, err: unknown, load: LoadHandle): Error {
    if (!(err instanceof NotFoundError)) {
      this.#stats.localLoadErrs++;
      return thrownError(this.name, key, err);
    }
    this.#stats.notFounds++;
    const ttl = this.#settings.notFoundTtlMs;
    if (ttl > 0 && !load.superseded) {
      const why = err.message.slice(0, 1024);
      const entry = new ByteView(why, this.#settings.now() + ttl);
      this.#populateCache(key, entry, this.#missing);
    }
    return err;
  }

  /** Whether `err` is the owner's getter failing, and ends the load (`onOwnerError`). */
  #ownerFailed(err: unknown): boolean {
    if (!(err instanceof PeerError) || err.reason !== "getter") return false;
    if (this.#settings.onOwnerError === "load-locally") return false;
    this.#stats.ownerErrors++;
    return true;
  }

  #lookupCache(key: string): ByteView | undefined {
    if (this.cacheBytes === 0) return undefined;
    return this.#main.get(key) ?? this.#hot.get(key);
  }

  /**
   * Adds to one cache (unless the value already expired), then evicts until
   * all fit (`evictToFit`). A value larger than the whole budget is not
   * cached: it could only stay by evicting everything (Go evicts the whole
   * cache for it); nor is one over `MAX_VALUE_BYTES` (2 GiB less 64 KiB).
   */
  #populateCache(key: string, value: ByteView, cache: ByteCache): void {
    if (this.cacheBytes === 0) return;
    const size = entrySize(key, value.length, this.#settings.entryOverhead);
    if (size > this.cacheBytes || value.length > MAX_VALUE_BYTES) return;
    if (value.expire !== 0 && this.#settings.now() >= value.expire) return;
    cache.add(key, value);
    evictToFit(this.cacheBytes, this.#main, this.#hot, this.#missing);
  }

  /**
   * Stores `value` as `key`'s value (mailgun's `Set`): in the owner's main
   * cache (a `PUT` to the owner, or here when this node owns the key), and,
   * with `hot`, in this node's hot cache too. Other nodes' hot copies stay
   * until they expire; {@linkcode Group.remove} reaches them all. A load of
   * the key running meanwhile is not cached.
   *
   * While the key's owner is another node, the set goes there or nowhere:
   * when the owner fails, or is marked down (an `HttpPool`'s
   * `peerHealth()`), it rejects with a {@linkcode PeerError} and stores
   * nothing here, so no node keeps a value its owner never got.
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
    const view = this.#withDefaultTtl(valueToSet(key, value, expire));
    const owner = writableOwner(this.name, "set", key, this.#peerPicker());
    if (owner === undefined) {
      this.#storeMain(key, view);
      return;
    }
    await owner.set!(this.name, key, view, signal);
    this.#stats.sets++;
    this.#removeHere(key);
    if (hot) this.#populateCache(key, view, this.#hot);
  }

  /**
   * Drops `key` everywhere (mailgun's `Remove`): from its owner first (a
   * `DELETE`; when that fails, or the owner is marked down, the remove
   * stops there and rejects with a {@linkcode PeerError}, as a set does),
   * then from this node, then from every other peer at once, best effort: a
   * peer that fails is counted in `peerErrors` and told to `onPeerError`,
   * and the remove still resolves. Each request is bounded by the pool's
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
    const picker = this.#peerPicker();
    const owner = writableOwner(this.name, "remove", key, picker);
    if (owner !== undefined) await owner.remove!(this.name, key, signal);
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
      this.#settings.onPeerError?.(err, key);
    }
  }

  /** A set here: the value, given the default TTL if it has no expiry, into main. */
  #storeMain(key: string, value: ByteView): void {
    this.#stats.sets++;
    this.#removeHere(key);
    this.#populateCache(key, this.#withDefaultTtl(value), this.#main);
  }

  /** `value` with the group's default TTL when it has no expiry of its own. */
  #withDefaultTtl(value: ByteView): ByteView {
    return value.expire === 0 && this.#settings.ttlMs > 0
      ? value.withExpire(this.#settings.now() + this.#settings.ttlMs)
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
    this.#missing.remove(key);
  }

  // The peer side's way in (see GroupServer): a peer's get never forwards.
  readonly #server: GroupServer = {
    get: (key, options) => this.#get(key, options, true),
    set: (key, value) => this.#storeMain(key, value),
    remove: (key) => this.#drop(key),
    loadsInFlight: () => this.#loads.size,
    peek: (key) => this.#peek(key),
    newest: () => this.#main.newest(),
    handedOff: () => this.#stats.handedOff++,
  };

  /**
   * A handoff request's answer: the cached value, or the one a getter here
   * is loading (waited on briefly); never a load of its own, nor a wait on
   * a peer (its rings may point back at the asker).
   */
  #peek(key: string): ByteView | Promise<ByteView | undefined> | undefined {
    const cached = this.#lookupCache(key);
    if (cached !== undefined || this.#peerFetches.has(key)) return cached;
    const signal = AbortSignal.timeout(PEEK_WAIT_MS);
    return this.#loads.running(key, signal)?.catch(() => undefined);
  }

  /**
   * What this node does for a get from another node: counts a server
   * request, answers from the cache or loads locally. It never forwards to
   * a third peer, so nodes whose peer lists disagree cannot ask each other
   * in a circle (Go can).
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
    const found = this.#get(key, options, true);
    return found instanceof ByteView ? Promise.resolve(found) : found;
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
   * for (const key of ["a", "a", "b"]) await g.get(key);
   * assert.equal(g.stats.gets, 3);
   * assert.deepEqual([g.stats.cacheHits, g.stats.localLoads], [1, 2]);
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
}

// The signal of a write whose caller gave none.
const NO_SIGNAL = new AbortController().signal;

/** The error of a key that is not a string. */
function keyTypeError(key: unknown): TypeError {
  return new TypeError(`a key must be a string, got ${typeof key}`);
}
