/**
 * SharedLoads: at most one load per key at a time, shared by every caller
 * that asks while it runs — Go's `singleflight`, with what a JavaScript
 * server needs besides: a caller may leave early through its own
 * `AbortSignal` (releasing everything it held at once), the load is aborted
 * and its key forgotten when the last caller leaves, and a load that
 * outlives its bound fails every waiter and frees the key.
 *
 * A load that finishes synchronously costs one `Map` entry and no promise of
 * its own: that is most cache misses with a trivial getter.
 *
 * @module
 */

import { Asking } from "./asking.ts";
import { Deadlines, type Expirable } from "./deadlines.ts";

/** What a running load sees of itself. */
export interface LoadHandle {
  /**
   * Aborts when the load is given up: every caller left, or its bound
   * passed. Made on first read: a load that never reads it costs no
   * `AbortController`.
   */
  readonly signal: AbortSignal;
  /** Whether the load was given up (same as `signal.aborted`, without making the signal). */
  readonly aborted: boolean;
  /** Why it was given up. */
  readonly reason: unknown;
  /** Aborts `controller` too when the load is given up (one at a time). */
  link(controller: AbortController | undefined): void;
  /**
   * Whether the key was written (set or removed) while the load ran: its
   * value still goes to its callers, but it may be stale, so it must not be
   * cached.
   */
  readonly superseded: boolean;
}

/** Options of {@linkcode SharedLoads}. */
export interface SharedLoadsOptions {
  /** The bound of one load in milliseconds; 0 (the default) for none. */
  timeoutMs?: number;
  /** The error every waiter gets when a load outlives `timeoutMs`. */
  timeoutError?: (key: string, timeoutMs: number) => Error;
  /** The error of a caller that asks for a key while its load is starting (from inside it). */
  reentryError?: (key: string) => Error;
}

/** One caller with a signal of its own: it may leave before the load ends. */
class Waiter<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;
  readonly #load: Load<T>;
  readonly signal: AbortSignal;

  constructor(load: Load<T>, signal: AbortSignal) {
    this.#load = load;
    this.signal = signal;
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The caller's signal aborted (an EventListener object: no closure per waiter). */
  handleEvent(): void {
    this.#load.leave(this);
    this.reject(this.signal.reason);
  }
}

/** Callers without a signal share one promise: they never leave. */
interface Shared<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

// An Asking: its signal made on first read, its one link told of the abort.
class Load<T> extends Asking implements LoadHandle, Expirable {
  /** True while the load's own code runs synchronously: a join then is re-entrance. */
  starting = true;
  superseded = false;
  // The deadline queue's links (deadlines.ts), declared so that every Load
  // has one shape from its start.
  deadline: number | undefined = undefined;
  olderWaiting: Expirable | undefined = undefined;
  newerWaiting: Expirable | undefined = undefined;
  #owner: SharedLoads<T>;
  #key: string;
  #waiters: Set<Waiter<T>> | undefined;
  #shared: Shared<T> | undefined;
  #done = false;

  constructor(owner: SharedLoads<T>, key: string) {
    super();
    this.#owner = owner;
    this.#key = key;
  }

  link(controller: AbortController | undefined): void {
    this.listen(controller);
  }

  wait(signal: AbortSignal | undefined): Promise<T> {
    if (signal === undefined) {
      if (this.#shared === undefined) {
        let resolve!: (value: T) => void;
        let reject!: (reason: unknown) => void;
        const promise = new Promise<T>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        this.#shared = { promise, resolve, reject };
      }
      return this.#shared.promise;
    }
    const waiter = new Waiter(this, signal);
    (this.#waiters ??= new Set()).add(waiter);
    signal.addEventListener("abort", waiter, { once: true });
    return waiter.promise;
  }

  leave(waiter: Waiter<T>): void {
    this.#waiters!.delete(waiter);
    if (this.#shared === undefined && this.#waiters!.size === 0) {
      this.#end();
      this.abort(waiter.signal.reason);
    }
  }

  settle(ok: boolean, result: unknown): void {
    if (this.#done) return; // given up: its waiters were already told
    this.#end();
    const shared = this.#shared;
    if (shared !== undefined) {
      if (ok) shared.resolve(result as T);
      else shared.reject(result);
    }
    for (const waiter of this.#waiters ?? []) {
      waiter.signal.removeEventListener("abort", waiter);
      if (ok) waiter.resolve(result as T);
      else waiter.reject(result);
    }
    this.#waiters = undefined;
  }

  expire(): void {
    if (this.#done) return;
    const error = this.#owner.timeoutError(this.#key);
    this.settle(false, error);
    this.abort(error);
  }

  #end(): void {
    this.#done = true;
    this.#owner.forget(this.#key, this);
  }
}

/**
 * Loads deduplicated by key. Not exported from mod.ts: the core of
 * {@linkcode Group}'s load path. ({@linkcode SingleFlight} is the plain,
 * Go-shaped primitive for users.)
 *
 * @example
 * ```ts
 * import { SharedLoads } from "./shared_load.ts";
 * import assert from "node:assert/strict";
 *
 * const loads = new SharedLoads<string>({ timeoutMs: 1_000 });
 * let runs = 0;
 * const run = async () => {
 *   runs++;
 *   await new Promise((resolve) => setTimeout(resolve, 5));
 *   return "value";
 * };
 * const leaving = new AbortController();
 * const [a, b, c] = [
 *   loads.join("k", run),
 *   loads.join("k", run),
 *   loads.join("k", run, leaving.signal),
 * ];
 * leaving.abort(new Error("gone"));
 * await assert.rejects(c, /gone/); // at once: the load goes on for a and b
 * assert.deepEqual(await Promise.all([a, b]), ["value", "value"]);
 * assert.equal(runs, 1);
 * ```
 */
export class SharedLoads<T> {
  readonly #loads = new Map<string, Load<T>>();
  readonly #deadlines: Deadlines<Load<T>> | undefined;
  readonly #timeoutError: (key: string, timeoutMs: number) => Error;
  readonly #reentryError: (key: string) => Error;

  constructor(options: SharedLoadsOptions = {}) {
    const { timeoutMs = 0 } = options;
    this.#deadlines = timeoutMs > 0 ? new Deadlines(timeoutMs) : undefined;
    this.#timeoutError = options.timeoutError ??
      ((key, ms) => new Error(`load of ${key} took over ${ms} ms`));
    this.#reentryError = options.reentryError ??
      ((key) => new Error(`load of ${key} asked for its own key`));
  }

  /**
   * The result of the load of `key`: the one running, or a new one made by
   * `run`. With a `signal`, this caller alone may leave early (its promise
   * rejects with the signal's reason); the load is aborted when no caller is
   * left.
   */
  join(
    key: string,
    run: (key: string, load: LoadHandle) => T | Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    let load = this.#loads.get(key);
    if (load === undefined) {
      load = new Load(this, key);
      this.#loads.set(key, load);
      let result: T | Promise<T>;
      try {
        result = run(key, load);
      } catch (err) {
        this.#loads.delete(key);
        return Promise.reject(err);
      }
      if (!(result instanceof Promise)) {
        this.#loads.delete(key); // done already: no deadline was set
        return Promise.resolve(result);
      }
      load.starting = false;
      // Wait first: arming Deno's first timer runs pending microtasks, so
      // the load could otherwise settle before its first waiter is there.
      const waiting = load.wait(signal);
      const started = load;
      result.then(
        (value) => started.settle(true, value),
        (err) => started.settle(false, err),
      );
      this.#deadlines?.add(load);
      return waiting;
    }
    if (load.starting) {
      return Promise.reject(this.#reentryError(key));
    }
    return load.wait(signal);
  }

  /**
   * The result of the load of `key` that is running, joined as by
   * {@linkcode SharedLoads.join}; `undefined` when none runs (none starts).
   */
  running(key: string, signal?: AbortSignal): Promise<T> | undefined {
    const load = this.#loads.get(key);
    if (load === undefined || load.starting) return undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return load.wait(signal);
  }

  /** How many loads are running. */
  get size(): number {
    return this.#loads.size;
  }

  /**
   * Detaches the running load of `key`, if any: it goes on for the callers
   * it has, marked `superseded`, and the next caller starts a fresh load.
   */
  supersede(key: string): void {
    const load = this.#loads.get(key);
    if (load === undefined) return;
    load.superseded = true;
    this.#loads.delete(key);
  }

  /** @internal The error of a load that outlived the bound. */
  timeoutError(key: string): Error {
    return this.#timeoutError(key, this.#deadlines?.ms ?? 0);
  }

  /** @internal Drops `load` (if it is still the one for `key`). */
  forget(key: string, load: Load<T>): void {
    if (this.#loads.get(key) === load) this.#loads.delete(key);
    this.#deadlines?.delete(load);
  }
}
