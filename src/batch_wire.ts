/**
 * The batch request of the peer protocol (see docs/batches.md): many keys of
 * one group in one `POST {basePath}{group}/`, answered with one entry per
 * key. Client (`batch_client.ts`) and server (`batch_server.ts`) both use
 * it; only our nodes speak it, and a client sends it only to a peer that has
 * said so with {@linkcode BATCH_HEADER} on an earlier answer.
 *
 * Request body: per key, a varint length and the key's UTF-8 bytes.
 * Response body: per key, in any order, a varint length and the key's UTF-8
 * bytes, one kind byte (`0` value, `1` not found, `2` the getter failed),
 * a varint length and that many bytes: the value's `GetResponse` message, or
 * the error's message in UTF-8.
 *
 * @module
 */

import { ProtobufError } from "./errors.ts";
import { utf8Length } from "./byte_view.ts";
import { varintSize, writeVarint } from "./varint.ts";

/** The content type of a batch request and of its answer. */
export const BATCH_TYPE = "application/x-groupcache-batch";

/**
 * The response header with which our servers say, on every answer, that
 * they take batch requests (value `1`). Go and mailgun nodes send none, so
 * they only ever get per-key `GET`s.
 */
export const BATCH_HEADER = "x-groupcache-batch";

/** The most keys one batch request carries (a server refuses more: 413). */
export const MAX_BATCH_KEYS = 1024;

/** An entry's kind: a value, a not-found, a getter failure. */
export type EntryKind = 0 | 1 | 2;

/** One entry of a batch answer. */
export interface BatchEntry {
  readonly key: string;
  readonly kind: EntryKind;
  /** The `GetResponse` (kind 0) or the error message's UTF-8 (kinds 1, 2). */
  readonly bytes: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Writes `key`, `size` bytes of UTF-8, with its varint length at `pos`;
 * returns the position after it. Keys are short and mostly ASCII: a loop
 * costs less than a call into the runtime's encoder (a Deno op).
 */
export function writeKey(
  out: Uint8Array,
  pos: number,
  key: string,
  size: number,
): number {
  pos = writeVarint(out, pos, size);
  if (size === key.length) {
    for (let i = 0; i < size; i++) out[pos + i] = key.charCodeAt(i);
  } else encoder.encodeInto(key, out.subarray(pos, pos + size));
  return pos + size;
}

/** A request body of `keys`. */
export function encodeBatchRequest(
  keys: readonly string[],
): Uint8Array<ArrayBuffer> {
  const sizes = keys.map(utf8Length);
  let size = 0;
  for (const n of sizes) size += varintSize(n) + n;
  const out = new Uint8Array(size);
  let pos = 0;
  keys.forEach((key, i) => pos = writeKey(out, pos, key, sizes[i]));
  return out;
}

/** The keys of a request body (a `ProtobufError` when it is malformed). */
export function decodeBatchRequest(body: Uint8Array): string[] {
  const keys: string[] = [];
  const reader = new Reader(body);
  while (!reader.done) keys.push(reader.text());
  return keys;
}

/** An answer body of `entries`. */
export function encodeBatchAnswer(
  entries: readonly BatchEntry[],
): Uint8Array<ArrayBuffer> {
  const sizes = entries.map((entry) => utf8Length(entry.key));
  let size = 0;
  entries.forEach((entry, i) => {
    const n = entry.bytes.length;
    size += varintSize(sizes[i]) + sizes[i] + 1 + varintSize(n) + n;
  });
  const out = new Uint8Array(size);
  let pos = 0;
  entries.forEach((entry, i) => {
    pos = writeKey(out, pos, entry.key, sizes[i]);
    out[pos++] = entry.kind;
    pos = writeVarint(out, pos, entry.bytes.length);
    out.set(entry.bytes, pos);
    pos += entry.bytes.length;
  });
  return out;
}

/** The entries of an answer body (a `ProtobufError` when it is malformed). */
export function decodeBatchAnswer(body: Uint8Array): BatchEntry[] {
  const entries: BatchEntry[] = [];
  const reader = new Reader(body);
  while (!reader.done) {
    const key = reader.text();
    const kind = reader.byte();
    if (kind > 2) throw new ProtobufError(`unknown entry kind ${kind}`);
    entries.push({ key, kind: kind as EntryKind, bytes: reader.bytes() });
  }
  return entries;
}

/** The frames of `body` (a `ProtobufError` when a length overruns it). */
export function decodeFrames(body: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const reader = new Reader(body);
  while (!reader.done) frames.push(reader.bytes());
  return frames;
}

/** Reads length-delimited fields, every length checked against the body. */
class Reader {
  readonly #body: Uint8Array;
  #pos = 0;
  constructor(body: Uint8Array) {
    this.#body = body;
  }
  get done(): boolean {
    return this.#pos >= this.#body.length;
  }
  byte(): number {
    if (this.done) throw new ProtobufError("truncated batch body");
    return this.#body[this.#pos++];
  }
  bytes(): Uint8Array {
    let n = 0;
    for (let shift = 1, b = 0x80; b & 0x80; shift *= 128) {
      if (shift > 2 ** 35) throw new ProtobufError("length varint too long");
      b = this.byte();
      n += (b & 0x7f) * shift;
    }
    if (n > this.#body.length - this.#pos) {
      throw new ProtobufError("truncated batch body");
    }
    const out = this.#body.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
  text(): string {
    const bytes = this.bytes();
    // Short ASCII, the usual key: no call into the runtime's decoder.
    if (bytes.length > 64) return utf8(bytes);
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] >= 0x80) return utf8(bytes);
    }
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
}

/** `bytes` as UTF-8 (a `ProtobufError` when they are not). */
function utf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new ProtobufError("a key is not valid UTF-8");
  }
}
