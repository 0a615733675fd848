/**
 * Deadlines: many waits that share one duration, bounded by one timer.
 *
 * Every item gets the same bound, so deadlines come in insertion order and
 * the oldest item is always the next to expire: a list in insertion order is
 * the whole queue. One timer, re-armed from the front of the queue, stands
 * for all of them. That matters on the hot path: a `setTimeout` and
 * `clearTimeout` pair per peer fetch or load costs 2–3 µs on Deno, more than
 * the rest of a cache miss. The list is linked through the items themselves,
 * so a wait allocates nothing and hashes nothing (an insertion-ordered `Map`
 * gave each item an identity hash and rehashed its table every few waits).
 *
 * @module
 */

/**
 * Something that can be told its time is up. It waits in one queue at a
 * time; the optional members are that queue's own bookkeeping.
 */
export interface Expirable {
  /** Called once, when the item's deadline passed before it was deleted. */
  expire(): void;
  /** When it expires while it waits (the queue's clock), else `undefined`. */
  deadline?: number | undefined;
  /** The item added just before it, while both wait. */
  olderWaiting?: Expirable | undefined;
  /** The item added just after it, while both wait. */
  newerWaiting?: Expirable | undefined;
}

// The timer never sleeps longer than this, so that a process with nothing
// left to wait for is held at most this long by a timer armed for a wait that
// has since ended (clearing it whenever the queue empties would cost a timer
// pair per serial load, which this file exists to avoid).
const MAX_SLEEP_MS = 250;

/**
 * Items that each expire `ms` milliseconds after they were added, unless
 * deleted first. Not exported from mod.ts: the library's own bound for peer
 * fetches and loads.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 * import assert from "node:assert/strict";
 *
 * const expired: string[] = [];
 * const deadlines = new Deadlines(10);
 * const item = (name: string) => ({ expire: () => expired.push(name) });
 * const a = item("a");
 * deadlines.add(a);
 * deadlines.add(item("b"));
 * deadlines.delete(a); // settled in time
 * await new Promise((resolve) => setTimeout(resolve, 40));
 * assert.deepEqual(expired, ["b"]);
 * ```
 */
export class Deadlines<T extends Expirable> {
  /** The bound of every item, in milliseconds. */
  readonly ms: number;
  // The oldest and newest waiting items (linked by olderWaiting/newerWaiting).
  #oldest: Expirable | undefined;
  #newest: Expirable | undefined;
  #size = 0;
  readonly #now: () => number;
  #armed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param ms How long each item may wait, in milliseconds (> 0).
   * @param now The clock, in milliseconds; injectable for tests.
   */
  constructor(ms: number, now: () => number = () => performance.now()) {
    this.ms = ms;
    this.#now = now;
  }

  /** Starts `item`'s wait. An item already waiting keeps its first deadline. */
  add(item: T): void {
    if (item.deadline !== undefined) return;
    item.deadline = this.#now() + this.ms;
    const newest = this.#newest;
    item.olderWaiting = newest;
    item.newerWaiting = undefined;
    if (newest === undefined) this.#oldest = item;
    else newest.newerWaiting = item;
    this.#newest = item;
    this.#size++;
    if (!this.#armed) this.#arm(this.ms);
  }

  /** Ends `item`'s wait before its deadline (it will not expire). */
  delete(item: T): void {
    if (item.deadline === undefined) return;
    const older = item.olderWaiting, newer = item.newerWaiting;
    if (older === undefined) this.#oldest = newer;
    else older.newerWaiting = newer;
    if (newer === undefined) this.#newest = older;
    else newer.olderWaiting = older;
    item.deadline = item.olderWaiting = item.newerWaiting = undefined;
    this.#size--;
  }

  /**
   * Forgets every waiting item (none will expire) and clears the timer, so
   * nothing of this queue keeps a process alive.
   */
  clear(): void {
    for (let item = this.#oldest; item !== undefined;) {
      const newer = item.newerWaiting;
      item.deadline = item.olderWaiting = item.newerWaiting = undefined;
      item = newer;
    }
    this.#oldest = this.#newest = undefined;
    this.#size = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armed = false;
  }

  /** Items still waiting. */
  get size(): number {
    return this.#size;
  }

  #arm(ms: number): void {
    this.#armed = true;
    this.#timer = setTimeout(
      this.#fire,
      Math.min(Math.max(ms, 1), MAX_SLEEP_MS),
    );
  }

  // Stays armed while it runs, so items added by expire() do not arm a
  // second timer; the loop reaches them and re-arms for the earliest.
  #fire = (): void => {
    const now = this.#now();
    for (let item = this.#oldest; item !== undefined; item = this.#oldest) {
      const deadline = item.deadline!;
      if (deadline > now) {
        this.#arm(deadline - now);
        return;
      }
      this.delete(item as T);
      item.expire();
    }
    this.#armed = false;
    this.#timer = undefined;
  };
}
