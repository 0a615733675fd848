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

// Scratch space for a request's signed bytes and MACs (one at a time).
let scratch = new Uint8Array(256);
const theirs = new Uint8Array(32);
const ours = new Uint8Array(32);

/** What is signed: method, path, timestamp, then the body. */
function message(
  method: string,
  path: string,
  time: string,
  body: Uint8Array | undefined,
): Uint8Array {
  const head = `${method}\n${path}\n${time}\n`;
  const bodyLength = body?.length ?? 0;
  // A UTF-16 unit is at most 3 bytes of UTF-8.
  const room = head.length * 3 + bodyLength;
  if (room > scratch.length) scratch = new Uint8Array(room);
  const { written } = encoder.encodeInto(head, scratch);
  if (body !== undefined) scratch.set(body, written);
  return scratch.subarray(0, written + bodyLength);
}

const HEX: string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

function hex(view: Uint8Array): string {
  let out = "";
  for (let i = 0; i < view.length; i++) out += HEX[view[i]];
  return out;
}

/** A lower-case hex digit's value, or -1. */
function nibble(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
}

/**
 * The 32 bytes of the 64 lower-case hex digits of `mac` from `at` to its
 * end into `out`; false when they are not that.
 */
function unhex(mac: string, at: number, out: Uint8Array): boolean {
  if (mac.length - at !== 64) return false;
  for (let i = 0; i < 32; i++, at += 2) {
    const hi = nibble(mac.charCodeAt(at)), lo = nibble(mac.charCodeAt(at + 1));
    if ((hi | lo) < 0) return false;
    out[i] = (hi << 4) | lo;
  }
  return true;
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

/** Equal MACs, in time that does not depend on where they differ. */
function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= a[i] ^ b[i];
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
    const mac = this.#keys[0].mac(message(method, path, time, body));
    return `${time}.${hex(mac)}`;
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
    const dot = timeEnd(header!);
    const signed = message(method, path, header!.slice(0, dot), body);
    let ok = false;
    for (const key of this.#keys) {
      // Every key is tried, so the time does not say which one matched.
      if (sameMac(key.mac(signed, ours), theirs)) ok = true;
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
    const time = Number(header.slice(0, dot));
    if (Math.abs(time - now) > SIGNATURE_WINDOW_MS) return "stale";
    return "ok";
  }
}
