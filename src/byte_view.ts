/**
 * ByteView: an immutable view of bytes or of a string, Go's `ByteView`.
 *
 * Cached values are handed out as ByteViews so that no caller can change the
 * bytes another caller (or the cache) sees: every method that gives bytes out
 * gives a copy, and slicing gives another read-only view of the same memory.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * The number of bytes `s` takes as UTF-8 (lone surrogates count as the three
 * bytes of U+FFFD, as `TextEncoder` writes them), without allocating.
 */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // a pair: 2 UTF-16 units, 4 bytes
        i++;
      } else {
        n += 2;
      }
    } else {
      n += 2;
    }
  }
  return n;
}

/**
 * Makes `view` (a fresh bytes view, not yet handed out) a view of `length`
 * bytes that `bytes(view)` makes when they are first read: a cache hit
 * hands out a view and most callers read only its length or copy it once,
 * and making a typed array costs more than the rest of a hit on
 * JavaScriptCore (bench/group_bench.ts, issue 21). For the library's own
 * use (src/framed.ts: one `bytes` for every such view, so that a view
 * carries no field for it); the bytes must never change.
 */
export let viewRange: (
  view: ByteView,
  length: number,
  bytes: (view: ByteView) => Uint8Array,
) => void;
let lazyBytes: ((view: ByteView) => Uint8Array) | undefined;

/**
 * An immutable view of bytes or of a string. Made without copying: a view of
 * a `Uint8Array` takes that array over, so whoever made it must not write to
 * it afterwards (use {@linkcode ByteView.copyOf} to make a view of a copy).
 *
 * @example Reading a view
 * ```ts
 * import { ByteView } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const v = new ByteView("héllo");
 * assert.equal(v.length, 6); // UTF-8 bytes
 * assert.equal(v.at(0), 0x68);
 * assert.equal(v.at(-1), 0x6f); // negative counts from the end
 * assert.equal(v.slice(0, 1).toString(), "h"); // shares memory
 * assert.equal(v.slice(-3).toString(), "llo");
 * assert.ok(v.equals("héllo") && v.equals(new TextEncoder().encode("héllo")));
 *
 * const copy = v.toBytes();
 * copy[0] = 0; // a copy is the caller's own
 * assert.equal(v.at(0), 0x68);
 *
 * const two = new Uint8Array(2);
 * assert.equal(v.copyTo(two), 2); // as many as fit
 * assert.equal(v.copyTo(two, 1), 1); // from an offset in the destination
 * assert.equal(v.readAt(two, 5), 1); // Go's ReadAt: from an offset
 * assert.equal(two[0], 0x6f);
 * ```
 */
export class ByteView {
  #expire: number;
  // Which of the two fields holds the source tells the kind of view, so
  // that a view needs no field for it (a cached value's view is one object
  // per key: fewer fields, fewer cache lines per hit): `#string` without
  // `#bytes` is a string not encoded yet, neither is a view whose bytes are
  // made when first read (see viewRange), and a view of bytes may cache
  // their decoding in `#string`. So a bytes view decodes only from its bytes.
  #bytes: Uint8Array | undefined;
  #string: string | undefined;
  #length: number;

  /**
   * Makes a view of `data`.
   *
   * @param data The bytes or string to view. A `Uint8Array` is not copied:
   * the view takes it over.
   * @param expire When the value expires, in Unix milliseconds; `0` (the
   * default) for never. A finite number, else a `TypeError`.
   *
   * @example Taking an array over, or copying it
   * ```ts
   * import { ByteView } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const bytes = new Uint8Array([104, 105]);
   * const v = new ByteView(bytes);
   * assert.equal(v.toString(), "hi");
   * bytes[1] = 33; // not copied: so never write to an array handed over
   * assert.equal(v.at(1), 33);
   * assert.equal(ByteView.copyOf(bytes).at(1), 33);
   * bytes[1] = 34; // a copy does not see later writes
   * assert.equal(ByteView.copyOf(new Uint8Array([1])).at(0), 1);
   * assert.throws(() => new ByteView(42 as unknown as string), TypeError);
   * ```
   */
  constructor(data: Uint8Array | string, expire = 0) {
    if (expire !== 0 && !Number.isFinite(expire)) {
      throw new TypeError(
        `an expiry must be a finite number of Unix milliseconds (0: never), ` +
          `got ${typeof expire === "number" ? expire : typeof expire}`,
      );
    }
    this.#expire = expire;
    if (typeof data === "string") {
      this.#string = data;
      this.#length = utf8Length(data);
    } else if (data instanceof Uint8Array) {
      this.#bytes = data;
      this.#length = data.length;
    } else {
      throw new TypeError(
        `ByteView needs a Uint8Array or a string, got ${typeof data}`,
      );
    }
  }

  /**
   * When the value expires, in Unix milliseconds on the clock of the group
   * that caches it (`Date.now()` unless the group was given another); `0`
   * for never. From that instant on a cache treats the entry as a miss. It
   * travels to peers with the value; views made from this one (`slice`) do
   * not carry it, and `equals` ignores it (see
   * {@linkcode ByteView.withExpire}).
   */
  get expire(): number {
    return this.#expire;
  }

  /**
   * The number of bytes in the view (UTF-8 bytes for a string view).
   */
  get length(): number {
    return this.#length;
  }

  /**
   * A view of a copy of `bytes`, for bytes the caller will go on changing
   * (see the constructor's example).
   */
  static copyOf(bytes: Uint8Array): ByteView {
    return new ByteView(copy(bytes));
  }

  /**
   * The same bytes (shared, not copied) with another expiry, in Unix
   * milliseconds (`0`: never).
   *
   * @example A value that expires in a minute
   * ```ts
   * import { ByteView } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const v = new ByteView("fresh");
   * assert.equal(v.expire, 0); // never
   * const soon = v.withExpire(Date.now() + 60_000);
   * assert.ok(soon.expire > Date.now());
   * assert.ok(soon.equals(v)); // same bytes; the expiry is not compared
   * assert.equal(soon.slice(1).expire, 0); // a slice is a plain view
   * assert.throws(() => v.withExpire(NaN), TypeError);
   * ```
   */
  withExpire(expire: number): ByteView {
    const view = new ByteView(EMPTY, expire);
    view.#bytes = this.#bytes;
    view.#string = this.#string;
    view.#length = this.#length;
    if (view.#bytes === undefined && view.#string === undefined) {
      view.#bytes = this.#data; // a lazy view's bytes (see viewRange)
    }
    return view;
  }

  /** The string viewed, while its bytes are not made (else `undefined`). */
  get #text(): string | undefined {
    return this.#bytes === undefined ? this.#string : undefined;
  }

  /** The view's bytes, shared, for the library's own read-only use. */
  get #data(): Uint8Array {
    if (this.#bytes === undefined) {
      this.#bytes = this.#string === undefined
        ? lazyBytes!(this) // see viewRange
        : this.length === 0
        ? EMPTY
        : encoder.encode(this.#string!);
    }
    return this.#bytes;
  }

  static {
    viewRange = (view, length, bytes) => {
      lazyBytes = bytes;
      view.#bytes = undefined;
      view.#length = length;
    };
  }

  /**
   * The byte at `index` (negative counts from the end), or `undefined` when
   * out of range, as `Uint8Array.prototype.at`.
   */
  at(index: number): number | undefined {
    return this.#data.at(index);
  }

  /**
   * A view of bytes `from` up to (not including) `to`, sharing memory, with
   * the bounds rules of `Uint8Array.prototype.subarray` (negative indexes
   * count from the end; out-of-range indexes are clamped).
   */
  slice(from: number, to?: number): ByteView {
    return new ByteView(this.#data.subarray(from, to));
  }

  /**
   * A copy of the bytes that the caller owns.
   */
  toBytes(): Uint8Array {
    return copy(this.#data);
  }

  /**
   * The bytes decoded as UTF-8 (invalid sequences become U+FFFD).
   */
  toString(): string {
    if (this.#string === undefined) this.#string = decoder.decode(this.#data);
    return this.#string;
  }

  /**
   * Whether the view holds the same bytes as `other` (a string compares by
   * its UTF-8 bytes).
   */
  equals(other: ByteView | string | Uint8Array): boolean {
    if (other instanceof ByteView) {
      if (other === this) return true;
      if (other.length !== this.length) return false;
      const text = this.#text;
      if (text !== undefined && text === other.#text) {
        return true; // else compare bytes: lone surrogates encode alike
      }
      return bytesEqual(this.#data, other.#data);
    }
    if (typeof other === "string") {
      if (this.#text === other) return true;
      return this.length === utf8Length(other) &&
        bytesEqual(this.#data, encoder.encode(other));
    }
    if (other instanceof Uint8Array) return bytesEqual(this.#data, other);
    return false;
  }

  /**
   * Copies as many bytes as fit into `dest`, from `offset` in it (default
   * 0), and returns how many it copied. An offset outside `0..dest.length`
   * throws a `RangeError`.
   */
  copyTo(dest: Uint8Array, offset = 0): number {
    if (!Number.isInteger(offset) || offset < 0 || offset > dest.length) {
      throw new RangeError(
        `copyTo offset ${offset} is outside the destination (0..${dest.length})`,
      );
    }
    const room = dest.length - offset;
    const s = this.#string;
    if (s !== undefined && this.#bytes === undefined && room >= this.#length) {
      // A string view that fits: written straight into dest, no bytes made.
      if (s!.length === this.#length && s!.length <= 64) {
        // ASCII (one byte per UTF-16 unit) and short: a loop beats making
        // a subarray for encodeInto.
        for (let i = 0; i < s!.length; i++) dest[offset + i] = s!.charCodeAt(i);
        return s!.length;
      }
      return encoder.encodeInto(s!, offset === 0 ? dest : dest.subarray(offset))
        .written;
    }
    const src = this.#data;
    const n = Math.min(src.length, room);
    dest.set(n === src.length ? src : src.subarray(0, n), offset);
    return n;
  }

  /**
   * Copies bytes starting at `offset` into `dest`; returns how many it copied
   * (fewer than `dest.length` at the end of the view, 0 at its end). Like
   * Go's `ReadAt`; an offset outside `0..length` throws a `RangeError`.
   */
  readAt(dest: Uint8Array, offset: number): number {
    if (!Number.isInteger(offset) || offset < 0 || offset > this.length) {
      throw new RangeError(
        `readAt offset ${offset} is outside the view (0..${this.length})`,
      );
    }
    const src = this.#data;
    const n = Math.min(src.length - offset, dest.length);
    dest.set(src.subarray(offset, offset + n));
    return n;
  }

  /**
   * The bytes as a stream of copies (chunks of at most 64 KiB), for example
   * as a `Response` body.
   *
   * @example As a Response body
   * ```ts
   * import { ByteView } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const text = await new Response(new ByteView("streamed").stream()).text();
   * assert.equal(text, "streamed");
   * ```
   */
  stream(): ReadableStream<Uint8Array> {
    const src = this.#data;
    let offset = 0;
    return new ReadableStream({
      type: "bytes",
      pull(controller) {
        const request = controller.byobRequest;
        if (offset >= src.length) {
          controller.close();
          request?.respond(0); // settle a BYOB reader's last read
          return;
        }
        if (request?.view) {
          // A BYOB reader: copy straight into its buffer.
          const view = request.view;
          const dest = new Uint8Array(
            view.buffer,
            view.byteOffset,
            view.byteLength,
          );
          const n = Math.min(dest.length, src.length - offset);
          dest.set(src.subarray(offset, offset + n));
          offset += n;
          request.respond(n);
          return;
        }
        const end = Math.min(offset + 65536, src.length);
        controller.enqueue(copy(src, offset, end));
        offset = end;
      },
    });
  }

  /**
   * Node's console shows the view's size and start rather than its fields.
   *
   * @example In Node's console
   * ```ts
   * import { ByteView } from "@x/groupcache";
   * import assert from "node:assert/strict";
   * import { inspect } from "node:util";
   *
   * assert.equal(inspect(new ByteView("hello")), 'ByteView(5) "hello"');
   * ```
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `ByteView(${this.length}) ${
      JSON.stringify(this.toString().slice(0, 40))
    }`;
  }
}

/**
 * A fresh copy of `bytes[start..end)`. Not `bytes.slice()`: on a Node
 * `Buffer` (what sharp, node:fs and friends hand out) `slice` shares memory.
 */
function copy(bytes: Uint8Array, start?: number, end?: number): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes, start, end);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
