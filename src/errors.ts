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
 * @example Bad configuration is refused up front
 * ```ts
 * import { ConfigError, HashRing } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => new HashRing(0), ConfigError);
 * assert.throws(() => new HashRing(0), { name: "ConfigError" });
 * ```
 */
export class ConfigError extends Error {
  /** Always `"ConfigError"`. */
  override name = "ConfigError";
}

/**
 * A key the library cannot carry, for example `"."` or `".."` on its way to a
 * remote peer (URLs resolve those path segments away before they are sent).
 *
 * @example The refused key and why
 * ```ts
 * import { InvalidKeyError } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const err = new InvalidKeyError("..", "cannot be sent in a URL path");
 * assert.equal(err.name, "InvalidKeyError");
 * assert.equal(err.key, "..");
 * assert.equal(err.message, 'invalid key "..": cannot be sent in a URL path');
 * ```
 */
export class InvalidKeyError extends Error {
  /** Always `"InvalidKeyError"`. */
  override name = "InvalidKeyError";
  /** The key that was refused. */
  readonly key: string;
  /**
   * Makes the error for `key`.
   *
   * @param key The key that was refused.
   * @param reason Why, in a few words.
   */
  constructor(key: string, reason: string) {
    super(`invalid key ${JSON.stringify(key)}: ${reason}`);
    this.key = key;
  }
}

/**
 * Why a peer fetch failed; see {@linkcode PeerError.reason}.
 *
 * - `"status"`: the peer answered a status other than 200 that is not one of
 *   ours saying its getter failed (a Go or mailgun peer's getter error is a
 *   500 with its message): the key is loaded locally.
 * - `"getter"`: the peer is one of ours and its getter failed (a `500` with
 *   `x-groupcache-error: getter`); the message is the owner's. The key is
 *   not loaded locally unless the group's `onOwnerError` is
 *   `"load-locally"`.
 * - `"redirect"`: the peer answered a redirect (3xx); it is never followed.
 * - `"encoding"`: the body came with a `Content-Encoding` other than
 *   `identity` (a compressed body could inflate past `maxResponseBytes`);
 *   it is not read.
 * - `"content-type"`: a 200 that is not `application/x-protobuf`, the only
 *   type a peer sends a value as.
 * - `"network"`: the connection was refused, reset, or closed mid-body.
 * - `"timeout"`: no full answer within the pool's `timeoutMs`.
 * - `"down"`: the request was waiting on a peer that has just been marked
 *   down (another request to it timed out or failed); released at once.
 * - `"closed"`: the pool was closed (`pool.close()`) while the request
 *   waited; released at once.
 * - `"too-large"`: the body is larger than `maxResponseBytes`.
 * - `"malformed"`: the body is not a valid `GetResponse`.
 * - `"unauthorized"`: the peer answered 401: the request was unsigned or
 *   its signature was refused (the nodes' `secret` options differ).
 * - `"writes-off"`: the peer refused a set or remove because its `writes`
 *   option is `"off"` (the default without a secret).
 *
 * `"network"` and `"timeout"` count against the peer's health; the others
 * mean it answered.
 */
export type PeerErrorReason =
  | "status"
  | "redirect"
  | "encoding"
  | "content-type"
  | "network"
  | "timeout"
  | "down"
  | "closed"
  | "too-large"
  | "malformed"
  | "expired"
  | "getter"
  | "unauthorized"
  | "writes-off";

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
 * A fetch from a peer failed: the peer was unreachable, timed out, was
 * marked down while the fetch waited, answered with a non-200 status or a
 * redirect, or sent a body that is compressed, of another content type, too
 * large, not a valid `GetResponse`, or a value that had already expired (see
 * {@linkcode PeerErrorReason}). A set or remove sent to a peer fails with one
 * too. The group counts it in `peerErrors`, hands it to the `onPeerError`
 * option, and loads the key locally instead — except reason `"getter"` (the
 * owner, one of ours, says its getter failed), which the get rejects with
 * unless the group's `onOwnerError` is `"load-locally"`.
 *
 * @example The facts of a failed fetch
 * ```ts
 * import { PeerError } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const err = new PeerError("peer answered 503", {
 *   peer: "http://10.0.0.2:8000", group: "users", key: "ada",
 *   reason: "status", status: 503, body: "overloaded",
 * });
 * assert.equal(err.name, "PeerError");
 * assert.deepEqual(
 *   [err.peer, err.group, err.key, err.reason, err.status, err.body],
 *   ["http://10.0.0.2:8000", "users", "ada", "status", 503, "overloaded"],
 * );
 *
 * // No answer at all: no status or body, and the cause is kept.
 * const cause = new TypeError("connection refused");
 * const down = new PeerError("peer unreachable", {
 *   peer: "http://10.0.0.3:8000", group: "users", key: "ada",
 *   reason: "network", cause,
 * });
 * assert.equal(down.status, undefined);
 * assert.equal(down.cause, cause);
 * ```
 */
export class PeerError extends Error {
  /** Always `"PeerError"`. */
  override name = "PeerError";
  /** The peer's base URL. */
  readonly peer: string;
  /** The group asked for. */
  readonly group: string;
  /** The key asked for. */
  readonly key: string;
  /** Why it failed. */
  readonly reason: PeerErrorReason;
  /** The HTTP status, when the peer answered. */
  readonly status?: number;
  /** The start of the response body, when the peer answered with an error. */
  readonly body?: string;
  /**
   * Makes the error from a message and the facts.
   *
   * @param message What happened.
   * @param init The facts: peer, group, key, reason, status, body, cause.
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
 * "This key has no value": what a getter throws for a key its origin does
 * not have. The group remembers it for `notFoundTtlMs` (negative caching),
 * and an owner of ours tells the asking node, which rejects with a
 * `NotFoundError` too instead of running its own getter (see
 * docs/expiry_and_errors.md).
 *
 * @example A getter with nothing for a key
 * ```ts
 * import { Group, NotFoundError, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const images = new Group("images", 1 << 20, (key) => {
 *   if (!key.endsWith(".jpg")) throw new NotFoundError(`no image ${key}`);
 *   return `bytes of ${key}`;
 * }, { registry: new Registry() });
 * await assert.rejects(images.get("big-file-typo.jpeg"), NotFoundError);
 * await assert.rejects(images.get("big-file-typo.jpeg"), { name: "NotFoundError" });
 * assert.deepEqual([images.stats.notFounds, images.stats.negativeHits], [1, 1]);
 * ```
 */
export class NotFoundError extends Error {
  /** Always `"NotFoundError"`. */
  override name = "NotFoundError";
  /**
   * Makes the error.
   *
   * @param message What has no value, e.g. `no image big-file-typo.jpg`.
   * @param options `cause`: the underlying error, if any.
   */
  constructor(message = "not found", options?: { cause?: unknown }) {
    super(
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

/**
 * Loading a key did not settle within the group's `loadTimeoutMs`, so the
 * callers waiting on it are not kept waiting longer.
 *
 * @example The message names the option to raise
 * ```ts
 * import { LoadTimeoutError } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const err = new LoadTimeoutError("g", "k", 50);
 * assert.equal(err.name, "LoadTimeoutError");
 * assert.deepEqual([err.group, err.key, err.timeoutMs], ["g", "k", 50]);
 * assert.equal(
 *   err.message,
 *   'group "g", key "k": the load did not settle within 50 ms (loadTimeoutMs)',
 * );
 * const detailed = new LoadTimeoutError("g", "k", 50, "waiting on the getter");
 * assert.match(detailed.message, /\(loadTimeoutMs\); waiting on the getter$/);
 * ```
 */
export class LoadTimeoutError extends Error {
  /** Always `"LoadTimeoutError"`. */
  override name = "LoadTimeoutError";
  /** The group of the load. */
  readonly group: string;
  /** The key being loaded. */
  readonly key: string;
  /** The limit that passed, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * Makes the error; the message is built from the facts.
   *
   * @param group The group of the load.
   * @param key The key being loaded.
   * @param timeoutMs The limit that passed, in milliseconds.
   * @param detail Appended after `; `, e.g. what the load was waiting on.
   */
  constructor(group: string, key: string, timeoutMs: number, detail?: string) {
    super(
      `${where(group, key)}the load did not settle within ${timeoutMs} ms ` +
        `(loadTimeoutMs)${detail ? `; ${detail}` : ""}`,
    );
    this.group = group;
    this.key = key;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A getter misbehaved: it returned a value of the wrong type, both filled
 * its sink and returned a value, or called `get` on its own key while
 * loading it (which would wait on itself forever).
 *
 * @example The message starts with the group and key
 * ```ts
 * import { GetterError } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const cause = new TypeError("not a ByteView");
 * const err = new GetterError("g", "k", "returned a number", { cause });
 * assert.equal(err.name, "GetterError");
 * assert.deepEqual([err.group, err.key], ["g", "k"]);
 * assert.equal(err.message, 'group "g", key "k": returned a number');
 * assert.equal(err.cause, cause);
 * ```
 */
export class GetterError extends Error {
  /** Always `"GetterError"`. */
  override name = "GetterError";
  /** The group whose getter misbehaved. */
  readonly group: string;
  /** The key it was loading. */
  readonly key: string;
  /**
   * Makes the error; `message` is prefixed with the group and key.
   *
   * @param group The group whose getter misbehaved.
   * @param key The key it was loading.
   * @param message What the getter did wrong.
   * @param options `cause`: the underlying error, if any.
   */
  constructor(
    group: string,
    key: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(
      where(group, key) + message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.group = group;
    this.key = key;
  }
}

/**
 * A sink was read before anything was stored in it, or a getter returned
 * without setting its sink.
 *
 * @example Reading an empty sink
 * ```ts
 * import { SinkNotSetError, stringSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => stringSink().value, SinkNotSetError);
 * assert.throws(() => stringSink().value, { name: "SinkNotSetError" });
 * ```
 */
export class SinkNotSetError extends Error {
  /** Always `"SinkNotSetError"`. */
  override name = "SinkNotSetError";
}

/**
 * Bytes that are not a valid protobuf `GetResponse`.
 *
 * @example A truncated message
 * ```ts
 * import { decodeGetResponse, ProtobufError } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const short = new Uint8Array([0x0a, 5, 1]); // says 5 bytes, has 1
 * assert.throws(() => decodeGetResponse(short), ProtobufError);
 * assert.throws(() => decodeGetResponse(short), { name: "ProtobufError" });
 * ```
 */
export class ProtobufError extends Error {
  /** Always `"ProtobufError"`. */
  override name = "ProtobufError";
}

/** The `group "g", key "k": ` prefix, quoted so odd keys stay readable. */
function where(group: string, key: string): string {
  return `group ${JSON.stringify(group)}, key ${JSON.stringify(key)}: `;
}
