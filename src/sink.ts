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

  /** Whether anything was stored yet. */
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

  setString(value: string): void {
    if (typeof value !== "string") {
      throw new TypeError(`setString needs a string, got ${typeof value}`);
    }
    this.store(new ByteView(value));
  }

  setBytes(value: Uint8Array): void {
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`setBytes needs a Uint8Array, got ${typeof value}`);
    }
    this.store(ByteView.copyOf(value));
  }

  setView(value: ByteView): void {
    if (!(value instanceof ByteView)) {
      throw new TypeError(`setView needs a ByteView, got ${typeof value}`);
    }
    this.store(value);
  }

  /** Keeps `view`; kinds that hold something else derive it here (call super). */
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
  /** The stored string; throws {@linkcode SinkNotSetError} if unset. */
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

  /** The stored bytes, the caller's own; throws {@linkcode SinkNotSetError} if unset. */
  get value(): Uint8Array {
    if (this.#bytes === undefined) this.#bytes = this.view.toBytes();
    return this.#bytes;
  }

  /** Keeps `view` and what this kind derives from it. */
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
  /** The caller's buffer. */
  readonly buffer: Uint8Array;
  #written = 0;

  /**
   * Makes a sink that fills `buffer`.
   *
   * @param buffer Where the bytes go; its length is the limit.
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

  /** The filled part of the buffer; throws {@linkcode SinkNotSetError} if unset. */
  get value(): Uint8Array {
    this.view; // throws when unset
    return this.buffer.subarray(0, this.#written);
  }

  /** Keeps `view` and what this kind derives from it. */
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
  /** The stored view; throws {@linkcode SinkNotSetError} if unset. */
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
