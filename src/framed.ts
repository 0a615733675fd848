/**
 * Hits served in place: the cache keeps each value framed as its
 * `GetResponse` (src/slab_store.ts) and hands out views of them that say so
 * ({@linkcode FramedView}), so that a peer's answer for a cached value is a
 * view of those bytes, no copy.
 *
 * @module
 */

import { ByteView, viewRange } from "./byte_view.ts";
import { encodeGetResponseMessage, unixNanosFromMs } from "./protobuf.ts";
import { varint64Size, varintSize } from "./varint.ts";

const EMPTY = new Uint8Array(0);

/**
 * A view the cache hands out: it views bytes that sit framed as their
 * `GetResponse` in a buffer written once and never changed (the cache's
 * slabs, see src/slab_store.ts). Only these are served in place: a caller's
 * own buffer may hold framing-like bytes around a view that it rewrites
 * later, while a response still reads them. The view says so itself, so
 * that a hit records nothing anywhere (a table of views would be written on
 * every hit and weigh on every garbage collection). It holds the buffer and
 * where its bytes start, not a `Uint8Array` of them: one is made only when
 * they are read (see `viewRange`).
 */
export class FramedView extends ByteView {
  /** The cache's buffer the bytes sit in. */
  readonly slab: Uint8Array<ArrayBuffer>;
  /** Where the bytes start in `slab`. */
  readonly start: number;

  /**
   * A view of the `length` bytes from `start` of `slab`, a buffer that
   * never changes (by default all of it).
   */
  constructor(
    slab: Uint8Array<ArrayBuffer>,
    expire: number,
    start = 0,
    length: number = slab.length - start,
  ) {
    super(EMPTY, expire);
    this.slab = slab;
    this.start = start;
    viewRange(this, length, framedBytes);
  }

  // The last answer body made of it: a key asked again is answered without
  // a new view or a new check of its framing. Which dialect it was made for
  // shows in its end (see `body`), so that a view needs no field for it.
  #body: Uint8Array<ArrayBuffer> | undefined;
  // The promise a get answers with it (see `answer`).
  #answer: Promise<ByteView> | undefined;

  /** A promise of this view, the same one each call (see {@linkcode answer}). */
  answer(): Promise<ByteView> {
    return this.#answer ??= Promise.resolve(this);
  }

  /** The bytes viewed, in the cache's buffer (a new `Uint8Array` each call). */
  get framed(): Uint8Array<ArrayBuffer> {
    return this.slab.subarray(this.start, this.start + this.length);
  }

  /** Its `GetResponse` in place (see {@linkcode hitBody}), if it is framed so. */
  body(mailgun: boolean): Uint8Array<ArrayBuffer> | undefined {
    const { slab } = this;
    const last = this.#body;
    if (last !== undefined) {
      // Past the value: nothing (Go's dialect), `0x18 0x00` (mailgun's) or,
      // for a value with an expiry, the expiry, which both dialects write.
      const tail = last.byteOffset + last.length -
        (slab.byteOffset + this.start + this.length);
      if (this.expire !== 0 || tail === (mailgun ? 2 : 0)) return last;
    }
    const body = framedBody(
      slab.buffer,
      slab.byteOffset + this.start,
      this.length,
      this.expire,
      mailgun,
    );
    this.#body = body;
    return body;
  }
}

/**
 * What `Group.get` answers: `found` if it is a promise, else a promise of
 * it. A cache's view keeps the first promise made of it and every later hit
 * on it gets that one (a settled promise never changes, so callers can
 * share it): a hit of a key asked before makes no object, where a promise
 * per hit cost ~15 ns and the garbage collector's work on Bun and Deno
 * alike (bench/group_bench.ts, issue 21).
 */
export function answer(found: ByteView | Promise<ByteView>): Promise<ByteView> {
  if (found instanceof FramedView) return found.answer();
  return found instanceof ByteView ? Promise.resolve(found) : found;
}

/** The bytes a FramedView views, made when first read (see `viewRange`). */
function framedBytes(view: ByteView): Uint8Array {
  return (view as FramedView).framed;
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
  if (view instanceof FramedView) {
    const body = view.body(mailgun);
    if (body !== undefined) return body;
  }
  return encodeGetResponseMessage({
    value: view,
    expire: mailgun || expire !== 0 ? unixNanosFromMs(expire) : undefined,
  });
}

/**
 * The bytes of a cache's `buffer` that surround the `n` bytes of a value at
 * `at` as its `GetResponse` would, checked byte for byte; `undefined` when
 * they are not there.
 */
function framedBody(
  buffer: ArrayBuffer,
  at: number,
  n: number,
  expire: number,
  mailgun: boolean,
): Uint8Array<ArrayBuffer> | undefined {
  const start = at - 1 - varintSize(n);
  const ns = expire !== 0 ? unixNanosFromMs(expire) : undefined;
  const tail = ns !== undefined ? 1 + varint64Size(ns) : mailgun ? 2 : 0;
  const end = at + n + tail;
  if (start < 0 || end > buffer.byteLength) return undefined;
  const out = new Uint8Array(buffer, start, end - start);
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
