/**
 * # @x/groupcache/dns
 *
 * Peers from DNS: the names Kubernetes headless Services, Fly.io's
 * `<app>.internal` and Docker Compose services hand out. {@linkcode dnsPeers}
 * resolves a name every `intervalMs` and hands the sorted list to the pool
 * whenever it changes.
 *
 * This entry point uses `node:dns/promises` (Node ≥ 20, Bun, Deno), which is
 * why it lives apart from the web-API-only `@x/groupcache`.
 *
 * ```ts ignore
 * import { HttpPool } from "@x/groupcache";
 * import { dnsPeers } from "@x/groupcache/dns";
 *
 * const pool = new HttpPool(`http://${Deno.env.get("POD_IP")}:8000`);
 * const discovery = dnsPeers(pool, {
 *   name: "groupcache.default.svc.cluster.local", // a headless Service
 *   type: "A",
 *   port: 8000,
 * });
 * // ... later, on shutdown:
 * await discovery.close();
 * ```
 *
 * @module
 */

import { Resolver } from "node:dns/promises";
import {
  type Logger,
  loggerOption,
  type PeerDiscovery,
  type PeerListTarget,
  PeerListWriter,
} from "./src/discovery.ts";
import { ConfigError } from "./src/errors.ts";
import { closeWithPool } from "./src/discovery.ts";

export type { Logger, PeerDiscovery, PeerListTarget } from "./src/discovery.ts";

/** Options of {@linkcode dnsPeers}. */
export interface DnsPeersOptions {
  /**
   * The name to resolve: `groupcache.default.svc.cluster.local` for A or
   * AAAA records, `_groupcache._tcp.groupcache.default.svc.cluster.local`
   * for SRV records.
   */
  name: string;
  /**
   * Which records: `"A"` (default) and `"AAAA"` give addresses, each
   * becoming `scheme://address:port` (`scheme://[address]:port` for IPv6);
   * `"SRV"` gives a target and a port each, becoming
   * `scheme://target:port`.
   */
  type?: "A" | "AAAA" | "SRV";
  /** The port of every peer found by A or AAAA records; SRV records carry their own. */
  port?: number;
  /** `"http"` (default) or `"https"`. */
  scheme?: "http" | "https";
  /** How often to resolve again, in milliseconds. Default 5,000. */
  intervalMs?: number;
  /**
   * The bound of one lookup, in milliseconds: past it the query is
   * cancelled and counted as a failure. Default: `intervalMs`, at most
   * 5,000.
   */
  timeoutMs?: number;
  /**
   * The DNS server to ask, `"host:port"` (`"127.0.0.1:5353"`,
   * `"[::1]:53"`). Default: the system's resolvers.
   */
  nameServer?: string;
  /** Where to report changes and failures. Default `console`. */
  logger?: Logger;
}

/**
 * Keeps `pool`'s peer list equal to what DNS says `name` is: resolves now
 * and every `intervalMs`, and calls `pool.set` with the sorted list when it
 * changed, this node's URL (`pool.self`) always in it. Spell `self` as the
 * records give it (`http://10.0.0.7:8000` for A records).
 *
 * A failed lookup — an error, no records, or no answer within `timeoutMs`
 * (the query is then cancelled) — keeps the last good list and is logged
 * once (`warn`), and its end once (`info`). One lookup is in flight at a
 * time: a slow resolver delays the next poll rather than stacking queries.
 * Each poll uses a fresh `Resolver` (Bun caches answers per resolver).
 *
 * @param pool The node's pool (or anything with `self`, `peers` and `set`).
 * @param options The name, record type, port and timing.
 * @returns The running discovery; `close()` stops it, and so does
 *   `pool.close()`.
 *
 * @example A headless Service's A records (Kubernetes)
 * ```ts ignore
 * import { HttpPool } from "@x/groupcache";
 * import { dnsPeers } from "@x/groupcache/dns";
 *
 * const pool = new HttpPool(`http://${Deno.env.get("POD_IP")}:8000`);
 * const discovery = dnsPeers(pool, {
 *   name: "groupcache.default.svc.cluster.local",
 *   port: 8000,
 *   intervalMs: 5_000,
 * });
 * Deno.serve({ port: 8000 }, pool.handler);
 * Deno.addSignalListener("SIGTERM", () => discovery.close());
 * ```
 *
 * @example SRV records, at a given DNS server, quiet
 * ```ts
 * import { HttpPool, Registry } from "@x/groupcache";
 * import { dnsPeers } from "@x/groupcache/dns";
 * import assert from "node:assert/strict";
 *
 * const pool = new HttpPool("http://n1.peers.test:8001", { registry: new Registry() });
 * const quiet = { debug() {}, info() {}, warn() {}, error() {} };
 * const discovery = dnsPeers(pool, {
 *   name: "_groupcache._tcp.peers.test",
 *   type: "SRV",
 *   nameServer: "127.0.0.1:1", // nothing answers here: the list stays as it was
 *   timeoutMs: 100,
 *   logger: quiet,
 * });
 * assert.deepEqual(discovery.peers, []);
 * await discovery.close();
 * assert.throws(() => dnsPeers(pool, { name: "peers.test" }), /port/); // A needs a port
 * ```
 */
export function dnsPeers(
  pool: PeerListTarget,
  options: DnsPeersOptions,
): PeerDiscovery {
  const {
    name,
    type = "A",
    port,
    scheme = "http",
    intervalMs = 5_000,
    nameServer,
  } = options ?? {};
  const logger = loggerOption(options?.logger);
  const timeoutMs = options?.timeoutMs ?? Math.min(intervalMs, 5_000);
  if (typeof pool?.set !== "function" || typeof pool.self !== "string") {
    throw new ConfigError("dnsPeers needs an HttpPool");
  }
  if (typeof name !== "string" || name === "") {
    throw new ConfigError(
      'dnsPeers needs a name to resolve, like "groupcache.default.svc.cluster.local"',
    );
  }
  if (type !== "A" && type !== "AAAA" && type !== "SRV") {
    throw new ConfigError(
      `type must be "A", "AAAA" or "SRV", got ${JSON.stringify(type)}`,
    );
  }
  if (
    type !== "SRV" &&
    !(Number.isInteger(port) && (port as number) > 0 &&
      (port as number) < 65536)
  ) {
    throw new ConfigError(
      `${type} records carry no port: pass the peers' port (1-65535), got ${
        String(port)
      }`,
    );
  }
  if (scheme !== "http" && scheme !== "https") {
    throw new ConfigError(
      `scheme must be "http" or "https", got ${JSON.stringify(scheme)}`,
    );
  }
  for (
    const [what, ms] of [["intervalMs", intervalMs], ["timeoutMs", timeoutMs]]
  ) {
    if (!(typeof ms === "number" && ms > 0 && Number.isFinite(ms))) {
      throw new ConfigError(
        `${what} must be a positive number of milliseconds, got ${String(ms)}`,
      );
    }
  }
  if (nameServer !== undefined && typeof nameServer !== "string") {
    throw new ConfigError(
      'nameServer must be "host:port", like "127.0.0.1:53"',
    );
  }
  return closeWithPool(
    pool,
    new DnsPeers(pool, {
      name,
      type,
      port: port ?? 0,
      scheme,
      intervalMs,
      timeoutMs,
      nameServer,
      logger,
    }),
  );
}

type Settings = Required<Omit<DnsPeersOptions, "nameServer">> & {
  nameServer: string | undefined;
};

class DnsPeers implements PeerDiscovery {
  readonly #settings: Settings;
  readonly #self: string;
  readonly #writer: PeerListWriter;
  readonly #source: string;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #resolver: Resolver | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;
  #failure: string | undefined;
  #selfMissing = false;

  constructor(pool: PeerListTarget, settings: Settings) {
    this.#settings = settings;
    this.#self = pool.self;
    this.#source = `dns ${settings.type} ${settings.name}`;
    this.#writer = new PeerListWriter(pool, this.#source, settings.logger);
    this.#polling = this.#poll();
  }

  get peers(): readonly string[] {
    return this.#writer.peers;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#writer.close();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#resolver?.cancel();
    await this.#polling;
  }

  /** One lookup, then the next one scheduled `intervalMs` after this one began. */
  async #poll(): Promise<void> {
    const { logger, intervalMs, name } = this.#settings;
    const began = performance.now();
    try {
      const urls = await this.#lookup();
      if (this.#closed) return;
      this.#writer.apply(urls);
      const missing = !urls.includes(this.#self);
      if (missing && !this.#selfMissing) {
        logger.info(
          `groupcache ${this.#source}: this node (${this.#self}) is not ` +
            "among the records (yet); it stays in its own list. If it never " +
            "appears, spell self as the records give it",
        );
      }
      this.#selfMissing = missing;
      if (this.#failure !== undefined) {
        logger.info(
          `groupcache ${this.#source}: resolves again (${urls.length} record${
            urls.length === 1 ? "" : "s"
          })`,
        );
        this.#failure = undefined;
      }
    } catch (err) {
      if (this.#closed) return;
      const why = (err as Error)?.message ?? String(err);
      this.#writer.failed(`lookup of ${name} failed: ${why}`);
      if (this.#failure !== why) {
        const kept = this.#writer.peers.length;
        logger.warn(
          `groupcache ${this.#source}: lookup of ${name} failed (${why}); ` +
            (kept > 0
              ? `keeping the last list of ${kept} peer${kept === 1 ? "" : "s"}`
              : "no peers known yet") +
            `; retrying every ${intervalMs} ms`,
        );
        this.#failure = why;
      }
    }
    if (this.#closed) return;
    const wait = Math.max(0, intervalMs - (performance.now() - began));
    this.#timer = setTimeout(() => {
      this.#polling = this.#poll();
    }, wait);
  }

  /** The peer URLs of the records, cancelled past `timeoutMs`. */
  async #lookup(): Promise<string[]> {
    const { type, name, port, scheme, timeoutMs, nameServer } = this.#settings;
    const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
    if (nameServer !== undefined) resolver.setServers([nameServer]);
    this.#resolver = resolver;
    let timedOut = false;
    const bound = setTimeout(() => {
      timedOut = true;
      resolver.cancel();
    }, timeoutMs);
    try {
      let urls: string[];
      if (type === "SRV") {
        const records = await resolver.resolveSrv(name);
        urls = records.map((r) =>
          `${scheme}://${r.name.replace(/\.$/, "")}:${r.port}`
        );
      } else {
        const addresses = type === "A"
          ? await resolver.resolve4(name)
          : await resolver.resolve6(name);
        urls = addresses.map((a) =>
          `${scheme}://${type === "AAAA" ? `[${a}]` : a}:${port}`
        );
      }
      if (urls.length === 0) throw new Error("no records");
      return urls;
    } catch (err) {
      if (timedOut) throw new Error(`no answer within ${timeoutMs} ms`);
      throw err;
    } finally {
      clearTimeout(bound);
      this.#resolver = undefined;
    }
  }
}
