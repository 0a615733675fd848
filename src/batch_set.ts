/**
 * The batch set of the peer protocol (see docs/cluster_changes.md): many
 * values of one group in one `PUT {basePath}{group}/` with the header
 * `x-groupcache-batch: 1`, as a leaving node hands its values to their next
 * owners. The body is length-delimited frames (batch_wire.ts), each a
 * `SetRequest` message (key, value, expiry), as the single `PUT` carries.
 * Only our nodes are sent it; one that does not know it answers `400`
 * (an empty key) and is sent single `PUT`s instead.
 *
 * @module
 */

import { ByteView, utf8Length } from "./byte_view.ts";
import { ProtobufError } from "./errors.ts";
import { decodeFrames, writeKey } from "./batch_wire.ts";
import {
  decodeSetRequest,
  msFromUnixNanos,
  unixNanosFromMs,
} from "./protobuf.ts";
import {
  varint64Size,
  varintSize,
  writeVarint,
  writeVarint64,
} from "./varint.ts";

/**
 * The most bytes of values one batch set carries (the sender's bound):
 * small enough that a receiver under load stores one between its other
 * requests (1 MiB ones held them up: p99 × 20 in bench/handoff_bench.ts).
 */
export const MAX_BATCH_SET_BYTES = 256 << 10;

/**
 * A batch set's body of `values` (of the group its path names), written
 * in one buffer: each frame a `SetRequest` with an empty group (receivers
 * read the path's), no copy but the value's, no runtime call for an ASCII
 * key (1 KiB values went at a quarter of the speed through
 * `encodeSetRequest` and a copy into the body).
 */
export function encodeBatchSet(
  values: ReadonlyArray<readonly [string, ByteView]>,
): Uint8Array<ArrayBuffer> {
  const keySizes = values.map(([key]) => utf8Length(key));
  const expires = values.map(([, value]) => unixNanosFromMs(value.expire));
  const sizes = values.map(([, value], i) => {
    const k = keySizes[i];
    return 2 + 1 + varintSize(k) + k + 1 + varintSize(value.length) +
      value.length + 1 + varint64Size(expires[i]);
  });
  let size = 0;
  for (const n of sizes) size += varintSize(n) + n;
  const out = new Uint8Array(size);
  let pos = 0;
  values.forEach(([key, value], i) => {
    pos = writeVarint(out, pos, sizes[i]);
    out[pos++] = 0x0a; // group: empty
    out[pos++] = 0;
    out[pos++] = 0x12;
    pos = writeKey(out, pos, key, keySizes[i]);
    out[pos++] = 0x1a;
    pos = writeVarint(out, pos, value.length);
    pos += value.copyTo(out.subarray(pos, pos + value.length));
    out[pos++] = 0x20;
    pos = writeVarint64(out, pos, expires[i]);
  });
  return out;
}

/**
 * The values of a batch set's body, every frame checked before any is
 * returned: a malformed frame, an empty key or a negative expiry makes the
 * whole body a `ProtobufError`, so nothing of it is stored.
 */
export function decodeBatchSet(body: Uint8Array): Array<[string, ByteView]> {
  return decodeFrames(body).map((frame) => {
    const set = decodeSetRequest(frame);
    if (set.key === "") throw new ProtobufError("empty key in batch set");
    if (set.expire !== undefined && set.expire < 0n) {
      throw new ProtobufError(`negative expire (${set.expire} ns)`);
    }
    const expire = set.expire === undefined || set.expire === 0n
      ? 0
      : msFromUnixNanos(set.expire);
    // A copy: the frame is a view into the request body.
    const value = set.value === undefined
      ? new Uint8Array(0)
      : set.value.slice();
    return [set.key, new ByteView(value, expire)];
  });
}
