/**
 * Typed errors. Every error the library raises is one of these classes (or a
 * standard `TypeError`/`RangeError` for a wrong argument type), each with a
 * stable `name` so callers can branch on it without string matching.
 *
 * @module
 */

/**
 * Misuse or bad configuration, thrown at construction or registration time
 * with a message that says how to fix it.
 *
 * @example
 * ```ts
 * import { ConfigError, HttpPool } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => new HttpPool("not a url"), ConfigError);
 * ```
 */
export class ConfigError extends Error {
  /**
   * Always `"ConfigError"`.
   *
   * @example
   * ```ts
   * import { ConfigError, HashRing } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * assert.throws(() => new HashRing(0), { name: "ConfigError" });
   * assert.equal(new ConfigError("bad").name, "ConfigError");
   * ```
   */
  override name = "ConfigError";
}

/**
 * A key the library cannot carry, for example `"."` or `".."` on its way to a
 * remote peer (URLs resolve those path segments away before they are sent).
 *
 * @example
 * ```ts
 * import { InvalidKeyError } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const err = new InvalidKeyError("..", "cannot be sent in a URL path");
 * assert.equal(err.key, "..");
 * assert.equal(err.name, "InvalidKeyError");
 * ```
 */
export class InvalidKeyError extends Error {
  /**
   * Always `"InvalidKeyError"`.
   *
   * @example
   * ```ts
   * import { InvalidKeyError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const err = new InvalidKeyError(".", "cannot be sent in a URL path");
   * assert.equal(err.name, "InvalidKeyError");
   * assert.ok(err instanceof Error);
   * ```
   */
  override name = "InvalidKeyError";
  /**
   * The key that was refused.
   *
   * @example
   * ```ts
   * import { InvalidKeyError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new InvalidKeyError("..", "dot segment").key, "..");
   * ```
   */
  readonly key: string;
  /**
   * Makes the error for `key`.
   *
   * @param key The key that was refused.
   * @param reason Why, in a few words.
   *
   * @example
   * ```ts
   * import { InvalidKeyError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const err = new InvalidKeyError("..", "cannot be sent in a URL path");
   * assert.equal(
   *   err.message,
   *   'invalid key "..": cannot be sent in a URL path',
   * );
   * ```
   */
  constructor(key: string, reason: string) {
    super(`invalid key ${JSON.stringify(key)}: ${reason}`);
    this.key = key;
  }
}

/** Why a peer fetch failed; see {@linkcode PeerError.reason}. */
export type PeerErrorReason =
  | "status"
  | "network"
  | "timeout"
  | "too-large"
  | "malformed";

/** The facts a {@linkcode PeerError} carries. */
export interface PeerErrorInit {
  /** The peer's base URL, as given to `HttpPool.set`. */
  peer: string;
  /** The group asked for. */
  group: string;
  /** The key asked for. */
  key: string;
  /** Why it failed. */
  reason: PeerErrorReason;
  /** The HTTP status, when the peer answered. */
  status?: number;
  /** The start of the response body, when the peer answered with an error. */
  body?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * A fetch from a peer failed: the peer was unreachable, timed out, answered
 * with a non-200 status, or sent a body that is too large or not a valid
 * `GetResponse`. The group counts it in `peerErrors` and loads locally.
 *
 * @example
 * ```ts
 * import { PeerError } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const err = new PeerError("peer answered 500", {
 *   peer: "http://10.0.0.2:8000", group: "g", key: "k",
 *   reason: "status", status: 500, body: "boom",
 * });
 * assert.equal(err.status, 500);
 * assert.equal(err.name, "PeerError");
 * ```
 */
export class PeerError extends Error {
  /**
   * Always `"PeerError"`.
   *
   * @example
   * ```ts
   * import { PeerError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const err = new PeerError("peer answered 503", {
   *   peer: "http://10.0.0.2:8000", group: "users", key: "ada",
   *   reason: "status", status: 503, body: "overloaded",
   * });
   * assert.equal(err.name, "PeerError");
   * ```
   */
  override name = "PeerError";
  /**
   * The peer's base URL.
   *
   * @example
   * ```ts
   * import { PeerError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const err = new PeerError("peer answered 503", {
   *   peer: "http://10.0.0.2:8000", group: "users", key: "ada",
   *   reason: "status", status: 503, body: "overloaded",
   * });
   * assert.equal(err.peer, "http://10.0.0.2:8000");
   * ```
   */
  readonly peer: string;
  /**
   * The group asked for.
   *
   * @example
   * ```ts
   * import { PeerError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const err = new PeerError("peer answered 503", {
   *   peer: "http://10.0.0.2:8000", group: "users", key: "ada",
   *   reason: "status", status: 503, body: "overloaded",
   * });
   * assert.equal(err.group, "users");
   * ```
   */
  readonly group: string;
  /**
   * The key asked for.
   *
   * @example
   * ```ts
   * import { PeerError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const err = new PeerError("peer answered 503", {
   *   peer: "http://10.0.0.2:8000", group: "users", key: "ada",
   *   reason: "status", status: 503, body: "overloaded",
   * });
   * assert.equal(err.key, "ada");
   * ```
   */
  readonly key: string;
  /**
   * Why it failed.
   *
   * @example
   * ```ts
   * import { Group, HttpPool, PeerError, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * // A peer that always answers 503, reached through an injected fetch.
   * const pool = new HttpPool("http://a:1", {
   *   registry: new Registry(),
   *   fetch: () => Promise.resolve(new Response("down", { status: 503 })),
   * });
   * pool.set("http://a:1", "http://b:1");
   * const errors: unknown[] = [];
   * const g = new Group("reasons", 1024, (key, dest) => dest.setString(key), {
   *   peers: pool,
   *   onPeerError: (err) => errors.push(err),
   * });
   * const key = ["a", "b", "c", "d", "e", "f"].find((k) => pool.pickPeer(k))!;
   * assert.equal((await g.get(key)).toString(), key); // loaded locally instead
   * const err = errors[0] as PeerError;
   * assert.ok(err instanceof PeerError);
   * assert.equal(err.reason, "status");
   * assert.equal(err.status, 503);
   * assert.equal(err.body, "down");
   * ```
   */
  readonly reason: PeerErrorReason;
  /**
   * The HTTP status, when the peer answered.
   *
   * @example
   * ```ts
   * import { PeerError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const err = new PeerError("peer answered 503", {
   *   peer: "http://10.0.0.2:8000", group: "users", key: "ada",
   *   reason: "status", status: 503, body: "overloaded",
   * });
   * assert.equal(err.status, 503);
   * const down = new PeerError("no route", {
   *   peer: "http://10.0.0.3:8000", group: "users", key: "ada",
   *   reason: "network",
   * });
   * assert.equal(down.status, undefined);
   * ```
   */
  readonly status?: number;
  /**
   * The start of the response body, when the peer answered with an error.
   *
   * @example
   * ```ts
   * import { PeerError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const err = new PeerError("peer answered 503", {
   *   peer: "http://10.0.0.2:8000", group: "users", key: "ada",
   *   reason: "status", status: 503, body: "overloaded",
   * });
   * assert.equal(err.body, "overloaded");
   * ```
   */
  readonly body?: string;
  /**
   * Makes the error from a message and the facts.
   *
   * @param message What happened.
   * @param init The facts: peer, group, key, reason, status, body, cause.
   *
   * @example
   * ```ts
   * import { PeerError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const cause = new TypeError("connection refused");
   * const err = new PeerError("peer unreachable", {
   *   peer: "http://10.0.0.2:8000", group: "g", key: "k",
   *   reason: "network", cause,
   * });
   * assert.equal(err.message, "peer unreachable");
   * assert.equal(err.cause, cause);
   * assert.equal(err.status, undefined);
   * ```
   */
  constructor(message: string, init: PeerErrorInit) {
    super(
      message,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.peer = init.peer;
    this.group = init.group;
    this.key = init.key;
    this.reason = init.reason;
    this.status = init.status;
    this.body = init.body;
  }
}

/**
 * A sink was read before anything was stored in it, or a getter returned
 * without setting its sink.
 *
 * @example
 * ```ts
 * import { SinkNotSetError, stringSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => stringSink().value, SinkNotSetError);
 * ```
 */
export class SinkNotSetError extends Error {
  /**
   * Always `"SinkNotSetError"`.
   *
   * @example
   * ```ts
   * import { stringSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * assert.throws(() => stringSink().value, { name: "SinkNotSetError" });
   * ```
   */
  override name = "SinkNotSetError";
}

/**
 * Bytes that are not a valid protobuf `GetResponse`.
 *
 * @example
 * ```ts
 * import { decodeGetResponse, ProtobufError } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => decodeGetResponse(new Uint8Array([0x0a, 5, 1])), ProtobufError);
 * ```
 */
export class ProtobufError extends Error {
  /**
   * Always `"ProtobufError"`.
   *
   * @example
   * ```ts
   * import { decodeGetResponse } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const short = new Uint8Array([0x0a, 5, 1]); // says 5 bytes, has 1
   * assert.throws(() => decodeGetResponse(short), { name: "ProtobufError" });
   * ```
   */
  override name = "ProtobufError";
}
