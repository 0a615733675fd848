/**
 * The server side of a batch request (see `batch_wire.ts`): each key
 * answered as a peer's single get would be (cache, else one shared load
 * here, never forwarded), at most {@linkcode BATCH_LOADS} loads at a time
 * (a cached key takes no turn: it is answered synchronously), and the
 * answer sent once every key has its entry.
 *
 * @module
 */

import { ByteView } from "./byte_view.ts";
import { NotFoundError } from "./errors.ts";
import { hitBody } from "./framed.ts";
import type { GroupServer } from "./registry.ts";
import { type BatchEntry, encodeBatchAnswer } from "./batch_wire.ts";

/** How many keys of one batch load at once on the owner. */
export const BATCH_LOADS = 16;

/** A batch's answer: `200` with this body. */
export class BatchAnswer {
  readonly body: Uint8Array<ArrayBuffer>;
  constructor(body: Uint8Array<ArrayBuffer>) {
    this.body = body;
  }
}

const encoder = new TextEncoder();

/** The entry of a key whose get settled with `view` or failed with `err`. */
function entryOf(
  key: string,
  view: ByteView | undefined,
  err: unknown,
  mailgun: boolean,
): BatchEntry {
  if (view !== undefined) {
    return { key, kind: 0, bytes: hitBody(view, mailgun) };
  }
  const message = encoder.encode((err as Error)?.message ?? String(err));
  return { key, kind: err instanceof NotFoundError ? 1 : 2, bytes: message };
}

/**
 * Answers `keys` from `server`, each once, all at once: the body is sent
 * whole once every key has its entry. (Sending each entry as soon as it is
 * ready, chunked, was measured against this in bench/batch_bench.ts: the
 * asking node reads the answer whole either way, and it was not faster.)
 * `signal` (the request's, read on a miss only) detaches the loads when the
 * asking peer leaves.
 */
export async function answerBatch(
  server: GroupServer,
  keys: readonly string[],
  signal: { readonly signal: AbortSignal },
  mailgun: boolean,
): Promise<BatchAnswer> {
  const entries: BatchEntry[] = [];
  await answerEach(server, keys, signal, mailgun, (entry) => {
    entries.push(entry);
  });
  return new BatchAnswer(encodeBatchAnswer(entries));
}

/**
 * Hands each distinct key of `keys` to `emit` with its entry as soon as it
 * has one, at most {@linkcode BATCH_LOADS} loads at a time; resolves once
 * every key has had its entry. A cached key is answered synchronously.
 */
export function answerEach(
  server: GroupServer,
  keys: readonly string[],
  signal: { readonly signal: AbortSignal },
  mailgun: boolean,
  emit: (entry: BatchEntry) => void,
): Promise<void> {
  const distinct = [...new Set(keys)];
  let answered = 0;
  let next = 0;
  let loading = 0;
  return new Promise((resolve) => {
    const settle = (key: string, view: ByteView | undefined, err: unknown) => {
      let entry;
      try {
        entry = entryOf(key, view, err, mailgun);
      } catch (failed) {
        entry = entryOf(key, undefined, failed, mailgun); // its own failure
      }
      emit(entry);
      if (++answered === distinct.length) resolve();
    };
    // Starts keys until BATCH_LOADS loads run: a cached key settles at once.
    const pump = () => {
      while (next < distinct.length && loading < BATCH_LOADS) {
        const key = distinct[next++];
        let found;
        try {
          if (key === "") throw new RangeError("empty key");
          found = server.get(key, signal);
        } catch (err) {
          settle(key, undefined, err);
          continue;
        }
        if (found instanceof ByteView) {
          settle(key, found, undefined);
          continue;
        }
        loading++;
        found.then(
          (view) => loaded(key, view, undefined),
          (err) => loaded(key, undefined, err),
        );
      }
    };
    const loaded = (key: string, view: ByteView | undefined, err: unknown) => {
      loading--;
      settle(key, view, err);
      pump();
    };
    pump();
    if (distinct.length === 0) resolve();
  });
}
