/**
 * Discovery: what the peer sources (DNS in `dns.ts`, etcd in `etcd.ts`)
 * share — the handle they return, the logger they report to, and the one
 * rule for handing a found list to a pool: sorted (so every node builds the
 * same ring), this node always in, `pool.set` only when the set changed.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { poolInternals } from "./http_pool.ts";
import type { DiscoveryStatus } from "./status.ts";
import { checkPeerUrl } from "./http_pool_options.ts";
import type { Logger } from "./logger.ts";

export { type Logger, loggerOption } from "./logger.ts";

/**
 * A running peer source, as returned by `dnsPeers` and
 * `etcdPeers`: the list it last handed to the pool, and how to
 * stop it.
 */
export interface PeerDiscovery {
  /**
   * The peer list last handed to the pool (sorted, this node included), or
   * empty until the source first answered.
   */
  readonly peers: readonly string[];
  /**
   * Stops the source: no more polls or watches, no timers left (etcd: the
   * lease is revoked, so the other nodes drop this one at once). The pool
   * keeps its last list. Resolves once stopped; never rejects.
   */
  close(): Promise<void>;
}

/** What a peer source updates: an `HttpPool`, or anything shaped like one. */
export interface PeerListTarget {
  /** This node's base URL, always kept in the list. */
  readonly self: string;
  /** The path under which peers serve, which no found URL may contain. */
  readonly basePath?: string;
  /** The current list. */
  readonly peers: readonly string[];
  /** Replaces the list. */
  set(...peers: string[]): void;
}

// scheme://host[:port][/path]: no userinfo, no query, no escapes in the host.
const PEER_URL =
  /^https?:\/\/([^/:[\]]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(\/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*)?$/;
// A DNS label of a host name: letters, digits, hyphens (and the underscore
// some private zones use), not at either end a hyphen.
const LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;

/**
 * Why a found `url` is no peer: a host that is not a host name or address
 * (a URL parser would read `x\@evil.test` or `evil\040host` as another
 * host), or a port outside 1-65535; `undefined` when it is one.
 */
export function foundUrlProblem(url: string): string | undefined {
  const parts = PEER_URL.exec(url);
  if (parts === null) {
    return "is not scheme://host:port with a host name or address " +
      "(no userinfo, spaces or escapes)";
  }
  const host = parts[1];
  if (
    !host.startsWith("[") &&
    (host.length > 253 || !host.split(".").every((l) => LABEL.test(l)))
  ) {
    return `has a host ${JSON.stringify(host)} that is not a host name`;
  }
  const port = parts[2] === undefined ? undefined : Number(parts[2]);
  if (port !== undefined && (port < 1 || port > 65535)) {
    return `has port ${port}, outside 1-65535`;
  }
  return undefined;
}

// How many refused entries are remembered as reported, so that a source
// that keeps inventing them cannot grow memory.
const MAX_REPORTED = 1024;

/**
 * Hands found lists to a pool: drops what is not a peer URL (warning once
 * per entry), adds this node, sorts, and calls `set` only on a change. It
 * keeps what `pool.status()` reports of the source until closed.
 */
export class PeerListWriter {
  readonly #pool: PeerListTarget;
  readonly #source: string;
  readonly #logger: Logger;
  #peers: readonly string[] = [];
  #reported = new Set<string>();
  #lastUpdateAt: number | null = null;
  #lastChangeAt: number | null = null;
  #lastError: { message: string; at: number } | null = null;

  /**
   * @param pool The pool to update.
   * @param source How log lines name the source, e.g. `"dns peers.test"`.
   * @param logger Where to report.
   */
  constructor(pool: PeerListTarget, source: string, logger: Logger) {
    this.#pool = pool;
    this.#source = source;
    this.#logger = logger;
    poolInternals(pool)?.sources.add(this);
  }

  /** What `pool.status()` shows of the source. */
  status(): DiscoveryStatus {
    return {
      source: this.#source,
      peers: this.#peers.length,
      lastUpdateAt: this.#lastUpdateAt,
      lastChangeAt: this.#lastChangeAt,
      lastError: this.#lastError,
    };
  }

  /** The source failed to answer: kept for `pool.status()`. */
  failed(message: string): void {
    this.#lastError = { message, at: Date.now() };
  }

  /** The source stopped: `pool.status()` no longer lists it. */
  close(): void {
    poolInternals(this.#pool)?.sources.delete(this);
  }

  /** The list last handed to the pool (empty before the first). */
  get peers(): readonly string[] {
    return this.#peers;
  }

  /** Applies a found list; returns whether the pool's list changed. */
  apply(found: Iterable<string>): boolean {
    const self = this.#pool.self;
    const urls = new Set([self]);
    for (const url of found) {
      try {
        const checked = checkPeerUrl(
          url,
          `${this.#source}: found peer`,
          this.#pool.basePath,
        );
        const problem = foundUrlProblem(checked);
        if (problem !== undefined) {
          throw new ConfigError(
            `${this.#source}: found peer ${JSON.stringify(url)} ${problem}`,
          );
        }
        urls.add(checked);
      } catch (err) {
        if (!this.#reported.has(url)) {
          if (this.#reported.size >= MAX_REPORTED) this.#reported.clear();
          this.#reported.add(url);
          this.#logger.warn(
            `groupcache ${this.#source}: ignored: ${(err as Error).message}`,
          );
        }
      }
    }
    const next = [...urls].sort();
    this.#peers = Object.freeze(next);
    this.#lastUpdateAt = Date.now();
    const current = [...this.#pool.peers].sort();
    if (sameList(current, next)) return false;
    this.#lastChangeAt = this.#lastUpdateAt;
    const before = new Set(current);
    const added = next.filter((u) => !before.has(u));
    const removed = current.filter((u) => !urls.has(u));
    this.#pool.set(...next);
    this.#logger.info(
      `groupcache ${this.#source}: ${next.length} peer${
        next.length === 1 ? "" : "s"
      }` +
        (added.length ? `, joined: ${added.join(" ")}` : "") +
        (removed.length ? `, left: ${removed.join(" ")}` : ""),
    );
    return true;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Has `pool.close()` stop `discovery` too, so that a node needs one call
 * to shut down; returns `discovery`. Any other target (a look-alike of a
 * pool) leaves it to the caller to close.
 */
export function closeWithPool<T extends PeerDiscovery>(
  pool: PeerListTarget,
  discovery: T,
): T {
  poolInternals(pool)?.closers.add(discovery);
  return discovery;
}

/** A promise that resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
