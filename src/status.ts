/**
 * Status: one snapshot of a node for the people who run it —
 * `HttpPool.status()`. Who the node is, its ring (and each peer's share of
 * the hash space), its view of the other peers' health and fetch times, its
 * groups' counters and memory, and what its peer sources last saw. Plain
 * data: `JSON.stringify` it as is (the status page and the `cli` inspector
 * read it that way).
 *
 * @module
 */

import type { GroupStats } from "./group_options.ts";
import type { CacheStats } from "./cache.ts";
import type { HttpPool, PoolInternals } from "./http_pool.ts";
import { FETCH_BUCKETS } from "./metrics.ts";
import type { PeerErrorReason } from "./errors.ts";
import type { PeerState } from "./peer_health.ts";
import { groupServer } from "./registry.ts";

/** What {@linkcode HttpPool.status} includes. */
export interface StatusOptions {
  /**
   * Whether keys may appear (in peers' last errors). Default `false`: the
   * key and the peer's error body are left out and the key is cut out of
   * the message.
   */
  readonly keys?: boolean;
}

/** One snapshot of a node; see {@linkcode HttpPool.status}. */
export interface PoolStatus {
  /** This node's base URL. */
  readonly self: string;
  /** When the snapshot was taken (`Date.now()`). */
  readonly at: number;
  /** The path under which peers are served. */
  readonly basePath: string;
  /** Whether the pool was closed. */
  readonly closed: boolean;
  /** How this node places keys. */
  readonly ring: RingStatus;
  /** This node's view of every other peer, in peer-list order. */
  readonly peers: PeerStatus[];
  /** This node's groups, in registration order. */
  readonly groups: GroupStatus[];
  /** The running peer sources (`dnsPeers`, `etcdPeers`) of this pool. */
  readonly discovery: DiscoveryStatus[];
}

/** How a node places keys: nodes with the same fingerprint agree on every key. */
export interface RingStatus {
  /** `"golang"`, `"mailgun"`, or `"golang-hash"` (a custom hash). */
  readonly kind: string;
  /** Points per peer. */
  readonly replicas: number;
  /** {@linkcode HttpPool.ringFingerprint}. */
  readonly fingerprint: string;
  /** Every peer on the ring (this node included) in `set()` order, with its share. */
  readonly members: RingMember[];
}

/** A peer on the ring. */
export interface RingMember {
  /** Its base URL. */
  readonly peer: string;
  /** The fraction of the hash space it owns (all members' sum to 1). */
  readonly share: number;
}

/** One remote peer as this node sees it. */
export interface PeerStatus {
  /** Its base URL. */
  readonly peer: string;
  /** `"down"`: its keys load on this node until a probe finds it answering. */
  readonly state: PeerState;
  /** Failed requests and probes since its last answer. */
  readonly consecutiveFailures: number;
  /** Whether a probe is in flight. */
  readonly probing: boolean;
  /** When it last answered (`Date.now()` time), or `null`. */
  readonly lastAnswerAt: number | null;
  /** The last failure (kept after it recovers), or `null`. */
  readonly lastError: PeerErrorStatus | null;
  /** How long fetches from it took, or `null` before the first. */
  readonly fetches: FetchTimes | null;
}

/** A peer's last failure. */
export interface PeerErrorStatus {
  /** Why it failed. */
  readonly reason: PeerErrorReason;
  /** The HTTP status, when it answered. */
  readonly status: number | null;
  /** The group asked for ("" for a probe). */
  readonly group: string;
  /** The key asked for, only with `keys: true`. */
  readonly key?: string;
  /** What happened (the key cut out unless `keys: true`). */
  readonly message: string;
}

/**
 * Fetch times from the pool's histograms (failed fetches included): a
 * percentile is interpolated within its bucket, so it is as exact as the
 * buckets (0.5 ms to 10 s); past 10 s it reads 10,000.
 */
export interface FetchTimes {
  /** Fetches counted. */
  readonly count: number;
  /** Mean, in milliseconds. */
  readonly meanMs: number;
  /** Median, in milliseconds. */
  readonly p50Ms: number;
  /** 90th percentile, in milliseconds. */
  readonly p90Ms: number;
  /** 99th percentile, in milliseconds. */
  readonly p99Ms: number;
}

/** A cache of a group, with its budget. */
export interface CacheStatus extends CacheStats {
  /**
   * The bytes it may hold: the group's `cacheBytes` for the main cache;
   * for the hot cache, `cacheBytes / 9` (once full, the hot cache is held
   * to an eighth of the main one, as Go).
   */
  readonly budgetBytes: number;
}

/** One group of the node. */
export interface GroupStatus {
  /** Its name. */
  readonly name: string;
  /** Go's `Stats` and ours, since the group was made. */
  readonly stats: GroupStats;
  /** `cacheHits / gets` since the group was made, or `null` before a get. */
  readonly hitRatio: number | null;
  /** Loads running now (gets waiting on a peer or the getter, deduplicated). */
  readonly loadsInFlight: number;
  /** The budget of both caches together. */
  readonly cacheBytes: number;
  /** The keys this node owns. */
  readonly main: CacheStatus;
  /** Popular keys owned elsewhere. */
  readonly hot: CacheStatus;
}

/** A running peer source. */
export interface DiscoveryStatus {
  /** What it watches, e.g. `"dns A peers.test"`. */
  readonly source: string;
  /** Peers in the list it last found (this node included). */
  readonly peers: number;
  /** When it last answered (`Date.now()` time), or `null`. */
  readonly lastUpdateAt: number | null;
  /** When its answer last changed the pool's list, or `null`. */
  readonly lastChangeAt: number | null;
  /** Its last failure (kept after it recovers), or `null`. */
  readonly lastError: { readonly message: string; readonly at: number } | null;
}

/** The snapshot of `pool`; what {@linkcode HttpPool.status} returns. */
export function poolStatus(
  pool: HttpPool,
  internals: PoolInternals,
  kind: string,
  options: StatusOptions = {},
): PoolStatus {
  const keys = options.keys === true;
  const times = new Map(internals.fetchTimes.of(pool.peers));
  return {
    self: pool.self,
    at: Date.now(),
    basePath: pool.basePath,
    closed: pool.closed,
    ring: {
      kind,
      replicas: pool.replicas,
      fingerprint: pool.ringFingerprint,
      members: members(pool.peers, internals.arcs()),
    },
    peers: pool.peerHealth().map((h): PeerStatus => {
      const histogram = times.get(h.peer);
      return {
        peer: h.peer,
        state: h.state,
        consecutiveFailures: h.consecutiveFailures,
        probing: h.probing,
        lastAnswerAt: h.lastAnswerAt ?? null,
        lastError: h.lastError === undefined ? null : {
          reason: h.lastError.reason,
          status: h.lastError.status ?? null,
          group: h.lastError.group,
          ...(keys ? { key: h.lastError.key } : {}),
          message: keys
            ? h.lastError.message
            : withoutKey(h.lastError.message, h.lastError.key),
        },
        fetches: histogram === undefined ? null : fetchTimes(histogram),
      };
    }),
    groups: pool.registry.names().flatMap((name) => {
      const group = pool.registry.get(name);
      if (group === undefined) return [];
      const stats = { ...group.stats };
      return [{
        name,
        stats,
        hitRatio: stats.gets === 0 ? null : stats.cacheHits / stats.gets,
        loadsInFlight: groupServer(group).loadsInFlight(),
        cacheBytes: group.cacheBytes,
        main: { ...group.cacheStats("main"), budgetBytes: group.cacheBytes },
        hot: {
          ...group.cacheStats("hot"),
          budgetBytes: Math.floor(group.cacheBytes / 9),
        },
      }];
    }),
    discovery: [...internals.sources].map((s) => s.status()),
  };
}

/** Each peer's share of the hash space, from the ring's arcs. */
function members(
  peers: readonly string[],
  arcs: { ends: Float64Array; owners: readonly string[] },
): RingMember[] {
  const { ends, owners } = arcs;
  const shares = new Map<string, number>(peers.map((p) => [p, 0]));
  const n = ends.length;
  for (let i = 0; i < n; i++) {
    // The arc up to point i, from the one before (wrapping for the first).
    const from = i === 0 ? ends[n - 1] - 1 : ends[i - 1];
    shares.set(owners[i], shares.get(owners[i])! + ends[i] - from);
  }
  return peers.map((peer) => ({ peer, share: shares.get(peer)! }));
}

/**
 * The message of a peer error without its key: as the message quotes it,
 * and as the request's URL (which a fetch error may repeat) encodes it.
 */
function withoutKey(message: string, key: string): string {
  if (key === "") return message; // a probe's
  let safe = message.replaceAll(`key ${JSON.stringify(key)}`, "a key");
  try {
    safe = safe.replaceAll(`/${encodeURIComponent(key)}`, "/(key)");
  } catch { /* a lone surrogate: no URL could hold it */ }
  return safe;
}

/** Percentiles of one peer's histogram of fetch times. */
function fetchTimes(h: { counts: Float64Array; sum: number }): FetchTimes {
  let count = 0;
  for (const c of h.counts) count += c;
  const at = (q: number): number => {
    const rank = q * count;
    let below = 0;
    for (let i = 0; i < h.counts.length; i++) {
      const c = h.counts[i];
      if (c > 0 && below + c >= rank) {
        if (i === FETCH_BUCKETS.length) return FETCH_BUCKETS[i - 1] * 1000;
        const lo = i === 0 ? 0 : FETCH_BUCKETS[i - 1];
        const hi = FETCH_BUCKETS[i];
        return (lo + (hi - lo) * ((rank - below) / c)) * 1000;
      }
      below += c;
    }
    return 0;
  };
  return {
    count,
    meanMs: count === 0 ? 0 : (h.sum / count) * 1000,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
  };
}
