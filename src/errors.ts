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
  /** Always `"ConfigError"`. */
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
  /** Always `"SinkNotSetError"`. */
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
  /** Always `"ProtobufError"`. */
  override name = "ProtobufError";
}
