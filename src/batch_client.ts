/**
 * The client side of batch requests (see `batch_wire.ts`): the keys of one
 * group asked of one peer in the same tick gather into one request, sent
 * once the tick's synchronous code is done (a microtask). Each key keeps its
 * own promise and its own caller's signal; the request is aborted only when
 * every key in it has been left.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import { PeerError } from "./errors.ts";
import { MAX_BATCH_KEYS } from "./batch_wire.ts";

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
  signal: AbortSignal,
) => Promise<ByteView>;

/** One key waiting in a batch. */
interface Waiter {
  readonly key: string;
  readonly signal: AbortSignal;
  resolve(view: ByteView): void;
  reject(err: unknown): void;
}

/** The batches of one peer now gathering, by group. */
export class PeerBatches {
  readonly #send: SendBatch;
  readonly #single: SendOne;
  readonly #gathering = new Map<string, Waiter[]>();

  /** `send` sends a batch; `single` a key alone in its tick (a plain get). */
  constructor(send: SendBatch, single: SendOne) {
    this.#send = send;
    this.#single = single;
  }

  /** `key` of `group`, asked in this tick's batch to the peer. */
  get(group: string, key: string, signal: AbortSignal): Promise<ByteView> {
    if (signal.aborted) return Promise.reject(signal.reason);
    let waiters = this.#gathering.get(group);
    if (waiters === undefined) {
      waiters = [];
      this.#gathering.set(group, waiters);
      queueMicrotask(() => this.#flush(group));
    }
    const list = waiters;
    return new Promise((resolve, reject) => {
      list.push({ key, signal, resolve, reject });
    });
  }

  #flush(group: string): void {
    const waiters = this.#gathering.get(group)!;
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
    const left = new Set<Waiter>();
    const unlisten: (() => void)[] = [];
    for (const waiter of waiters) {
      const onAbort = () => {
        left.add(waiter);
        waiter.reject(waiter.signal.reason);
        if (--staying === 0) leaving.abort(waiter.signal.reason);
      };
      if (waiter.signal.aborted) onAbort();
      else {
        waiter.signal.addEventListener("abort", onAbort, { once: true });
        unlisten.push(() =>
          waiter.signal.removeEventListener("abort", onAbort)
        );
      }
    }
    if (staying === 0) return;
    const keys = [...new Set(waiters.map((waiter) => waiter.key))];
    try {
      const results = await this.#send(group, keys, leaving.signal);
      for (const waiter of waiters) {
        if (left.has(waiter)) continue;
        const result = results.get(waiter.key)!;
        if (result instanceof Error) waiter.reject(result);
        else waiter.resolve(result);
      }
    } catch (err) {
      for (const waiter of waiters) {
        if (!left.has(waiter)) waiter.reject(keyError(err, waiter.key, keys));
      }
    } finally {
      for (const stop of unlisten) stop();
    }
  }
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
