/**
 * FNV-1 64-bit (Fowler–Noll–Vo, the original multiply-then-xor order, not
 * FNV-1a): the hash mailgun's consistent-hash ring places peers and keys
 * with. Go has it as `hash/fnv.New64`. Computed on two 32-bit halves, so no
 * `BigInt` is made per hash.
 *
 * @module
 */

// The 64-bit offset basis 0xcbf29ce484222325 and prime 2^40 + 0x1b3.
const BASIS_HI = 0xcbf29ce4, BASIS_LO = 0x84222325;
const PRIME_LO = 0x1b3;

// The state of the hash being computed (one at a time: JavaScript is
// single-threaded), so that a step needs no closure.
let hi = 0, lo = 0;

/** hash = hash * prime (mod 2^64), then the byte goes into the low bits. */
function step(byte: number): void {
  const low = lo * PRIME_LO; // < 2^41: exact in a double
  // (lo << 8) is lo * 2^40 moved into the high half: the prime's 2^40 term.
  hi = (Math.imul(hi, PRIME_LO) + Math.floor(low / 2 ** 32) + (lo << 8)) >>> 0;
  lo = ((low >>> 0) ^ byte) >>> 0;
}

/** A 64-bit hash as two unsigned 32-bit halves. */
export interface Hash64 {
  /** The high 32 bits, unsigned. */
  hi: number;
  /** The low 32 bits, unsigned. */
  lo: number;
}

/**
 * FNV-1 64 of `data` (a string is hashed as its UTF-8 bytes, a lone
 * surrogate as U+FFFD, as `TextEncoder` writes it), as two 32-bit halves.
 * Writes into `out` when given, so a caller on a hot path allocates nothing.
 *
 * @example The reference vectors
 * ```ts
 * import { fnv1_64 } from "./fnv.ts";
 * import assert from "node:assert/strict";
 *
 * const hex = ({ hi, lo }: { hi: number; lo: number }) =>
 *   hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
 * assert.equal(hex(fnv1_64("")), "cbf29ce484222325"); // the offset basis
 * assert.equal(hex(fnv1_64("a")), "af63bd4c8601b7be");
 * assert.equal(hex(fnv1_64(new Uint8Array([0x61]))), "af63bd4c8601b7be");
 * ```
 */
export function fnv1_64(
  data: Uint8Array | string,
  out: Hash64 = { hi: 0, lo: 0 },
): Hash64 {
  hi = BASIS_HI;
  lo = BASIS_LO;
  if (typeof data !== "string") {
    for (let i = 0; i < data.length; i++) step(data[i]);
  } else {
    for (let i = 0; i < data.length; i++) {
      let u = data.charCodeAt(i);
      if (u < 0x80) {
        step(u);
        continue;
      }
      if (u < 0x800) {
        step(0xc0 | (u >> 6));
        step(0x80 | (u & 0x3f));
        continue;
      }
      if ((u & 0xf800) === 0xd800) {
        const v = i + 1 < data.length ? data.charCodeAt(i + 1) : 0;
        if (u < 0xdc00 && (v & 0xfc00) === 0xdc00) {
          i++;
          const p = ((u & 0x3ff) << 10) + (v & 0x3ff) + 0x10000;
          step(0xf0 | (p >> 18));
          step(0x80 | ((p >> 12) & 0x3f));
          step(0x80 | ((p >> 6) & 0x3f));
          step(0x80 | (p & 0x3f));
          continue;
        }
        u = 0xfffd; // a lone surrogate, as TextEncoder encodes it
      }
      step(0xe0 | (u >> 12));
      step(0x80 | ((u >> 6) & 0x3f));
      step(0x80 | (u & 0x3f));
    }
  }
  out.hi = hi;
  out.lo = lo;
  return out;
}
