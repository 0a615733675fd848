/**
 * Protobuf varints, as the wire messages (src/protobuf.ts) and the cache's
 * framed values (src/slab_store.ts) write them.
 *
 * @module
 */

/** How many bytes `n` (a length, 0 to 2^53) takes as a varint. */
export function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) size++;
  return size;
}

/** Writes `n` as a varint at `pos`; returns the position after it. */
export function writeVarint(
  out: Uint8Array,
  pos: number,
  n: number,
): number {
  let v = n;
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

/** An int64 as protobuf writes it: two's complement, so negatives take 10 bytes. */
export function varint64Size(n: bigint): number {
  let v = BigInt.asUintN(64, n), size = 1;
  for (; v >= 0x80n; v >>= 7n) size++;
  return size;
}

/** Writes `n` as an int64 varint at `pos`; returns the position after it. */
export function writeVarint64(
  out: Uint8Array,
  pos: number,
  n: bigint,
): number {
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[pos++] = Number(v);
  return pos;
}
