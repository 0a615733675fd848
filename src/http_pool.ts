/**
 * HttpPool: the peers of a node and the HTTP protocol between them, Go's
 * `HTTPPool`. It picks the owner of a key on a consistent-hash ring, fetches
 * from remote owners with `fetch`, and serves this node's groups to the
 * others through {@linkcode HttpPool.handler}, a plain
 * `(req: Request) => Promise<Response>` for `Deno.serve`, `Bun.serve` or any
 * server that speaks web `Request`/`Response`.
 *
 * This file is the one place in the library that speaks HTTP.
 *
 * @module
 */

import { ByteView, viewBytes } from "./byte_view.ts";
import { crc32 } from "./crc32.ts";
import {
  ConfigError,
  InvalidKeyError,
  PeerError,
  type PeerErrorReason,
  ProtobufError,
} from "./errors.ts";
import { getForPeerNow, type PeerGetter, type PeerPicker } from "./group.ts";
import { HashRing } from "./hash_ring.ts";
import { decodeGetResponse, encodeGetResponse } from "./protobuf.ts";
import { defaultRegistry, type Registry } from "./registry.ts";

type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Options of an {@linkcode HttpPool}. */
export interface HttpPoolOptions {
  /** The path under which peers are served; starts and ends with `/`. Default `"/_groupcache/"`. */
  basePath?: string;
  /** Points per peer on the ring. Default 50, as Go. */
  replicas?: number;
  /** The ring's hash of a string. Default {@linkcode crc32}, as Go. */
  hash?: (data: string) => number;
  /** The `fetch` used to ask peers (inject one to wire nodes without sockets). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** How long one peer fetch may take, in milliseconds. Default 10,000. */
  timeoutMs?: number;
  /** The largest response body accepted from a peer, in bytes. Default 64 MiB. */
  maxResponseBytes?: number;
  /** The groups this node serves. Default {@linkcode defaultRegistry}. */
  registry?: Registry;
}

const OK_INIT: ResponseInit = {
  status: 200,
  headers: { "content-type": "application/x-protobuf" },
};

function okResponse(view: ByteView): Response {
  return new Response(encodeGetResponse(viewBytes(view)), OK_INIT);
}

function getterError(err: unknown): Response {
  return textResponse(500, (err as Error)?.message ?? String(err));
}

function internalError(err: unknown): Response {
  return textResponse(500, `internal error: ${(err as Error)?.message ?? err}`);
}

function textResponse(
  status: number,
  text: string,
  extra?: HeadersInit,
): Response {
  const headers = new Headers(extra);
  headers.set("content-type", "text/plain; charset=utf-8");
  return new Response(text + "\n", { status, headers });
}

function checkPeerUrl(url: unknown, what: string): string {
  const example = 'write it like "http://10.0.0.2:8000"';
  if (typeof url !== "string") {
    throw new ConfigError(
      `${what} must be a URL string (${example}), got ${typeof url}`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      `${what} ${JSON.stringify(url)} is not a URL: ${example}`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConfigError(
      `${what} ${JSON.stringify(url)} must be http: or https: (${example})`,
    );
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new ConfigError(
      `${what} ${JSON.stringify(url)} must not carry credentials`,
    );
  }
  if (parsed.search !== "" || parsed.hash !== "" || /[?#]/.test(url)) {
    throw new ConfigError(
      `${what} ${JSON.stringify(url)} must not have a query or fragment`,
    );
  }
  if (url.endsWith("/")) {
    throw new ConfigError(
      `${what} ${
        JSON.stringify(url)
      } must not end with "/": the base path is appended to it (${example})`,
    );
  }
  return url;
}

/** One remote peer, reached with `fetch`. */
class HttpPeer implements PeerGetter {
  readonly url: string;
  readonly #base: string;
  readonly #pool: HttpPool;
  readonly #fetch: FetchLike;

  constructor(url: string, pool: HttpPool, fetch: FetchLike) {
    this.url = url;
    this.#base = url + pool.basePath;
    this.#pool = pool;
    this.#fetch = fetch;
  }

  async get(
    group: string,
    key: string,
    signal: AbortSignal,
  ): Promise<ByteView> {
    if (key === "" || key === "." || key === "..") {
      // fetch resolves "." and ".." segments away; "" is how Bun delivers "/g/.".
      throw new InvalidKeyError(
        key,
        `cannot be sent to peer ${this.url}: URLs resolve "." and ".." path ` +
          "segments, and peers refuse an empty key; use another key",
      );
    }
    let url: string;
    try {
      url = this.#base + encodeURIComponent(group) + "/" +
        encodeURIComponent(key);
    } catch {
      throw new InvalidKeyError(
        key,
        "has a lone UTF-16 surrogate, so it has no UTF-8 form to send",
      );
    }
    const { timeoutMs, maxResponseBytes } = this.#pool;
    // One controller and one timer per fetch: much cheaper than
    // AbortSignal.any([signal, AbortSignal.timeout(ms)]) on this hot path.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(
        new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError"),
      );
    }, timeoutMs);
    const onAbort = () => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await this.#fetchValue(
        url,
        group,
        key,
        controller.signal,
        () => timedOut,
        maxResponseBytes,
      );
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  async #fetchValue(
    url: string,
    group: string,
    key: string,
    signal: AbortSignal,
    timedOut: () => boolean,
    maxResponseBytes: number,
  ): Promise<ByteView> {
    const fail = (
      message: string,
      reason: PeerErrorReason,
      extra?: object,
    ): never => {
      throw new PeerError(
        `peer ${this.url}, group ${group}, key ${
          JSON.stringify(key)
        }: ${message}`,
        {
          peer: this.url,
          group,
          key,
          reason,
          ...extra,
        },
      );
    };
    const failed = (err: unknown): never =>
      timedOut()
        ? fail(`no answer within ${this.#pool.timeoutMs} ms`, "timeout", {
          cause: err,
        })
        : fail(`request failed: ${(err as Error)?.message ?? err}`, "network", {
          cause: err,
        });

    let res: Response;
    try {
      res = await this.#fetch(url, { signal });
    } catch (err) {
      return failed(err);
    }
    if (res.status !== 200) {
      let body = "";
      try {
        body = new TextDecoder().decode(await readBody(res, 4096, true)).trim();
      } catch { /* the status says enough */ }
      return fail(
        `server returned ${res.status}${body ? ": " + body : ""}`,
        "status",
        {
          status: res.status,
          body,
        },
      );
    }
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readBody(res, maxResponseBytes, false);
    } catch (err) {
      return failed(err);
    }
    if (bytes === undefined) {
      return fail(
        `response body is larger than maxResponseBytes (${maxResponseBytes})`,
        "too-large",
      );
    }
    try {
      return new ByteView(decodeGetResponse(bytes));
    } catch (err) {
      if (!(err instanceof ProtobufError)) throw err;
      return fail(`malformed GetResponse: ${err.message}`, "malformed", {
        status: 200,
        cause: err,
      });
    }
  }
}

/**
 * Reads at most `limit` bytes of a body. Over the limit: `undefined`, or the
 * first `limit` bytes when `truncate` is set; the rest is never buffered.
 */
async function readBody(
  res: Response,
  limit: number,
  truncate: boolean,
): Promise<Uint8Array | undefined> {
  const declared = res.headers.get("content-length");
  if (declared !== null && Number(declared) <= limit) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length <= limit) return bytes;
    return truncate ? bytes.subarray(0, limit) : undefined;
  }
  if (res.body === null) return new Uint8Array(0);
  if (declared !== null && !truncate) {
    await res.body.cancel();
    return undefined;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      if (!truncate) return undefined;
      chunks.push(value.subarray(0, value.length - (total - limit)));
      total = limit;
      break;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Percent-decodes one path part, reading `+` as a space (what Go clients mean). */
function decodePart(part: string, what: string): string {
  if (part.includes("+")) part = part.replaceAll("+", " ");
  if (!part.includes("%")) return part;
  if (/%(?![0-9A-Fa-f]{2})/.test(part)) {
    throw new RangeError(`${what} has invalid percent-encoding`);
  }
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RangeError(`${what} is not valid UTF-8 once percent-decoded`);
  }
}

/**
 * The peers of this node: who owns which key, how to ask them, and the
 * handler that answers them.
 *
 * @example
 * ```ts
 * import { Group, HttpPool, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const pool = new HttpPool("http://127.0.0.1:8001", { registry: new Registry() });
 * pool.set("http://127.0.0.1:8001", "http://127.0.0.1:8002", "http://127.0.0.1:8003");
 * new Group("thumbnails", 64 << 20, (key, dest) => dest.setString(`thumb of ${key}`), {
 *   peers: pool,
 * });
 *
 * // What another node's client sends; serve it with Deno.serve(pool.handler).
 * const res = await pool.handler(
 *   new Request("http://127.0.0.1:8001/_groupcache/thumbnails/big-file.jpg"),
 * );
 * assert.equal(res.status, 200);
 * assert.equal(res.headers.get("content-type"), "application/x-protobuf");
 * ```
 */
export class HttpPool implements PeerPicker {
  /**
   * This node's base URL, as it appears in the peer list.
   *
   * @example
   * ```ts
   * import { HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const self = "http://10.0.0.1:8000";
   * const pool = new HttpPool(self, { registry: new Registry() });
   * assert.equal(pool.self, self);
   * pool.set("http://10.0.0.1:8000", "http://10.0.0.2:8000");
   * const keys = ["a", "b", "c", "d", "e", "f"];
   * const mine = keys.filter((k) => pool.owner(k) === pool.self);
   * assert.ok(mine.every((k) => pool.pickPeer(k) === undefined));
   * ```
   */
  readonly self: string;
  /**
   * The path under which peers are served.
   *
   * @example
   * ```ts
   * import { HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", {
   *   basePath: "/cache/",
   *   registry: new Registry(),
   * });
   * assert.equal(pool.basePath, "/cache/");
   * const res = await pool.handler(new Request("http://a:1/_groupcache/g/k"));
   * assert.equal(res.status, 404); // not under /cache/
   * assert.equal(new HttpPool("http://a:1").basePath, "/_groupcache/");
   * ```
   */
  readonly basePath: string;
  /**
   * The groups this node serves.
   *
   * @example
   * ```ts
   * import { Group, HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const pool = new HttpPool("http://a:1", { registry });
   * assert.equal(pool.registry, registry);
   * new Group("served", 1024, (key, dest) => dest.setString(key), {
   *   peers: pool,
   * });
   * assert.deepEqual(registry.names(), ["served"]);
   * ```
   */
  readonly registry: Registry;
  /**
   * Points per peer on the ring.
   *
   * @example
   * ```ts
   * import { ConfigError, HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * assert.equal(new HttpPool("http://a:1", { registry }).replicas, 50);
   * const eight = new HttpPool("http://a:1", { registry, replicas: 8 });
   * assert.equal(eight.replicas, 8);
   * const none = () => new HttpPool("http://a:1", { replicas: 0 });
   * assert.throws(none, ConfigError);
   * ```
   */
  readonly replicas: number;
  /**
   * How long one peer fetch may take, in milliseconds.
   *
   * @example
   * ```ts
   * import { HttpPool, PeerError, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * // A peer that never answers, but lets go when its fetch is aborted.
   * const hang = (_url: string, { signal }: RequestInit) =>
   *   new Promise<Response>((_resolve, reject) => {
   *     signal!.addEventListener("abort", () => reject(signal!.reason));
   *   });
   * const pool = new HttpPool("http://a:1", {
   *   registry: new Registry(),
   *   timeoutMs: 20,
   *   fetch: hang,
   * });
   * assert.equal(pool.timeoutMs, 20);
   * pool.set("http://a:1", "http://b:1");
   * const key = ["a", "b", "c", "d", "e", "f"].find((k) => pool.pickPeer(k))!;
   * const peer = pool.pickPeer(key)!;
   * await assert.rejects(
   *   peer.get("g", key, new AbortController().signal),
   *   (err) => err instanceof PeerError && err.reason === "timeout",
   * );
   * ```
   */
  readonly timeoutMs: number;
  /**
   * The largest response body accepted from a peer, in bytes.
   *
   * @example
   * ```ts
   * import { HttpPool, PeerError, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", {
   *   registry: new Registry(),
   *   maxResponseBytes: 16,
   *   fetch: () => Promise.resolve(new Response(new Uint8Array(1024))),
   * });
   * assert.equal(pool.maxResponseBytes, 16);
   * pool.set("http://a:1", "http://b:1");
   * const key = ["a", "b", "c", "d", "e", "f"].find((k) => pool.pickPeer(k))!;
   * await assert.rejects(
   *   pool.pickPeer(key)!.get("g", key, new AbortController().signal),
   *   (err) => err instanceof PeerError && err.reason === "too-large",
   * );
   * ```
   */
  readonly maxResponseBytes: number;
  readonly #fetch: FetchLike;
  readonly #hash: (data: string) => number;
  #ring: HashRing;
  #peers: readonly string[] = [];
  #getters = new Map<string, HttpPeer>();

  /**
   * Makes the pool of a node; call {@linkcode HttpPool.set} to name the peers.
   *
   * @param self This node's base URL, e.g. `"http://10.0.0.1:8000"`.
   * @param options Base path, ring, fetch, limits and registry.
   *
   * @example
   * ```ts
   * import { ConfigError, HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://10.0.0.1:8000", {
   *   registry: new Registry(),
   *   timeoutMs: 2_000,
   * });
   * assert.deepEqual(pool.peers, []); // no peers until set()
   * // No scheme, a trailing "/", not http(s):
   * for (const bad of ["10.0.0.1:8000", "http://a:1/", "ftp://a:1"]) {
   *   assert.throws(() => new HttpPool(bad), ConfigError);
   * }
   * const path = () => new HttpPool("http://a:1", { basePath: "x" });
   * assert.throws(path, ConfigError);
   * ```
   */
  constructor(self: string, options: HttpPoolOptions = {}) {
    this.self = checkPeerUrl(self, "self");
    const {
      basePath = "/_groupcache/",
      replicas = 50,
      hash = crc32,
      fetch = globalThis.fetch,
      timeoutMs = 10_000,
      maxResponseBytes = 64 << 20,
      registry = defaultRegistry,
    } = options;
    if (
      typeof basePath !== "string" || !basePath.startsWith("/") ||
      !basePath.endsWith("/")
    ) {
      throw new ConfigError(
        `basePath must start and end with "/" (like "/_groupcache/"), got ${
          JSON.stringify(basePath)
        }`,
      );
    }
    if (!Number.isInteger(replicas) || replicas < 1) {
      throw new ConfigError(
        `replicas must be a positive integer, got ${String(replicas)}`,
      );
    }
    if (typeof hash !== "function") {
      throw new ConfigError("hash must be a function (data: string) => number");
    }
    if (typeof fetch !== "function") {
      throw new ConfigError(
        "fetch must be a function; this runtime has no global fetch, pass one",
      );
    }
    if (!(typeof timeoutMs === "number" && timeoutMs > 0)) {
      throw new ConfigError(
        `timeoutMs must be a positive number of milliseconds, got ${
          String(timeoutMs)
        }`,
      );
    }
    if (!(Number.isInteger(maxResponseBytes) && maxResponseBytes > 0)) {
      throw new ConfigError(
        `maxResponseBytes must be a positive integer, got ${
          String(maxResponseBytes)
        }`,
      );
    }
    if (typeof registry?.get !== "function") {
      throw new ConfigError("registry must be a Registry");
    }
    this.basePath = basePath;
    this.replicas = replicas;
    this.#hash = hash;
    this.#fetch = fetch === globalThis.fetch
      ? (input, init) => globalThis.fetch(input, init)
      : fetch;
    this.timeoutMs = timeoutMs;
    this.maxResponseBytes = maxResponseBytes;
    this.registry = registry;
    this.#ring = new HashRing(replicas, hash);
  }

  /**
   * Replaces the peer list (Go's `Set`): the ring is rebuilt from the list
   * in this order. Every entry must be a base URL, without duplicates, and a
   * non-empty list must include `self`.
   *
   * @example
   * ```ts
   * import { ConfigError, HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", { registry: new Registry() });
   * pool.set("http://a:1", "http://b:1");
   * assert.deepEqual(pool.peers, ["http://a:1", "http://b:1"]);
   * assert.throws(() => pool.set("http://b:1"), ConfigError); // self missing
   * ```
   */
  set(...peers: string[]): void {
    const seen = new Set<string>();
    for (const [i, peer] of peers.entries()) {
      checkPeerUrl(peer, `peer #${i + 1}`);
      if (seen.has(peer)) {
        throw new ConfigError(
          `peer ${JSON.stringify(peer)} is listed twice: list each peer once`,
        );
      }
      seen.add(peer);
    }
    if (peers.length > 0 && !seen.has(this.self)) {
      throw new ConfigError(
        `the peer list must include this node's own URL ${
          JSON.stringify(this.self)
        } ` +
          "(spelled exactly the same), or this node could never own a key",
      );
    }
    const ring = new HashRing(this.replicas, this.#hash);
    ring.add(...peers);
    const getters = new Map<string, HttpPeer>();
    for (const peer of peers) {
      if (peer !== this.self) {
        getters.set(
          peer,
          this.#getters.get(peer) ?? new HttpPeer(peer, this, this.#fetch),
        );
      }
    }
    this.#ring = ring;
    this.#peers = Object.freeze([...peers]);
    this.#getters = getters;
  }

  /**
   * The current peer list, in the order given to {@linkcode HttpPool.set}.
   *
   * @example
   * ```ts
   * import { HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", { registry: new Registry() });
   * pool.set("http://b:1", "http://a:1");
   * assert.deepEqual(pool.peers, ["http://b:1", "http://a:1"]);
   * pool.set(); // no peers: every key is loaded here
   * assert.deepEqual(pool.peers, []);
   * ```
   */
  get peers(): readonly string[] {
    return this.#peers;
  }

  /**
   * The base URL of the node that owns `key` (possibly `self`), or
   * `undefined` when no peers are set.
   *
   * @example
   * ```ts
   * import { HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", { registry: new Registry() });
   * assert.equal(pool.owner("k"), undefined);
   * pool.set("http://a:1");
   * assert.equal(pool.owner("k"), "http://a:1");
   * ```
   */
  owner(key: string): string | undefined {
    return this.#ring.get(key);
  }

  /**
   * The remote owner of `key`, or `undefined` when this node owns it or no
   * peers are set (Go's `PickPeer`).
   *
   * @example
   * ```ts
   * import { HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", { registry: new Registry() });
   * pool.set("http://a:1", "http://b:1");
   * const owners = new Set(["k1", "k2", "k3", "k4", "k5"].map((k) => pool.pickPeer(k)?.url));
   * assert.ok(owners.has("http://b:1"));
   * ```
   */
  pickPeer(key: string): PeerGetter | undefined {
    const owner = this.#ring.get(key);
    if (owner === undefined || owner === this.self) return undefined;
    return this.#getters.get(owner);
  }

  /**
   * Answers peers: `GET {basePath}{group}/{key}` → `200` with a protobuf
   * `GetResponse`. Path parts are percent-decoded with `+` read as a space.
   * Never throws: bad paths get `400`/`404`, getter errors `500`.
   *
   * @example
   * ```ts
   * import { HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const pool = new HttpPool("http://a:1", { registry: new Registry() });
   * const res = await pool.handler(new Request("http://a:1/_groupcache/nope/k"));
   * assert.equal(res.status, 404);
   * assert.equal(await res.text(), "no such group: nope\n");
   * ```
   */
  readonly handler = (req: Request): Promise<Response> => {
    try {
      const res = this.#serve(req);
      // A hit is answered with an already-settled promise: no await hops.
      return res instanceof Response
        ? Promise.resolve(res)
        : res.catch(internalError);
    } catch (err) {
      return Promise.resolve(internalError(err));
    }
  };

  #serve(req: Request): Response | Promise<Response> {
    const url = req.url;
    // The raw path, still percent-encoded: req.url is absolute.
    const scheme = url.indexOf("://");
    const start = scheme < 0 ? 0 : url.indexOf("/", scheme + 3);
    if (start < 0 || !url.startsWith(this.basePath, start)) {
      return textResponse(
        404,
        `not found: this handler serves ${this.basePath}{group}/{key}`,
      );
    }
    let end = url.indexOf("?", start);
    if (end < 0) end = url.length;
    const rest = url.slice(start + this.basePath.length, end);
    const slash = rest.indexOf("/");
    if (slash < 0) {
      return textResponse(
        400,
        `bad request: want ${this.basePath}{group}/{key}`,
      );
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return textResponse(
        405,
        `method ${req.method} not allowed: peers use GET`,
        { allow: "GET, HEAD" },
      );
    }
    let groupName: string;
    let key: string;
    try {
      groupName = decodePart(rest.slice(0, slash), "group name");
      key = decodePart(rest.slice(slash + 1), "key");
    } catch (err) {
      return textResponse(400, `bad request: ${(err as Error).message}`);
    }
    if (key === "") {
      // Also what Bun makes of a key "." (it resolves dot segments first).
      return textResponse(
        400,
        'bad request: empty key (keys "" "." ".." cannot be served)',
      );
    }
    const group = this.registry.get(groupName);
    if (group === undefined) {
      return textResponse(404, `no such group: ${groupName}`);
    }
    let found: ByteView | Promise<ByteView>;
    try {
      // req as the options: its signal is only read on a miss.
      found = getForPeerNow(group, key, req);
    } catch (err) {
      return getterError(err);
    }
    if (found instanceof ByteView) return okResponse(found);
    return found.then(okResponse, getterError);
  }
}
