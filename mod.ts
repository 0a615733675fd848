/**
 * # @x/groupcache
 *
 * groupcache, the distributed read-through cache Google built for
 * dl.google.com, for Deno, Bun and Node. Wire-compatible with Go nodes.
 *
 * Every process is a peer. `group.get(key)` looks in the local cache; on a
 * miss, the key's owner (a consistent hash of the key over the peer list) is
 * asked over HTTP; the owner fills it once through your getter,
 * deduplicated, and keeps it in an LRU bounded in bytes. Popular keys owned
 * elsewhere are mirrored in a small hot cache. Values may carry an expiry
 * (from the getter, or a group's `ttlMs`), and `group.set` and
 * `group.remove` write through the key's owner, wire-compatible with
 * mailgun/groupcache (`ring: "mailgun"` joins a mailgun cluster).
 *
 * ```ts
 * import { HttpPool, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const pool = new HttpPool("http://127.0.0.1:8001", { registry: new Registry() });
 * pool.set("http://127.0.0.1:8001"); // add the other nodes' URLs here
 *
 * const thumbnails = pool.newGroup("thumbnails", 64 << 20, async (key, _dest, { signal }) => {
 *   return `thumbnail of ${key}`; // e.g. await load(key, signal)
 * });
 *
 * const view = await thumbnails.get("big-file.jpg");
 * assert.equal(view.toString(), "thumbnail of big-file.jpg");
 * // Serve the peers: Deno.serve({ port: 8001 }, pool.handler)
 * //              or Bun.serve({ port: 8001, fetch: pool.handler })
 * ```
 *
 * ## The core
 *
 * - {@linkcode Group}: a named cache with a getter; `get`, `set`, `remove`.
 * - {@linkcode HttpPool}: this node's peers, the ring that places keys, the
 *   client that asks them and `pool.handler`, which answers them.
 * - {@linkcode Registry}: one node's groups and its pool.
 * - {@linkcode ByteView}, the immutable value, and the sinks Go's `Get`
 *   writes into ({@linkcode bytesSink}, {@linkcode stringSink}, …).
 * - Errors, each a class with a stable `name`: {@linkcode ConfigError},
 *   {@linkcode PeerError}, {@linkcode GetterError}, …
 * - Discovery: {@linkcode etcdPeers}, and `dnsPeers` from
 *   `@x/groupcache/dns`; metrics: `pool.metrics()` (Prometheus) and
 *   {@linkcode otelMetrics} (an OpenTelemetry `Meter`); operating:
 *   `pool.status()`, {@linkcode statusPage} (a live page to mount), and the
 *   `@x/groupcache/cli` inspector.
 * - Node's own server and client: `@x/groupcache/node`.
 *
 * ## The building blocks
 *
 * Each is exported here and from a subpath of its own, and none depends on
 * the ones above it:
 *
 * | subpath                        | exports                                         |
 * | ------------------------------ | ----------------------------------------------- |
 * | `@x/groupcache/lru`            | {@linkcode LruCache}                            |
 * | `@x/groupcache/ring`           | {@linkcode HashRing} (Go's `consistenthash`)    |
 * | `@x/groupcache/crc32`          | {@linkcode crc32}, {@linkcode crc32Update}      |
 * | `@x/groupcache/singleflight`   | {@linkcode SingleFlight}                        |
 * | `@x/groupcache/protobuf`       | the `GetResponse`/`SetRequest` codecs           |
 *
 * ```ts
 * import { LruCache } from "@x/groupcache/lru";
 * import { HashRing } from "@x/groupcache/ring";
 * import * as groupcache from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * assert.equal(LruCache, groupcache.LruCache);
 * const ring = new HashRing(50);
 * ring.add("http://127.0.0.1:8001", "http://127.0.0.1:8002");
 * assert.match(ring.get("big-file.jpg") ?? "", /^http:\/\/127\.0\.0\.1:800[12]$/);
 * ```
 *
 * @module
 */

// The core: a group, its node and pool, values, errors, discovery, metrics.
export { Group } from "./src/group.ts";
export {
  type CacheType,
  type GetOptions,
  type GroupOptions,
  type GroupStats,
  type RemoveOptions,
  type SetOptions,
} from "./src/group_options.ts";
export {
  type ExpiringValue,
  type Getter,
  type GetterContext,
  type GetterFunc,
  type GetterResult,
} from "./src/getter.ts";
export type { GetManyResult } from "./src/get_many.ts";
export type { PeerGetter, PeerPicker } from "./src/peers.ts";
export { HttpPool } from "./src/http_pool.ts";
export type {
  CacheStatus,
  DiscoveryStatus,
  FetchTimes,
  GroupStatus,
  PeerErrorStatus,
  PeerStatus,
  PoolStatus,
  RingMember,
  RingStatus,
  StatusOptions,
} from "./src/status.ts";
export {
  statusPage,
  type StatusPageJson,
  type StatusPageOptions,
} from "./src/status_page.ts";
export {
  type HttpPoolOptions,
  type RingKind,
  type WritesMode,
} from "./src/http_pool_options.ts";
export { defaultRegistry, getGroup, Registry } from "./src/registry.ts";
export { ByteView } from "./src/byte_view.ts";
export {
  BaseSink,
  BytesSink,
  bytesSink,
  ByteViewSink,
  byteViewSink,
  type Sink,
  StringSink,
  stringSink,
  TruncatingBytesSink,
  truncatingBytesSink,
} from "./src/sink.ts";
export {
  ConfigError,
  GetterError,
  InvalidKeyError,
  LoadTimeoutError,
  NotFoundError,
  PeerError,
  type PeerErrorInit,
  type PeerErrorReason,
  ProtobufError,
  SinkNotSetError,
} from "./src/errors.ts";
export {
  MalformedReplyError,
  type PeerReply,
  type PeerRequest,
  type PeerTransport,
} from "./src/http_client.ts";
export { type PeerHealthInfo, type PeerState } from "./src/peer_health.ts";
export { type HotCachePolicy } from "./src/hot_admission.ts";
export { type CacheStats, ENTRY_OVERHEAD } from "./src/cache.ts";
export { type Logger, silentLogger } from "./src/logger.ts";
export type { PeerDiscovery, PeerListTarget } from "./src/discovery.ts";
export { etcdPeers, type EtcdPeersOptions } from "./src/etcd.ts";
export {
  type BatchObservableResultLike,
  type HistogramLike,
  type InstrumentOptionsLike,
  type MeterLike,
  type MetricAttributes,
  type MetricsBinding,
  type ObservableLike,
  otelMetrics,
} from "./src/otel.ts";

// The building blocks, each also a subpath export (see deno.json).
export {
  LruCache,
  type LruCacheOptions,
  type LruIterOptions,
} from "./src/lru.ts";
export { HashRing } from "./src/hash_ring.ts";
export { crc32, crc32Update } from "./src/crc32.ts";
export { type FlightResult, SingleFlight } from "./src/singleflight.ts";
export {
  decodeGetResponse,
  decodeGetResponseMessage,
  decodeSetRequest,
  encodeGetResponse,
  encodeGetResponseMessage,
  encodeSetRequest,
  type GetResponseMessage,
  msFromUnixNanos,
  type SetRequestMessage,
  unixNanosFromMs,
} from "./src/protobuf.ts";
