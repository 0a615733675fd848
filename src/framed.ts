/**
 * Hits served in place: the cache keeps each value framed as its
 * `GetResponse` (src/slab_store.ts) and records the views it makes of them,
 * so that a peer's answer for a cached value is a view of those bytes, no
 * copy.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import { encodeGetResponseMessage, unixNanosFromMs } from "./protobuf.ts";
import { varint64Size, varintSize } from "./varint.ts";

/**
 * The cache's views, each with the bytes it views: bytes that sit framed as
 * their `GetResponse` in a buffer written once and never changed (the cache's
 * slabs, see src/slab_store.ts). Only these are served in place: a caller's
 * own buffer may hold framing-like bytes around a view that it rewrites
 * later, while a response still reads them.
 */
const framed = new WeakMap<ByteView, Uint8Array>();

/**
 * Records that `view` views `bytes`, framed in a buffer whose bytes are
 * written once and never changed.
 */
export function markFramed(view: ByteView, bytes: Uint8Array): void {
  framed.set(view, bytes);
}

/**
 * The bytes {@linkcode markFramed} recorded for `view`, if any.
 */
export function framedBytes(view: ByteView): Uint8Array | undefined {
  return framed.get(view);
}

/**
 * The body of a peer's answer for a cached value: `GetResponse{value}`, with
 * mailgun's `expire` when the value has one or when `mailgun` asks for it
 * always (a mailgun node always writes it, 0 for never). Every way of
 * serving a hit takes its bytes from here. A cached value is answered with a
 * view of the bytes around it in the cache, when they are exactly what
 * encoding would write (no copy); anything else is encoded.
 */
export function hitBody(
  view: ByteView,
  mailgun: boolean,
): Uint8Array<ArrayBuffer> {
  const expire = view.expire;
  const bytes = framedBytes(view);
  if (bytes !== undefined) {
    const body = framedBody(bytes, expire, mailgun);
    if (body !== undefined) return body;
  }
  return encodeGetResponseMessage({
    value: view,
    expire: mailgun || expire !== 0 ? unixNanosFromMs(expire) : undefined,
  });
}

/**
 * The bytes of a cache's buffer that surround `value` as its `GetResponse`
 * would, checked byte for byte; `undefined` when they are not there.
 */
function framedBody(
  value: Uint8Array,
  expire: number,
  mailgun: boolean,
): Uint8Array<ArrayBuffer> | undefined {
  const buffer = value.buffer;
  const n = value.length;
  const start = value.byteOffset - 1 - varintSize(n);
  const ns = expire !== 0 ? unixNanosFromMs(expire) : undefined;
  const tail = ns !== undefined ? 1 + varint64Size(ns) : mailgun ? 2 : 0;
  const end = value.byteOffset + n + tail;
  if (start < 0 || end > buffer.byteLength) return undefined;
  const out = new Uint8Array(buffer as ArrayBuffer, start, end - start);
  if (out[0] !== 0x0a) return undefined;
  let pos = 1;
  let v = n;
  for (; v >= 0x80; v = Math.floor(v / 128)) {
    if (out[pos++] !== ((v & 0x7f) | 0x80)) return undefined;
  }
  if (out[pos] !== v) return undefined;
  if (tail === 0) return out;
  pos = out.length - tail;
  if (out[pos++] !== 0x18) return undefined;
  if (ns === undefined) return out[pos] === 0 ? out : undefined;
  let u = BigInt.asUintN(64, ns);
  for (; u >= 0x80n; u >>= 7n) {
    if (out[pos++] !== (Number(u & 0x7fn) | 0x80)) return undefined;
  }
  return out[pos] === Number(u) ? out : undefined;
}
