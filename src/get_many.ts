/**
 * `group.getMany`: many keys in one call. Each key takes the group's Get
 * path (cache, shared load, owner, getter), so a key is still loaded once
 * however it is asked for; the keys a remote owner has to answer travel to
 * it in one batch request when it takes them (see `batch_client.ts`).
 *
 * @module
 */

import { ByteView } from "./byte_view.ts";
import type { GetOptions } from "./group_options.ts";

/** What {@linkcode Group.getMany} resolves to: every key in one of the maps. */
export interface GetManyResult {
  /** The keys found, with their values, in the order asked. */
  readonly values: Map<string, ByteView>;
  /** The keys that failed, each with its own error (as `get` would reject). */
  readonly errors: Map<string, Error>;
}

/**
 * Gets each distinct key of `keys` through `get`; rejects only for bad
 * arguments or when `options.signal` aborts.
 */
export async function getMany(
  keys: Iterable<string>,
  options: GetOptions | undefined,
  get: (key: string, options?: GetOptions) => ByteView | Promise<ByteView>,
): Promise<GetManyResult> {
  if (typeof (keys as Iterable<string>)?.[Symbol.iterator] !== "function") {
    throw new TypeError("getMany needs an iterable of keys, such as an array");
  }
  const distinct = [...new Set(keys)];
  for (const key of distinct) {
    if (typeof key !== "string") {
      throw new TypeError(`a key must be a string, got ${typeof key}`);
    }
  }
  const signal = options?.signal;
  signal?.throwIfAborted();
  // Each key's value or error, by index: one promise for the call, not one
  // more per key (Promise.all over `.catch`es costs two).
  const settled: (ByteView | Error)[] = new Array(distinct.length);
  let pending = 0;
  let allSettled: () => void = () => {};
  const waiting = new Promise<void>((resolve) => allSettled = resolve);
  distinct.forEach((key, i) => {
    let found;
    try {
      found = get(key, options);
    } catch (err) {
      settled[i] = asError(err);
      return;
    }
    if (found instanceof ByteView) {
      settled[i] = found;
      return;
    }
    pending++;
    found.then((view) => {
      settled[i] = view;
      if (--pending === 0) allSettled();
    }, (err) => {
      settled[i] = asError(err);
      if (--pending === 0) allSettled();
    });
  });
  if (pending > 0) await waiting;
  signal?.throwIfAborted();
  const values = new Map<string, ByteView>();
  const errors = new Map<string, Error>();
  settled.forEach((result, i) => {
    if (result instanceof ByteView) values.set(distinct[i], result);
    else errors.set(distinct[i], result);
  });
  return { values, errors };
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
