// Metrics (src/metrics.ts): pool.metrics() in Prometheus' text format, checked
// against the groups' own counters and by the real promtool; otelMetrics()
// against the real OpenTelemetry SDK with an in-memory reader. Runs under
// Deno and Bun.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  type CacheType,
  type Group,
  type GroupStats,
  HttpPool,
  otelMetrics,
  Registry,
  silentLogger,
} from "../mod.ts";
import { makeCluster } from "./_dev/cluster.ts";
import { promtoolCheck, skipWithout } from "./_dev/services.ts";

/** The value of the sample written exactly as `series` (name and labels). */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const STATS: [keyof GroupStats, string][] = [
  ["gets", "groupcache_gets_total"],
  ["cacheHits", "groupcache_hits_total"],
  ["peerLoads", "groupcache_peer_loads_total"],
  ["peerErrors", "groupcache_peer_errors_total"],
  ["loads", "groupcache_loads_total"],
  ["loadsDeduped", "groupcache_loads_deduped_total"],
  ["localLoads", "groupcache_local_loads_total"],
  ["localLoadErrs", "groupcache_local_load_errors_total"],
  ["serverRequests", "groupcache_server_requests_total"],
  ["hotAdmissions", "groupcache_hot_admissions_total"],
  ["hotRejections", "groupcache_hot_rejections_total"],
  ["sets", "groupcache_sets_total"],
  ["removes", "groupcache_removes_total"],
  ["expirations", "groupcache_expirations_total"],
];

const CACHE_FIELDS = [
  ["bytes", "groupcache_cache_bytes"],
  ["items", "groupcache_cache_items"],
  ["gets", "groupcache_cache_gets_total"],
  ["hits", "groupcache_cache_hits_total"],
  ["evictions", "groupcache_cache_evictions_total"],
] as const;

const CACHES: CacheType[] = ["main", "hot"];

/**
 * A busy node: three nodes, two groups on node 0, small caches that evict,
 * a hot cache that admits everything, a getter that fails, a peer that goes
 * down (peer errors), keys fetched many times.
 */
async function busyCluster() {
  const cluster = makeCluster({
    cacheBytes: 600,
    groupOptions: { entryOverhead: 0 }, // Go's accounting: some fit, some go
    random: () => () => 0, // every remote value goes to the hot cache
    value: (key) => {
      if (key.startsWith("fail-")) throw new Error(`no ${key}`);
      return `value of ${key} `.repeat(3);
    },
  });
  const [node] = cluster.nodes;
  const images = node.pool.newGroup(
    'images "small"\\thumbs',
    1 << 20,
    (key) => `image ${key}`,
  );
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 40; i++) {
      await node.group.get(`key-${i}`);
      await images.get(`img-${i % 7}`);
    }
  }
  await node.group.get("fail-1").catch(() => {});
  cluster.nodes[2].down = true;
  for (let i = 0; i < 10; i++) await node.group.get(`down-${i}`);
  cluster.nodes[2].down = false;
  // Node 0 marked node 2 down: wait (bounded) until a probe re-admits it, so
  // later fetches of its keys go to it again.
  for (let i = 0; node.pool.peerHealth().some((p) => p.state !== "up"); i++) {
    if (i === 100) throw new Error("node 2 was never re-admitted");
    node.pool.pickPeer(cluster.keyOwnedBy(2, "probe-")); // starts a due probe
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { ...cluster, node, images };
}

describe("pool.metrics()", () => {
  it("has Go's Stats of every group, with _total on counters", async () => {
    const { node, images } = await busyCluster();
    const text = node.pool.metrics();
    for (const group of [node.group, images]) {
      const label = `{group="${
        group.name.replaceAll("\\", "\\\\").replaceAll('"', '\\"')
      }"}`;
      for (const [field, name] of STATS) {
        assert.equal(
          sample(text, name + label),
          group.stats[field],
          `${name}${label}`,
        );
      }
    }
    assert.match(text, /^# TYPE groupcache_gets_total counter$/m);
    assert.ok(node.group.stats.peerErrors > 0, "the busy node saw peer errors");
    assert.ok(node.group.stats.localLoadErrs > 0, "and getter errors");
  });

  it("has each cache's bytes, items, gets, hits and evictions", async () => {
    const { node } = await busyCluster();
    const text = node.pool.metrics();
    for (const cache of CACHES) {
      const stats = node.group.cacheStats(cache);
      for (const [field, name] of CACHE_FIELDS) {
        assert.equal(
          sample(text, `${name}{group="test",cache="${cache}"}`),
          stats[field],
          `${name} ${cache}`,
        );
      }
    }
    assert.ok(node.group.cacheStats("main").evictions > 0, "main evicted");
    assert.ok(node.group.cacheStats("hot").items > 0, "hot holds values");
    assert.match(text, /^# TYPE groupcache_cache_bytes gauge$/m);
  });

  it("has groupcache_cache_bytes count what its help says: key and value bytes plus entryOverhead per entry", async () => {
    for (const entryOverhead of [0, 100]) {
      const pool = new HttpPool("http://a:1", { registry: new Registry() });
      const g = pool.newGroup("g", 1 << 20, () => "v".repeat(10), {
        entryOverhead,
      });
      await g.get("key");
      const text = pool.metrics();
      assert.equal(
        sample(text, 'groupcache_cache_bytes{group="g",cache="main"}'),
        "key".length + 10 + entryOverhead,
      );
      assert.match(
        text,
        /^# HELP groupcache_cache_bytes .*key and value bytes of every entry plus the group's entryOverhead per entry/m,
      );
    }
  });

  it("escapes group names in label values: quotes, backslashes, newlines", () => {
    const pool = new HttpPool("http://a:1", { registry: new Registry() });
    pool.newGroup('a "b"\\c\nd', 1024, (key) => key);
    assert.match(
      pool.metrics(),
      /^groupcache_gets_total\{group="a \\"b\\"\\\\c\\nd"\} 0$/m,
    );
  });

  it("has the ring's size, 0 before any set", () => {
    const pool = new HttpPool("http://a:1", { registry: new Registry() });
    assert.equal(sample(pool.metrics(), "groupcache_ring_peers"), 0);
    pool.set("http://a:1", "http://b:1", "http://c:1");
    assert.equal(sample(pool.metrics(), "groupcache_ring_peers"), 3);
  });

  it(
    "has groupcache_peer_up per remote peer: 1 while up, 0 while down, promtool-clean",
    { skip: skipWithout("promtool") },
    async () => {
      const { nodes, urls, keyOwnedBy } = makeCluster({
        pool: { logger: silentLogger },
      });
      const [node] = nodes;
      nodes[2].down = true;
      await node.group.get(keyOwnedBy(2));
      const text = node.pool.metrics();
      assert.equal(sample(text, `groupcache_peer_up{peer="${urls[1]}"}`), 1);
      assert.equal(sample(text, `groupcache_peer_up{peer="${urls[2]}"}`), 0);
      assert.equal(
        sample(text, `groupcache_peer_up{peer="${urls[0]}"}`),
        undefined,
        "not itself",
      );
      assert.match(text, /^# TYPE groupcache_peer_up gauge$/m);
      assert.equal(await promtoolCheck(text), "", text);
    },
  );

  it("has a fetch-time histogram per peer that counts every fetch, and forgets peers that left", async () => {
    const { node, nodes, urls } = await busyCluster();
    const text = node.pool.metrics();
    // Value fetches only: a health probe (GET of the base path) is no fetch.
    const peerLoads = nodes.map((n) =>
      n.requests.filter((url) => !url.endsWith("/_groupcache/")).length
    );
    for (const [i, peer] of urls.entries()) {
      const count = sample(
        text,
        `groupcache_peer_fetch_duration_seconds_count{peer="${peer}"}`,
      );
      if (i === 0) {
        assert.equal(count, undefined, "no histogram for itself");
        continue;
      }
      // Every request node i received came from node 0 (the only one asked);
      // node 2's failed fetches count too.
      const failed = i === 2 ? node.group.stats.peerErrors : 0;
      assert.equal(count, peerLoads[i] + failed, peer);
      const inf = sample(
        text,
        `groupcache_peer_fetch_duration_seconds_bucket{peer="${peer}",le="+Inf"}`,
      );
      assert.equal(inf, count);
      const buckets = text.split("\n").filter((l) =>
        l.startsWith(
          `groupcache_peer_fetch_duration_seconds_bucket{peer="${peer}"`,
        )
      ).map((l) => Number(l.split(" ")[1]));
      assert.deepEqual(
        buckets,
        [...buckets].sort((a, b) => a - b),
        "cumulative",
      );
      assert.ok(
        sample(
          text,
          `groupcache_peer_fetch_duration_seconds_sum{peer="${peer}"}`,
        )! > 0,
      );
    }
    node.pool.set(urls[0], urls[1]);
    assert.doesNotMatch(node.pool.metrics(), new RegExp(`peer="${urls[2]}"`));
  });

  it(
    "passes promtool check metrics on a busy node: no error, no lint warning",
    { skip: skipWithout("promtool") },
    async () => {
      const { node } = await busyCluster();
      const text = node.pool.metrics();
      assert.equal(await promtoolCheck(text), "", text);
      // promtool does lint: a counter without _total is reported.
      const bad =
        "# HELP x_requests Requests.\n# TYPE x_requests counter\nx_requests 1\n";
      assert.match(
        await promtoolCheck(bad),
        /counter metrics should have "_total" suffix/,
      );
    },
  );
});

describe("otelMetrics() with the OpenTelemetry SDK", () => {
  async function collect(
    exporter: InMemoryMetricExporter,
    reader: PeriodicExportingMetricReader,
  ) {
    exporter.reset();
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((r) =>
      r.scopeMetrics.flatMap((s) => s.metrics)
    );
    return (name: string) => metrics.find((m) => m.descriptor.name === name);
  }

  function point<T>(
    points: DataPoint<T>[] | undefined,
    attributes: Record<string, string>,
  ): T | undefined {
    return points?.find((p) =>
      JSON.stringify(p.attributes) === JSON.stringify(attributes)
    )?.value;
  }

  it("reads the same counts as group.stats, cacheStats and the fetch histogram", async () => {
    const exporter = new InMemoryMetricExporter(
      AggregationTemporality.CUMULATIVE,
    );
    const reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: 3_600_000,
    });
    const provider = new MeterProvider({ readers: [reader] });
    const { node, images, keyOwnedBy, urls } = await busyCluster();
    const binding = otelMetrics(node.pool, provider.getMeter("groupcache"));
    // Two fetches the histogram sees, one from each peer.
    await node.group.get(keyOwnedBy(1, "after-binding-"));
    await node.group.get(keyOwnedBy(2, "after-binding-"));
    const find = await collect(exporter, reader);
    for (const group of [node.group, images] as Group[]) {
      for (const [field, name] of STATS) {
        const otelName = name.replace(/_total$/, "").replaceAll("_", ".");
        const m = find(otelName);
        assert.ok(m, otelName);
        assert.equal(
          point(m.dataPoints as DataPoint<number>[], { group: group.name }),
          group.stats[field],
          `${otelName} ${group.name}`,
        );
      }
      for (const cache of CACHES) {
        const stats = group.cacheStats(cache);
        for (const [field, name] of CACHE_FIELDS) {
          const otelName = name.replace(/_total$/, "").replaceAll("_", ".");
          assert.equal(
            point(find(otelName)?.dataPoints as DataPoint<number>[], {
              group: group.name,
              cache,
            }),
            stats[field],
            `${otelName} ${cache}`,
          );
        }
      }
    }
    assert.equal(find("groupcache.cache.bytes")?.descriptor.unit, "By");
    assert.equal(
      point(
        find("groupcache.ring.peers")?.dataPoints as DataPoint<number>[],
        {},
      ),
      3,
    );
    for (const [i, peer] of urls.entries()) {
      assert.equal(
        point(find("groupcache.peer.up")?.dataPoints as DataPoint<number>[], {
          peer,
        }),
        i === 0 ? undefined : 1,
        peer,
      );
    }
    const histogram = find("groupcache.peer.fetch.duration");
    assert.equal(histogram?.descriptor.unit, "s");
    const fetched = (histogram?.dataPoints as DataPoint<Histogram>[])
      .reduce((n, p) => n + p.value.count, 0);
    assert.equal(fetched, 2, "the fetches since the binding");

    binding.close();
    await node.group.get(keyOwnedBy(1, "after-close-"));
    const after = await collect(exporter, reader);
    const count = (after("groupcache.peer.fetch.duration")?.dataPoints as
      | DataPoint<Histogram>[]
      | undefined)?.reduce((n, p) => n + p.value.count, 0);
    assert.equal(count ?? fetched, fetched, "nothing recorded after close()");
    await provider.shutdown();
  });
});
