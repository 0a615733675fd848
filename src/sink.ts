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
 * setting twice keeps the last value.
 *
 * @example
 * ```ts
 * import { type Sink, stringSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * function fill(dest: Sink) {
 *   dest.setString("hello");
 * }
 * const sink = stringSink();
 * fill(sink);
 * assert.equal(sink.value, "hello");
 * ```
 */
export interface Sink {
  /** Stores a string (as its UTF-8 bytes). */
  setString(value: string): void;
  /** Stores a copy of `value`. */
  setBytes(value: Uint8Array): void;
  /** Stores a view (views are immutable, so no copy is needed). */
  setView(value: ByteView): void;
}

/**
 * What every sink kind here shares: whether it was set, and the last value
 * as a view. Extend it to make a sink kind of your own.
 *
 * @example
 * ```ts
 * import { BaseSink, type ByteView } from "@x/groupcache";
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
 * sink.setString("four");
 * assert.equal(sink.length, 4);
 * ```
 */
export abstract class BaseSink implements Sink {
  #view: ByteView | undefined;

  /**
   * Whether anything was stored yet.
   *
   * @example
   * ```ts
   * import { stringSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const sink = stringSink();
   * assert.equal(sink.isSet, false);
   * sink.setString("");
   * assert.equal(sink.isSet, true); // an empty value counts
   * ```
   */
  get isSet(): boolean {
    return this.#view !== undefined;
  }

  /**
   * The stored value as a view; throws {@linkcode SinkNotSetError} if unset.
   *
   * @example
   * ```ts
   * import { bytesSink, SinkNotSetError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const sink = bytesSink();
   * assert.throws(() => sink.view, SinkNotSetError);
   * sink.setString("abc");
   * assert.equal(sink.view.toString(), "abc");
   * ```
   */
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
   * @example
   * ```ts
   * import { bytesSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const sink = bytesSink();
   * sink.setString("é");
   * assert.deepEqual(sink.value, new Uint8Array([0xc3, 0xa9]));
   * sink.setString("x"); // the last value wins
   * assert.deepEqual(sink.value, new Uint8Array([0x78]));
   * ```
   */
  setString(value: string): void {
    if (typeof value !== "string") {
      throw new TypeError(`setString needs a string, got ${typeof value}`);
    }
    this.store(new ByteView(value));
  }

  /**
   * Stores a copy of `value`, so the caller may reuse its buffer.
   *
   * @example
   * ```ts
   * import { stringSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const buf = new TextEncoder().encode("abc");
   * const sink = stringSink();
   * sink.setBytes(buf);
   * buf[0] = 0x7a; // "zbc" now, but the sink kept a copy
   * assert.equal(sink.value, "abc");
   * assert.throws(() => sink.setBytes("abc" as never), TypeError);
   * ```
   */
  setBytes(value: Uint8Array): void {
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`setBytes needs a Uint8Array, got ${typeof value}`);
    }
    this.store(ByteView.copyOf(value));
  }

  /**
   * Stores `value` itself: views are immutable, so no copy is needed.
   *
   * @example
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
  setView(value: ByteView): void {
    if (!(value instanceof ByteView)) {
      throw new TypeError(`setView needs a ByteView, got ${typeof value}`);
    }
    this.store(value);
  }

  /**
   * Keeps `view`; kinds that hold something else derive it here (call
   * super). Every setter ends here.
   *
   * @example
   * ```ts
   * import { BaseSink, type ByteView } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * class CountingSink extends BaseSink {
   *   stores = 0;
   *   protected override store(view: ByteView): void {
   *     super.store(view);
   *     this.stores++;
   *   }
   * }
   * const sink = new CountingSink();
   * sink.setString("a");
   * sink.setBytes(new Uint8Array([1, 2]));
   * assert.equal(sink.stores, 2);
   * assert.equal(sink.view.length, 2);
   * ```
   */
  protected store(view: ByteView): void {
    this.#view = view;
  }
}

/**
 * A sink that keeps a string (Go's `StringSink`).
 *
 * @example
 * ```ts
 * import { stringSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const sink = stringSink();
 * sink.setBytes(new TextEncoder().encode("ok"));
 * assert.equal(sink.value, "ok");
 * ```
 */
export class StringSink extends BaseSink {
  /**
   * The stored string; throws {@linkcode SinkNotSetError} if unset.
   *
   * @example
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
  get value(): string {
    return this.view.toString();
  }
}

/**
 * A sink that keeps its own copy of the bytes (Go's
 * `AllocatingByteSliceSink`): the caller may change `value` freely.
 *
 * @example
 * ```ts
 * import { bytesSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const buf = new Uint8Array([1, 2]);
 * const sink = bytesSink();
 * sink.setBytes(buf);
 * buf[0] = 7; // the sink copied
 * assert.deepEqual(sink.value, new Uint8Array([1, 2]));
 * ```
 */
export class BytesSink extends BaseSink {
  #bytes: Uint8Array | undefined;

  /**
   * The stored bytes, the caller's own; throws {@linkcode SinkNotSetError} if
   * unset.
   *
   * @example
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
   * ```
   */
  get value(): Uint8Array {
    if (this.#bytes === undefined) this.#bytes = this.view.toBytes();
    return this.#bytes;
  }

  /**
   * Keeps `view` and what this kind derives from it.
   *
   * @example
   * ```ts
   * import { bytesSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const sink = bytesSink();
   * sink.setString("old");
   * assert.deepEqual(sink.value, new TextEncoder().encode("old"));
   * sink.setString("new"); // the bytes derived from "old" are dropped
   * assert.deepEqual(sink.value, new TextEncoder().encode("new"));
   * ```
   */
  protected override store(view: ByteView): void {
    super.store(view);
    this.#bytes = undefined;
  }
}

/**
 * A sink that copies into a buffer the caller gave, at most `buf.length`
 * bytes (Go's `TruncatingByteSliceSink`).
 *
 * @example
 * ```ts
 * import { truncatingBytesSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const sink = truncatingBytesSink(new Uint8Array(3));
 * sink.setString("abcdef");
 * assert.equal(sink.bytesWritten, 3);
 * assert.ok(sink.truncated);
 * assert.deepEqual(sink.value, new Uint8Array([97, 98, 99]));
 * ```
 */
export class TruncatingBytesSink extends BaseSink {
  /**
   * The caller's buffer.
   *
   * @example
   * ```ts
   * import { truncatingBytesSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const buf = new Uint8Array(4);
   * const sink = truncatingBytesSink(buf);
   * assert.equal(sink.buffer, buf);
   * sink.setString("ok");
   * assert.deepEqual(buf.subarray(0, 2), new Uint8Array([0x6f, 0x6b]));
   * ```
   */
  readonly buffer: Uint8Array;
  #written = 0;

  /**
   * Makes a sink that fills `buffer`.
   *
   * @param buffer Where the bytes go; its length is the limit.
   *
   * @example
   * ```ts
   * import { TruncatingBytesSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const sink = new TruncatingBytesSink(new Uint8Array(2));
   * sink.setString("abc");
   * assert.deepEqual(sink.value, new Uint8Array([97, 98]));
   * assert.throws(() => new TruncatingBytesSink([] as never), TypeError);
   * ```
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

  /**
   * How many bytes were copied into the buffer (0 before any set).
   *
   * @example
   * ```ts
   * import { truncatingBytesSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const sink = truncatingBytesSink(new Uint8Array(4));
   * assert.equal(sink.bytesWritten, 0);
   * sink.setString("abcdef");
   * assert.equal(sink.bytesWritten, 4);
   * sink.setString("x");
   * assert.equal(sink.bytesWritten, 1);
   * ```
   */
  get bytesWritten(): number {
    return this.#written;
  }

  /**
   * Whether the value was longer than the buffer.
   *
   * @example
   * ```ts
   * import { truncatingBytesSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const sink = truncatingBytesSink(new Uint8Array(2));
   * assert.equal(sink.truncated, false);
   * sink.setString("ab");
   * assert.equal(sink.truncated, false); // it fit exactly
   * sink.setString("abc");
   * assert.equal(sink.truncated, true);
   * ```
   */
  get truncated(): boolean {
    return this.isSet && this.view.length > this.#written;
  }

  /**
   * The filled part of the buffer; throws {@linkcode SinkNotSetError} if unset.
   *
   * @example
   * ```ts
   * import { SinkNotSetError, truncatingBytesSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const buf = new Uint8Array(8);
   * const sink = truncatingBytesSink(buf);
   * assert.throws(() => sink.value, SinkNotSetError);
   * sink.setString("abc");
   * assert.equal(sink.value.length, 3);
   * assert.equal(sink.value.buffer, buf.buffer); // a window on buf, not a copy
   * ```
   */
  get value(): Uint8Array {
    this.view; // throws when unset
    return this.buffer.subarray(0, this.#written);
  }

  /**
   * Keeps `view` and what this kind derives from it.
   *
   * @example
   * ```ts
   * import { truncatingBytesSink } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const sink = truncatingBytesSink(new Uint8Array(3));
   * sink.setString("abc");
   * sink.setString("z"); // copied again: one byte written now
   * assert.deepEqual(sink.value, new Uint8Array([0x7a]));
   * assert.equal(sink.buffer[1], 98); // the rest of the buffer is left alone
   * ```
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
 * @example
 * ```ts
 * import { byteViewSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const sink = byteViewSink();
 * sink.setString("view");
 * assert.equal(sink.value.toString(), "view");
 * ```
 */
export class ByteViewSink extends BaseSink {
  /**
   * The stored view; throws {@linkcode SinkNotSetError} if unset.
   *
   * @example
   * ```ts
   * import { byteViewSink, SinkNotSetError } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const sink = byteViewSink();
   * assert.throws(() => sink.value, SinkNotSetError);
   * sink.setBytes(new Uint8Array([0x76]));
   * assert.equal(sink.value.toString(), "v");
   * ```
   */
  get value(): ByteView {
    return this.view;
  }
}

/**
 * A sink that keeps a string.
 *
 * @example
 * ```ts
 * import { stringSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const sink = stringSink();
 * assert.equal(sink.isSet, false);
 * sink.setString("x");
 * assert.equal(sink.value, "x");
 * ```
 */
export function stringSink(): StringSink {
  return new StringSink();
}

/**
 * A sink that keeps its own copy of the bytes.
 *
 * @example
 * ```ts
 * import { bytesSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const sink = bytesSink();
 * sink.setString("hi");
 * assert.deepEqual(sink.value, new Uint8Array([104, 105]));
 * ```
 */
export function bytesSink(): BytesSink {
  return new BytesSink();
}

/**
 * A sink that copies at most `buffer.length` bytes into `buffer`.
 *
 * @example
 * ```ts
 * import { truncatingBytesSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const sink = truncatingBytesSink(new Uint8Array(8));
 * sink.setString("abc");
 * assert.equal(sink.bytesWritten, 3);
 * assert.equal(sink.truncated, false);
 * ```
 */
export function truncatingBytesSink(buffer: Uint8Array): TruncatingBytesSink {
  return new TruncatingBytesSink(buffer);
}

/**
 * A sink that keeps the immutable view.
 *
 * @example
 * ```ts
 * import { byteViewSink } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const sink = byteViewSink();
 * sink.setBytes(new Uint8Array([1]));
 * assert.equal(sink.value.length, 1);
 * ```
 */
export function byteViewSink(): ByteViewSink {
  return new ByteViewSink();
}
