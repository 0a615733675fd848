/**
 * HMAC-SHA-256 (RFC 2104, FIPS 180-4), synchronous, for signing peer
 * requests. `crypto.subtle` computes the same MAC, but each call is an
 * asynchronous operation that cost a peer server as much CPU as serving the
 * request itself (bench/serve_bench.ts); here a MAC of a short request is
 * two SHA-256 blocks on the fast integer path, the key's inner and outer
 * states computed once. tests/signature_test.ts checks it against
 * `crypto.subtle` and the RFC 4231 vectors.
 *
 * @module
 */

const K = new Int32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

const INITIAL = new Int32Array([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);

// Scratch space of one MAC at a time (a MAC never yields): the message
// schedule, the last block(s) of a message, and the running inner state.
const w = new Int32Array(64);
const tail = new Uint8Array(128);
const inner = new Int32Array(8);
const outer = new Int32Array(8);

/** Loads the 64-byte block of `data` at `at` into `w[0..15]`. */
function load(data: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++, at += 4) {
    w[i] = (data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) |
      data[at + 3];
  }
}

/** Compresses the block in `w[0..15]` into `state`. */
function compress(state: Int32Array): void {
  let a = state[0], b = state[1], c = state[2], d = state[3];
  let e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    let wi: number;
    if (i < 16) wi = w[i];
    else {
      const x = w[i - 15], y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^
        (y >>> 10);
      wi = w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^
      ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + (g ^ (e & (f ^ g))) + K[i] + wi) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^
      ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) | (c & (a | b)))) | 0;
    h = g, g = f, f = e, e = (d + t1) | 0;
    d = c, c = b, b = a, a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0, state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0, state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0, state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0, state[7] = (state[7] + h) | 0;
}

/**
 * SHA-256 of the first `length` bytes of `data` continued from `state`
 * (which has absorbed `prefix` bytes already, a whole number of blocks);
 * `state` ends as the digest. No allocation: whole blocks are read in
 * place, the rest and the padding go through `tail`.
 */
function finish(
  state: Int32Array,
  data: Uint8Array,
  length: number,
  prefix: number,
): void {
  const whole = length & ~63;
  for (let at = 0; at < whole; at += 64) {
    load(data, at);
    compress(state);
  }
  const rest = length - whole;
  const size = rest < 56 ? 64 : 128;
  for (let i = 0; i < rest; i++) tail[i] = data[whole + i];
  tail[rest] = 0x80;
  tail.fill(0, rest + 1, size);
  if (size === 128) {
    load(tail, 0);
    compress(state);
  }
  load(tail, size - 64);
  const bits = (prefix + length) * 8;
  w[14] = Math.floor(bits / 2 ** 32);
  w[15] = bits | 0;
  compress(state);
}

/** HMAC-SHA-256 under one key. */
export class HmacSha256 {
  // The key's inner and outer pads, hashed once here.
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);

  constructor(key: Uint8Array) {
    let k = key;
    if (k.length > 64) {
      const hashed = INITIAL.slice();
      finish(hashed, k, k.length, 0);
      k = bytesInto(hashed, new Uint8Array(32));
    }
    const pad = new Uint8Array(64);
    for (
      const [state, byte] of [[this.#inner, 0x36], [this.#outer, 0x5c]] as const
    ) {
      pad.fill(byte);
      for (let i = 0; i < k.length; i++) pad[i] = k[i] ^ byte;
      state.set(INITIAL);
      load(pad, 0);
      compress(state);
    }
  }

  /** The MAC of `message`, 32 bytes, written to `out` (a new array if none). */
  mac(message: Uint8Array, out: Uint8Array = new Uint8Array(32)): Uint8Array {
    return bytesInto(this.macWords(message, message.length), out);
  }

  /**
   * The MAC of the first `length` bytes of `message` as eight big-endian
   * words, in an array the next MAC overwrites (no allocation).
   */
  macWords(message: Uint8Array, length: number): Int32Array {
    inner.set(this.#inner);
    finish(inner, message, length, 64);
    // The outer hash's one block: the inner digest, then its padding.
    for (let i = 0; i < 8; i++) w[i] = inner[i];
    w[8] = 0x80000000 | 0;
    w.fill(0, 9, 15);
    w[15] = (64 + 32) * 8;
    outer.set(this.#outer);
    compress(outer);
    return outer;
  }
}

function bytesInto(state: Int32Array, out: Uint8Array): Uint8Array {
  for (let i = 0, at = 0; i < 8; i++, at += 4) {
    const v = state[i];
    out[at] = v >>> 24;
    out[at + 1] = v >>> 16;
    out[at + 2] = v >>> 8;
    out[at + 3] = v;
  }
  return out;
}
