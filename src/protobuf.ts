/**
 * The protobuf messages on groupcache's wire, written by hand (proto2):
 *
 * ```proto
 * message GetResponse {
 *   optional bytes value = 1;
 *   optional double minute_qps = 2;
 *   optional int64 expire = 3; // mailgun's: Unix nanoseconds, 0 = never
 * }
 * message SetRequest { // mailgun's PUT body
 *   required string group = 1;
 *   required string key = 2;
 *   optional bytes value = 3;
 *   optional int64 expire = 4;
 * }
 * ```
 *
 * golang/groupcache knows `value` and `minute_qps` only (and ignores field
 * 3); mailgun/groupcache adds `expire` and `SetRequest`. Expiry times here
 * are exact wire values, Unix nanoseconds as `bigint` (they pass 2^53);
 * {@linkcode unixNanosFromMs} and {@linkcode msFromUnixNanos} convert.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import { ProtobufError } from "./errors.ts";
import {
  varint64Size,
  varintSize,
  writeVarint,
  writeVarint64,
} from "./varint.ts";

/** A decoded `GetResponse`: the value, and mailgun's expiry when sent. */
export interface GetResponseMessage {
  /** Field 1 (a view into the body; empty when absent). */
  value: Uint8Array;
  /** Field 3: Unix nanoseconds, `0n` for never; `undefined` when absent. */
  expire?: bigint;
}

/** mailgun's `SetRequest`, the body of a `PUT`. */
export interface SetRequestMessage {
  /** Field 1, required: the group (receivers use the URL's instead). */
  group: string;
  /** Field 2, required: the key to store. */
  key: string;
  /** Field 3: the value (empty when absent). */
  value?: Uint8Array;
  /** Field 4: Unix nanoseconds, `0n` for never. */
  expire?: bigint;
}

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes `GetResponse{value}`: tag `0x0a`, varint length, the bytes,
 * exactly as golang/groupcache writes it. A {@linkcode ByteView} is copied
 * straight into the message.
 *
 * @example Bytes or a view
 * ```ts
 * import { ByteView, encodeGetResponse } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(encodeGetResponse(new Uint8Array([7])), new Uint8Array([0x0a, 1, 7]));
 * assert.deepEqual(encodeGetResponse(new ByteView("a")), new Uint8Array([0x0a, 1, 0x61]));
 * ```
 */
export function encodeGetResponse(
  value: Uint8Array | ByteView,
): Uint8Array<ArrayBuffer> {
  return encodeGet(value, undefined);
}

/**
 * Encodes `GetResponse{value, expire}`: the value as
 * {@linkcode encodeGetResponse} writes it, then, when `expire` is given
 * (`0n` included, as mailgun always writes it), tag `0x18` and the int64
 * varint.
 *
 * @example mailgun's answer for "mg:a", without and with an expiry
 * ```ts
 * import { ByteView, encodeGetResponseMessage } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const value = new ByteView("mg:a");
 * assert.deepEqual(
 *   encodeGetResponseMessage({ value, expire: 0n }),
 *   new Uint8Array([0x0a, 4, 0x6d, 0x67, 0x3a, 0x61, 0x18, 0]),
 * );
 * assert.deepEqual(
 *   encodeGetResponseMessage({ value, expire: 300n }).subarray(6),
 *   new Uint8Array([0x18, 0xac, 2]),
 * );
 * ```
 */
export function encodeGetResponseMessage(
  message: { value: Uint8Array | ByteView; expire?: bigint },
): Uint8Array<ArrayBuffer> {
  return encodeGet(message.value, message.expire);
}

// Both encoders, without a message object on the hot path of a plain answer.
function encodeGet(
  value: Uint8Array | ByteView,
  expire: bigint | undefined,
): Uint8Array<ArrayBuffer> {
  const n = value.length;
  const header = 1 + varintSize(n);
  const tail = expire === undefined ? 0 : 1 + varint64Size(expire);
  const out = new Uint8Array(header + n + tail);
  out[0] = 0x0a;
  writeVarint(out, 1, n);
  if (value instanceof Uint8Array) out.set(value, header);
  else value.copyTo(out.subarray(header));
  if (expire !== undefined) {
    out[header + n] = 0x18;
    writeVarint64(out, header + n + 1, expire);
  }
  return out;
}

/**
 * Decodes a `GetResponse` and returns its `value` (a view into `body`, not a
 * copy; empty when field 1 is absent, as for a 0-byte body). Fields may come
 * in any order, unknown fields of wire types 0, 1, 2 and 5 are skipped, and
 * field 2 (`minute_qps`) is accepted in any of them. Truncated or malformed
 * input throws {@linkcode ProtobufError}.
 *
 * @example
 * ```ts
 * import { decodeGetResponse } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * // minute_qps (field 2, fixed64) first, then value.
 * const body = new Uint8Array([0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x0a, 2, 104, 105]);
 * assert.deepEqual(decodeGetResponse(body), new Uint8Array([104, 105]));
 * assert.equal(decodeGetResponse(new Uint8Array(0)).length, 0);
 * ```
 */
export function decodeGetResponse(body: Uint8Array): Uint8Array {
  return decodeGetResponseMessage(body).value;
}

/**
 * Decodes a `GetResponse` as {@linkcode decodeGetResponse} does, and also
 * mailgun's `expire` (field 3, an int64 varint; in another wire type it is
 * skipped as unknown, as protobuf-go does).
 *
 * @example mailgun's answer for "mg:a" without an expiry
 * ```ts
 * import { decodeGetResponseMessage } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const body = new Uint8Array([0x0a, 4, 0x6d, 0x67, 0x3a, 0x61, 0x18, 0]);
 * const { value, expire } = decodeGetResponseMessage(body);
 * assert.equal(new TextDecoder().decode(value), "mg:a");
 * assert.equal(expire, 0n);
 * assert.equal(decodeGetResponseMessage(new Uint8Array(0)).expire, undefined);
 * ```
 */
export function decodeGetResponseMessage(
  body: Uint8Array,
): GetResponseMessage {
  const r = new Reader(body);
  let value: Uint8Array | undefined;
  let expire: bigint | undefined;
  while (r.more()) {
    const { field, wireType, at } = r.tag();
    if (field === 1) {
      if (wireType !== 2) throw wrongType("field 1 (value)", 2, wireType, at);
      value = r.bytes(field, at);
    } else if (field === 3 && wireType === 0) {
      expire = r.int64("field 3 (expire)");
    } else {
      r.skip(field, wireType, at);
    }
  }
  // The empty view only when no value came: a view per answer fewer.
  const message: GetResponseMessage = { value: value ?? body.subarray(0, 0) };
  if (expire !== undefined) message.expire = expire;
  return message;
}

/**
 * Encodes mailgun's `SetRequest`, fields in number order as Go writes them:
 * `value` only when given, `expire` only when given.
 *
 * @example A set of "k" to "v" that never expires
 * ```ts
 * import { decodeSetRequest, encodeSetRequest } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const body = encodeSetRequest({
 *   group: "g", key: "k", value: new Uint8Array([0x76]), expire: 0n,
 * });
 * assert.deepEqual(body, new Uint8Array([
 *   0x0a, 1, 0x67, 0x12, 1, 0x6b, 0x1a, 1, 0x76, 0x20, 0,
 * ]));
 * assert.deepEqual(decodeSetRequest(body), {
 *   group: "g", key: "k", value: new Uint8Array([0x76]), expire: 0n,
 * });
 * ```
 */
export function encodeSetRequest(
  message: SetRequestMessage,
): Uint8Array<ArrayBuffer> {
  const group = encoder.encode(message.group);
  const key = encoder.encode(message.key);
  const { value, expire } = message;
  let size = 2 + varintSize(group.length) + group.length +
    varintSize(key.length) + key.length;
  if (value !== undefined) size += 1 + varintSize(value.length) + value.length;
  if (expire !== undefined) size += 1 + varint64Size(expire);
  const out = new Uint8Array(size);
  let pos = 0;
  const bytes = (tag: number, data: Uint8Array) => {
    out[pos++] = tag;
    pos = writeVarint(out, pos, data.length);
    out.set(data, pos);
    pos += data.length;
  };
  bytes(0x0a, group);
  bytes(0x12, key);
  if (value !== undefined) bytes(0x1a, value);
  if (expire !== undefined) {
    out[pos++] = 0x20;
    writeVarint64(out, pos, expire);
  }
  return out;
}

/**
 * Decodes mailgun's `SetRequest`. `group` and `key` are required and must
 * be UTF-8; `value` is a view into `body`. Anything else malformed throws
 * {@linkcode ProtobufError}, as a missing required field does (see
 * {@linkcode encodeSetRequest}'s example).
 */
export function decodeSetRequest(body: Uint8Array): SetRequestMessage {
  const r = new Reader(body);
  let group: string | undefined, key: string | undefined;
  let value: Uint8Array | undefined, expire: bigint | undefined;
  while (r.more()) {
    const { field, wireType, at } = r.tag();
    if (field >= 1 && field <= 3) {
      const name = ["group", "key", "value"][field - 1];
      if (wireType !== 2) {
        throw wrongType(`field ${field} (${name})`, 2, wireType, at);
      }
      const bytes = r.bytes(field, at);
      if (field === 3) value = bytes;
      else if (field === 1) group = utf8(bytes, name);
      else key = utf8(bytes, name);
    } else if (field === 4) {
      if (wireType !== 0) throw wrongType("field 4 (expire)", 0, wireType, at);
      expire = r.int64("field 4 (expire)");
    } else {
      r.skip(field, wireType, at);
    }
  }
  if (group === undefined) {
    throw new ProtobufError("SetRequest lacks its required field 1 (group)");
  }
  if (key === undefined) {
    throw new ProtobufError("SetRequest lacks its required field 2 (key)");
  }
  const message: SetRequestMessage = { group, key };
  if (value !== undefined) message.value = value;
  if (expire !== undefined) message.expire = expire;
  return message;
}

/**
 * Unix milliseconds (the library's clock, as `Date.now()`) as the wire's
 * Unix nanoseconds; `0` stays `0n` (never). Exact for whole milliseconds.
 */
export function unixNanosFromMs(ms: number): bigint {
  const whole = Math.trunc(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

/** The wire's Unix nanoseconds as Unix milliseconds (`0n` is `0`, never). */
export function msFromUnixNanos(ns: bigint): number {
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

function utf8(bytes: Uint8Array, name: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new ProtobufError(`SetRequest ${name} is not valid UTF-8`);
  }
}

/** Reads fields off a message, throwing ProtobufError on malformed input. */
class Reader {
  #pos = 0;
  readonly #body: Uint8Array;
  readonly #end: number;

  constructor(body: Uint8Array) {
    this.#body = body;
    this.#end = body.length;
  }

  more(): boolean {
    return this.#pos < this.#end;
  }

  tag(): { field: number; wireType: number; at: number } {
    const at = this.#pos;
    const tag = this.varint("tag");
    const field = Math.floor(tag / 8);
    if (field === 0 || field > 0x1fffffff) {
      throw new ProtobufError(
        `field number ${field} at byte ${at} is outside 1..2^29-1`,
      );
    }
    return { field, wireType: tag % 8, at };
  }

  /** A varint as a number; past 2^53, where it is inexact, Infinity. */
  varint(what: string): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.#byte(what);
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (i === 9 && b > 1) {
          throw new ProtobufError(`varint overflows 64 bits in ${what}`);
        }
        return result > Number.MAX_SAFE_INTEGER ? Infinity : result;
      }
      scale *= 128;
    }
    throw new ProtobufError(`varint longer than 10 bytes in ${what}`);
  }

  /** A varint as an int64 (exact, two's complement). */
  int64(what: string): bigint {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.#byte(what);
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) {
        if (i === 9 && b > 1) {
          throw new ProtobufError(`varint overflows 64 bits in ${what}`);
        }
        return BigInt.asIntN(64, result);
      }
    }
    throw new ProtobufError(`varint longer than 10 bytes in ${what}`);
  }

  bytes(field: number, at: number): Uint8Array {
    const length = this.varint(`length of field ${field}`);
    const left = this.#end - this.#pos;
    if (length > left) {
      throw new ProtobufError(
        `field ${field} at byte ${at} claims ${length} bytes, ${left} remain`,
      );
    }
    const start = this.#pos;
    this.#pos += length;
    return this.#body.subarray(start, this.#pos);
  }

  /** Skips a field this message does not know (or knows in any wire type). */
  skip(field: number, wireType: number, at: number): void {
    switch (wireType) {
      case 0:
        this.varint(`field ${field}`);
        return;
      case 1:
      case 5: {
        const size = wireType === 1 ? 8 : 4;
        if (this.#end - this.#pos < size) {
          throw new ProtobufError(`truncated field ${field} at byte ${at}`);
        }
        this.#pos += size;
        return;
      }
      case 2:
        this.bytes(field, at);
        return;
      default:
        throw new ProtobufError(
          `unsupported wire type ${wireType} for field ${field} at byte ${at}`,
        );
    }
  }

  #byte(what: string): number {
    if (this.#pos >= this.#end) {
      throw new ProtobufError(`truncated ${what} at byte ${this.#pos}`);
    }
    return this.#body[this.#pos++];
  }
}

function wrongType(
  what: string,
  want: number,
  got: number,
  at: number,
): ProtobufError {
  const kind = want === 2 ? "length-delimited" : "a varint";
  return new ProtobufError(
    `${what} must be ${kind}, got wire type ${got} at byte ${at}`,
  );
}
