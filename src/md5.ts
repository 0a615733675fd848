/**
 * MD5 (RFC 1321), for one job only: mailgun's consistent-hash ring names a
 * peer's points by the hex MD5 of `String(i) + peerURL`. Web Crypto has no
 * MD5, so it is written here. Not for security: MD5 is broken as a
 * cryptographic hash.
 *
 * @module
 */

// Per-round shift amounts and the constants floor(abs(sin(i + 1)) * 2^32).
const S = [
  7,
  12,
  17,
  22,
  7,
  12,
  17,
  22,
  7,
  12,
  17,
  22,
  7,
  12,
  17,
  22,
  5,
  9,
  14,
  20,
  5,
  9,
  14,
  20,
  5,
  9,
  14,
  20,
  5,
  9,
  14,
  20,
  4,
  11,
  16,
  23,
  4,
  11,
  16,
  23,
  4,
  11,
  16,
  23,
  4,
  11,
  16,
  23,
  6,
  10,
  15,
  21,
  6,
  10,
  15,
  21,
  6,
  10,
  15,
  21,
  6,
  10,
  15,
  21,
];
const K = new Int32Array(64);
for (let i = 0; i < 64; i++) {
  K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;
}

const encoder = new TextEncoder();
const HEX = Array.from(
  { length: 256 },
  (_, b) => b.toString(16).padStart(2, "0"),
);

/**
 * The 16-byte MD5 digest of `data` (a string is hashed as its UTF-8 bytes).
 *
 * @example RFC 1321's test suite
 * ```ts
 * import { md5, md5Hex } from "./md5.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
 * assert.equal(md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
 * assert.equal(md5(new Uint8Array(0)).length, 16);
 * ```
 */
export function md5(data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const n = bytes.length;
  // The message, a 0x80 byte, zeros, and the length in bits (64-bit LE),
  // padded to a multiple of 64 bytes.
  const padded = new Uint8Array((((n + 8) >>> 6) + 1) * 64);
  padded.set(bytes);
  padded[n] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, (n * 8) >>> 0, true);
  view.setUint32(padded.length - 4, Math.floor(n / 2 ** 29), true);

  let a0 = 0x67452301, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  const m = new Int32Array(16);
  for (let block = 0; block < padded.length; block += 64) {
    for (let j = 0; j < 16; j++) m[j] = view.getInt32(block + 4 * j, true);
    let a = a0, b = b0, c = c0, d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number, g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const sum = (a + f + K[i] + m[g]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << S[i]) | (sum >>> (32 - S[i])))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  const out = new Uint8Array(16);
  const outView = new DataView(out.buffer);
  outView.setInt32(0, a0, true);
  outView.setInt32(4, b0, true);
  outView.setInt32(8, c0, true);
  outView.setInt32(12, d0, true);
  return out;
}

/**
 * The MD5 digest of `data` as 32 lowercase hex digits, as Go's
 * `fmt.Sprintf("%x", md5.Sum(b))` writes it (see {@linkcode md5}'s example).
 */
export function md5Hex(data: Uint8Array | string): string {
  let hex = "";
  for (const b of md5(data)) hex += HEX[b];
  return hex;
}
