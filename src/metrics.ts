/**
 * Metrics of a node: Go's `Stats` of each group, the counters of its two
 * caches, the ring's size and how long peer fetches take, as Prometheus'
 * text format (`HttpPool.metrics()`); src/otel.ts feeds the same to an
 * OpenTelemetry `Meter`.
 *
 * @module
 */

import type { CacheType, GroupStats } from "./group_options.ts";
import type { CacheStats } from "./cache.ts";
import type { PeerHealthInfo } from "./peer_health.ts";
import type { Registry } from "./registry.ts";

/** Upper bounds of the peer-fetch latency buckets, in seconds. */
export const FETCH_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** The peer requests the handler refused (see `PeerRouter`). */
interface RefusedCounts {
  readonly unauthorized: number;
  readonly writesRefused: number;
}

const REFUSED: Metric = [
  "groupcache_peer_requests_refused_total",
  "Peer requests refused: unsigned or badly signed (401), writes while " +
  "writes are off (403).",
];

/** What the metrics read of a pool. */
interface MeteredPool {
  readonly registry: Registry;
  readonly peers: readonly string[];
  peerHealth(): PeerHealthInfo[];
}

export type Metric = [name: string, help: string];

/** Go's `Stats` counters and ours (hot-cache admission, set, remove, expiry), by field. */
export const GROUP_COUNTERS: [keyof GroupStats, ...Metric][] = [
  ["gets", "groupcache_gets_total", "Gets, including those from peers."],
  [
    "cacheHits",
    "groupcache_hits_total",
    "Gets answered by the main or hot cache.",
  ],
  [
    "peerLoads",
    "groupcache_peer_loads_total",
    "Values fetched from a remote peer.",
  ],
  [
    "peerErrors",
    "groupcache_peer_errors_total",
    "Failed peer fetches, each followed by a local load.",
  ],
  [
    "loads",
    "groupcache_loads_total",
    "Gets that missed the cache, before deduplication.",
  ],
  [
    "loadsDeduped",
    "groupcache_loads_deduped_total",
    "Loads after deduplication: actual fills.",
  ],
  ["localLoads", "groupcache_local_loads_total", "Successful getter runs."],
  [
    "localLoadErrs",
    "groupcache_local_load_errors_total",
    "Failed getter runs.",
  ],
  [
    "serverRequests",
    "groupcache_server_requests_total",
    "Gets that came from peers over the wire.",
  ],
  [
    "hotAdmissions",
    "groupcache_hot_admissions_total",
    "Values fetched from owners that the hot-cache policy mirrored.",
  ],
  [
    "hotRejections",
    "groupcache_hot_rejections_total",
    "Values fetched from owners that the hot-cache policy turned away.",
  ],
  ["sets", "groupcache_sets_total", "Values stored with set."],
  ["removes", "groupcache_removes_total", "Keys removed with remove."],
  [
    "expirations",
    "groupcache_expirations_total",
    "Entries found expired and dropped.",
  ],
  [
    "notFounds",
    "groupcache_not_founds_total",
    "Getter runs that threw NotFoundError.",
  ],
  [
    "negativeHits",
    "groupcache_negative_hits_total",
    "Gets answered not-found by a remembered not-found.",
  ],
  [
    "ownerErrors",
    "groupcache_owner_errors_total",
    "Gets failed by the owner's getter error, with no local load.",
  ],
  [
    "staleHits",
    "groupcache_stale_hits_total",
    "Gets answered with an expired value (staleMs, staleIfErrorMs).",
  ],
  [
    "refreshes",
    "groupcache_refreshes_total",
    "Refreshes of expired values started.",
  ],
  [
    "refreshErrors",
    "groupcache_refresh_errors_total",
    "Keys whose refresh of an expired value started failing, once until one succeeds.",
  ],
  [
    "handoffHits",
    "groupcache_handoff_hits_total",
    "Keys got from their previous owner's cache after a ring change, not loaded.",
  ],
  [
    "handoffMisses",
    "groupcache_handoff_misses_total",
    "Handoffs that found nothing or failed: the getter ran.",
  ],
  [
    "handedOff",
    "groupcache_handed_off_total",
    "Values handed to their next owners when the pool closed.",
  ],
];

/** The gauges of each cache, by field. */
export const CACHE_GAUGES: [keyof CacheStats, ...Metric][] = [
  [
    "bytes",
    "groupcache_cache_bytes",
    "Bytes charged to the cache: key and value bytes of every entry plus the group's entryOverhead per entry (default 192).",
  ],
  ["items", "groupcache_cache_items", "Entries held by the cache."],
];

/** The counters of each cache, by field. */
export const CACHE_COUNTERS: [keyof CacheStats, ...Metric][] = [
  ["gets", "groupcache_cache_gets_total", "Lookups in the cache."],
  [
    "hits",
    "groupcache_cache_hits_total",
    "Lookups that found the key in the cache.",
  ],
  [
    "evictions",
    "groupcache_cache_evictions_total",
    "Entries evicted from the cache to make room.",
  ],
];

export const RING: Metric = [
  "groupcache_ring_peers",
  "Peers on this node's ring, itself included (0: no peers set, every key is loaded here).",
];

export const PEER_UP: Metric = [
  "groupcache_peer_up",
  "Whether each remote peer is up (1) or down (0: its keys load on this node until a probe finds it answering).",
];

export const FETCH: Metric = [
  "groupcache_peer_fetch_duration_seconds",
  "How long fetches from each peer took, failed ones included.",
];

export const CACHES: CacheType[] = ["main", "hot"];

/** One peer's fetch latencies: a count per bucket (not cumulative), the sum. */
class Histogram {
  readonly counts = new Float64Array(FETCH_BUCKETS.length + 1);
  sum = 0;
}

/**
 * How long each peer fetch of one pool took: histograms by peer, and the
 * listeners an {@linkcode otelMetrics} binding adds.
 */
export class PeerFetchTimes {
  readonly #byPeer = new Map<string, Histogram>();
  readonly #listeners = new Set<(peer: string, seconds: number) => void>();

  /** The client's observer: one fetch from `peer` took `seconds`. */
  readonly observe = (peer: string, seconds: number): void => {
    let histogram = this.#byPeer.get(peer);
    if (histogram === undefined) {
      histogram = new Histogram();
      this.#byPeer.set(peer, histogram);
    }
    let i = 0;
    while (i < FETCH_BUCKETS.length && seconds > FETCH_BUCKETS[i]) i++;
    histogram.counts[i]++;
    histogram.sum += seconds;
    for (const listener of this.#listeners) listener(peer, seconds);
  };

  /** Adds a listener; returns how to remove it. */
  listen(listener: (peer: string, seconds: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The histograms of `peers`; those of peers no longer listed are dropped. */
  of(peers: readonly string[]): [string, Histogram][] {
    const listed = new Set(peers);
    for (const peer of this.#byPeer.keys()) {
      if (!listed.has(peer)) this.#byPeer.delete(peer);
    }
    return [...this.#byPeer].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** A label value, escaped as the text format wants. */
function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(
    /\n/g,
    "\\n",
  );
}

function number(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * The Prometheus text exposition (format 0.0.4) of a pool's node; what
 * `HttpPool.metrics()` returns.
 */
export function prometheusText(
  pool: MeteredPool,
  fetchTimes: PeerFetchTimes,
  refused?: RefusedCounts,
): string {
  const out: string[] = [];
  const family = (
    [name, help]: Metric,
    type: "counter" | "gauge" | "histogram",
    samples: string[],
  ) => {
    if (samples.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
  };
  const groups = pool.registry.names().flatMap((name) => {
    const group = pool.registry.get(name);
    return group === undefined ? [] : [group];
  });
  for (const [field, ...metric] of GROUP_COUNTERS) {
    family(
      metric,
      "counter",
      groups.map((g) =>
        `${metric[0]}{group="${escape(g.name)}"} ${number(g.stats[field])}`
      ),
    );
  }
  const caches = groups.flatMap((g) =>
    CACHES.map((c) =>
      [`{group="${escape(g.name)}",cache="${c}"}`, g.cacheStats(c)] as const
    )
  );
  for (
    const [fields, type] of [[CACHE_GAUGES, "gauge"], [
      CACHE_COUNTERS,
      "counter",
    ]] as const
  ) {
    for (const [field, ...metric] of fields) {
      family(
        metric,
        type,
        caches.map(([labels, stats]) =>
          `${metric[0]}${labels} ${number(stats[field])}`
        ),
      );
    }
  }
  family(RING, "gauge", [`${RING[0]} ${pool.peers.length}`]);
  family(
    PEER_UP,
    "gauge",
    pool.peerHealth().map((h) =>
      `${PEER_UP[0]}{peer="${escape(h.peer)}"} ${h.state === "up" ? 1 : 0}`
    ),
  );
  const samples: string[] = [];
  for (const [peer, h] of fetchTimes.of(pool.peers)) {
    const peerLabel = `peer="${escape(peer)}"`;
    let cumulative = 0;
    for (let i = 0; i <= FETCH_BUCKETS.length; i++) {
      cumulative += h.counts[i];
      const le = i < FETCH_BUCKETS.length ? number(FETCH_BUCKETS[i]) : "+Inf";
      samples.push(`${FETCH[0]}_bucket{${peerLabel},le="${le}"} ${cumulative}`);
    }
    samples.push(`${FETCH[0]}_sum{${peerLabel}} ${number(h.sum)}`);
    samples.push(`${FETCH[0]}_count{${peerLabel}} ${cumulative}`);
  }
  family(FETCH, "histogram", samples);
  if (refused !== undefined) {
    family(REFUSED, "counter", [
      `${REFUSED[0]}{reason="unauthorized"} ${refused.unauthorized}`,
      `${REFUSED[0]}{reason="writes-off"} ${refused.writesRefused}`,
    ]);
  }
  return out.join("\n") + "\n";
}
