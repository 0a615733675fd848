/**
 * The client side of batch requests (see `batch_wire.ts`): the keys of one
 * group asked of one peer in the same tick gather into one request, sent
 * once the tick's work is done: a microtask that looks again while keys
 * keep arriving (the callers a batch answer wakes ask their next keys a few
 * promise hops later, not all in the same microtask), never a timer. While
 * other requests of the pool are in flight, the batch also waits for the
 * end of the event loop's turn (`setImmediate`, where the runtime has it):
 * Bun and Node hand each answer to JavaScript in a task of its own, so the
 * callers that answers ready in the same turn wake would otherwise each
 * send a batch of their own, and the batches, once apart, stay apart. Each
 * key keeps its own promise and its own caller's signal; the request is
 * aborted only when every key in it has been left.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import { PeerError } from "./errors.ts";
import { MAX_BATCH_KEYS } from "./batch_wire.ts";
import { type Caller, follow, unfollow } from "./asking.ts";

/** Sends one batch: each key's value or error (a rejection fails them all). */
export type SendBatch = (
  group: string,
  keys: string[],
  signal: AbortSignal,
) => Promise<Map<string, ByteView | Error>>;

/** Sends one key's plain get. */
export type SendOne = (
  group: string,
  key: string,
  signal: Caller,
) => Promise<ByteView>;

/**
 * One key waiting in a batch. It listens to its caller's signal or Asking
 * itself (`handleEvent`, `abort`): no closure per key.
 */
class Waiter {
  readonly key: string;
  readonly signal: Caller;
  readonly resolve: (view: ByteView) => void;
  readonly reject: (err: unknown) => void;
  // Set once the batch is sent: what to do when the caller leaves.
  onLeave: ((waiter: Waiter) => void) | undefined;
  left = false;

  constructor(
    key: string,
    signal: Caller,
    resolve: (view: ByteView) => void,
    reject: (err: unknown) => void,
  ) {
    this.key = key;
    this.signal = signal;
    this.resolve = resolve;
    this.reject = reject;
  }

  handleEvent(): void {
    this.left = true;
    this.reject(this.signal.reason);
    this.onLeave?.(this);
  }

  /** Its caller's Asking was aborted (asking.ts's `follow`). */
  abort(): void {
    this.handleEvent();
  }
}

/**
 * How many microtask turns in a row without a new key end the gathering:
 * the callers one answer wakes ask again a few promise hops apart.
 */
const IDLE_LOOKS = 4;

// A microtask turn by a settled promise: Node's queueMicrotask makes an
// AsyncResource for each callback, several µs.
const settled = Promise.resolve();

// What runs a task once the event loop's current turn is done (after the
// answers ready in it): Node, Bun and Deno have it, a browser has not (a
// batch then leaves after the microtask looks alone).
const afterTurn = (globalThis as {
  setImmediate?: (task: () => void) => unknown;
}).setImmediate;

/** A batch gathering: its keys, and what its flush saw. */
interface Gathering {
  readonly waiters: Waiter[];
  seen: number;
  idle: number;
  /** Whether it waited for the end of an event loop turn already. */
  turnEnded: boolean;
}

/** The batches of one peer now gathering, by group. */
export class PeerBatches {
  readonly #send: SendBatch;
  readonly #single: SendOne;
  readonly #busy: () => boolean;
  // Per group: the keys gathering, how many its flush saw last time, and
  // how many looks in a row found no new key.
  readonly #gathering = new Map<string, Gathering>();

  /**
   * `send` sends a batch; `single` a key alone in its tick (a plain get);
   * `busy` says whether requests are in flight whose answers could wake
   * more callers in this turn of the event loop.
   */
  constructor(send: SendBatch, single: SendOne, busy: () => boolean) {
    this.#send = send;
    this.#single = single;
    this.#busy = busy;
  }

  /** `key` of `group`, asked in this tick's batch to the peer. */
  get(group: string, key: string, signal: Caller): Promise<ByteView> {
    if (signal.aborted) return Promise.reject(signal.reason);
    let gathering = this.#gathering.get(group);
    if (gathering === undefined) {
      gathering = { waiters: [], seen: 0, idle: 0, turnEnded: false };
      this.#gathering.set(group, gathering);
      void settled.then(() => this.#flush(group));
    }
    const list = gathering.waiters;
    return new Promise((resolve, reject) => {
      list.push(new Waiter(key, signal, resolve, reject));
    });
  }

  #flush(group: string): void {
    const gathering = this.#gathering.get(group)!;
    const waiters = gathering.waiters;
    gathering.idle = waiters.length > gathering.seen ? 0 : gathering.idle + 1;
    gathering.seen = waiters.length;
    if (gathering.idle < IDLE_LOOKS && waiters.length < MAX_BATCH_KEYS) {
      // Keys may still arrive in this tick: look again after them.
      void settled.then(() => this.#flush(group));
      return;
    }
    if (
      !gathering.turnEnded && afterTurn !== undefined &&
      waiters.length < MAX_BATCH_KEYS && this.#busy()
    ) {
      // Answers ready in this turn may wake more callers: once they ran.
      gathering.turnEnded = true;
      afterTurn(() => this.#flush(group));
      return;
    }
    this.#gathering.delete(group);
    if (waiters.length === 1) {
      // Alone in its tick: a plain get costs less than a batch of one.
      const [{ key, signal, resolve, reject }] = waiters;
      this.#single(group, key, signal).then(resolve, reject);
      return;
    }
    for (let i = 0; i < waiters.length; i += MAX_BATCH_KEYS) {
      void this.#sendSome(group, waiters.slice(i, i + MAX_BATCH_KEYS));
    }
  }

  async #sendSome(group: string, waiters: Waiter[]): Promise<void> {
    const leaving = new AbortController();
    let staying = waiters.length;
    const onLeave = (waiter: Waiter) => {
      if (--staying === 0) leaving.abort(waiter.signal.reason);
    };
    for (const waiter of waiters) {
      waiter.onLeave = onLeave;
      follow(waiter.signal, waiter);
    }
    if (staying === 0) return;
    const keys = distinctKeys(waiters);
    try {
      const results = await this.#send(group, keys, leaving.signal);
      for (const waiter of waiters) {
        if (waiter.left) continue;
        const result = results.get(waiter.key)!;
        if (result instanceof Error) waiter.reject(result);
        else waiter.resolve(result);
      }
    } catch (err) {
      for (const waiter of waiters) {
        if (!waiter.left) waiter.reject(keyError(err, waiter.key, keys));
      }
    } finally {
      for (const waiter of waiters) unfollow(waiter.signal, waiter);
    }
  }
}

/** The keys of `waiters`, each once. */
function distinctKeys(waiters: Waiter[]): string[] {
  return [...new Set(waiters.map((waiter) => waiter.key))];
}

/** A failure of the whole batch, as the error of one of its keys. */
function keyError(err: unknown, key: string, keys: string[]): unknown {
  if (!(err instanceof PeerError)) return err;
  return new PeerError(
    `${err.message} (a batch of ${keys.length} keys, key ${
      JSON.stringify(key)
    } among them)`,
    {
      peer: err.peer,
      group: err.group,
      key,
      reason: err.reason,
      status: err.status,
      body: err.body,
      cause: err,
    },
  );
}
