/**
 * HalfSipHash (Aumasson and Bernstein's SipHash on 32-bit words, from their
 * reference implementation): a keyed hash whose collisions an attacker
 * cannot find without the key, so keys chosen by a client cannot be aimed
 * at one bucket of a hash table. 32-bit words keep it on the fast integer
 * path of every JavaScript engine (SipHash's 64-bit words would need
 * BigInt or pairs of halves).
 *
 * {@linkcode halfSipHashString} is HalfSipHash-1-3 (one round per word,
 * three to finish, as Rust and Python use SipHash for their tables) of a
 * string's UTF-16LE bytes; {@linkcode halfSipHash} hashes bytes with any
 * number of rounds, for the published HalfSipHash-2-4 test vectors.
 *
 * @module
 */

/**
 * HalfSipHash-`c`-`d` (32-bit output), as a signed 32-bit integer, of the
 * bytes whose units are `s`: one byte each (`wide` false: every unit is
 * below 256), or two, little-endian (`wide`). Returns `undefined` when a
 * unit of a string read one byte a unit is 256 or more.
 */
function sip(
  s: string,
  wide: boolean,
  k0: number,
  k1: number,
  c: number,
  d: number,
): number | undefined {
  let v0 = k0, v1 = k1, v2 = 0x6c796765 ^ k0, v3 = 0x74656462 ^ k1;
  const n = s.length;
  const step = wide ? 2 : 4; // units a 32-bit word
  const byteLength = wide ? 2 * n : n;
  // The units of the whole words; the rest go in the last word.
  const whole = n - (n % step);
  for (let i = 0;; i += step) {
    const last = i >= whole;
    let m: number;
    if (wide) {
      m = last
        ? (i < n ? s.charCodeAt(i) : 0) | ((byteLength & 0xff) << 24)
        : s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    } else if (!last) {
      const a = s.charCodeAt(i), b = s.charCodeAt(i + 1);
      const e = s.charCodeAt(i + 2), f = s.charCodeAt(i + 3);
      if ((a | b | e | f) > 0xff) return undefined;
      m = a | (b << 8) | (e << 16) | (f << 24);
    } else {
      m = (byteLength & 0xff) << 24;
      for (let j = i; j < n; j++) {
        const u = s.charCodeAt(j);
        if (u > 0xff) return undefined;
        m |= u << (8 * (j - i));
      }
    }
    v3 ^= m;
    // The last word's c rounds run on into the d rounds that finish.
    const rounds = last ? c + d : c;
    for (let r = 0; r < rounds; r++) {
      if (r === c) {
        v0 ^= m;
        v2 ^= 0xff;
      }
      v0 = (v0 + v1) | 0;
      v1 = (v1 << 5) | (v1 >>> 27);
      v1 ^= v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = (v3 << 8) | (v3 >>> 24);
      v3 ^= v2;
      v0 = (v0 + v3) | 0;
      v3 = (v3 << 7) | (v3 >>> 25);
      v3 ^= v0;
      v2 = (v2 + v1) | 0;
      v1 = (v1 << 13) | (v1 >>> 19);
      v1 ^= v2;
      v2 = (v2 << 16) | (v2 >>> 16);
    }
    if (last) return v1 ^ v3;
    v0 ^= m;
  }
}

/**
 * HalfSipHash-`c`-`d` with 32-bit output of `bytes` under the 64-bit key
 * (`k0`, `k1`: its little-endian halves), as an unsigned 32-bit integer.
 *
 * @example The first published HalfSipHash-2-4 vectors (key 00..07)
 * ```ts
 * import { halfSipHash } from "./siphash.ts";
 * import assert from "node:assert/strict";
 *
 * const [k0, k1] = [0x03020100, 0x07060504];
 * assert.equal(halfSipHash(new Uint8Array(0), k0, k1, 2, 4), 0x5b9f35a9);
 * assert.equal(halfSipHash(new Uint8Array([0]), k0, k1, 2, 4), 0xb85a4727);
 * ```
 */
export function halfSipHash(
  bytes: Uint8Array,
  k0: number,
  k1: number,
  c = 1,
  d = 3,
): number {
  let units = "";
  for (let i = 0; i < bytes.length; i++) units += String.fromCharCode(bytes[i]);
  return sip(units, false, k0, k1, c, d)! >>> 0;
}

/**
 * The key of strings with a unit of 256 or more, for {@linkcode
 * halfSipHashString}: another key, so that the two encodings of strings
 * are two independent functions (no string of one collides with one of
 * the other except by chance).
 */
export const WIDE_KEY = 0x5bd1e995;

/**
 * HalfSipHash-1-3 of `s` under the key (`k0`, `k1`), as a signed 32-bit
 * integer: of its bytes when every UTF-16 unit is below 256 (ASCII and
 * Latin-1 keys: one round per four characters), else of its UTF-16LE bytes
 * under the key (`k0 ^ WIDE_KEY`, `k1`).
 */
export function halfSipHashString(s: string, k0: number, k1: number): number {
  return sip(s, false, k0, k1, 1, 3) ??
    sip(s, true, k0 ^ WIDE_KEY, k1, 1, 3)!;
}
