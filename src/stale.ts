/**
 * Stale values: what a group does with a value that expired lately instead
 * of missing it. Within `staleMs` of its expiry the value is served at once
 * while one refresh runs in the background (stale-while-revalidate); within
 * `staleIfErrorMs` of its expiry it is served when its refresh fails
 * (stale-if-error), and refreshes are retried about once a second
 * meanwhile. The refresh is the group's ordinary load of the key, shared
 * with any get of it: on the owner it runs the getter once for the whole
 * cluster; elsewhere it asks the owner.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import { NotFoundError } from "./errors.ts";
import type { GetOptions, GroupSettings } from "./group_options.ts";
import type { GroupStats } from "./group_options.ts";
import type { Logger } from "./logger.ts";

/** What {@linkcode StaleValues} uses of its group. */
export interface StaleSource {
  /** The group's name, for log lines. */
  readonly name: string;
  /** `key`'s value that expired within the grace, from main or hot. */
  stale(key: string): ByteView | undefined;
  /** The load of `key` (the one running, else a new one), no caller signal. */
  reload(key: string, fromPeer: boolean): Promise<ByteView>;
}

/** The wait before a refresh that failed is tried again. */
const RETRY_MS = 1_000;
// The wait before a refresh that brought back a value still expired (the
// owner is refreshing it) asks again.
const STILL_STALE_RETRY_MS = 100;
// Keys remembered as failing or waiting to retry, at most.
const MAX_REMEMBERED = 10_000;

/** A group's StaleValues; `undefined` when `staleMs` and `staleIfErrorMs` are 0. */
export function staleValues(
  settings: GroupSettings,
  stats: GroupStats,
  source: StaleSource,
): StaleValues | undefined {
  const { staleMs, staleIfErrorMs, logger, now } = settings;
  if (staleMs === 0 && staleIfErrorMs === 0) return undefined;
  return new StaleValues(staleMs, staleIfErrorMs, logger, now, stats, source);
}

/** Serves and refreshes the expired values of one group. */
export class StaleValues {
  readonly #staleMs: number;
  readonly #staleIfErrorMs: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #stats: GroupStats;
  readonly #source: StaleSource;
  // The refresh running, by key.
  readonly #refreshing = new Map<string, Promise<ByteView>>();
  // When a refresh of the key may start again, after a failed or stale one.
  readonly #retryAt = new Map<string, number>();
  // Keys whose last refresh failed (logged once until one succeeds).
  readonly #failing = new Set<string>();

  constructor(
    staleMs: number,
    staleIfErrorMs: number,
    logger: Logger,
    now: () => number,
    stats: GroupStats,
    source: StaleSource,
  ) {
    this.#now = now;
    this.#staleMs = staleMs;
    this.#staleIfErrorMs = staleIfErrorMs;
    this.#logger = logger;
    this.#stats = stats;
    this.#source = source;
  }

  /** The longest an expired value is kept: the larger bound. */
  get graceMs(): number {
    return Math.max(this.#staleMs, this.#staleIfErrorMs);
  }

  /** Whether `value`, expired, may still be served (e.g. an owner's stale answer). */
  servable(value: ByteView): boolean {
    return this.#now() - value.expire < this.graceMs;
  }

  /**
   * A get that missed the cache: `key`'s stale value, at once or once its
   * refresh failed, or the refresh's value; `undefined` when there is no
   * stale value to serve (a plain load then).
   */
  serve(
    key: string,
    options: GetOptions | undefined,
    fromPeer: boolean,
  ): ByteView | Promise<ByteView> | undefined {
    const stale = this.#source.stale(key);
    if (stale === undefined) return undefined;
    const now = this.#now();
    const age = now - stale.expire;
    const retryAt = this.#retryAt.get(key);
    const due = retryAt === undefined || now >= retryAt;
    if (age < this.#staleMs) {
      if (due) void this.#refresh(key, fromPeer).catch(() => {});
      this.#stats.staleHits++;
      return stale;
    }
    if (age >= this.#staleIfErrorMs) return undefined;
    if (!due && this.#failing.has(key)) {
      this.#stats.staleHits++;
      return stale;
    }
    const fresh = this.#refresh(key, fromPeer).catch((err) => {
      if (err instanceof NotFoundError || !this.servable(stale)) throw err;
      this.#stats.staleHits++;
      return stale;
    });
    // Read only now: Deno makes a request's signal on first read.
    const signal = options?.signal;
    return signal === undefined ? fresh : detachable(fresh, signal);
  }

  /** The one refresh of `key` running, started now if none is. */
  #refresh(key: string, fromPeer: boolean): Promise<ByteView> {
    let running = this.#refreshing.get(key);
    if (running !== undefined) return running;
    this.#stats.refreshes++;
    running = this.#source.reload(key, fromPeer).then(
      (value) => this.#refreshed(key, value),
      (err) => this.#failed(key, err),
    );
    this.#refreshing.set(key, running);
    const done = () => this.#refreshing.delete(key);
    running.then(done, done);
    return running;
  }

  #refreshed(key: string, value: ByteView): ByteView {
    this.#failing.delete(key);
    if (value.expire !== 0 && this.#now() >= value.expire) {
      this.#remember(key, STILL_STALE_RETRY_MS);
    } else {
      this.#retryAt.delete(key);
    }
    return value;
  }

  #failed(key: string, err: unknown): never {
    if (err instanceof NotFoundError) {
      this.#failing.delete(key);
      this.#retryAt.delete(key);
      throw err;
    }
    this.#remember(key, RETRY_MS);
    if (!this.#failing.has(key)) {
      this.#stats.refreshErrors++;
      if (this.#failing.size >= MAX_REMEMBERED) this.#failing.clear();
      this.#failing.add(key);
      this.#logger.warn(
        `groupcache: group ${JSON.stringify(this.#source.name)}, key ${
          JSON.stringify(key)
        }: refreshing its expired value failed (${
          (err as Error)?.message ?? err
        }); serving it stale within staleMs/staleIfErrorMs and retrying ` +
          "about once a second (logged once until a refresh succeeds)",
      );
    }
    throw err;
  }

  #remember(key: string, waitMs: number): void {
    if (this.#retryAt.size >= MAX_REMEMBERED) this.#retryAt.clear();
    this.#retryAt.set(key, this.#now() + waitMs);
  }
}

/** `promise`, which `signal` rejects early with its reason. */
function detachable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const leave = () => reject(signal.reason);
    signal.addEventListener("abort", leave, { once: true });
    promise.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", leave)
    );
  });
}
