/**
 * SingleFlight: duplicate call suppression, Go's `singleflight.Group`.
 *
 * Concurrent callers of one key share one execution of `fn` and its result
 * or error. Nothing is cached: the key is released as soon as the call
 * settles, so a later call runs `fn` again.
 *
 * @module
 */

/** What {@linkcode SingleFlight.doShared} resolves to. */
export interface FlightResult<T> {
  /** The value `fn` produced. */
  value: T;
  /** Whether other callers shared this execution (Go's `shared`). */
  shared: boolean;
}

interface Call {
  promise: Promise<unknown>;
  dups: number;
}

/**
 * Runs one call per key at a time and shares its outcome with every caller
 * that asks for that key while it is in flight.
 *
 * @example Concurrent callers share one run
 * ```ts
 * import { SingleFlight } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const flight = new SingleFlight();
 * const gate = Promise.withResolvers<number>();
 * let runs = 0;
 * const load = () =>
 *   flight.do("k", () => {
 *     runs++;
 *     return gate.promise;
 *   });
 * const calls = [load(), load(), load()];
 * assert.equal(flight.has("k"), true);
 * assert.equal(flight.size, 1);
 * gate.resolve(42);
 * assert.deepEqual(await Promise.all(calls), [42, 42, 42]);
 * assert.equal(runs, 1);
 * assert.equal(flight.has("k"), false); // released once settled: no caching
 * assert.equal(flight.size, 0);
 * ```
 */
export class SingleFlight {
  #calls = new Map<string, Call>();

  /**
   * Runs `fn` unless a call for `key` is already in flight, in which case it
   * waits for that one. A synchronous throw in `fn` reaches every caller as a
   * rejection. Every caller gets the same promise, and the flight handles it
   * itself, so a failure is never reported as an unhandled rejection: a
   * caller that does not await the result does not see its error.
   *
   * @example A throw reaches the callers as a rejection
   * ```ts
   * import { SingleFlight } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const flight = new SingleFlight();
   * await assert.rejects(flight.do("k", () => { throw new Error("boom"); }), /boom/);
   * assert.equal(await flight.do("k", () => "ran again"), "ran again");
   * ```
   */
  do<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    return this.#join(key, fn).promise as Promise<T>;
  }

  /**
   * Like {@linkcode SingleFlight.do}, and also tells whether the execution
   * was shared with other callers.
   *
   * @example Was the run shared?
   * ```ts
   * import { SingleFlight } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const flight = new SingleFlight();
   * const slow = () => new Promise<string>((r) => setTimeout(() => r("v"), 5));
   * const [a, b] = await Promise.all([flight.doShared("k", slow), flight.doShared("k", slow)]);
   * assert.deepEqual(a, { value: "v", shared: true });
   * assert.equal(b.shared, true);
   * const alone = await flight.doShared("k", () => "w");
   * assert.equal(alone.shared, false);
   * ```
   */
  async doShared<T>(
    key: string,
    fn: () => T | Promise<T>,
  ): Promise<FlightResult<T>> {
    const call = this.#join(key, fn);
    const value = (await call.promise) as T;
    return { value, shared: call.dups > 0 };
  }

  /** Whether a call for `key` is in flight. */
  has(key: string): boolean {
    return this.#calls.has(key);
  }

  /** How many keys have a call in flight. */
  get size(): number {
    return this.#calls.size;
  }

  /**
   * Lets the next call for `key` start a new execution even while the
   * current one is still running (Go's `Forget`). Callers already waiting
   * keep waiting for the current one.
   *
   * @example A new run while one is in flight
   * ```ts
   * import { SingleFlight } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const flight = new SingleFlight();
   * let runs = 0;
   * const run = () => {
   *   runs++;
   *   return new Promise<void>((r) => setTimeout(r, 5));
   * };
   * const first = flight.do("k", run);
   * flight.forget("k");
   * const second = flight.do("k", run); // a new run, not the first one's
   * assert.equal(runs, 2); // without forget, the second call would join
   * await Promise.all([first, second]);
   * ```
   */
  forget(key: string): void {
    this.#calls.delete(key);
  }

  #join(key: string, fn: () => unknown): Call {
    const existing = this.#calls.get(key);
    if (existing !== undefined) {
      existing.dups++;
      return existing;
    }
    let resolve!: (value: unknown) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const call: Call = { promise, dups: 0 };
    const release = () => {
      if (this.#calls.get(key) === call) this.#calls.delete(key);
    };
    // then(release, release), not finally(): finally would make a second
    // promise that rejects with nobody listening.
    promise.then(release, release);
    // Registered before fn runs, so a re-entrant call for the key joins it.
    this.#calls.set(key, call);
    try {
      resolve(fn());
    } catch (err) {
      reject(err);
    }
    return call;
  }
}
