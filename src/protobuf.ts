/**
 * The one protobuf message on groupcache's wire, written by hand:
 *
 * ```proto
 * message GetResponse { optional bytes value = 1; optional double minute_qps = 2; }
 * ```
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import { ProtobufError } from "./errors.ts";

/**
 * Encodes `GetResponse{value}`: tag `0x0a`, varint length, the bytes. A
 * {@linkcode ByteView} is copied straight into the message.
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
  const n = value.length;
  let header = 2; // tag + at least one length byte
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) header++;
  const out = new Uint8Array(header + n);
  out[0] = 0x0a;
  let i = 1;
  let v = n;
  while (v >= 0x80) {
    out[i++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[i++] = v;
  if (value instanceof Uint8Array) out.set(value, i);
  else value.copyTo(out.subarray(i));
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
  let value: Uint8Array = body.subarray(0, 0);
  let pos = 0;
  const end = body.length;

  const varint = (what: string): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) {
        throw new ProtobufError(`truncated ${what} at byte ${pos}`);
      }
      const b = body[pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (i === 9 && b > 1) {
          throw new ProtobufError(`varint overflows 64 bits in ${what}`);
        }
        // Past 2^53 the value is inexact; no length or field number is that big.
        return result > Number.MAX_SAFE_INTEGER ? Infinity : result;
      }
      scale *= 128;
    }
    throw new ProtobufError(`varint longer than 10 bytes in ${what}`);
  };

  while (pos < end) {
    const tagAt = pos;
    const tag = varint("tag");
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (field === 0 || field > 0x1fffffff) {
      throw new ProtobufError(
        `field number ${field} at byte ${tagAt} is outside 1..2^29-1`,
      );
    }
    switch (wireType) {
      case 0:
        if (field === 1) throw wrongType(wireType, tagAt);
        varint(`field ${field}`);
        break;
      case 1:
      case 5: {
        if (field === 1) throw wrongType(wireType, tagAt);
        const size = wireType === 1 ? 8 : 4;
        if (end - pos < size) {
          throw new ProtobufError(`truncated field ${field} at byte ${tagAt}`);
        }
        pos += size;
        break;
      }
      case 2: {
        const length = varint(`length of field ${field}`);
        if (length > end - pos) {
          throw new ProtobufError(
            `field ${field} at byte ${tagAt} claims ${length} bytes, ${
              end - pos
            } remain`,
          );
        }
        if (field === 1) value = body.subarray(pos, pos + length);
        pos += length;
        break;
      }
      default:
        throw new ProtobufError(
          `unsupported wire type ${wireType} for field ${field} at byte ${tagAt}`,
        );
    }
  }
  return value;
}

function wrongType(wireType: number, at: number): ProtobufError {
  return new ProtobufError(
    `field 1 (value) must be length-delimited, got wire type ${wireType} at byte ${at}`,
  );
}
