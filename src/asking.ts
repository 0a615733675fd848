/**
 * The abort of one peer fetch a group makes, without an `AbortController`
 * unless something reads its signal. A group aborts its peer fetch when its
 * callers leave or a peer asks it for the same key; an `HttpPeer` hears of
 * it through one listener slot instead of an event listener on a signal.
 * Per remote get that spares an `AbortController` and an event listener
 * added and removed: 1-3 µs of CPU on Bun, about 25 µs on Node 20.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import type { PeerGetter } from "./peers.ts";

/** What an {@linkcode Asking} tells of its abort. */
export interface AbortListener {
  /** The fetch was aborted, with `reason`. */
  abort(reason: unknown): void;
}

/**
 * Stands where an `AbortController` would (`abort`, `signal`): the signal
 * is made on first read, so a peer getter that takes the `Asking` itself
 * ({@linkcode ASK}) costs none. A load (shared_load.ts) and an HttpPeer's
 * request in flight are ones too.
 */
export class Asking {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #listener: AbortListener | undefined;

  /** An `AbortSignal` that follows this abort (made on first read). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Whether it was aborted (as `signal.aborted`, without making the signal). */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why it was aborted. */
  get reason(): unknown {
    return this.#reason;
  }

  /** Aborts once, with `reason` (an `AbortError` when none is given). */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined
      ? new DOMException("This operation was aborted", "AbortError")
      : reason;
    this.#controller?.abort(this.#reason);
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.abort(this.#reason);
  }

  /**
   * Tells `listener` of the abort (at once if it happened already); one
   * listener at a time, `undefined` to stop.
   */
  listen(listener: AbortListener | undefined): void {
    if (this.#aborted) listener?.abort(this.#reason);
    else this.#listener = listener;
  }

  /** Stops telling `listener`, if it is the one listening. */
  unlisten(listener: AbortListener): void {
    if (this.#listener === listener) this.#listener = undefined;
  }
}

/**
 * Whose abort a request follows: a caller's signal, or a group's
 * {@linkcode Asking}.
 */
export type Caller = AbortSignal | Asking;

/** Hears an abort both ways: in an Asking's slot, and as an event listener. */
export interface Follower extends AbortListener, EventListenerObject {}

/**
 * Makes `follower` hear `caller`'s abort (at once if it happened already):
 * in an Asking's one slot, or as an event listener on a signal.
 */
export function follow(caller: Caller, follower: Follower): void {
  if (caller instanceof Asking) caller.listen(follower);
  else if (caller.aborted) follower.abort(caller.reason);
  else caller.addEventListener("abort", follower, { once: true });
}

/** Stops `follower` hearing `caller`'s abort. */
export function unfollow(caller: Caller, follower: Follower): void {
  if (caller instanceof Asking) caller.unlisten(follower);
  else caller.removeEventListener("abort", follower);
}

/** The method of a peer getter that takes an {@linkcode Asking} for a get. */
export const ASK: unique symbol = Symbol("groupcache.ask");

/**
 * A {@linkcode PeerGetter} that takes an {@linkcode Asking} (HttpPeer), for
 * a plain get or, with `batched`, a `getBatched`.
 */
interface AskingGetter extends PeerGetter {
  [ASK](
    group: string,
    key: string,
    asking: Asking,
    batched: boolean,
  ): Promise<ByteView>;
}

/**
 * `peer.get`, or with `batched` `peer.getBatched` where the peer has it,
 * given the `Asking` itself when the peer takes it.
 */
export function ask(
  peer: PeerGetter,
  group: string,
  key: string,
  asking: Asking,
  batched = false,
): Promise<ByteView> {
  const direct = (peer as Partial<AskingGetter>)[ASK];
  if (direct !== undefined) {
    return direct.call(peer, group, key, asking, batched);
  }
  return batched && peer.getBatched !== undefined
    ? peer.getBatched(group, key, asking.signal)
    : peer.get(group, key, asking.signal);
}
