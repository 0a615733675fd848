/**
 * Bounds on the bodies of peers' writes (`PUT`), for both servers: a body
 * must arrive whole within a deadline (one sent a byte at a time is cut),
 * and the bytes of write bodies a node holds at once are capped (past the
 * cap a write is answered `503` with `retry-after`, before its body is
 * read when its length is declared), so that concurrent large writes
 * cannot grow memory without bound.
 *
 * @module
 */

import { concat } from "./wire.ts";

/** The write bodies one node is reading, and their bounds. */
export class WriteBodies {
  /** The most bytes of write bodies held at once. */
  readonly capBytes: number;
  /** How long one body may take to arrive whole, in milliseconds. */
  readonly deadlineMs: number;
  #held = 0;

  constructor(capBytes: number, deadlineMs: number) {
    this.capBytes = capBytes;
    this.deadlineMs = deadlineMs;
  }

  /** Holds `bytes` more, if the cap allows. */
  take(bytes: number): boolean {
    if (this.#held + bytes > this.capBytes) return false;
    this.#held += bytes;
    return true;
  }

  /** Lets go of `bytes`. */
  give(bytes: number): void {
    this.#held -= bytes;
  }
}

/** Why a write body was not read whole. */
export type BodyRefusal = "too-large" | "busy" | "timeout";

/** A body read under {@linkcode WriteBodies}: its bytes, held until `release`. */
export interface GuardedBody {
  /** The body, or why it was not read. */
  readonly body: Uint8Array | BodyRefusal;
  /** Lets go of the bytes held for it (once the write is carried out). */
  release(): void;
}

/**
 * Reads `stream` (a body of `declared` bytes when its length is declared)
 * of at most `limit` bytes, holding its bytes in `bodies` as they arrive,
 * within `bodies.deadlineMs`. Refused: the stream is cancelled.
 */
export async function readGuarded(
  stream: ReadableStream<Uint8Array> | null,
  declared: number | undefined,
  limit: number,
  bodies: WriteBodies,
): Promise<GuardedBody> {
  let held = 0;
  const release = () => {
    bodies.give(held);
    held = 0;
  };
  const refuse = async (why: BodyRefusal): Promise<GuardedBody> => {
    release();
    try {
      await stream?.cancel();
    } catch { /* already closed */ }
    return { body: why, release };
  };
  if (declared !== undefined) {
    if (declared > limit) return await refuse("too-large");
    if (!bodies.take(declared)) return await refuse("busy");
    held = declared;
  }
  if (stream === null) return { body: new Uint8Array(0), release };
  const reader = stream.getReader();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, bodies.deadlineMs);
  // A declared body is copied into its own array as it arrives (held once,
  // never twice as chunks and their concatenation); another is kept as
  // chunks, then joined.
  const whole = declared === undefined ? undefined : new Uint8Array(declared);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const read = await reader.read();
      if (timedOut) return await refuse("timeout");
      if (read.done) break;
      const value = read.value;
      if (total + value.length > limit) return await refuse("too-large");
      if (total + value.length > held) {
        if (!bodies.take(total + value.length - held)) {
          return await refuse("busy");
        }
        held = total + value.length;
      }
      if (whole !== undefined) {
        // More than declared: not a body any server should have passed on.
        if (total + value.length > whole.length) {
          return await refuse("too-large");
        }
        whole.set(value, total);
      } else {
        // Deno hands over small views of large buffers: keep only the bytes.
        chunks.push(
          value.byteLength * 2 < value.buffer.byteLength
            ? value.slice()
            : value,
        );
      }
      total += value.length;
    }
  } catch (err) {
    if (timedOut) return await refuse("timeout");
    release();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  if (whole !== undefined) return { body: whole.subarray(0, total), release };
  return { body: concat(chunks, total), release };
}
