/**
 * The wire of the peer protocol: what the client (`http_client.ts`) and the
 * servers (`http_handler.ts`, `node.ts`) agree on — the headers, the content
 * type, how a path carries a group and a key, and how a body is read within
 * a limit. Both sides import it; neither imports the other.
 *
 * @module
 */

import { InvalidKeyError, NotFoundError, PeerError } from "./errors.ts";

/** The content type of a value (a protobuf `GetResponse`). */
export const PROTOBUF = "application/x-protobuf";

/**
 * The request header in which our client names the ring it placed the key
 * with: `{crc32 hex}/{peer count}` (see `HttpPool.ringFingerprint`). Go
 * peers send none.
 */
export const RING_HEADER = "x-groupcache-ring";

/**
 * The response header with which a server of ours says why a get failed:
 * `not-found` (a `404`: the getter threw a `NotFoundError`) or `getter` (a
 * `500`: the getter failed). Only our servers send it, so it also says the
 * owner is one of ours: an error without it (Go's, mailgun's) is
 * ambiguous, and the asking node loads the key itself, as Go does.
 */
export const ERROR_HEADER = "x-groupcache-error";

/**
 * What an error answer says when a server of ours sent it (its
 * {@linkcode ERROR_HEADER}): a `NotFoundError`, or a `PeerError` of reason
 * `"getter"` with the owner's message; `undefined` for any other answer.
 */
export function ownerFailure(
  peer: string,
  group: string,
  key: string,
  status: number,
  body: string,
  res: { header(name: string): string | null },
): Error | undefined {
  const kind = res.header(ERROR_HEADER);
  const where = `peer ${peer}, group ${group}, key ${JSON.stringify(key)}`;
  if (kind === "not-found" && status === 404) {
    return new NotFoundError(`${where}: ${body || "not found"}`);
  }
  if (kind === "getter" && status === 500) {
    return new PeerError(`${where}: the owner's getter failed: ${body}`, {
      peer,
      group,
      key,
      reason: "getter",
      status,
      body,
    });
  }
  return undefined;
}

/**
 * The header of a handoff request (value `1`): a `GET` that the server
 * answers from its cache only, never loading nor asking another peer, and
 * the header of its "not cached" answer (a `404` with value `miss`), which
 * is neither a not-found value nor a failure. Only our nodes are sent it.
 */
export const PEEK_HEADER = "x-groupcache-peek";

/**
 * The response header with which a server says it refused a write because
 * its writes are off (`off`), so the client can say which option to set.
 */
export const WRITES_HEADER = "x-groupcache-writes";

/**
 * What every peer request sends: no compression (a compressed body is
 * refused unread).
 */
export const REQUEST_HEADERS: Readonly<Record<string, string>> = {
  "accept-encoding": "identity",
};

/**
 * The longest key sent to a peer by default, in bytes of UTF-8: percent-
 * encoded (at most 3 characters a byte) with the base path and the headers,
 * it stays under the 16 KiB that Node's server accepts for a request's head,
 * the smallest limit of the three runtimes' servers.
 */
export const DEFAULT_MAX_KEY_BYTES = 4096;

const encoder = new TextEncoder();

/**
 * The key as one percent-encoded path segment, `/` escaped (a space is
 * `%20`, which Go's server decodes exactly; Go's own client sends `+`).
 */
export function encodeKey(
  key: string,
  peer: string,
  maxKeyBytes: number = DEFAULT_MAX_KEY_BYTES,
): string {
  if (key === "" || key === "." || key === "..") {
    // fetch resolves "." and ".." segments away; "" is how Bun delivers "/g/.".
    throw new InvalidKeyError(
      key,
      `cannot be sent to peer ${peer}: URLs resolve "." and ".." path ` +
        "segments, and peers refuse an empty key; use another key",
    );
  }
  // A key's UTF-8 takes at most 3 bytes per UTF-16 unit: count only when needed.
  if (
    key.length * 3 > maxKeyBytes &&
    encoder.encode(key).length > maxKeyBytes
  ) {
    throw new InvalidKeyError(
      key.length > 64 ? key.slice(0, 64) + "…" : key,
      `is longer than maxKeyBytes (${maxKeyBytes} bytes of UTF-8), so it ` +
        "is not sent to a peer (a URL that long is refused by some " +
        "servers, or by fetch before it is sent); raise the pool's " +
        "maxKeyBytes or use a shorter key (a hash of it)",
    );
  }
  try {
    return encodeURIComponent(key);
  } catch {
    throw new InvalidKeyError(
      key,
      "has a lone UTF-16 surrogate, so it has no UTF-8 form to send",
    );
  }
}

/**
 * Percent-decodes one path part, reading `+` as a space (what golang
 * clients mean) unless `plus` says it is a plus (mailgun clients).
 */
export function decodePart(part: string, what: string, plus = false): string {
  if (!plus && part.includes("+")) part = part.replaceAll("+", " ");
  if (!part.includes("%")) return part;
  if (/%(?![0-9A-Fa-f]{2})/.test(part)) {
    throw new RangeError(`${what} has invalid percent-encoding`);
  }
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RangeError(`${what} is not valid UTF-8 once percent-decoded`);
  }
}

/**
 * The body length the headers promise, when they alone frame the body. With
 * a Transfer-Encoding too, the body is chunked whatever Content-Length says
 * (RFC 9112), and Deno and Bun read it past the declared length; a value
 * that is not one number is no promise either.
 */
export function declaredLength(
  headers: { get(name: string): string | null },
): number | undefined {
  const declared = headers.get("content-length");
  if (declared === null || headers.get("transfer-encoding") !== null) {
    return undefined;
  }
  const length = Number(declared);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * Reads at most `limit` bytes of a body (a response's, or a request's).
 * Over the limit: `undefined`, or the first `limit` bytes when `truncate`
 * is set; the rest is never buffered.
 */
export function readBody(
  res: Pick<Response, "headers" | "body" | "arrayBuffer">,
  limit: number,
  truncate: boolean,
): Promise<Uint8Array | undefined> {
  try {
    const declared = declaredLength(res.headers);
    if (declared === undefined || declared > limit) {
      return readStream(res, declared, limit, truncate);
    }
    // Every value's path: a promise and a turn fewer than an async function.
    return res.arrayBuffer().then((buffer) => {
      const bytes = new Uint8Array(buffer);
      if (bytes.length <= limit) return bytes;
      return truncate ? bytes.subarray(0, limit) : undefined;
    });
  } catch (err) {
    return Promise.reject(err); // as an async function would
  }
}

/** `readBody` without a length the headers promise within the limit. */
async function readStream(
  res: Pick<Response, "body">,
  declared: number | undefined,
  limit: number,
  truncate: boolean,
): Promise<Uint8Array | undefined> {
  if (res.body === null) return new Uint8Array(0);
  if (declared !== undefined && !truncate) {
    await res.body.cancel();
    return undefined;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const read = await reader.read();
    if (read.done) break;
    // Deno hands over 16 KiB views of 64 KiB buffers: keep only the bytes.
    const value = read.value.byteLength * 2 < read.value.buffer.byteLength
      ? read.value.slice()
      : read.value;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      if (!truncate) return undefined;
      chunks.push(value.subarray(0, value.length - (total - limit)));
      total = limit;
      break;
    }
    chunks.push(value);
  }
  return concat(chunks, total);
}

/** The bytes of `chunks`, `total` of them, as one array (the one, if one). */
export function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
