/**
 * CRC-32 with the IEEE polynomial, the checksum Go's `crc32.ChecksumIEEE`
 * computes and the hash `consistenthash` places keys with. Strings are
 * hashed as their UTF-8 bytes, exactly as Go hashes `[]byte(s)`.
 *
 * @module
 */

// Sixteen 256-entry tables: T[0] is the classic byte-at-a-time table, T[k]
// advances a byte through k further zero bytes, so 16 (or 8) bytes can be
// folded in with independent lookups ("slicing-by-16"). Built once at load.
const TABLES = new Int32Array(16 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLES[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLES[n];
  for (let k = 1; k < 16; k++) {
    c = (c >>> 8) ^ TABLES[c & 0xff];
    TABLES[k * 256 + n] = c;
  }
}
const table = (k: number) => TABLES.subarray(k * 256, k * 256 + 256);
const T0 = table(0), T1 = table(1), T2 = table(2), T3 = table(3);
const T4 = table(4), T5 = table(5), T6 = table(6), T7 = table(7);
const T8 = table(8), T9 = table(9), T10 = table(10), T11 = table(11);
const T12 = table(12), T13 = table(13), T14 = table(14), T15 = table(15);

// Word loads need a little-endian host; elsewhere bytes are read one by one.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
// Below this many bytes a typed-array view costs more than it saves.
const WORD_MIN_BYTES = 128;

// Long strings are UTF-8 encoded natively into this buffer, then hashed as
// bytes. It holds the worst case (3 bytes per UTF-16 unit) of one chunk.
const CHUNK_CHARS = 16384;
const LONG_STRING_CHARS = 512;
const encoder = new TextEncoder();
let scratch: Uint8Array | undefined;

/**
 * The CRC-32 (IEEE) checksum of `data`, as an unsigned 32-bit integer: the
 * value of Go's `crc32.ChecksumIEEE`. A string is hashed as its UTF-8 bytes
 * (a lone surrogate counts as U+FFFD, as `TextEncoder` encodes it), so
 * `crc32(s)` equals `crc32(new TextEncoder().encode(s))`.
 *
 * @param data A string (hashed as UTF-8) or bytes.
 * @returns The checksum, `0 <= result < 2 ** 32`.
 * @throws {TypeError} When `data` is neither a string nor a `Uint8Array`.
 *
 * @example The standard check value, and strings as UTF-8
 * ```ts
 * import { crc32 } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * assert.equal(crc32("123456789"), 0xcbf43926);
 * assert.equal(crc32(new TextEncoder().encode("héllo")), crc32("héllo"));
 * assert.equal(crc32(""), 0);
 * ```
 */
export function crc32(data: string | Uint8Array): number {
  return typeof data === "string"
    ? ~updateString(-1, data) >>> 0
    : ~updateBytes(-1, checkBytes(data)) >>> 0;
}

/**
 * Extends a checksum with more data, like Go's `crc32.Update` with the IEEE
 * table: `crc32Update(crc32(a), b)` equals the checksum of `a` followed by
 * `b`, which lets a large input be hashed in pieces. Each string piece is
 * encoded on its own, so cut strings between code points: half of a
 * surrogate pair at the end of a piece counts as U+FFFD.
 *
 * @param crc The checksum so far (`0` for nothing yet).
 * @param data The next piece: a string (hashed as UTF-8) or bytes.
 * @returns The checksum of everything so far, unsigned 32-bit.
 * @throws {TypeError} When `data` is neither a string nor a `Uint8Array`.
 *
 * @example Hashing in pieces
 * ```ts
 * import { crc32, crc32Update } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * let crc = 0;
 * for (const piece of ["1234", "56789"]) crc = crc32Update(crc, piece);
 * assert.equal(crc, crc32("123456789"));
 * ```
 */
export function crc32Update(crc: number, data: string | Uint8Array): number {
  const c = ~crc | 0;
  return typeof data === "string"
    ? ~updateString(c, data) >>> 0
    : ~updateBytes(c, checkBytes(data)) >>> 0;
}

function checkBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  throw new TypeError(
    `crc32: expected a string or a Uint8Array, got ${describe(data)}`,
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "object";
}

// The state `c` is the inverted CRC as an int32 throughout.

function updateString(c: number, s: string): number {
  const n = s.length;
  if (n >= LONG_STRING_CHARS && isAsciiPrefix(s)) return updateLong(c, s);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const a = s.charCodeAt(i), b = s.charCodeAt(i + 1);
    const d = s.charCodeAt(i + 2), e = s.charCodeAt(i + 3);
    const f = s.charCodeAt(i + 4), g = s.charCodeAt(i + 5);
    const h = s.charCodeAt(i + 6), k = s.charCodeAt(i + 7);
    if ((a | b | d | e | f | g | h | k) >= 0x80) return updateText(c, s, i);
    c ^= a | (b << 8) | (d << 16) | (e << 24);
    c = T7[c & 0xff] ^ T6[(c >>> 8) & 0xff] ^ T5[(c >>> 16) & 0xff] ^
      T4[c >>> 24] ^ T3[f] ^ T2[g] ^ T1[h] ^ T0[k];
  }
  for (; i < n; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0x80) return updateText(c, s, i);
    c = (c >>> 8) ^ T0[(c ^ u) & 0xff];
  }
  return c;
}

// The general case, from the first non-ASCII character on: UTF-8 encodes as
// it goes, folding the 2, 3 or 4 bytes of a character in with one slicing
// step rather than one table step per byte.
function updateText(c: number, s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    let u = s.charCodeAt(i++);
    if (u < 0x80) {
      c = (c >>> 8) ^ T0[(c ^ u) & 0xff];
      continue;
    }
    if (u < 0x800) {
      c ^= 0xc0 | (u >> 6) | ((0x80 | (u & 0x3f)) << 8);
      c = (c >>> 16) ^ T1[c & 0xff] ^ T0[(c >>> 8) & 0xff];
      continue;
    }
    if ((u & 0xf800) === 0xd800) {
      const v = i < n ? s.charCodeAt(i) : 0;
      if (u < 0xdc00 && (v & 0xfc00) === 0xdc00) {
        i++;
        const p = ((u & 0x3ff) << 10) + (v & 0x3ff) + 0x10000;
        c ^= 0xf0 | (p >> 18) | ((0x80 | ((p >> 12) & 0x3f)) << 8) |
          ((0x80 | ((p >> 6) & 0x3f)) << 16) | ((0x80 | (p & 0x3f)) << 24);
        c = T3[c & 0xff] ^ T2[(c >>> 8) & 0xff] ^ T1[(c >>> 16) & 0xff] ^
          T0[c >>> 24];
        continue;
      }
      u = 0xfffd; // a lone surrogate, as TextEncoder encodes it
    }
    c ^= 0xe0 | (u >> 12) | ((0x80 | ((u >> 6) & 0x3f)) << 8) |
      ((0x80 | (u & 0x3f)) << 16);
    c = (c >>> 24) ^ T2[c & 0xff] ^ T1[(c >>> 8) & 0xff] ^
      T0[(c >>> 16) & 0xff];
  }
  return c;
}

// Native UTF-8 encoding beats charCodeAt for long ASCII-looking strings; for
// text that starts non-ASCII it is slower on some engines, so peek first.
function isAsciiPrefix(s: string): boolean {
  let x = 0;
  for (let i = 0; i < 64; i++) x |= s.charCodeAt(i);
  return x < 0x80;
}

function updateLong(c: number, s: string): number {
  const buf = scratch ??= new Uint8Array(3 * CHUNK_CHARS);
  const n = s.length;
  for (let i = 0; i < n;) {
    let end = i + CHUNK_CHARS < n ? i + CHUNK_CHARS : n;
    // Keep a surrogate pair in one chunk so it encodes as one code point.
    if (end < n && (s.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--;
    const piece = i === 0 && end === n ? s : s.slice(i, end);
    c = updateBytes(c, buf.subarray(0, encoder.encodeInto(piece, buf).written));
    i = end;
  }
  return c;
}

function updateBytes(c: number, b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  if (n >= WORD_MIN_BYTES && LITTLE_ENDIAN) {
    const offset = b.byteOffset;
    for (; (offset + i) & 3; i++) c = (c >>> 8) ^ T0[(c ^ b[i]) & 0xff];
    const words = ((n - i) >>> 4) << 2;
    const w = new Int32Array(b.buffer, offset + i, words);
    let j = 0;
    // Two 16-byte blocks per turn: fewer loop branches, same dependency chain.
    for (; j + 8 <= words; j += 8) {
      let p = w[j] ^ c, q = w[j + 1], r = w[j + 2], t = w[j + 3];
      c = T15[p & 0xff] ^ T14[(p >>> 8) & 0xff] ^ T13[(p >>> 16) & 0xff] ^
        T12[p >>> 24] ^ T11[q & 0xff] ^ T10[(q >>> 8) & 0xff] ^
        T9[(q >>> 16) & 0xff] ^ T8[q >>> 24] ^ T7[r & 0xff] ^
        T6[(r >>> 8) & 0xff] ^ T5[(r >>> 16) & 0xff] ^ T4[r >>> 24] ^
        T3[t & 0xff] ^ T2[(t >>> 8) & 0xff] ^ T1[(t >>> 16) & 0xff] ^
        T0[t >>> 24];
      p = w[j + 4] ^ c;
      q = w[j + 5];
      r = w[j + 6];
      t = w[j + 7];
      c = T15[p & 0xff] ^ T14[(p >>> 8) & 0xff] ^ T13[(p >>> 16) & 0xff] ^
        T12[p >>> 24] ^ T11[q & 0xff] ^ T10[(q >>> 8) & 0xff] ^
        T9[(q >>> 16) & 0xff] ^ T8[q >>> 24] ^ T7[r & 0xff] ^
        T6[(r >>> 8) & 0xff] ^ T5[(r >>> 16) & 0xff] ^ T4[r >>> 24] ^
        T3[t & 0xff] ^ T2[(t >>> 8) & 0xff] ^ T1[(t >>> 16) & 0xff] ^
        T0[t >>> 24];
    }
    if (j < words) {
      const p = w[j] ^ c, q = w[j + 1], r = w[j + 2], t = w[j + 3];
      c = T15[p & 0xff] ^ T14[(p >>> 8) & 0xff] ^ T13[(p >>> 16) & 0xff] ^
        T12[p >>> 24] ^ T11[q & 0xff] ^ T10[(q >>> 8) & 0xff] ^
        T9[(q >>> 16) & 0xff] ^ T8[q >>> 24] ^ T7[r & 0xff] ^
        T6[(r >>> 8) & 0xff] ^ T5[(r >>> 16) & 0xff] ^ T4[r >>> 24] ^
        T3[t & 0xff] ^ T2[(t >>> 8) & 0xff] ^ T1[(t >>> 16) & 0xff] ^
        T0[t >>> 24];
    }
    i += words << 2;
  } else {
    for (; i + 8 <= n; i += 8) {
      c = T7[b[i] ^ (c & 0xff)] ^ T6[b[i + 1] ^ ((c >>> 8) & 0xff)] ^
        T5[b[i + 2] ^ ((c >>> 16) & 0xff)] ^ T4[b[i + 3] ^ (c >>> 24)] ^
        T3[b[i + 4]] ^ T2[b[i + 5]] ^ T1[b[i + 6]] ^ T0[b[i + 7]];
    }
  }
  for (; i < n; i++) c = (c >>> 8) ^ T0[(c ^ b[i]) & 0xff];
  return c;
}
