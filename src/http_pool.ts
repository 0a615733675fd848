/**
 * HttpPool: the peers of a node, Go's `HTTPPool`. It picks the owner of a
 * key on a consistent-hash ring, asks remote owners through the client
 * (`http_client.ts`), and serves this node's groups to the others through
 * {@linkcode HttpPool.handler} (`http_handler.ts`), a plain
 * `(req: Request) => Promise<Response>` for `Deno.serve`, `Bun.serve` or any
 * server that speaks web `Request`/`Response`. Client and server share only
 * the wire (`wire.ts`).
 *
 * @module
 */

import { crc32 } from "./crc32.ts";
import { Deadlines } from "./deadlines.ts";
import { ConfigError } from "./errors.ts";
import type { Getter } from "./getter.ts";
import type { GroupOptions } from "./group_options.ts";
import type { PeerGetter, PeerPicker } from "./peers.ts";
import { Group } from "./group.ts";
import { HashRing } from "./hash_ring.ts";
import { movedFraction, PreviousRing, ringChangeLine } from "./handoff.ts";
import { leave, leaveLine } from "./leave.ts";
import { MailgunRing } from "./mailgun_ring.ts";
import {
  type FetchLike,
  fetchTransport,
  type HttpClientOptions,
  HttpPeer,
  type PeerFetch,
} from "./http_client.ts";
import { PeerRouter, webHandler } from "./http_handler.ts";
import {
  checkPeerUrl,
  checkPoolOptions,
  type HttpPoolOptions,
  type RingKind,
} from "./http_pool_options.ts";
import type { Logger } from "./logger.ts";
import { PeerFetchTimes, prometheusText } from "./metrics.ts";
import type { PeerHealthInfo } from "./peer_health.ts";
import { groupServer, type Registry } from "./registry.ts";
import {
  type DiscoveryStatus,
  type PoolStatus,
  poolStatus,
  type StatusOptions,
} from "./status.ts";
import { PeerSigner } from "./signature.ts";
import { WriteBodies } from "./write_guard.ts";
import { REQUEST_HEADERS, RING_HEADER } from "./wire.ts";

/**
 * The fingerprint of a ring, `{crc32 hex}/{peer count}`: the same on every
 * node that places keys the same way (same peers, replicas and ring kind).
 */
function ringFingerprint(
  kind: string,
  replicas: number,
  peers: readonly string[],
): string {
  const sorted = [...peers].sort();
  const hex = crc32(`${kind} ${replicas}\n${sorted.join("\n")}`)
    .toString(16).padStart(8, "0");
  return `${hex}/${peers.length}`;
}

/**
 * What the library's own code reaches of a pool beyond its public members
 * (not exported from `mod.ts`): the router behind `pool.handler`, for
 * servers of their own kind (node.ts); the fetch times, for metrics; the
 * peer sources to stop with it, for discovery; the sources' reports and the
 * ring's arcs, for status.
 */
export interface PoolInternals {
  /** What `pool.handler` answers with. */
  readonly router: PeerRouter;
  /** How long each peer fetch took. */
  readonly fetchTimes: PeerFetchTimes;
  /** What {@linkcode HttpPool.close} stops besides the pool (dnsPeers, etcdPeers). */
  readonly closers: Set<{ close(): Promise<void> }>;
  /** The running peer sources, each reporting what it last saw. */
  readonly sources: Set<{ status(): DiscoveryStatus }>;
  /** Where the ring's points lie and who owns each (see `HashRing.arcs`). */
  arcs(): { ends: Float64Array; owners: readonly string[] };
}

let internalsOf: (pool: object) => PoolInternals | undefined;

/** The internals of `pool`; `undefined` when it is not an {@linkcode HttpPool}. */
export function poolInternals(pool: object): PoolInternals | undefined {
  return internalsOf(pool);
}

/**
 * The peers of a node: who owns which key, how to ask them, and the handler
 * that answers them. Made with a registry (default
 * {@linkcode defaultRegistry}), it registers itself as that node's peer
 * picker and serves that node's groups.
 *
 * @example A node, its peers, one group
 * ```ts
 * import { HttpPool, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const self = "http://127.0.0.1:8001";
 * const pool = new HttpPool(self, { registry: new Registry() });
 * pool.set(self, "http://127.0.0.1:8002", "http://127.0.0.1:8003");
 * const thumbnails = pool.newGroup("thumbnails", 64 << 20, (key) => `thumb of ${key}`);
 * assert.equal(thumbnails.registry, pool.registry);
 * assert.equal(pool.registry.peerPicker, pool);
 *
 * // Who owns what: pickPeer is undefined for the keys this node owns.
 * const keys = ["a", "b", "c", "d", "e", "f"];
 * assert.ok(keys.every((k) => (pool.owner(k) === self) === (pool.pickPeer(k) === undefined)));
 *
 * // What another node's client sends; serve it with Deno.serve(pool.handler).
 * const res = await pool.handler(
 *   new Request("http://127.0.0.1:8001/_groupcache/thumbnails/big-file.jpg"),
 * );
 * assert.equal(res.status, 200);
 * assert.equal(res.headers.get("content-type"), "application/x-protobuf");
 * ```
 *
 * @example Options and their checks
 * ```ts
 * import { ConfigError, HttpPool, PeerError, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const pool = new HttpPool("http://a:1", {
 *   registry: new Registry(),
 *   basePath: "/cache/",
 *   replicas: 8,
 *   timeoutMs: 2_000,
 *   maxResponseBytes: 16,
 *   fetch: () =>
 *     Promise.resolve(
 *       new Response(new Uint8Array(1024), {
 *         headers: { "content-type": "application/x-protobuf" },
 *       }),
 *     ),
 * });
 * assert.equal(pool.basePath, "/cache/");
 * pool.set("http://a:1", "http://b:1");
 * const key = ["a", "b", "c", "d", "e", "f"].find((k) => pool.pickPeer(k))!;
 * await assert.rejects(
 *   pool.pickPeer(key)!.get("g", key, new AbortController().signal),
 *   (err) => err instanceof PeerError && err.reason === "too-large",
 * );
 * // No scheme, a trailing "/", not http(s), a bad base path, no replicas:
 * for (const bad of ["10.0.0.1:8000", "http://a:1/", "ftp://a:1"]) {
 *   assert.throws(() => new HttpPool(bad, { registry: new Registry() }), ConfigError);
 * }
 * const registry = new Registry();
 * assert.throws(() => new HttpPool("http://a:1", { registry, basePath: "x" }), ConfigError);
 * assert.throws(() => new HttpPool("http://a:1", { registry, replicas: 0 }), ConfigError);
 * ```
 */
export class HttpPool implements PeerPicker {
  /** This node's base URL, as it appears in the peer list. */
  readonly self: string;
  /** The path under which peers are served (default `"/_groupcache/"`). */
  readonly basePath: string;
  /** The node whose groups this pool serves, and whose peer picker it is. */
  readonly registry: Registry;
  /** Points per peer on the ring (default 50, as Go). */
  readonly replicas: number;
  /** Which cluster's ring places keys (default `"golang"`). */
  readonly ring: RingKind;
  /** How long one peer fetch may take, in milliseconds (default 10,000). */
  readonly timeoutMs: number;
  /** The wait before the first probe of a down peer, in milliseconds (default 500). */
  readonly probeDelayMs: number;
  /** The longest wait between probes of a down peer, in milliseconds (default 5,000). */
  readonly maxProbeDelayMs: number;
  /** The largest response body accepted from a peer, in bytes (default 64 MiB). */
  readonly maxResponseBytes: number;
  /** Where the pool warns (default `console`). */
  readonly logger: Logger;
  /**
   * Answers peers: `GET {basePath}{group}/{key}` → `200` with a protobuf
   * `GetResponse`. Path parts are percent-decoded with `+` read as a space.
   * Never throws: bad paths get `400`/`404` (so do a `Host` header that is
   * not a plain `host[:port]` and raw characters a peer would have
   * percent-encoded: either means the request line may not name the key
   * the handler would see), getter errors `500`. Serve it
   * with `Deno.serve(pool.handler)` or `Bun.serve({ fetch: pool.handler })`:
   * so called (with a second argument) on Deno, whose clones share their
   * body, a hit of a value served lately answers with a clone of a
   * `Response` kept for it, a few µs less than a new one; called with the
   * request alone, it makes every answer anew.
   */
  readonly handler: (req: Request) => Promise<Response>;
  readonly #fetch: FetchLike;
  readonly #internals: PoolInternals;
  readonly #hash: (data: string) => number;
  readonly #deadlines: Deadlines<PeerFetch>;
  readonly #client: HttpClientOptions;
  readonly #ringKind: string;
  readonly #previous: PreviousRing;
  readonly #signed: boolean;
  readonly #writes: string;
  readonly #leaveBytes: number;
  readonly #leaveTimeoutMs: number;
  #fingerprint: string;
  #closing: Promise<void> | undefined;
  #ring: HashRing | MailgunRing;
  #peers: readonly string[] = [];
  #getters = new Map<string, HttpPeer>();

  static {
    internalsOf = (pool) => #internals in pool ? pool.#internals : undefined;
  }

  /**
   * Makes the pool of a node and registers it as the node's peer picker; call
   * {@linkcode HttpPool.set} to name the peers. A registry that already has
   * a pool is a {@linkcode ConfigError} (one pool per node, as Go).
   *
   * @param self This node's base URL, e.g. `"http://10.0.0.1:8000"`.
   * @param options Base path, ring, fetch, limits and registry.
   */
  constructor(self: string, options: HttpPoolOptions = {}) {
    this.self = checkPeerUrl(self, "self");
    const settings = checkPoolOptions(options);
    const { basePath, replicas, hash, fetch, registry, ring } = settings;
    const { timeoutMs, probeDelayMs, maxProbeDelayMs, logger } = settings;
    const { maxResponseBytes, maxKeyBytes, maxWriteBytes } = settings;
    const { secrets, writes } = settings;
    registry.registerPeerPicker(this);
    this.#previous = new PreviousRing(
      settings.handoffWindowMs,
      Date.now,
      (misses) =>
        logger.info(
          `groupcache: handoff given up: the last ${misses} asks of previous ` +
            "owners found nothing (a cold cluster?); misses run the getter",
        ),
    );
    this.#signed = secrets !== undefined;
    this.#writes = writes;
    this.#leaveBytes = settings.leaveBytes;
    this.#leaveTimeoutMs = settings.leaveTimeoutMs;
    this.basePath = basePath;
    this.replicas = replicas;
    this.#hash = hash;
    this.#fetch = fetch === globalThis.fetch
      ? (input, init) => globalThis.fetch(input, init)
      : fetch;
    this.timeoutMs = timeoutMs;
    this.probeDelayMs = probeDelayMs;
    this.maxProbeDelayMs = maxProbeDelayMs;
    this.maxResponseBytes = maxResponseBytes;
    this.#deadlines = new Deadlines(timeoutMs);
    this.registry = registry;
    this.ring = ring;
    this.logger = logger;
    this.#ring = this.#newRing();
    // A custom hash places keys its own way: a ring of its own kind.
    this.#ringKind = ring === "golang" && hash !== crc32 ? "golang-hash" : ring;
    this.#fingerprint = ringFingerprint(this.#ringKind, replicas, []);
    const fetchTimes = new PeerFetchTimes();
    const signer = secrets === undefined ? undefined : new PeerSigner(secrets);
    this.#client = {
      basePath,
      transport: options.transport ?? fetchTransport(this.#fetch),
      deadlines: this.#deadlines,
      maxResponseBytes,
      maxKeyBytes,
      observe: fetchTimes.observe,
      probeBackoff: { delayMs: probeDelayMs, maxDelayMs: maxProbeDelayMs },
      headers: this.#requestHeaders(),
      signer,
      onHealthChange: (peer, state) => {
        if (state === "up") {
          logger.info(`groupcache: peer ${peer.url} is back up`);
          return;
        }
        const cause = peer.health.info(peer.url).lastError;
        logger.warn(
          `groupcache: peer ${peer.url} is down (${
            cause?.reason ?? "no answer"
          }: ${
            cause?.message ?? "unknown"
          }): its keys load on this node until a probe finds it answering`,
        );
      },
    };
    const router = new PeerRouter(basePath, registry, {
      mailgun: ring === "mailgun",
      maxSetBytes: maxResponseBytes,
      logger,
      ring: () => this.#fingerprint,
      closed: () => this.#closing !== undefined,
      writes,
      signer,
      writeBodies: new WriteBodies(maxWriteBytes, timeoutMs),
    });
    this.#internals = {
      router,
      fetchTimes,
      closers: new Set(),
      sources: new Set(),
      arcs: () => this.#ring.arcs(),
    };
    this.handler = webHandler(router);
  }

  #requestHeaders(): Record<string, string> {
    return { ...REQUEST_HEADERS, [RING_HEADER]: this.#fingerprint };
  }

  /**
   * Makes a group on this node: `new Group(name, cacheBytes, getter,
   * { ...options, peers: this })`, so this pool serves it and it asks this
   * pool's peers.
   */
  newGroup(
    name: string,
    cacheBytes: number,
    getter: Getter,
    options?: Omit<GroupOptions, "peers" | "registry">,
  ): Group {
    return new Group(name, cacheBytes, getter, { ...options, peers: this });
  }

  /**
   * Replaces the peer list (Go's `Set`): the ring is rebuilt from the list
   * in this order. Every entry must be a base URL, without duplicates, and a
   * non-empty list must include `self`.
   *
   * @example Set, read back, refused
   * ```ts
   * import { ConfigError, HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", { registry: new Registry() });
   * assert.deepEqual(pool.peers, []); // no peers until set(): all keys local
   * assert.equal(pool.owner("k"), undefined);
   * pool.set("http://b:1", "http://a:1");
   * assert.deepEqual(pool.peers, ["http://b:1", "http://a:1"]);
   * assert.throws(() => pool.set("http://b:1"), ConfigError); // self missing
   * assert.throws(() => pool.set("http://a:1", "http://a:1"), ConfigError);
   * ```
   */
  set(...peers: string[]): void {
    const seen = new Set<string>();
    for (const [i, peer] of peers.entries()) {
      checkPeerUrl(peer, `peer #${i + 1}`, this.basePath);
      if (seen.has(peer)) {
        throw new ConfigError(
          `peer ${JSON.stringify(peer)} is listed twice: list each peer once`,
        );
      }
      seen.add(peer);
    }
    if (peers.length > 0 && !seen.has(this.self)) {
      throw new ConfigError(
        `the peer list must include this node's own URL ${
          JSON.stringify(this.self)
        } ` +
          "(spelled exactly the same), or this node could never own a key",
      );
    }
    const ring = this.#ringOf(peers);
    const getters = new Map<string, HttpPeer>();
    for (const peer of peers) {
      if (peer !== this.self) {
        getters.set(
          peer,
          this.#getters.get(peer) ?? new HttpPeer(peer, this.#client),
        );
      }
    }
    const before = { ring: this.#ring, peers: this.#peers };
    const fingerprint = ringFingerprint(this.#ringKind, this.replicas, peers);
    this.#ring = ring;
    this.#peers = Object.freeze([...peers]);
    this.#getters = getters;
    if (fingerprint !== this.#fingerprint) this.#changed(before, ring);
    this.#fingerprint = fingerprint;
    this.#client.headers = this.#requestHeaders();
  }

  /**
   * The ring changed: remember the previous one for handoff, and say so.
   * A list that had no other node (the first) stands for the new list
   * without this node: while this node was away, or before it came, its
   * keys were theirs.
   */
  #changed(
    before: { ring: HashRing | MailgunRing; peers: readonly string[] },
    ring: HashRing | MailgunRing,
  ): void {
    let previous = before.ring;
    if (before.peers.every((p) => p === this.self)) {
      previous = this.#ringOf(this.#peers.filter((p) => p !== this.self));
    }
    this.#previous.remember(previous);
    if (previous !== before.ring) return; // the first list: no change to tell
    this.logger.info(
      ringChangeLine(
        before.peers,
        this.#peers,
        movedFraction(previous, ring),
        this.#previous.windowMs,
      ),
    );
  }

  #ringOf(peers: readonly string[]): HashRing | MailgunRing {
    const ring = this.#newRing();
    ring.add(...peers);
    return ring;
  }

  /**
   * The fingerprint of this node's ring, `{crc32 hex}/{peer count}`, made
   * at each {@linkcode HttpPool.set} from the sorted peer list, the
   * replicas and the ring kind. Our client sends it to peers in the
   * `x-groupcache-ring` header; a peer whose own differs warns that the
   * rings disagree (Go peers send none and are not checked). Nodes with the
   * same fingerprint place every key on the same owner.
   *
   * @example Same peers in any order, same ring
   * ```ts
   * import { HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const a = new HttpPool("http://a:1", { registry: new Registry() });
   * const b = new HttpPool("http://b:1", { registry: new Registry() });
   * a.set("http://a:1", "http://b:1");
   * b.set("http://b:1", "http://a:1");
   * assert.equal(a.ringFingerprint, b.ringFingerprint);
   * assert.match(a.ringFingerprint, /^[0-9a-f]{8}\/2$/);
   * b.set("http://b:1");
   * assert.notEqual(a.ringFingerprint, b.ringFingerprint);
   * ```
   */
  get ringFingerprint(): string {
    return this.#fingerprint;
  }

  #newRing(): HashRing | MailgunRing {
    return this.ring === "mailgun"
      ? new MailgunRing(this.replicas)
      : new HashRing(this.replicas, this.#hash);
  }

  /** The current peer list, in the order given to {@linkcode HttpPool.set}. */
  get peers(): readonly string[] {
    return this.#peers;
  }

  /**
   * The base URL of the node that owns `key` (possibly `self`), or
   * `undefined` when no peers are set.
   */
  owner(key: string): string | undefined {
    return this.#ring.get(key);
  }

  /**
   * The remote owner of `key`, or `undefined` when this node owns it, no
   * peers are set, or the owner is down (Go's `PickPeer`, which knows no
   * health): the key then loads locally. Asking for a down peer's key is
   * also what starts a probe of it, when one is due.
   */
  pickPeer(key: string): PeerGetter | undefined {
    if (this.#closing !== undefined) return undefined;
    const owner = this.#ring.get(key);
    if (owner === undefined || owner === this.self) return undefined;
    const peer = this.#getters.get(owner)!;
    return peer.available() ? peer : undefined;
  }

  /**
   * The owner of `key` when it is another node, up or down; `undefined`
   * when this node owns it, no peers are set, or the pool is closed: where
   * a set or remove of `key` must go (a down owner makes it reject).
   */
  remoteOwner(key: string): string | undefined {
    if (this.#closing !== undefined) return undefined;
    const owner = this.#ring.get(key);
    return owner === this.self ? undefined : owner;
  }

  /**
   * The node that owned `key` before the ring last changed, when this node
   * owns it now, within `handoffWindowMs`, and that node is still a peer,
   * up, and one of ours (it answered with our header, or every node shares
   * the secret): a miss asks it from cache only before the getter runs.
   */
  previousOwner(key: string): PeerGetter | undefined {
    if (this.#closing !== undefined) return undefined;
    const before = this.#previous.owner(key);
    if (before === undefined || before === this.self) return undefined;
    if (this.#ring.get(key) !== this.self) return undefined;
    const peer = this.#oursAndUp(before);
    return peer === undefined ? undefined : this.#previous.counted(peer);
  }

  /**
   * The peer at `url` when it is up and one of ours, to be sent what only
   * our nodes understand (handoff, leave). With a secret every peer is:
   * Go and mailgun nodes cannot sign, so a cluster with a secret has none
   * (see the secret option), and a node that has asked no one yet knows it.
   */
  #oursAndUp(url: string): HttpPeer | undefined {
    const peer = this.#getters.get(url);
    if (peer === undefined || !peer.health.up) return undefined;
    return this.#signed || peer.ours ? peer : undefined;
  }

  /**
   * The health of every remote peer, in peer-list order: `"up"`, or
   * `"down"` after a fetch timed out or its connection failed (a peer that
   * answers, even with an error status, is up). A down peer's keys load
   * locally at once, and requests that were waiting on it are released to
   * local loads; a probe (`GET {basePath}`, at most one at a time, after
   * `probeDelayMs`, doubling up to `maxProbeDelayMs`) re-admits it when it
   * answers.
   *
   * @example A peer that refuses connections is skipped
   * ```ts
   * import { HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", {
   *   registry: new Registry(),
   *   fetch: () => Promise.reject(new TypeError("connection refused")),
   * });
   * pool.set("http://a:1", "http://b:1");
   * const key = ["a", "b", "c", "d", "e", "f"].find((k) => pool.owner(k) === "http://b:1")!;
   * const g = pool.newGroup("g", 1 << 20, (k) => `local ${k}`);
   * assert.equal((await g.get(key)).toString(), `local ${key}`); // fell back
   * const [b] = pool.peerHealth();
   * assert.equal(b.peer, "http://b:1");
   * assert.equal(b.state, "down");
   * assert.equal(b.consecutiveFailures, 1);
   * assert.equal(b.lastError?.reason, "network");
   * assert.equal(pool.pickPeer(key), undefined); // its keys load here for now
   * ```
   */
  peerHealth(): PeerHealthInfo[] {
    return [...this.#getters.values()].map((peer) =>
      peer.health.info(peer.url)
    );
  }

  /** Every remote peer (mailgun's `GetAll`, without this node), for removes. */
  getAll(): PeerGetter[] {
    return this.#closing === undefined ? [...this.#getters.values()] : [];
  }

  /**
   * Shuts the node's peer side down, for a process that should exit: stops
   * the peer sources started on this pool (`dnsPeers`, `etcdPeers`; etcd's
   * lease is revoked, so the others drop this node at once), aborts the
   * fetches in flight to peers (their gets load locally instead) and the
   * probes, and clears the pool's timers. Resolves once all of that is
   * done; calling it again returns the same promise.
   *
   * Afterwards the groups keep working on their own: every get loads here
   * (no peer is asked, as with no peers set), sets and removes stay local,
   * and the handler answers every request `503` with `retry-after: 1`, so
   * peers load the keys themselves until their rings drop this node.
   *
   * @example Close, then gets load here and peers get 503
   * ```ts
   * import { HttpPool, Registry, silentLogger } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", {
   *   registry: new Registry(),
   *   logger: silentLogger,
   *   // Peers that never answer (until the request is aborted).
   *   fetch: (_url, init) =>
   *     new Promise((_, reject) =>
   *       init.signal!.addEventListener("abort", () => reject(init.signal!.reason))
   *     ),
   * });
   * pool.set("http://a:1", "http://b:1");
   * const g = pool.newGroup("g", 1 << 20, (key) => `here ${key}`);
   * const key = ["a", "b", "c", "d", "e", "f"].find((k) => pool.owner(k) === "http://b:1")!;
   * const waiting = g.get(key); // asks b, which hangs
   * await pool.close(); // released at once: loads here
   * assert.equal((await waiting).toString(), `here ${key}`);
   * assert.equal(pool.pickPeer(key), undefined);
   * const res = await pool.handler(new Request("http://a:1/_groupcache/g/k"));
   * assert.equal(res.status, 503);
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const peer of this.#getters.values()) peer.close();
    this.#previous.forget();
    await this.#leave();
    const { closers } = this.#internals;
    const sources = [...closers];
    closers.clear();
    await Promise.all(sources.map((s) => s.close().catch(() => {})));
    // Discovery may have set() meanwhile: abort what its new peers started.
    for (const peer of this.#getters.values()) peer.close();
    this.#deadlines.clear();
  }

  /**
   * Hands this node's most recently used owned values to their next owners
   * (leave.ts), when `leaveBytes` allows and peers take writes from us.
   */
  async #leave(): Promise<void> {
    const others = this.#peers.filter((p) => p !== this.self);
    if (this.#leaveBytes === 0 || others.length === 0) return;
    const start = performance.now();
    const registry = this.registry;
    const writable = this.#writes !== "off";
    const report = await leave({
      groups: registry.names().map((name) => [
        name,
        groupServer(registry.get(name)!),
      ]),
      owns: (key) => this.#ring.get(key) === this.self,
      next: this.#ringOf(others),
      peer: (url) => this.#oursAndUp(url),
      bytes: this.#leaveBytes,
      timeoutMs: this.#leaveTimeoutMs,
      writable,
    });
    const line = leaveLine(
      report,
      writable,
      performance.now() - start,
      this.#leaveTimeoutMs,
    );
    if (line !== undefined) this.logger.info(line);
  }

  /** Whether {@linkcode HttpPool.close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * One snapshot of this node for the people who run it, plain data that
   * `JSON.stringify` takes as is: the ring (kind, replicas, fingerprint,
   * each peer's share of the hash space), every other peer's health, last
   * answer, last error and fetch-time percentiles, every group's counters,
   * hit ratio, loads in flight and cache memory against its budget, and
   * what the peer sources last saw. Keys are left out unless
   * `{ keys: true }`. `statusPage` serves it; see {@linkcode PoolStatus}.
   *
   * @example Ring shares and hit ratio
   * ```ts
   * import { HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", { registry: new Registry() });
   * pool.set("http://a:1", "http://b:1");
   * const users = pool.newGroup("users", 1 << 20, (key) => key);
   * const local = ["1", "2", "3", "4", "5"].find((k) => pool.owner(k) === "http://a:1")!;
   * await users.get(local);
   * await users.get(local);
   * const status = pool.status();
   * assert.equal(status.ring.fingerprint, pool.ringFingerprint);
   * const [a, b] = status.ring.members;
   * assert.ok(Math.abs(a.share + b.share - 1) < 1e-9);
   * assert.deepEqual(status.peers.map((p) => [p.peer, p.state]), [["http://b:1", "up"]]);
   * assert.equal(status.groups[0].hitRatio, 0.5);
   * assert.equal(status.groups[0].main.items, 1);
   * assert.deepEqual(JSON.parse(JSON.stringify(status)), status);
   * ```
   */
  status(options?: StatusOptions): PoolStatus {
    return poolStatus(this, this.#internals, this.#ringKind, options);
  }

  /**
   * This node's metrics in Prometheus' text format 0.0.4: Go's `Stats` of
   * every group (`groupcache_gets_total{group}` and the rest), each cache's
   * bytes, items, gets, hits and evictions (`cache="main"|"hot"`), the ring's
   * size, and a histogram of fetch times per peer. Serve it at `/metrics`.
   *
   * @example A /metrics route beside the peers
   * ```ts
   * import { HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", { registry: new Registry() });
   * await pool.newGroup("users", 1 << 20, (key) => key).get("ada");
   * const app = (req: Request) =>
   *   new URL(req.url).pathname === "/metrics"
   *     ? new Response(pool.metrics(), {
   *       headers: { "content-type": "text/plain; version=0.0.4" },
   *     })
   *     : pool.handler(req); // Deno.serve({ port: 8000 }, app)
   * const text = await (await app(new Request("http://a:1/metrics"))).text();
   * assert.match(text, /^groupcache_gets_total\{group="users"\} 1$/m);
   * assert.match(text, /^groupcache_cache_items\{group="users",cache="main"\} 1$/m);
   * ```
   */
  metrics(): string {
    const { fetchTimes, router } = this.#internals;
    return prometheusText(this, fetchTimes, router);
  }
}
