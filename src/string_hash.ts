/**
 * The LRU's string hash, keyed by random tables drawn once per process so
 * that keys chosen by a client cannot be aimed at one bucket chain (issue
 * 20: a seeded multiply-and-shift hash had collisions whatever its seed).
 *
 * A key of at most {@linkcode TABULATED_BYTES} bytes, read one byte a UTF-16
 * unit when every unit is below 256 (ASCII and Latin-1: nearly every key),
 * else as UTF-16LE, is hashed by simple tabulation: the XOR of one random
 * 32-bit word per (position, byte), and one word for its length and which
 * of the two readings it is (the key seen as padded to a fixed length, the
 * padding folded into that word). Whatever keys an attacker picks without
 * the tables, two distinct keys collide with probability 2^-32, and 2^-b in
 * a table of 2^b buckets (the family is 3-independent); linear probing,
 * which `LruCache` uses, takes O(1) expected time per operation on any key
 * set fixed in advance (Pătraşcu and Thorup, "The Power of Simple
 * Tabulation Hashing", J. ACM 59(3), 2012). It costs one table read a byte
 * and no chain of multiplies: as fast as the hash it replaced, where
 * HalfSipHash-1-3 cost 15-20 % more per LRU operation (bench/lru_bench.ts,
 * bench/string_hash_bench.ts).
 *
 * Longer keys go to HalfSipHash-1-3 (`siphash.ts`), a keyed pseudo-random
 * function. What tabulation does not give, being linear: an attacker able
 * to tell which of his keys share a bucket (timing single probes of a
 * node's table, nanoseconds apart, over its peer port) could combine such
 * pairs into more; HalfSipHash resists that too.
 *
 * @module
 */

import { halfSipHashString } from "./siphash.ts";

/** The longest key hashed by tabulation, in bytes as it is read. */
export const TABULATED_BYTES = 128;

/** Where the words of each length and reading start (after the bytes'). */
const LENGTHS = TABULATED_BYTES * 256;
/** Where the words of the UTF-16LE readings' lengths start. */
const WIDE_LENGTHS = LENGTHS + TABULATED_BYTES + 1;
/** Words in the tables of {@linkcode stringHash}. */
const TABLE_WORDS = WIDE_LENGTHS + TABULATED_BYTES / 2 + 1;

/**
 * The keyed 32-bit hash of `s` (signed) under the random `tables` (made by
 * {@linkcode randomTables}) and the HalfSipHash key (`k0`, `k1`).
 */
export function stringHash(
  s: string,
  tables: Int32Array,
  k0: number,
  k1: number,
): number {
  const n = s.length;
  if (n <= TABULATED_BYTES) {
    let h = tables[LENGTHS + n], units = 0;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      units |= c;
      h ^= tables[(i << 8) | (c & 0xff)];
    }
    if (units <= 0xff) return h;
  }
  return 2 * n <= TABULATED_BYTES
    ? wideHash(s, tables)
    : halfSipHashString(s, k0, k1);
}

/** `stringHash` of a key with a unit of 256 or more: its UTF-16LE bytes. */
function wideHash(s: string, tables: Int32Array): number {
  const n = s.length;
  let h = tables[WIDE_LENGTHS + n];
  for (let i = 0, at = 0; i < n; i++, at += 512) {
    const c = s.charCodeAt(i);
    h ^= tables[at | (c & 0xff)] ^ tables[(at + 256) | (c >>> 8)];
  }
  return h;
}

/**
 * Tables for {@linkcode stringHash}: 256 words for each byte position, then
 * one for each length of either reading, from `crypto.getRandomValues`, or
 * from `random` (tests).
 */
export function randomTables(random?: () => number): Int32Array {
  const tables = new Int32Array(TABLE_WORDS);
  // crypto.getRandomValues fills at most 64 KiB a call.
  for (let at = 0; at < TABLE_WORDS; at += 16_384) {
    const part = tables.subarray(at, at + 16_384);
    if (random === undefined) crypto.getRandomValues(part);
    else for (let i = 0; i < part.length; i++) part[i] = random() * 2 ** 32;
  }
  return tables;
}
