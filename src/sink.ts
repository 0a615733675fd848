/**
 * Sinks: what a getter fills, Go's `Sink`. A getter stores the value it
 * loaded with one of the three setters; the kinds differ in what they keep.
 *
 * @module
 */

import { ByteView } from "./byte_view.ts";
import { SinkNotSetError } from "./errors.ts";

/**
 * What a getter fills. `setBytes` copies (the getter may reuse its buffer);
 * setting twice keeps the last value. Each setter takes an optional expiry,
 * as mailgun's `SetBytes(b, expire)`: Unix milliseconds on the group's
 * clock, `0` or absent for never (the group's `ttlMs`, if any, then
 * applies).
 *
 * @example One getter, any sink kind
 * ```ts
 * import { bytesSink, type Sink, stringSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const buf = new TextEncoder().encode("hello");
 * function fill(dest: Sink) {
 *   dest.setBytes(buf);
 *   buf.fill(0); // safe: setBytes copied
 * }
 * const text = stringSink();
 * fill(text);
 * assert.equal(text.value, "hello");
 * const bytes = bytesSink();
 * bytes.setString("old");
 * bytes.setString("hi"); // the last value wins
 * assert.deepEqual(bytes.value, new Uint8Array([104, 105]));
 * ```
 */
export interface Sink {
  /** Stores a string (as its UTF-8 bytes), expiring at `expire` if given. */
  setString(value: string, expire?: number): void;
  /** Stores a copy of `value`, expiring at `expire` if given. */
  setBytes(value: Uint8Array, expire?: number): void;
  /**
   * Stores a view (views are immutable, so no copy is needed); it keeps its
   * own expiry unless `expire` is given.
   */
  setView(value: ByteView, expire?: number): void;
}

/**
 * What every sink kind here shares: whether it was set, and the last value
 * as a view. Extend it to make a sink kind of your own: every setter ends in
 * `store`, so overriding that one method is enough.
 *
 * @example A sink kind of your own
 * ```ts
 * import { BaseSink, type ByteView, SinkNotSetError } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * class LengthSink extends BaseSink {
 *   length = 0;
 *   protected override store(view: ByteView): void {
 *     super.store(view);
 *     this.length = view.length;
 *   }
 * }
 * const sink = new LengthSink();
 * assert.equal(sink.isSet, false);
 * assert.throws(() => sink.view, SinkNotSetError);
 * sink.setString("four");
 * assert.equal(sink.length, 4);
 * sink.setBytes(new Uint8Array(0)); // every setter ends in store
 * assert.equal(sink.length, 0);
 * assert.equal(sink.isSet, true); // an empty value counts
 * ```
 */
export abstract class BaseSink implements Sink {
  #view: ByteView | undefined;

  /** Whether anything was stored yet; an empty value counts. */
  get isSet(): boolean {
    return this.#view !== undefined;
  }

  /** The stored value as a view; throws {@linkcode SinkNotSetError} if unset. */
  get view(): ByteView {
    if (this.#view === undefined) {
      throw new SinkNotSetError(
        `${this.constructor.name} was read before anything was stored in it`,
      );
    }
    return this.#view;
  }

  /**
   * Stores `value` as its UTF-8 bytes; setting again replaces the value.
   *
   * @throws {TypeError} When `value` is not a string, or `expire` is not a
   *   finite number.
   */
  setString(value: string, expire?: number): void {
    if (typeof value !== "string") {
      throw new TypeError(`setString needs a string, got ${typeof value}`);
    }
    this.store(new ByteView(value, expire));
  }

  /**
   * Stores a copy of `value`, so the caller may reuse its buffer.
   *
   * @throws {TypeError} When `value` is not a `Uint8Array`, or `expire` is
   *   not a finite number.
   */
  setBytes(value: Uint8Array, expire?: number): void {
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`setBytes needs a Uint8Array, got ${typeof value}`);
    }
    this.store(new ByteView(value.slice(), expire));
  }

  /**
   * Stores `value` itself: views are immutable, so no copy is needed. The
   * view keeps its own expiry unless `expire` is given.
   *
   * @throws {TypeError} When `value` is not a {@linkcode ByteView}, or
   *   `expire` is not a finite number.
   */
  setView(value: ByteView, expire?: number): void {
    if (!(value instanceof ByteView)) {
      throw new TypeError(`setView needs a ByteView, got ${typeof value}`);
    }
    this.store(expire === undefined ? value : value.withExpire(expire));
  }

  /**
   * Keeps `view`; kinds that hold something else derive it here (call
   * super). Every setter ends here.
   */
  protected store(view: ByteView): void {
    this.#view = view;
  }
}

/**
 * A sink that keeps a string (Go's `StringSink`).
 *
 * @example Read back as a string
 * ```ts
 * import { SinkNotSetError, stringSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const sink = stringSink();
 * assert.throws(() => sink.value, SinkNotSetError);
 * sink.setBytes(new Uint8Array([0x68, 0x69]));
 * assert.equal(sink.value, "hi");
 * ```
 */
export class StringSink extends BaseSink {
  /** The stored string; throws {@linkcode SinkNotSetError} if unset. */
  get value(): string {
    return this.view.toString();
  }
}

/**
 * A sink that keeps its own copy of the bytes (Go's
 * `AllocatingByteSliceSink`): the caller may change `value` freely.
 *
 * @example The caller owns the bytes
 * ```ts
 * import { bytesSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const sink = bytesSink();
 * sink.setString("ab");
 * const bytes = sink.value;
 * assert.deepEqual(bytes, new Uint8Array([97, 98]));
 * bytes[0] = 0; // a copy: the stored value is untouched
 * assert.equal(sink.view.toString(), "ab");
 * sink.setString("new"); // the copy of "ab" is dropped
 * assert.deepEqual(sink.value, new TextEncoder().encode("new"));
 * ```
 */
export class BytesSink extends BaseSink {
  #bytes: Uint8Array | undefined;

  /**
   * The stored bytes, the caller's own; throws {@linkcode SinkNotSetError} if
   * unset.
   */
  get value(): Uint8Array {
    if (this.#bytes === undefined) this.#bytes = this.view.toBytes();
    return this.#bytes;
  }

  /** Keeps `view` and drops the bytes derived from the previous one. */
  protected override store(view: ByteView): void {
    super.store(view);
    this.#bytes = undefined;
  }
}

/**
 * A sink that copies into a buffer the caller gave, at most `buf.length`
 * bytes (Go's `TruncatingByteSliceSink`).
 *
 * @example A fixed buffer
 * ```ts
 * import { truncatingBytesSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const buf = new Uint8Array(3);
 * const sink = truncatingBytesSink(buf);
 * assert.equal(sink.bytesWritten, 0);
 * sink.setString("abc");
 * assert.equal(sink.truncated, false); // it fit exactly
 * sink.setString("abcdef");
 * assert.equal(sink.bytesWritten, 3);
 * assert.equal(sink.truncated, true);
 * assert.deepEqual(sink.value, new Uint8Array([97, 98, 99]));
 * assert.equal(sink.value.buffer, buf.buffer); // a window on buf, not a copy
 * ```
 */
export class TruncatingBytesSink extends BaseSink {
  /** The caller's buffer. */
  readonly buffer: Uint8Array;
  #written = 0;

  /**
   * Makes a sink that fills `buffer`.
   *
   * @param buffer Where the bytes go; its length is the limit.
   * @throws {TypeError} When `buffer` is not a `Uint8Array`.
   */
  constructor(buffer: Uint8Array) {
    super();
    if (!(buffer instanceof Uint8Array)) {
      throw new TypeError(
        `truncatingBytesSink needs a Uint8Array buffer, got ${typeof buffer}`,
      );
    }
    this.buffer = buffer;
  }

  /** How many bytes were copied into the buffer (0 before any set). */
  get bytesWritten(): number {
    return this.#written;
  }

  /** Whether the value was longer than the buffer. */
  get truncated(): boolean {
    return this.isSet && this.view.length > this.#written;
  }

  /**
   * The filled part of the buffer (not a copy); throws
   * {@linkcode SinkNotSetError} if unset.
   */
  get value(): Uint8Array {
    this.view; // throws when unset
    return this.buffer.subarray(0, this.#written);
  }

  /**
   * Keeps `view` and copies it into the buffer again; bytes past the new
   * length are left as they were.
   */
  protected override store(view: ByteView): void {
    super.store(view);
    this.#written = view.copyTo(this.buffer);
  }
}

/**
 * A sink that keeps the immutable view itself (Go's `ByteViewSink`): no copy
 * at all when the value comes from the cache.
 *
 * @example No copy of a view
 * ```ts
 * import { ByteView, byteViewSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const view = new ByteView("shared");
 * const sink = byteViewSink();
 * sink.setView(view);
 * assert.equal(sink.value, view); // the same view, not a copy
 * ```
 */
export class ByteViewSink extends BaseSink {
  /** The stored view; throws {@linkcode SinkNotSetError} if unset. */
  get value(): ByteView {
    return this.view;
  }
}

// The factories mirror Go's constructors (StringSink(&s) and so on); the
// class examples use them, so they are not repeated here.

/** Makes an empty {@linkcode StringSink} (see its example). */
export function stringSink(): StringSink {
  return new StringSink();
}

/** Makes an empty {@linkcode BytesSink} (see its example). */
export function bytesSink(): BytesSink {
  return new BytesSink();
}

/**
 * Makes a {@linkcode TruncatingBytesSink} that copies at most
 * `buffer.length` bytes into `buffer` (see its example).
 */
export function truncatingBytesSink(buffer: Uint8Array): TruncatingBytesSink {
  return new TruncatingBytesSink(buffer);
}

/** Makes an empty {@linkcode ByteViewSink} (see its example). */
export function byteViewSink(): ByteViewSink {
  return new ByteViewSink();
}
