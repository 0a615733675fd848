/**
 * Peer authentication: an HMAC-SHA-256 (`hmac_sha256.ts`) over a request's
 * method, path, a timestamp and its body, keyed by a secret every node of
 * the cluster shares. The client signs every request with the first secret;
 * the server accepts a signature made with any of them (to rotate: add the
 * new secret second everywhere, then move it first, then drop the old one),
 * within {@linkcode SIGNATURE_WINDOW_MS} of its own clock.
 *
 * The header is `x-groupcache-signature: {unix ms}.{hex mac}`. A signed
 * request can be replayed within the window by whoever saw it: keep the
 * peer port on a private network all the same.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { HmacSha256 } from "./hmac_sha256.ts";

/** The request header that carries the signature. */
export const SIGNATURE_HEADER = "x-groupcache-signature";

/** How far a signature's timestamp may be from the server's clock, in ms. */
export const SIGNATURE_WINDOW_MS = 60_000;

/** Why a request's signature was refused, or `"ok"`. */
export type Verdict = "ok" | "missing" | "malformed" | "stale" | "bad";

const encoder = new TextEncoder();

/** Checks the `secret` option: one string or a non-empty list of them. */
export function checkSecrets(secret: unknown): string[] {
  const secrets = Array.isArray(secret) ? secret : [secret];
  if (secrets.length === 0) {
    throw new ConfigError(
      "secret must be a string or a non-empty list of strings (the first " +
        "signs, any verifies)",
    );
  }
  for (const s of secrets) {
    if (typeof s !== "string" || s.length < 16) {
      throw new ConfigError(
        "each secret must be a string of at least 16 characters (e.g. " +
          "`openssl rand -hex 32`), shared by every node",
      );
    }
  }
  return secrets;
}

// Scratch space for a request's signed bytes and MACs (one at a time: a
// MAC never yields).
let scratch = new Uint8Array(256);
const theirs = new Int32Array(8);

/**
 * What is signed, `{method}\n{path}\n{time}\n{body}` as UTF-8, written to
 * `scratch`; its length. `time` is the first `timeLength` characters of
 * its string (the header, when verifying: no slice). Written a character
 * at a time, with no string built, when the head is ASCII (a peer's path
 * is percent-encoded); encoded otherwise.
 */
function message(
  method: string,
  path: string,
  time: string,
  timeLength: number,
  body: Uint8Array | undefined,
): number {
  const bodyLength = body?.length ?? 0;
  // A UTF-16 unit is at most 3 bytes of UTF-8.
  const room = (method.length + path.length + timeLength + 3) * 3 +
    bodyLength;
  if (room > scratch.length) scratch = new Uint8Array(room);
  let at = ascii(method, method.length, 0);
  if (at >= 0) at = ascii(path, path.length, at);
  if (at >= 0) at = ascii(time, timeLength, at);
  if (at < 0) {
    const head = `${method}\n${path}\n${time.slice(0, timeLength)}\n`;
    at = encoder.encodeInto(head, scratch).written;
  }
  if (body !== undefined) scratch.set(body, at);
  return at + bodyLength;
}

/**
 * The first `length` characters of `s` and a newline into `scratch` at
 * `at`; the end, or -1 if one is not ASCII.
 */
function ascii(s: string, length: number, at: number): number {
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    scratch[at++] = c;
  }
  scratch[at++] = 10;
  return at;
}

/** A MAC's eight big-endian words as 64 lower-case hex digits. */
function hex(words: Int32Array): string {
  let out = "";
  for (let i = 0; i < 8; i++) {
    out += (words[i] >>> 0).toString(16).padStart(8, "0");
  }
  return out;
}

// Each character code's value as a lower-case hex digit, -1 if it is not one.
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) NIBBLE["0123456789abcdef".charCodeAt(i)] = i;

/**
 * The eight big-endian words of the 64 lower-case hex digits of `mac` from
 * `at` to its end into `out`; false when they are not that.
 */
function unhex(mac: string, at: number, out: Int32Array): boolean {
  if (mac.length - at !== 64) return false;
  let bad = 0;
  for (let i = 0; i < 8; i++) {
    let word = 0;
    for (let j = 0; j < 8; j++, at++) {
      const c = mac.charCodeAt(at);
      const n = c < 128 ? NIBBLE[c] : -1;
      bad |= n;
      word = (word << 4) | (n & 15);
    }
    out[i] = word;
  }
  return bad >= 0;
}

/** `{unix ms}.` at the start of `header`: the index of the dot, or -1. */
function timeEnd(header: string): number {
  const dot = header.indexOf(".");
  if (dot < 1 || dot > 16) return -1;
  for (let i = 0; i < dot; i++) {
    const c = header.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
  }
  return dot;
}

/** The number of the decimal digits before `dot` (checked by timeEnd). */
function timeOf(header: string, dot: number): number {
  let time = 0;
  for (let i = 0; i < dot; i++) time = time * 10 + header.charCodeAt(i) - 48;
  return time;
}

/** Equal MACs, in time that does not depend on where they differ. */
function sameMac(a: Int32Array, b: Int32Array): boolean {
  let diff = 0;
  for (let i = 0; i < 8; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * Signs and verifies with a cluster's secrets (each key's HMAC state made
 * once, when it is made).
 *
 * @example Signed, verified, refused
 * ```ts
 * import { PeerSigner } from "./signature.ts";
 * import assert from "node:assert/strict";
 *
 * const a = new PeerSigner(["a secret of sixteen+ chars"]);
 * const sig = a.sign("GET", "/_groupcache/g/k", undefined, 1_000);
 * assert.equal(a.verify("GET", "/_groupcache/g/k", sig, undefined, 2_000), "ok");
 * assert.equal(a.verify("GET", "/_groupcache/g/x", sig, undefined, 2_000), "bad");
 * assert.equal(a.verify("GET", "/_groupcache/g/k", sig, undefined, 99_000), "stale");
 * assert.equal(a.verify("GET", "/_groupcache/g/k", null, undefined), "missing");
 * ```
 */
export class PeerSigner {
  readonly #keys: HmacSha256[];

  /** @param secrets The first signs; any verifies. */
  constructor(secrets: ReadonlyArray<string>) {
    this.#keys = secrets.map((secret) =>
      new HmacSha256(encoder.encode(secret))
    );
  }

  /** The header value for a request sent at `now` (Unix ms). */
  sign(
    method: string,
    path: string,
    body: Uint8Array | undefined,
    now: number = Date.now(),
  ): string {
    const time = String(Math.floor(now));
    const length = message(method, path, time, time.length, body);
    return `${time}.${hex(this.#keys[0].macWords(scratch, length))}`;
  }

  /** Whether `header` signs this request, within the window of `now`. */
  verify(
    method: string,
    path: string,
    header: string | null | undefined,
    body: Uint8Array | undefined,
    now: number = Date.now(),
  ): Verdict {
    const early = this.precheck(header, now);
    if (early !== "ok") return early;
    // precheck filled `theirs` with the header's MAC.
    const length = message(method, path, header!, timeEnd(header!), body);
    const keys = this.#keys;
    let ok = false;
    for (let i = 0; i < keys.length; i++) {
      // Every key is tried, so the time does not say which one matched.
      if (sameMac(keys[i].macWords(scratch, length), theirs)) ok = true;
    }
    return ok ? "ok" : "bad";
  }

  /** The checks of {@linkcode PeerSigner.verify} that need no MAC. */
  precheck(
    header: string | null | undefined,
    now: number = Date.now(),
  ): Verdict {
    if (typeof header !== "string" || header === "") return "missing";
    const dot = timeEnd(header);
    if (dot < 0 || !unhex(header, dot + 1, theirs)) return "malformed";
    if (Math.abs(timeOf(header, dot) - now) > SIGNATURE_WINDOW_MS) {
      return "stale";
    }
    return "ok";
  }
}
