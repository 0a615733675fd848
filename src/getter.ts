/**
 * Getters: what a group runs on a miss (Go's `Getter` and `GetterFunc`),
 * what a getter may return, and how that becomes a {@linkcode ByteView} or
 * a {@linkcode GetterError} that says what the getter did wrong.
 *
 * @module
 */

import { ByteView } from "./byte_view.ts";
import { GetterError, SinkNotSetError } from "./errors.ts";
import { checkSetExpiry, expiryProblem } from "./expiry.ts";
import type { ByteViewSink, Sink } from "./sink.ts";

/** What a getter is told besides the key and the sink. */
export interface GetterContext {
  /**
   * Aborts when nobody waits for this load any more (every caller that
   * shares it left through its own signal) or when it outlives the group's
   * `loadTimeoutMs`. A getter that honours it saves work; a value it still
   * produces is cached.
   */
  readonly signal: AbortSignal;
}

/**
 * The context a group hands its getter for one load: the load's signal,
 * made when first read. A class, not an object literal with a `get signal()`
 * of its own: on V8 an accessor made per object kept each miss's objects
 * (its sink, the value's copy and that copy's buffer) alive through young
 * collections until the next full one, so a churn of misses grew the heap
 * and the buffers held outside it by tens of MiB (bench/memory_bench.ts,
 * issue 21).
 */
export class LoadContext implements GetterContext {
  // The load: it has the signal, made when first read.
  readonly #load: GetterContext;

  constructor(load: GetterContext) {
    this.#load = load;
  }

  /** The load's signal (see {@linkcode GetterContext.signal}). */
  get signal(): AbortSignal {
    return this.#load.signal;
  }
}

/**
 * A value with its expiry, as a getter may return it: `expire` is in Unix
 * milliseconds on the group's clock (`now`, `Date.now()` by default), `0`
 * for never.
 */
export interface ExpiringValue {
  /** The value, as a getter may return it plainly. */
  value: Uint8Array | string | ByteView;
  /** When it expires, in Unix milliseconds; `0`: never. */
  expire: number;
}

/**
 * What a getter may return: the value itself (a `Uint8Array` is copied, as
 * `dest.setBytes` does), the value with an expiry (`{ value, expire }`), or
 * nothing when it filled `dest` the Go way (`dest.setBytes(bytes, expire)`).
 */
export type GetterResult =
  | Uint8Array
  | string
  | ByteView
  | ExpiringValue
  | void
  | undefined;

/**
 * Loads the value of `key` from the source of truth: return it, or store it
 * into `dest` (one or the other: doing both is a {@linkcode GetterError}).
 * Runs at most once at a time per key within a group (per node). Throw to
 * report an error; errors are never cached.
 */
export type GetterFunc = (
  key: string,
  dest: Sink,
  context: GetterContext,
) => GetterResult | Promise<GetterResult>;

/** A getter as a function, or as an object with a `get` method (Go's `Getter`). */
export type Getter = GetterFunc | { get: GetterFunc };

/** `getter` as a function, or `undefined` when it is neither form. */
export function getterFunc(getter: Getter): GetterFunc | undefined {
  if (typeof getter === "function") return getter;
  if (getter !== null && typeof getter?.get === "function") {
    return (key, dest, context) => getter.get(key, dest, context);
  }
  return undefined;
}

/** A plain value as a view (a `Uint8Array` copied), else `undefined`. */
export function viewOf(value: unknown): ByteView | undefined {
  if (typeof value === "string") return new ByteView(value);
  if (value instanceof Uint8Array) return ByteView.copyOf(value);
  if (value instanceof ByteView) return value;
  return undefined;
}

/**
 * The value a getter of `group` produced for `key`: what it `returned`, or
 * what it stored into `sink`; anything else is an error that says what to
 * do instead.
 */
export function loadedValue(
  group: string,
  key: string,
  sink: ByteViewSink,
  returned: GetterResult,
): ByteView {
  const view = produced(group, key, sink, returned);
  const problem = expiryProblem(view.expire);
  if (problem !== undefined) {
    throw new GetterError(
      group,
      key,
      `the getter's ${problem}: give a whole number of Unix milliseconds ` +
        "before 2262 (0: never)",
    );
  }
  return view;
}

/** What the getter returned or stored, as a view. */
function produced(
  group: string,
  key: string,
  sink: ByteViewSink,
  returned: GetterResult,
): ByteView {
  if (returned === undefined) {
    if (sink.isSet) return sink.view;
    throw new SinkNotSetError(
      `getter of group ${
        JSON.stringify(group)
      } returned without a value for key ${JSON.stringify(key)}: return ` +
        "it, or call dest.setBytes, setString or setView, or throw",
    );
  }
  if (sink.isSet) {
    throw new GetterError(
      group,
      key,
      "the getter both filled dest and returned a value: do one or the other",
    );
  }
  const view = viewOf(returned);
  if (view !== undefined) return view;
  if (returned !== null && typeof returned === "object") {
    const { value, expire } = returned as Partial<ExpiringValue>;
    const inner = viewOf(value);
    if (inner !== undefined && expire === 0) return inner;
    if (inner !== undefined && Number.isFinite(expire)) {
      return inner.withExpire(expire!);
    }
    if (inner !== undefined) {
      throw new GetterError(
        group,
        key,
        `the getter returned { value, expire } with expire ${
          String(expire)
        }: return a Uint8Array, a string or a ByteView, or { value, ` +
          "expire } with expire in Unix milliseconds (0: never)",
      );
    }
  }
  throw new GetterError(
    group,
    key,
    `the getter returned ${typeName(returned)}: return a Uint8Array, a ` +
      "string or a ByteView (or { value, expire }, or fill dest)",
  );
}

/** What a getter of `group` threw for `key`, as an `Error`. */
export function thrownError(group: string, key: string, err: unknown): Error {
  if (err instanceof Error) return err;
  return new GetterError(group, key, `the getter threw ${String(err)}`, {
    cause: err,
  });
}

/** "null", "an object", "a number"...: what a value is, for a message. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  const type = typeof value;
  return (/^[aeiou]/.test(type) ? "an " : "a ") + type;
}

/**
 * What `set(key, value, { expire })` stores: `value` as a view, with
 * `expire` when given (else its own), checked to travel on the wire.
 */
export function valueToSet(
  key: string,
  value: unknown,
  expire: number | undefined,
): ByteView {
  const view = viewOf(value);
  if (view === undefined) {
    throw new TypeError(
      "set needs a Uint8Array, a string or a ByteView, got " + typeName(value),
    );
  }
  const own = expire !== undefined && expire !== 0 ? expire : view.expire;
  checkSetExpiry(key, own);
  return own === view.expire ? view : view.withExpire(own);
}
