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

const w = new Int32Array(64);

/** Compresses the 64-byte block of `data` at `at` into `state`. */
function block(state: Int32Array, data: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++, at += 4) {
    w[i] = (data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) |
      data[at + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15], y = w[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^
      (y >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3];
  let e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^
      ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^
      ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g, g = f, f = e, e = (d + t1) | 0;
    d = c, c = b, b = a, a = (t1 + t2) | 0;
  }
  state[0] += a, state[1] += b, state[2] += c, state[3] += d;
  state[4] += e, state[5] += f, state[6] += g, state[7] += h;
}

/**
 * SHA-256 of `data` continued from `state` (which has absorbed `prefix`
 * bytes already, a whole number of blocks); `state` ends as the digest.
 */
function finish(state: Int32Array, data: Uint8Array, prefix: number): void {
  const whole = data.length & ~63;
  for (let at = 0; at < whole; at += 64) block(state, data, at);
  const rest = data.length - whole;
  const size = rest < 56 ? 64 : 128;
  tail.fill(0, 0, size);
  tail.set(data.subarray(whole));
  tail[rest] = 0x80;
  const bits = (prefix + data.length) * 8;
  tailView.setUint32(size - 8, Math.floor(bits / 2 ** 32));
  tailView.setUint32(size - 4, bits >>> 0);
  for (let at = 0; at < size; at += 64) block(state, tail, at);
}

// Scratch space of one MAC at a time (a MAC never yields).
const tail = new Uint8Array(128);
const tailView = new DataView(tail.buffer);
const inner = new Int32Array(8);
const digest = new Uint8Array(32);

/** HMAC-SHA-256 under one key. */
export class HmacSha256 {
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);

  constructor(key: Uint8Array) {
    let k = key;
    if (k.length > 64) {
      const hashed = INITIAL.slice();
      finish(hashed, k, 0);
      k = bytesInto(hashed, new Uint8Array(32));
    }
    const pad = new Uint8Array(64);
    for (
      const [state, byte] of [[this.#inner, 0x36], [this.#outer, 0x5c]] as const
    ) {
      pad.fill(byte);
      for (let i = 0; i < k.length; i++) pad[i] = k[i] ^ byte;
      state.set(INITIAL);
      block(state, pad, 0);
    }
  }

  /** The MAC of `message`, 32 bytes, written to `out` (a new array if none). */
  mac(message: Uint8Array, out: Uint8Array = new Uint8Array(32)): Uint8Array {
    inner.set(this.#inner);
    finish(inner, message, 64);
    bytesInto(inner, digest);
    const outer = this.#outer.slice();
    finish(outer, digest, 64);
    return bytesInto(outer, out);
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
