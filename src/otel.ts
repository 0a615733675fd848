/**
 * The metrics of src/metrics.ts fed to an OpenTelemetry `Meter`
 * ({@linkcode otelMetrics}), without depending on `@opentelemetry/api`.
 *
 * @module
 */

import { type HttpPool, poolInternals } from "./http_pool.ts";
import {
  CACHE_COUNTERS,
  CACHE_GAUGES,
  CACHES,
  FETCH,
  FETCH_BUCKETS,
  GROUP_COUNTERS,
  type Metric,
  PEER_UP,
  RING,
} from "./metrics.ts";

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
