/**
 * Peers from etcd: each node registers its URL under a prefix with a lease,
 * keeps the lease alive and watches the prefix. Only `fetch` on etcd's v3
 * JSON gateway (etcd ≥ 3.4: `/v3/lease/*`, `/v3/kv/*`, `/v3/watch`), so it
 * runs wherever the core does.
 *
 * The gateway's shapes, as etcd 3.4 sends them: int64 fields are JSON
 * strings (lease IDs exceed 2^53, so they stay strings), keys and values are
 * base64, a keepalive on an expired lease answers 200 without `TTL`, the
 * watch streams one JSON object a line, the first with `"created":true`,
 * a PUT event has no `type` and a DELETE has `"type":"DELETE"`.
 *
 * @module
 */

import {
  type Logger,
  loggerOption,
  type PeerDiscovery,
  type PeerListTarget,
  PeerListWriter,
  sleep,
} from "./discovery.ts";
import { ConfigError } from "./errors.ts";
import { closeWithPool } from "./discovery.ts";

/** Options of {@linkcode etcdPeers}. */
export interface EtcdPeersOptions {
  /** etcd's client URL, e.g. `"http://127.0.0.1:2379"`. */
  endpoint: string;
  /**
   * The key prefix every node of the cluster registers under; this node's
   * key is the prefix followed by its URL. Default `"/groupcache/peers/"`.
   */
  prefix?: string;
  /**
   * The lease's time to live, in whole seconds (at least 2, etcd's
   * minimum): a node that stops keeping it alive (killed, cut off) leaves
   * the others' rings this long after its last keepalive. Default 10.
   */
  ttlSeconds?: number;
  /** The bound of one request to etcd, in milliseconds. Default: a third of the TTL, at most 5,000. */
  requestTimeoutMs?: number;
  /** The `fetch` to call etcd with (inject one for TLS clients or tests). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Where to report changes and failures. Default `console`. */
  logger?: Logger;
}

/**
 * Registers this node in etcd and keeps `pool`'s peer list equal to the
 * nodes registered under `prefix`, sorted, this node always in.
 *
 * This node's URL (`pool.self`) is put at `prefix + self` with a lease of
 * `ttlSeconds`, kept alive every third of it; the prefix is read, then
 * watched, and every change calls `pool.set`. When etcd goes away the last
 * list stays and the failure is logged once; when it is back the node
 * grants a new lease if the old one is gone (etcd restarted without its
 * data, or the node was cut off past the TTL), registers again, reads the
 * prefix and watches from there. `close()` revokes the lease, so the other
 * nodes drop this one at once.
 *
 * @param pool The node's pool (or anything with `self`, `peers` and `set`).
 * @param options etcd's URL, the prefix, the lease TTL.
 * @returns The running discovery; `close()` deregisters and stops it, and
 *   so does `pool.close()`.
 *
 * @example Join the cluster, leave it on shutdown
 * ```ts ignore
 * import { etcdPeers, HttpPool } from "@x/groupcache";
 *
 * const pool = new HttpPool("http://10.0.0.7:8000");
 * const discovery = etcdPeers(pool, {
 *   endpoint: "http://etcd.internal:2379",
 *   prefix: "/groupcache/thumbnails/",
 *   ttlSeconds: 10,
 * });
 * Deno.serve({ port: 8000 }, pool.handler);
 * Deno.addSignalListener("SIGTERM", async () => {
 *   await discovery.close(); // the others drop this node at once
 *   Deno.exit(0);
 * });
 * ```
 *
 * @example Checked up front, quiet when unreachable
 * ```ts
 * import { ConfigError, etcdPeers, HttpPool, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const pool = new HttpPool("http://10.0.0.7:8000", { registry: new Registry() });
 * assert.throws(() => etcdPeers(pool, { endpoint: "etcd:2379" }), ConfigError);
 * assert.throws(
 *   () => etcdPeers(pool, { endpoint: "http://etcd:2379", ttlSeconds: 1 }),
 *   ConfigError, // etcd grants no lease shorter than 2 s
 * );
 * const quiet = { debug() {}, info() {}, warn() {}, error() {} };
 * const discovery = etcdPeers(pool, {
 *   endpoint: "http://etcd.invalid:2379",
 *   fetch: () => Promise.reject(new TypeError("connection refused")),
 *   logger: quiet,
 * });
 * await discovery.close();
 * assert.deepEqual(pool.peers, []); // never reached etcd: the list is untouched
 * ```
 */
export function etcdPeers(
  pool: PeerListTarget,
  options: EtcdPeersOptions,
): PeerDiscovery {
  const {
    endpoint,
    prefix = "/groupcache/peers/",
    ttlSeconds = 10,
    fetch = (input: string, init: RequestInit) => globalThis.fetch(input, init),
  } = options ?? {};
  const logger = loggerOption(options?.logger);
  // A keepalive that hangs longer than a third of the TTL risks the lease.
  const requestTimeoutMs = options?.requestTimeoutMs ??
    Math.min(5_000, (ttlSeconds * 1000) / 3);
  if (typeof pool?.set !== "function" || typeof pool.self !== "string") {
    throw new ConfigError("etcdPeers needs an HttpPool");
  }
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch { /* below */ }
  if (url === undefined || !/^https?:$/.test(url.protocol)) {
    throw new ConfigError(
      `endpoint must be etcd's http(s) client URL, like "http://127.0.0.1:2379", got ${
        JSON.stringify(endpoint)
      }`,
    );
  }
  if (typeof prefix !== "string" || prefix === "") {
    throw new ConfigError(
      'prefix must be a non-empty string, like "/groupcache/peers/"',
    );
  }
  if (!(Number.isInteger(ttlSeconds) && ttlSeconds >= 2)) {
    throw new ConfigError(
      `ttlSeconds must be a whole number of seconds >= 2 (etcd's minimum lease), got ${
        String(ttlSeconds)
      }`,
    );
  }
  if (!(typeof requestTimeoutMs === "number" && requestTimeoutMs > 0)) {
    throw new ConfigError(
      `requestTimeoutMs must be a positive number, got ${
        String(requestTimeoutMs)
      }`,
    );
  }
  if (typeof fetch !== "function") {
    throw new ConfigError("fetch must be a function");
  }
  return closeWithPool(
    pool,
    new EtcdPeers(pool, {
      endpoint: endpoint.replace(/\/+$/, ""),
      prefix,
      ttlSeconds,
      requestTimeoutMs,
      fetch,
      logger,
    }),
  );
}

type Settings = Required<EtcdPeersOptions>;

/** An answer of the gateway, as far as it is read here. */
interface Answer {
  header?: { revision?: string };
  kvs?: { key: string; value?: string }[];
  ID?: string;
  TTL?: string;
  result?: WatchResult & { TTL?: string };
  error?: { message?: string } | string;
  message?: string;
  code?: number;
}

interface WatchResult {
  header?: { revision?: string };
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  compact_revision?: string;
  events?: {
    type?: string;
    kv: { key: string; value?: string; mod_revision?: string };
  }[];
}

/** An error answer of etcd: `code` 5 is gRPC's NOT_FOUND (e.g. no such lease). */
class EtcdError extends Error {
  override name = "EtcdError";
  readonly code: number | undefined;
  constructor(message: string, code?: number) {
    super(message);
    this.code = code;
  }
}

const NOT_FOUND = 5;

class EtcdPeers implements PeerDiscovery {
  readonly #s: Settings;
  readonly #self: string;
  readonly #key: string;
  readonly #writer: PeerListWriter;
  /** Aborts every sleep and request when closing. */
  readonly #stop = new AbortController();
  /** Wakes the lease loop early (our key was deleted). */
  #wake = new AbortController();
  /** The watch stream in flight. */
  #watch: AbortController | undefined;
  #lease: string | undefined;
  #registered = false;
  /** The revision of our last put: older reads cannot tell that our key is gone. */
  #putRevision = 0n;
  /** What this node last read: key → URL under the prefix. */
  #members = new Map<string, string>();
  #revision: string | undefined;
  /** Whether each loop is failing, to log a failure once. */
  #failing = { lease: false, watch: false };
  readonly #loops: Promise<void>[];
  #closing: Promise<void> | undefined;

  constructor(pool: PeerListTarget, settings: Settings) {
    this.#s = settings;
    this.#self = pool.self;
    this.#key = settings.prefix + pool.self;
    this.#writer = new PeerListWriter(
      pool,
      `etcd ${settings.endpoint} ${settings.prefix}`,
      settings.logger,
    );
    this.#loops = [this.#keepRegistered(), this.#watchPeers()];
  }

  get peers(): readonly string[] {
    return this.#writer.peers;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#writer.close();
    this.#stop.abort();
    this.#wake.abort();
    this.#watch?.abort();
    await Promise.all(this.#loops);
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease === undefined) return;
    try {
      await this.#call("/v3/lease/revoke", { ID: lease }, false);
      this.#log("info", `deregistered ${this.#self} (lease ${lease} revoked)`);
    } catch (err) {
      this.#log(
        "warn",
        `could not revoke lease ${lease} (${message(err)}): the other nodes ` +
          `drop ${this.#self} when it expires, within ${this.#s.ttlSeconds} s`,
      );
    }
  }

  get #closed(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Grants a lease, puts this node's key with it, keeps it alive. */
  async #keepRegistered(): Promise<void> {
    const { ttlSeconds } = this.#s;
    const period = (ttlSeconds * 1000) / 3;
    let retry = 0;
    while (!this.#closed) {
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
      try {
        if (this.#lease === undefined) {
          const granted = await this.#call("/v3/lease/grant", {
            TTL: String(ttlSeconds),
          });
          if (typeof granted.ID !== "string") {
            throw new EtcdError("lease grant answered without an ID");
          }
          this.#lease = granted.ID;
          this.#registered = false;
        } else {
          const kept = await this.#call("/v3/lease/keepalive", {
            ID: this.#lease,
          });
          if (kept.result?.TTL === undefined) {
            this.#log(
              "warn",
              `lease ${this.#lease} of ${this.#self} has expired (etcd lost ` +
                "it, or this node could not reach etcd in time): " +
                "registering again",
            );
            this.#lease = undefined;
            continue;
          }
        }
        const registering = !this.#registered;
        if (registering) {
          try {
            const put = await this.#call("/v3/kv/put", {
              key: base64(this.#key),
              value: base64(this.#self),
              lease: this.#lease,
            });
            this.#putRevision = BigInt(put.header?.revision ?? "0");
          } catch (err) {
            if (err instanceof EtcdError && err.code === NOT_FOUND) {
              this.#lease = undefined; // the lease vanished under us
            }
            throw err;
          }
          this.#registered = true;
          this.#log(
            "info",
            `registered ${this.#self} as ${this.#key} (lease ${this.#lease}, ` +
              `TTL ${ttlSeconds} s)`,
          );
        }
        this.#recovered("lease", registering);
        retry = 0;
        await sleep(period, this.#wake.signal);
      } catch (err) {
        if (this.#closed) break;
        this.#failed(
          "lease",
          `cannot keep ${this.#self} registered (${message(err)}); retrying`,
        );
        // A watch on an etcd that went away may never notice: renew it too.
        this.#watch?.abort();
        await sleep(backoff(retry++, period), this.#stop.signal);
      }
    }
  }

  /** Reads the prefix, then follows its changes; again from the start when the stream breaks. */
  async #watchPeers(): Promise<void> {
    const { prefix, ttlSeconds } = this.#s;
    const end = rangeEnd(prefix);
    let retry = 0;
    while (!this.#closed) {
      try {
        const read = await this.#call("/v3/kv/range", {
          key: base64(prefix),
          range_end: end,
        });
        const revision = read.header?.revision ?? "0";
        const wentBack = this.#revision !== undefined &&
          BigInt(revision) < BigInt(this.#revision);
        if (wentBack) {
          this.#log(
            "warn",
            `etcd's revision went back from ${this.#revision} to ${revision}: ` +
              "it lost its data",
          );
        }
        this.#revision = revision;
        this.#members = new Map(
          (read.kvs ?? []).map((kv) => [unbase64(kv.key), unbase64(kv.value)]),
        );
        // A read older than our put may not show our key yet.
        if (
          !this.#members.has(this.#key) &&
          (wentBack || BigInt(revision) >= this.#putRevision)
        ) {
          this.#lost();
        }
        this.#writer.apply(this.#members.values());
        this.#recovered("watch");
        retry = 0;
        await this.#follow(end, String(BigInt(revision) + 1n));
        throw new EtcdError("the watch stream ended");
      } catch (err) {
        if (this.#closed) break;
        this.#failed(
          "watch",
          `cannot watch ${prefix} (${
            message(err)
          }); keeping the last list of ` +
            `${this.#writer.peers.length} peers; retrying`,
        );
        await sleep(
          backoff(retry++, (ttlSeconds * 1000) / 3),
          this.#stop.signal,
        );
      }
    }
  }

  /** Streams the watch from `startRevision`, applying each event; returns when the stream ends. */
  async #follow(end: string, startRevision: string): Promise<void> {
    const watch = new AbortController();
    this.#watch = watch;
    const timer = setTimeout(
      () => watch.abort(new EtcdError("the watch did not start in time")),
      this.#s.requestTimeoutMs,
    );
    try {
      if (this.#closed) return;
      const res = await this.#s.fetch(this.#s.endpoint + "/v3/watch", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          create_request: {
            key: base64(this.#s.prefix),
            range_end: end,
            start_revision: startRevision,
          },
        }),
        signal: watch.signal,
      });
      if (!res.ok || res.body === null) {
        throw new EtcdError(`/v3/watch answered ${res.status}`);
      }
      const lines = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      for (;;) {
        const { done, value } = await lines.read();
        if (done) return;
        buffered += value;
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line === "") continue;
          const answer = JSON.parse(line) as Answer;
          if (answer.error !== undefined) {
            throw new EtcdError(`watch: ${errorText(answer.error)}`);
          }
          if (answer.result?.created) clearTimeout(timer);
          this.#onWatch(answer.result ?? {});
        }
      }
    } finally {
      clearTimeout(timer);
      watch.abort();
      if (this.#watch === watch) this.#watch = undefined;
    }
  }

  #onWatch(result: WatchResult): void {
    if (result.canceled) {
      throw new EtcdError(
        `the watch was cancelled (${
          result.cancel_reason ||
          `compacted to revision ${result.compact_revision}`
        })`,
      );
    }
    const events = result.events ?? [];
    for (const event of events) {
      const key = unbase64(event.kv.key);
      if (event.type === "DELETE") {
        this.#members.delete(key);
        const at = BigInt(event.kv.mod_revision ?? "0");
        if (key === this.#key && at > this.#putRevision) this.#lost();
      } else {
        this.#members.set(key, unbase64(event.kv.value));
      }
    }
    if (result.header?.revision !== undefined) {
      this.#revision = result.header.revision;
    }
    if (events.length > 0) this.#writer.apply(this.#members.values());
  }

  /** Our key is gone while we thought it registered: put it again now. */
  #lost(): void {
    if (!this.#registered || this.#closed) return;
    this.#registered = false;
    this.#log("warn", `${this.#key} was deleted: registering again`);
    this.#wake.abort();
  }

  /** POSTs `body` to the gateway; throws on a failure, a timeout or an error answer. */
  async #call(
    path: string,
    body: unknown,
    stoppable = true,
  ): Promise<Answer> {
    const ms = this.#s.requestTimeoutMs;
    const request = new AbortController();
    const timer = setTimeout(
      () =>
        request.abort(
          new DOMException(`no answer within ${ms} ms`, "TimeoutError"),
        ),
      ms,
    );
    const stop = () => request.abort(this.#stop.signal.reason);
    if (stoppable) this.#stop.signal.addEventListener("abort", stop);
    let res: Response;
    let text: string;
    try {
      res = await this.#s.fetch(this.#s.endpoint + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: request.signal,
      });
      text = await res.text();
    } finally {
      clearTimeout(timer);
      this.#stop.signal.removeEventListener("abort", stop);
    }
    let answer: Answer;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new EtcdError(
        `${path} answered ${res.status}: ${text.slice(0, 200)}`,
      );
    }
    const error = answer.error ?? (res.ok ? undefined : answer.message ?? text);
    if (error !== undefined) {
      throw new EtcdError(
        `${path} answered ${res.status}: ${errorText(error)}`,
        answer.code,
      );
    }
    return answer;
  }

  /** Logs the first failure of a streak; the streak ends at the next success. */
  #failed(loop: "lease" | "watch", text: string): void {
    this.#writer.failed(text);
    if (this.#failing[loop]) return;
    this.#failing[loop] = true;
    this.#log("warn", text);
  }

  /** Ends a failure streak, saying so unless `said` already did. */
  #recovered(loop: "lease" | "watch", said = false): void {
    if (!this.#failing[loop]) return;
    this.#failing[loop] = false;
    if (said) return;
    this.#log(
      "info",
      loop === "lease"
        ? `${this.#self} is registered again`
        : `watching ${this.#s.prefix} again`,
    );
  }

  #log(level: "info" | "warn", text: string): void {
    this.#s.logger[level](`groupcache etcd ${this.#s.endpoint}: ${text}`);
  }
}

function message(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

function errorText(error: unknown): string {
  if (typeof error === "string") return error;
  return (error as { message?: string })?.message ?? JSON.stringify(error);
}

/** 250 ms, doubling, at most `max`. */
function backoff(retry: number, max: number): number {
  return Math.min(250 * 2 ** Math.min(retry, 10), max);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The base64 of a string's UTF-8 bytes, or of bytes. */
function base64(value: string | Uint8Array): string {
  const bytes = typeof value === "string" ? encoder.encode(value) : value;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function unbase64(value: string | undefined): string {
  if (value === undefined) return "";
  return decoder.decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
}

/**
 * The `range_end` of every key that starts with `prefix`, base64: the
 * prefix with its last byte incremented (trailing 0xff bytes dropped first;
 * "\0", every key, when nothing is left).
 */
export function rangeEnd(prefix: string): string {
  const bytes = encoder.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i]++;
      return base64(end);
    }
  }
  return base64(new Uint8Array([0]));
}
