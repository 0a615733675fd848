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
 * Answers `keys` from `server`, each once; `signal` (the request's, read on
 * a miss only) detaches the loads when the asking peer leaves.
 */
export async function answerBatch(
  server: GroupServer,
  keys: readonly string[],
  signal: { readonly signal: AbortSignal },
  mailgun: boolean,
): Promise<BatchAnswer> {
  const entries: BatchEntry[] = [];
  const distinct = [...new Set(keys)];
  let next = 0;
  const worker = async () => {
    while (next < distinct.length) {
      const key = distinct[next++];
      try {
        if (key === "") throw new RangeError("empty key");
        const found = server.get(key, signal);
        const view = found instanceof ByteView ? found : await found;
        entries.push(entryOf(key, view, undefined, mailgun));
      } catch (err) {
        entries.push(entryOf(key, undefined, err, mailgun));
      }
    }
  };
  const workers = Math.min(BATCH_LOADS, distinct.length);
  await Promise.all(Array.from({ length: workers }, worker));
  return new BatchAnswer(encodeBatchAnswer(entries));
}
