/**
 * SlabStore: the bytes of cached values packed into shared slabs, so that an
 * entry costs its bytes and a few typed-array slots rather than a
 * `Uint8Array`, an `ArrayBuffer` and (on V8) a backing store of its own.
 *
 * A value is copied once, into the active slab (256 KiB); a value larger than
 * an eighth of a slab gets a buffer of its own. Bytes a reader was handed (a
 * view into a slab) never change: a record is written once, where no view
 * reaches (the one later write, a freed record's header, is outside every
 * view), and an emptied slab is written again only if no view of it was ever
 * handed out (`bytes` marks the slab it views). Such a slab is kept as a
 * spare (a few at most) for the next slab needed, and such an own buffer
 * (one) for the next value of about its size, so that a churn of entries
 * nobody read (a scan, one-off keys) reuses its buffers instead of
 * allocating new ones and leaving the old to the garbage collector; a marked
 * one is let go, and readers still holding views keep it alive, unchanged,
 * until they drop them.
 *
 * Live records move only when the slabs as a whole hold too much: once the
 * sealed slabs' free bytes reach a third of their live bytes plus a slab,
 * the sparsest slabs (under 3/4 full) have their live records copied into
 * the active slab, until the free bytes are under a third of the live ones.
 * Spares count as free bytes, and go first once those reach a third of the
 * live bytes plus a slab. So the store holds at most 4/3 of the live bytes
 * plus two slabs, a move copies under 3 bytes per byte freed,
 * and an LRU's eviction, which empties the oldest slab while the others stay
 * full, moves nothing (a rule per slab, moving it once a quarter of it was
 * freed, copied each record about three times under that eviction).
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
/** Only a slab whose live bytes fall under this share of it moves. */
const MOVE_BELOW = 0.75;
/** Emptied slabs kept for reuse, at most. */
export const SPARE_SLABS = 4;
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

/** Whether a spare own buffer takes a record of `size` bytes, wasting at most an eighth. */
function fits(spare: Uint8Array | undefined, size: number): boolean {
  return spare !== undefined && spare.length >= size &&
    spare.length - size <= size >> 3;
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
  // Per slab (a shared slab or a value's own buffer).
  #bytes: (Uint8Array<ArrayBuffer> | undefined)[] = [];
  #words: (Int32Array | undefined)[] = [];
  #data: (DataView | undefined)[] = [];
  #used: number[] = [];
  #live: number[] = [];
  #own: boolean[] = [];
  #viewed: boolean[] = []; // a view of it was handed out: never written again
  #freeSlabs: number[] = [];
  #active = NONE;
  // Shared slabs other than the active one: how many, their live bytes.
  #sealed = 0;
  #sealedLive = 0;
  // Live bytes in values' own buffers.
  #ownLive = 0;
  // Emptied slabs no view ever reached (their bytes are nobody else's), and
  // one such own buffer, for the next value of about its size.
  #spares: Uint8Array<ArrayBuffer>[] = [];
  #spareOwn: Uint8Array<ArrayBuffer> | undefined;
  #moving = false;
  /** Bytes of every buffer the store holds (live, freed and unused space, spares). */
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
      slab = this.#newSlab(size, true);
    } else {
      if (
        this.#active === NONE || this.#used[this.#active] + size > SLAB_BYTES
      ) this.#roll();
      slab = this.#active;
    }
    const at = this.#used[slab];
    this.#used[slab] = at + size;
    this.#live[slab] += size;
    if (this.#own[slab]) this.#ownLive += size;
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
    if (expire === 0) bytes[start + length + 1] = 0; // a spare held other bytes
    else writeVarint64(bytes, start + length + 1, unixNanosFromMs(expire));
    this.#balance();
    return id;
  }

  /**
   * A view of `id`'s bytes (zero-copy; they never change: `slab` marks the
   * slab as viewed, never to be reused).
   */
  bytes(id: number): Uint8Array<ArrayBuffer> {
    const start = this.start(id);
    return this.slab(id).subarray(start, start + this.length(id));
  }

  /**
   * The buffer `id`'s bytes sit in, whole: they are the `length(id)` bytes
   * from `start(id)`, and never change (a view without a `Uint8Array` per
   * read, see src/framed.ts). Marked as viewed, as by `bytes`: whoever holds
   * it may read it later, so it is never reused.
   */
  slab(id: number): Uint8Array<ArrayBuffer> {
    const slab = this.#slabOf[id];
    this.#viewed[slab] = true;
    return this.#bytes[slab]!;
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
    this.#slabOf[id] = NONE;
    this.#at[id] = this.#freeId;
    this.#freeId = id;
    if (this.#own[slab]) {
      this.#ownLive -= size;
      this.#release(slab);
      this.#dropSpares();
      return;
    }
    this.#words[slab]![at >> 2] = -size;
    this.#live[slab] -= size;
    if (slab === this.#active) return;
    this.#sealedLive -= size;
    if (this.#live[slab] === 0) {
      this.#sealed--;
      this.#release(slab);
    }
    this.#balance();
  }

  /** Lets everything go. */
  clear(): void {
    for (let s = 0; s < this.#bytes.length; s++) {
      if (this.#bytes[s] !== undefined) this.#release(s);
    }
    this.#spares = [];
    this.#spareOwn = undefined;
    this.#ownLive = 0;
    this.held = 0;
    this.#active = NONE;
    this.#sealed = 0;
    this.#sealedLive = 0;
    this.#freeId = NONE;
    this.#topId = 0;
  }

  /** Seals the active slab and starts a new one. */
  #roll(): void {
    const old = this.#active;
    this.#active = NONE;
    if (old !== NONE) {
      if (this.#live[old] === 0) this.#release(old);
      else {
        this.#sealed++;
        this.#sealedLive += this.#live[old];
      }
    }
    this.#active = this.#newSlab(SLAB_BYTES, false);
  }

  /**
   * Whether the sealed slabs' free bytes reach a third of their live bytes
   * plus `slack` (pass it, without a slack: so that an empty store keeps no
   * spare); with `spares`, the spares' bytes count as free and the own
   * buffers' live bytes as live.
   */
  #over(slack: number, spares: boolean): boolean {
    let free = this.#sealed * SLAB_BYTES - this.#sealedLive;
    let live = this.#sealedLive;
    if (spares) {
      free += this.#spares.length * SLAB_BYTES +
        (this.#spareOwn?.length ?? 0);
      live += this.#ownLive;
    }
    const allowed = live / 3 + slack;
    return slack === 0 ? free > allowed : free >= allowed;
  }

  /**
   * Keeps what the slabs hold under 4/3 of their live bytes plus a slab:
   * spares go first; when the sealed slabs alone reach it, the sparsest move
   * out until they hold at most 4/3 (so that the next move is at least a
   * slab's frees away).
   */
  #balance(): void {
    if (this.#moving) return;
    this.#dropSpares();
    if (!this.#over(SLAB_BYTES, false)) return;
    this.#moving = true;
    const sparse: number[] = [];
    for (let s = 0; s < this.#bytes.length; s++) {
      if (
        s !== this.#active && !this.#own[s] && this.#bytes[s] !== undefined &&
        this.#live[s] < MOVE_BELOW * SLAB_BYTES
      ) sparse.push(s);
    }
    sparse.sort((a, b) => this.#live[a] - this.#live[b]);
    for (const slab of sparse) {
      if (!this.#over(0, false)) break;
      this.#move(slab);
    }
    this.#moving = false;
    this.#dropSpares();
  }

  /** Lets spares go while the store holds 4/3 of its live bytes plus a slab. */
  #dropSpares(): void {
    while (this.#spares.length > 0 && this.#over(SLAB_BYTES, true)) {
      this.#spares.pop();
      this.held -= SLAB_BYTES;
    }
    const own = this.#spareOwn;
    if (
      own !== undefined &&
      (this.#ownLive + this.#sealedLive === 0 || this.#over(SLAB_BYTES, true))
    ) {
      this.#spareOwn = undefined;
      this.held -= own.length;
    }
  }

  /** Copies a sealed slab's live records into the active slab; lets it go. */
  #move(slab: number): void {
    const words = this.#words[slab]!;
    const bytes = this.#bytes[slab]!;
    const used = this.#used[slab];
    this.#sealedLive -= this.#live[slab];
    this.#sealed--;
    this.#live[slab] = 0;
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
    this.#release(slab);
  }

  /** Copies live `id`'s record (all but the header) into the active slab. */
  #relocate(id: number, src: Uint8Array): void {
    const size = 4 + src.length;
    if (
      this.#active === NONE || this.#used[this.#active] + size > SLAB_BYTES
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

  /** A shared slab (a spare if there is one), or a value's own buffer. */
  #newSlab(size: number, own: boolean): number {
    let bytes: Uint8Array<ArrayBuffer> | undefined;
    if (!own) bytes = this.#spares.pop();
    else if (fits(this.#spareOwn, size)) {
      bytes = this.#spareOwn;
      this.#spareOwn = undefined;
    }
    if (bytes === undefined) {
      bytes = new Uint8Array(size);
      this.held += size;
    }
    const slab = this.#freeSlabs.length > 0
      ? this.#freeSlabs.pop()!
      : this.#bytes.length;
    this.#bytes[slab] = bytes;
    this.#words[slab] = new Int32Array(bytes.buffer);
    this.#data[slab] = new DataView(bytes.buffer);
    this.#used[slab] = 0;
    this.#live[slab] = 0;
    this.#own[slab] = own;
    this.#viewed[slab] = false;
    return slab;
  }

  /**
   * Lets an empty slab go: kept as a spare unless a view of it was handed
   * out (an own buffer replaces the spare one).
   */
  #release(slab: number): void {
    const bytes = this.#bytes[slab]!;
    if (this.#viewed[slab]) this.held -= bytes.length;
    else if (!this.#own[slab]) {
      if (this.#spares.length < SPARE_SLABS) this.#spares.push(bytes);
      else this.held -= bytes.length;
    } else {
      if (this.#spareOwn !== undefined) this.held -= this.#spareOwn.length;
      this.#spareOwn = bytes;
    }
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
