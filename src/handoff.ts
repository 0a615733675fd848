/**
 * Handoff: when the ring changes, keys move to new owners whose caches are
 * empty, while their previous owners still hold the values. For a while
 * after each change (`handoffWindowMs`) the pool remembers the previous
 * ring ({@linkcode PreviousRing}), and a miss on a key's new owner first
 * asks the previous owner from cache only ({@linkcode askPreviousOwner}),
 * then runs the getter. The request never loads nor forwards on the other
 * side, so it costs one hop at most and cannot loop.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import type { PeerGetter } from "./peers.ts";
import type { LoadHandle } from "./shared_load.ts";

/** What handoff needs of a ring: the owner of a key. */
export interface OwnerRing {
  get(key: string): string | undefined;
}

/**
 * How long the asking node waits for the previous owner's answer: long
 * enough for a loaded peer on a LAN, short beside a getter worth caching.
 * Past it the getter runs (the peer is not blamed: a handoff is optional).
 */
export const HANDOFF_TIMEOUT_MS = 500;

/**
 * How long a previous owner waits on a load of the key it is running
 * itself (its getter), rather than answering "not cached" at once.
 */
export const PEEK_WAIT_MS = 50;

/**
 * How many handoffs in a row may miss before the previous ring is given up:
 * a cluster that starts cold (each node's first list counts as a join)
 * holds nothing to hand over, and asking it would cost a hop on every
 * first load for the whole window. A ring whose previous owners hold
 * values answers some of these, and stays.
 */
export const HANDOFF_GIVE_UP_MISSES = 64;

/** The previous ring, remembered for a window after each change. */
export class PreviousRing {
  /** How long a previous ring is remembered, in milliseconds (0: never). */
  readonly windowMs: number;
  readonly #now: () => number;
  readonly #gaveUp: (misses: number) => void;
  #ring: OwnerRing | undefined;
  #until = 0;
  #misses = 0;

  /** `gaveUp` is told when the ring is forgotten for its misses (to log). */
  constructor(
    windowMs: number,
    now: () => number = Date.now,
    gaveUp: (misses: number) => void = () => {},
  ) {
    this.windowMs = windowMs;
    this.#now = now;
    this.#gaveUp = gaveUp;
  }

  /** The ring just replaced (or what stands for it): remembered from now. */
  remember(ring: OwnerRing): void {
    if (this.windowMs === 0) return;
    this.#ring = ring;
    this.#until = this.#now() + this.windowMs;
    this.#misses = 0;
  }

  /**
   * `peer` (a previous owner from {@linkcode PreviousRing.owner}) with its
   * answers counted: {@linkcode HANDOFF_GIVE_UP_MISSES} misses in a row
   * with no hit forget the ring. A failure counts as a miss, unless the
   * asking load left.
   */
  counted(peer: PeerGetter): PeerGetter {
    const ring = this.#ring;
    return {
      url: peer.url,
      get: (group, key, signal) => peer.get(group, key, signal),
      peek: async (group, key, signal) => {
        let found;
        try {
          found = await peer.peek!(group, key, signal);
        } catch (err) {
          if (!signal.aborted) this.#answered(ring, false);
          throw err;
        }
        this.#answered(ring, found !== undefined);
        return found;
      },
    };
  }

  #answered(ring: OwnerRing | undefined, hit: boolean): void {
    if (ring === undefined || ring !== this.#ring) return; // since replaced
    if (hit) {
      this.#misses = 0;
      return;
    }
    if (++this.#misses < HANDOFF_GIVE_UP_MISSES) return;
    this.#ring = undefined;
    this.#gaveUp(this.#misses);
  }

  /** Forgets the previous ring at once (the pool closes). */
  forget(): void {
    this.#ring = undefined;
  }

  /** The owner of `key` under the previous ring, within the window. */
  owner(key: string): string | undefined {
    if (this.#ring === undefined) return undefined;
    if (this.#now() >= this.#until) {
      this.#ring = undefined;
      return undefined;
    }
    return this.#ring.get(key);
  }
}

/** The log line of a ring change: who came, who left, how many keys moved. */
export function ringChangeLine(
  before: readonly string[],
  now: readonly string[],
  moved: number,
  windowMs: number,
): string {
  const was = new Set(before);
  const is = new Set(now);
  const added = now.filter((p) => !was.has(p));
  const removed = before.filter((p) => !is.has(p));
  return `groupcache: ring changed: ${now.length} peers, added ${
    added.join(" ") || "none"
  }, removed ${removed.join(" ") || "none"}; ≈ ${
    Math.round(100 * moved)
  } % of keys have a new owner` +
    (windowMs > 0
      ? `, asked first of their previous owners for ${windowMs / 1000} s`
      : "");
}

/**
 * About what fraction of keys have another owner under `after` than under
 * `before`: read off a fixed sample of keys, for the log line of a change.
 */
export function movedFraction(
  before: OwnerRing,
  after: OwnerRing,
  samples = 2048,
): number {
  let moved = 0;
  for (let i = 0; i < samples; i++) {
    const key = `handoff-sample-${i}`;
    if (before.get(key) !== after.get(key)) moved++;
  }
  return moved / samples;
}

/**
 * `key` from the cache of its previous owner `peer`, within
 * {@linkcode HANDOFF_TIMEOUT_MS} and the load's own bound; `undefined` when
 * it holds none, fails, or answers too late (the getter then runs). A value
 * that arrives expired counts as none.
 */
export async function askPreviousOwner(
  peer: PeerGetter,
  group: string,
  key: string,
  load: LoadHandle,
  now: () => number,
): Promise<ByteView | undefined> {
  const asking = new AbortController();
  load.link(asking);
  const timer = setTimeout(
    () => asking.abort(new DOMException("handoff too slow", "TimeoutError")),
    HANDOFF_TIMEOUT_MS,
  );
  try {
    const value = await peer.peek!(group, key, asking.signal);
    if (value === undefined) return undefined;
    return value.expire !== 0 && now() >= value.expire ? undefined : value;
  } catch {
    if (load.aborted) throw load.reason; // the callers left, or the bound passed
    return undefined;
  } finally {
    clearTimeout(timer);
    load.link(undefined);
  }
}
