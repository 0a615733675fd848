/**
 * SlabStore: the bytes of cached values packed into shared slabs, so that an
 * entry costs its bytes and a few typed-array slots rather than a
 * `Uint8Array`, an `ArrayBuffer` and (on V8) a backing store of its own.
 *
 * A value is copied once, into the active slab (256 KiB); a value larger than
 * an eighth of a slab gets a buffer of its own. Slab space is never reused:
 * a value's bytes are written once, where nothing was written before, so
 * bytes a reader was handed (a view into a slab) never change (the one later
 * write, a freed record's header, is outside every view). When entries
 * leave, a slab whose live bytes fall under three quarters of what it holds
 * has its live records copied into the active slab and is let go (readers
 * still holding views of it keep it alive, unchanged, until they drop them).
 * So the slabs never hold more than 4/3 of the live bytes plus the active
 * slab, and moving copies at most 3 bytes per byte freed.
 *
 * Each record in a slab is `[header: int32][expiry: float64, only if the
 * value has one][0x0a varint(length)][value][0x18 varint64(expiry in Unix
 * ns)][padding to 4]`; the header is the entry's id while it lives and minus
 * the record's size once it is freed, which is how a move walks a slab. The
 * bytes around the value are the protobuf `GetResponse{value, expire}` a
 * peer answers with, so that a hit is served as a view of the record, not
 * encoded and copied per request (see `hitBody` in src/protobuf.ts; the
 * expiry's room is 11 bytes, a varint64's largest, as its size varies).
 * Readers' views cover the value only.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import { unixNanosFromMs } from "./protobuf.ts";
import { varintSize, writeVarint, writeVarint64 } from "./varint.ts";

/**
 * The longest value the store takes: lengths and offsets live in 32-bit
 * slots. A group hands a longer one back uncached.
 */
export const MAX_VALUE_BYTES = 2 ** 31 - (1 << 16);
/** Bytes in a shared slab. */
export const SLAB_BYTES = 256 << 10;
/** A record larger than this gets a buffer of its own. */
const OWN_BUFFER = SLAB_BYTES >> 3;
/** A slab whose live bytes fall under this share of its used bytes moves. */
const MOVE_BELOW = 0.75;
const NONE = -1;

/** Room after a value without an expiry: `0x18 0x00`, mailgun's "never". */
const SUFFIX = 2;
/** Room after a value with one: `0x18` and a varint64 of up to 10 bytes. */
const EXPIRY_SUFFIX = 11;

/** Bytes of `0x0a varint(length)`, the protobuf header before a value. */
function headerSize(length: number): number {
  return length < 0x80 ? 2 : length < 0x4000 ? 3 : 1 + varintSize(length);
}

/**
 * Bytes a record takes in a slab: header, expiry (8 bytes, only when the
 * value has one), framed value, padding to 4. `shape` is a length, or
 * `~length` for a value with an expiry.
 */
function recordSize(shape: number): number {
  if (shape >= 0) return (4 + headerSize(shape) + shape + SUFFIX + 3) & ~3;
  const length = ~shape;
  return (12 + headerSize(length) + length + EXPIRY_SUFFIX + 3) & ~3;
}

/** Where a record's value starts, from the record's offset. */
function valueStart(at: number, shape: number): number {
  return shape >= 0 ? at + 4 + headerSize(shape) : at + 12 + headerSize(~shape);
}

/**
 * Values stored by id: `put` copies bytes in and returns an id, `bytes`
 * views them, `free` lets them go. Ids are small integers, reused.
 */
export class SlabStore {
  // Per id: its slab, its record's offset there, its value's length (as
  // ~length when the record holds an expiry: most values have none, so it
  // is kept in the record rather than in 8 bytes for every id).
  #slabOf = new Int32Array(64);
  #at = new Int32Array(64); // on a free id: the next free id
  #shape = new Int32Array(64);
  #freeId = NONE;
  #topId = 0;
  // Per slab.
  #bytes: (Uint8Array<ArrayBuffer> | undefined)[] = [];
  #words: (Int32Array | undefined)[] = [];
  #data: (DataView | undefined)[] = [];
  #used: number[] = [];
  #live: number[] = [];
  #freeSlabs: number[] = [];
  #active = NONE;
  #sealed: number[] = []; // sealed, not yet checked
  /** Bytes of every buffer the store holds (live, freed and unused space). */
  held = 0;
  readonly #onMove: (id: number) => void;

  /** @param onMove Told of each id whose bytes move to another slab. */
  constructor(onMove: (id: number) => void = () => {}) {
    this.#onMove = onMove;
  }

  /** Stores a copy of `value`'s bytes and its expiry; returns the id. */
  put(value: ByteView): number {
    const length = value.length;
    const expire = value.expire;
    const shape = expire === 0 ? length : ~length;
    const size = recordSize(shape);
    let slab: number;
    if (size > OWN_BUFFER) {
      slab = this.#newSlab(size);
    } else {
      while (
        this.#active === NONE ||
        this.#used[this.#active] + size > this.#bytes[this.#active]!.length
      ) this.#roll();
      slab = this.#active;
    }
    const at = this.#used[slab];
    this.#used[slab] = at + size;
    this.#live[slab] += size;
    const id = this.#newId();
    this.#slabOf[id] = slab;
    this.#at[id] = at;
    this.#shape[id] = shape;
    this.#words[slab]![at >> 2] = id;
    const bytes = this.#bytes[slab]!;
    let start = at + 4;
    if (expire !== 0) {
      this.#data[slab]!.setFloat64(start, expire, true);
      start += 8;
    }
    bytes[start] = 0x0a;
    start = writeVarint(bytes, start + 1, length);
    value.copyTo(bytes, start);
    bytes[start + length] = 0x18;
    // 0 for never is already there: nothing was written here before.
    if (expire !== 0) {
      writeVarint64(bytes, start + length + 1, unixNanosFromMs(expire));
    }
    this.#checkSealed();
    return id;
  }

  /** A view of `id`'s bytes (zero-copy; they never change). */
  bytes(id: number): Uint8Array<ArrayBuffer> {
    const buf = this.#bytes[this.#slabOf[id]]!;
    const shape = this.#shape[id];
    return new Uint8Array(
      buf.buffer,
      valueStart(this.#at[id], shape),
      shape >= 0 ? shape : ~shape,
    );
  }

  /**
   * The buffer `id`'s bytes sit in, whole: they are the `length(id)` bytes
   * from `start(id)`, and never change (a view without a `Uint8Array` per
   * read, see src/framed.ts).
   */
  slab(id: number): Uint8Array<ArrayBuffer> {
    return this.#bytes[this.#slabOf[id]]!;
  }

  /** Where `id`'s bytes start in `slab(id)`. */
  start(id: number): number {
    return valueStart(this.#at[id], this.#shape[id]);
  }

  /** When `id`'s value expires (Unix milliseconds; 0: never). */
  expire(id: number): number {
    if (this.#shape[id] >= 0) return 0;
    return this.#data[this.#slabOf[id]]!.getFloat64(this.#at[id] + 4, true);
  }

  /** The length of `id`'s value. */
  length(id: number): number {
    const shape = this.#shape[id];
    return shape >= 0 ? shape : ~shape;
  }

  /** Lets `id`'s bytes go; the id may be handed out again. */
  free(id: number): void {
    const slab = this.#slabOf[id];
    const at = this.#at[id];
    const size = recordSize(this.#shape[id]);
    this.#words[slab]![at >> 2] = -size;
    this.#live[slab] -= size;
    this.#slabOf[id] = NONE;
    this.#at[id] = this.#freeId;
    this.#freeId = id;
    if (slab !== this.#active) this.#check(slab);
    this.#checkSealed();
  }

  /** Seals the active slab (to be checked) and starts a new one. */
  #roll(): void {
    if (this.#active !== NONE) this.#sealed.push(this.#active);
    this.#active = this.#newSlab(SLAB_BYTES);
  }

  /** Checks the slabs sealed meanwhile: the active one takes frees unchecked. */
  #checkSealed(): void {
    while (this.#sealed.length > 0) this.#check(this.#sealed.pop()!);
  }

  /** Lets everything go. */
  clear(): void {
    for (let s = 0; s < this.#bytes.length; s++) this.#dropSlab(s);
    this.#active = NONE;
    this.#sealed = [];
    this.#freeId = NONE;
    this.#topId = 0;
  }

  /** Moves a sealed slab's live records out, or drops it when empty. */
  #check(slab: number): void {
    if (slab === this.#active || this.#bytes[slab] === undefined) return;
    const live = this.#live[slab];
    if (live === 0) {
      this.#dropSlab(slab);
      return;
    }
    if (live >= MOVE_BELOW * this.#used[slab]) return;
    const words = this.#words[slab]!;
    const bytes = this.#bytes[slab]!;
    const used = this.#used[slab];
    this.#live[slab] = 0; // so that nothing below checks it again
    for (let at = 0; at < used;) {
      const header = words[at >> 2];
      if (header < 0) {
        at -= header;
        continue;
      }
      const size = recordSize(this.#shape[header]);
      this.#relocate(header, bytes.subarray(at + 4, at + size));
      at += size;
    }
    this.#dropSlab(slab);
  }

  /** Copies live `id`'s record (all but the header) into the active slab. */
  #relocate(id: number, src: Uint8Array): void {
    const size = 4 + src.length;
    if (
      this.#active === NONE ||
      this.#used[this.#active] + size > this.#bytes[this.#active]!.length
    ) this.#roll();
    const slab = this.#active;
    const at = this.#used[slab];
    this.#used[slab] = at + size;
    this.#live[slab] += size;
    this.#slabOf[id] = slab;
    this.#at[id] = at;
    this.#words[slab]![at >> 2] = id;
    this.#bytes[slab]!.set(src, at + 4);
    this.#onMove(id);
  }

  #newSlab(size: number): number {
    const bytes = new Uint8Array(size);
    const slab = this.#freeSlabs.length > 0
      ? this.#freeSlabs.pop()!
      : this.#bytes.length;
    this.#bytes[slab] = bytes;
    this.#words[slab] = new Int32Array(bytes.buffer);
    this.#data[slab] = new DataView(bytes.buffer);
    this.#used[slab] = 0;
    this.#live[slab] = 0;
    this.held += size;
    return slab;
  }

  #dropSlab(slab: number): void {
    const bytes = this.#bytes[slab];
    if (bytes === undefined) return;
    this.held -= bytes.length;
    this.#bytes[slab] = undefined;
    this.#words[slab] = undefined;
    this.#data[slab] = undefined;
    this.#used[slab] = 0;
    this.#live[slab] = 0;
    this.#freeSlabs.push(slab);
    if (this.#active === slab) this.#active = NONE;
  }

  #newId(): number {
    if (this.#freeId !== NONE) {
      const id = this.#freeId;
      this.#freeId = this.#at[id];
      return id;
    }
    const id = this.#topId++;
    if (id === this.#slabOf.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.#slabOf = grow(this.#slabOf);
      this.#at = grow(this.#at);
      this.#shape = grow(this.#shape);
    }
    return id;
  }
}
