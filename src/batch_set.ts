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

import { ByteView } from "./byte_view.ts";
import { ProtobufError } from "./errors.ts";
import { decodeFrames, encodeFrames } from "./batch_wire.ts";
import {
  decodeSetRequest,
  encodeSetRequest,
  msFromUnixNanos,
  unixNanosFromMs,
} from "./protobuf.ts";

/** The most bytes of values one batch set carries (the sender's bound). */
export const MAX_BATCH_SET_BYTES = 1 << 20;

/** A batch set's body of `values` of `group`. */
export function encodeBatchSet(
  group: string,
  values: ReadonlyArray<readonly [string, ByteView]>,
): Uint8Array<ArrayBuffer> {
  return encodeFrames(values.map(([key, value]) =>
    encodeSetRequest({
      group,
      key,
      value: value.toBytes(),
      expire: unixNanosFromMs(value.expire),
    })
  ));
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
