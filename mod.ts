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
 * A cluster finds its peers through {@linkcode etcdPeers} or, from the
 * `@x/groupcache/dns` entry point, `dnsPeers`; `pool.metrics()` serves
 * Prometheus and {@linkcode otelMetrics} feeds an OpenTelemetry `Meter`.
 *
 * The building blocks are exported too: {@linkcode crc32},
 * {@linkcode HashRing}, {@linkcode LruCache}, {@linkcode SingleFlight},
 * {@linkcode ByteView} and the sinks.
 *
 * @module
 */

export { ByteView } from "./src/byte_view.ts";
export { type CacheStats, ENTRY_OVERHEAD } from "./src/cache.ts";
export { crc32, crc32Update } from "./src/crc32.ts";
export type { PeerDiscovery, PeerListTarget } from "./src/discovery.ts";
export { type Logger, silentLogger } from "./src/logger.ts";
export {
  ConfigError,
  GetterError,
  InvalidKeyError,
  LoadTimeoutError,
  PeerError,
  type PeerErrorInit,
  type PeerErrorReason,
  ProtobufError,
  SinkNotSetError,
} from "./src/errors.ts";
export {
  type ExpiringValue,
  type Getter,
  type GetterContext,
  type GetterFunc,
  type GetterResult,
} from "./src/getter.ts";
export { Group } from "./src/group.ts";
export {
  type CacheType,
  type GetOptions,
  type GroupOptions,
  type GroupStats,
  type RemoveOptions,
  type SetOptions,
} from "./src/group_options.ts";
export type { PeerGetter, PeerPicker } from "./src/peers.ts";
export { etcdPeers, type EtcdPeersOptions } from "./src/etcd.ts";
export { HashRing } from "./src/hash_ring.ts";
export { type HotCachePolicy } from "./src/hot_admission.ts";
export {
  HttpPool,
  type HttpPoolOptions,
  type RingKind,
} from "./src/http_pool.ts";
export {
  MalformedReplyError,
  type PeerReply,
  type PeerRequest,
  type PeerTransport,
} from "./src/http_client.ts";
export { type PeerHealthInfo, type PeerState } from "./src/peer_health.ts";
export {
  LruCache,
  type LruCacheOptions,
  type LruIterOptions,
} from "./src/lru.ts";
export {
  type BatchObservableResultLike,
  type HistogramLike,
  type InstrumentOptionsLike,
  type MeterLike,
  type MetricAttributes,
  type MetricsBinding,
  type ObservableLike,
  otelMetrics,
} from "./src/metrics.ts";
export {
  decodeGetResponse,
  decodeGetResponseMessage,
  decodeSetRequest,
  encodeGetResponse,
  encodeGetResponseMessage,
  encodeSetRequest,
  type GetResponseMessage,
  type SetRequestMessage,
} from "./src/protobuf.ts";
export { defaultRegistry, getGroup, Registry } from "./src/registry.ts";
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
export { type FlightResult, SingleFlight } from "./src/singleflight.ts";
