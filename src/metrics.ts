/**
 * Metrics of a node: Go's `Stats` of each group, the counters of its two
 * caches, the ring's size and how long peer fetches take, as Prometheus'
 * text format (`HttpPool.metrics()`) or fed to an OpenTelemetry `Meter`
 * ({@linkcode otelMetrics}, without depending on `@opentelemetry/api`).
 *
 * @module
 */

import type { CacheType, GroupStats } from "./group.ts";
import type { CacheStats } from "./cache.ts";
import { type HttpPool, poolInternals } from "./http_pool.ts";
import type { PeerHealthInfo } from "./peer_health.ts";
import type { Registry } from "./registry.ts";

/** Upper bounds of the peer-fetch latency buckets, in seconds. */
const FETCH_BUCKETS: readonly number[] = [
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

/** What the metrics read of a pool. */
interface MeteredPool {
  readonly registry: Registry;
  readonly peers: readonly string[];
  peerHealth(): PeerHealthInfo[];
}

type Metric = [name: string, help: string];

/** Go's `Stats` counters and ours (hot-cache admission, set, remove, expiry), by field. */
const GROUP_COUNTERS: [keyof GroupStats, ...Metric][] = [
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
];

/** The gauges of each cache, by field. */
const CACHE_GAUGES: [keyof CacheStats, ...Metric][] = [
  [
    "bytes",
    "groupcache_cache_bytes",
    "Bytes charged to the cache: key and value bytes of every entry plus the group's entryOverhead per entry (default 192).",
  ],
  ["items", "groupcache_cache_items", "Entries held by the cache."],
];

/** The counters of each cache, by field. */
const CACHE_COUNTERS: [keyof CacheStats, ...Metric][] = [
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

const RING: Metric = [
  "groupcache_ring_peers",
  "Peers on this node's ring, itself included (0: no peers set, every key is loaded here).",
];

const PEER_UP: Metric = [
  "groupcache_peer_up",
  "Whether each remote peer is up (1) or down (0: its keys load on this node until a probe finds it answering).",
];

const FETCH: Metric = [
  "groupcache_peer_fetch_duration_seconds",
  "How long fetches from each peer took, failed ones included.",
];

const CACHES: CacheType[] = ["main", "hot"];

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
  return out.join("\n") + "\n";
}

/** Attributes of an OpenTelemetry measurement. */
export type MetricAttributes = Record<string, string>;

/** An OpenTelemetry observable instrument, as far as it is used here. */
// deno-lint-ignore no-empty-interface
export interface ObservableLike {}

/** What a batch callback is given: OpenTelemetry's `BatchObservableResult`. */
export interface BatchObservableResultLike {
  /** Records the current value of one observable. */
  observe(
    observable: ObservableLike,
    value: number,
    attributes?: MetricAttributes,
  ): void;
}

/** An OpenTelemetry histogram, as far as it is used here. */
export interface HistogramLike {
  /** Records one value. */
  record(value: number, attributes?: MetricAttributes): void;
}

/** The options of an OpenTelemetry instrument used here. */
export interface InstrumentOptionsLike {
  /** What it measures. */
  description?: string;
  /** Its unit, UCUM: `"s"`, `"By"`, `"{item}"`. */
  unit?: string;
  /** Hints to the SDK, such as histogram bucket boundaries. */
  advice?: { explicitBucketBoundaries?: number[] };
}

/**
 * An OpenTelemetry `Meter` (`@opentelemetry/api`), as far as
 * {@linkcode otelMetrics} uses it: the library does not depend on the API
 * package, any object of this shape will do.
 */
export interface MeterLike {
  /** Makes a monotonic counter read by callbacks. */
  createObservableCounter(
    name: string,
    options?: InstrumentOptionsLike,
  ): ObservableLike;
  /** Makes a gauge read by callbacks. */
  createObservableGauge(
    name: string,
    options?: InstrumentOptionsLike,
  ): ObservableLike;
  /** Makes a histogram recorded to directly. */
  createHistogram(name: string, options?: InstrumentOptionsLike): HistogramLike;
  /** Reads several observables in one callback at each collection. */
  addBatchObservableCallback(
    callback: (result: BatchObservableResultLike) => void,
    observables: ObservableLike[],
  ): void;
  /** Undoes {@linkcode MeterLike.addBatchObservableCallback}. */
  removeBatchObservableCallback(
    callback: (result: BatchObservableResultLike) => void,
    observables: ObservableLike[],
  ): void;
}

/** What {@linkcode otelMetrics} returns. */
export interface MetricsBinding {
  /** Stops feeding the meter (the instruments stay, without new values). */
  close(): void;
}

/** `groupcache_cache_gets_total` → `groupcache.cache.gets`. */
function otelName(name: string): string {
  return name.replace(/_(total|seconds)$/, "").replaceAll("_", ".");
}

/**
 * Feeds an OpenTelemetry `Meter` the same metrics as `HttpPool.metrics()`:
 * observable counters and gauges read at each collection, and the peer fetch
 * histogram recorded as fetches end. Names are the Prometheus ones with dots
 * and without the `_total`/`_seconds` suffix (`groupcache.gets`,
 * `groupcache.cache.bytes`, `groupcache.peer.fetch.duration` in `s`),
 * attributes `group`, `cache` and `peer`.
 *
 * @param pool The node whose groups are measured.
 * @param meter A `Meter` from `@opentelemetry/api` (or anything shaped like one).
 * @returns How to stop feeding it.
 *
 * @example With the OpenTelemetry SDK
 * ```ts ignore
 * import { metrics } from "@opentelemetry/api";
 * import { HttpPool, otelMetrics } from "@x/groupcache";
 *
 * const pool = new HttpPool("http://10.0.0.7:8000");
 * const binding = otelMetrics(pool, metrics.getMeter("groupcache"));
 * // ... binding.close() to stop
 * ```
 *
 * @example What a meter is told
 * ```ts
 * import { type BatchObservableResultLike, HttpPool, otelMetrics, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const instruments: string[] = [];
 * let collect = (_: BatchObservableResultLike) => {};
 * const meter = {
 *   createObservableCounter: (name: string) => (instruments.push(name), { name }),
 *   createObservableGauge: (name: string) => (instruments.push(name), { name }),
 *   createHistogram: (name: string) => (instruments.push(name), { record() {} }),
 *   addBatchObservableCallback: (cb: typeof collect) => void (collect = cb),
 *   removeBatchObservableCallback: () => {},
 * };
 * const pool = new HttpPool("http://a:1", { registry: new Registry() });
 * const g = pool.newGroup("g", 1024, (key) => key);
 * await g.get("k");
 * const binding = otelMetrics(pool, meter);
 * const seen: Record<string, number> = {};
 * collect({
 *   observe: (o, value, attrs) => {
 *     seen[`${(o as { name: string }).name} ${JSON.stringify(attrs ?? {})}`] = value;
 *   },
 * });
 * assert.equal(seen['groupcache.gets {"group":"g"}'], 1);
 * assert.equal(seen['groupcache.cache.items {"group":"g","cache":"main"}'], 1);
 * assert.ok(instruments.includes("groupcache.peer.fetch.duration"));
 * binding.close();
 * ```
 */
export function otelMetrics(
  pool: HttpPool,
  meter: MeterLike,
): MetricsBinding {
  const counter = ([name, description]: Metric) =>
    meter.createObservableCounter(otelName(name), { description });
  const gauge = ([name, description]: Metric, unit: string) =>
    meter.createObservableGauge(otelName(name), { description, unit });
  const groupCounters = GROUP_COUNTERS.map(([field, ...m]) =>
    [field, counter(m)] as const
  );
  const cacheMetrics = [
    ...CACHE_GAUGES.map(([field, ...m]) =>
      [field, gauge(m, field === "bytes" ? "By" : "{item}")] as const
    ),
    ...CACHE_COUNTERS.map(([field, ...m]) => [field, counter(m)] as const),
  ];
  const ring = gauge(RING, "{peer}");
  const peerUp = gauge(PEER_UP, "1");
  const observables = [
    ...groupCounters.map(([, o]) => o),
    ...cacheMetrics.map(([, o]) => o),
    ring,
    peerUp,
  ];
  const callback = (result: BatchObservableResultLike) => {
    for (const name of pool.registry.names()) {
      const group = pool.registry.get(name);
      if (group === undefined) continue;
      const stats = group.stats;
      for (const [field, o] of groupCounters) {
        result.observe(o, stats[field], { group: name });
      }
      for (const cache of CACHES) {
        const c = group.cacheStats(cache);
        for (const [field, o] of cacheMetrics) {
          result.observe(o, c[field], { group: name, cache });
        }
      }
    }
    result.observe(ring, pool.peers.length);
    for (const h of pool.peerHealth()) {
      result.observe(peerUp, h.state === "up" ? 1 : 0, { peer: h.peer });
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  const histogram = meter.createHistogram(otelName(FETCH[0]), {
    description: FETCH[1],
    unit: "s",
    advice: { explicitBucketBoundaries: [...FETCH_BUCKETS] },
  });
  const stop = poolInternals(pool)?.fetchTimes.listen((peer, seconds) =>
    histogram.record(seconds, { peer })
  );
  return {
    close() {
      meter.removeBatchObservableCallback(callback, observables);
      stop?.();
    },
  };
}
