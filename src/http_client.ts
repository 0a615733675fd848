/**
 * The HTTP client of the peer protocol: asks one remote peer for a key with
 * `fetch`, as Go's `httpGetter`, within a time bound and a size limit, and
 * keeps the peer's health: a peer that stops answering is skipped (its keys
 * load locally) until a probe finds it back. It also sends mailgun's writes,
 * `PUT` (set) and `DELETE` (remove).
 *
 * Only a plain `200` with an `application/x-protobuf` body is a value. The
 * client asks for `accept-encoding: identity`, follows no redirect, and
 * refuses a compressed body before reading it, so what it holds in memory is
 * what the peer sent, at most `maxResponseBytes`.
 *
 * @module
 */

import { ByteView } from "./byte_view.ts";
import type { Deadlines, Expirable } from "./deadlines.ts";
import {
  InvalidKeyError,
  PeerError,
  type PeerErrorReason,
  ProtobufError,
} from "./errors.ts";
import type { PeerGetter } from "./group.ts";
import {
  PeerHealth,
  type PeerState,
  type ProbeBackoff,
} from "./peer_health.ts";
import {
  decodeGetResponseMessage,
  encodeSetRequest,
  msFromUnixNanos,
  unixNanosFromMs,
} from "./protobuf.ts";

/** The `fetch` the client calls. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** One request to a peer, as the client hands it to a {@linkcode PeerTransport}. */
export interface PeerRequest {
  /** `GET` a value, `PUT` (set) or `DELETE` (remove). */
  readonly method: "GET" | "PUT" | "DELETE";
  /** Sent as they are; `accept-encoding: identity` among them. */
  readonly headers: Readonly<Record<string, string>>;
  /** A `PUT`'s `SetRequest`. */
  readonly body?: Uint8Array<ArrayBuffer>;
  /**
   * Aborts the request and any body read still going (they reject with its
   * reason); the connection is then dropped, never reused.
   */
  readonly signal: AbortSignal;
  /**
   * The same abort without the signal: calls `listener` with the reason
   * when the request is aborted (at once if it is already), until the
   * returned function is called. The signal is only made if read, and on
   * Node 20 making one costs tens of µs.
   */
  onAbort(listener: (reason: unknown) => void): () => void;
}

/** A peer's answer: status and headers, the body read on demand. */
export interface PeerReply {
  /** The HTTP status. */
  readonly status: number;
  /** Whether a redirect was followed (or, in a browser, stopped opaquely). */
  readonly redirected: boolean;
  /** A response header (lower-case name), `null` when absent. */
  header(name: string): string | null;
  /**
   * At most `limit` bytes of the body, never buffering more: over the
   * limit `undefined`, or the first `limit` bytes when `truncate` is set.
   */
  body(limit: number, truncate: boolean): Promise<Uint8Array | undefined>;
  /** Drops the body unread (never rejects). */
  cancel(): Promise<void>;
}

/**
 * What a {@linkcode PeerTransport} rejects with when the peer answered, but
 * not in HTTP that can be read (`node:http` refuses a response with both a
 * Content-Length and a Transfer-Encoding, which fetch reads as chunked): a
 * {@linkcode PeerError} of reason `"malformed"`, and the peer stays up.
 */
export class MalformedReplyError extends Error {
  /** Always `"MalformedReplyError"`. */
  override readonly name = "MalformedReplyError";
}

/**
 * How the client reaches peers: sends one request, follows no redirect,
 * decompresses nothing (the client refuses a compressed body). The default
 * is {@linkcode fetchTransport}; `@x/groupcache/node` has one on `node:http`.
 */
export type PeerTransport = (
  url: string,
  request: PeerRequest,
) => Promise<PeerReply>;

/** What every peer of one pool shares. */
export interface HttpClientOptions {
  /** The path under which peers serve, e.g. `"/_groupcache/"`. */
  basePath: string;
  /** How requests reach peers. */
  transport: PeerTransport;
  /** The bound of one fetch; its `ms` is the pool's `timeoutMs`. */
  deadlines: Deadlines<PeerFetch>;
  /** The largest response body accepted, in bytes. */
  maxResponseBytes: number;
  /** The waits between probes of a peer that is down. */
  probeBackoff: ProbeBackoff;
  /** Told how long each fetch took, body read included, failed ones too (metrics). */
  observe?: (peer: string, seconds: number) => void;
  /**
   * The headers of every request, read at each one (the pool replaces them
   * when its ring changes, to send the ring's fingerprint). Default: only
   * `accept-encoding: identity`.
   */
  headers?: Readonly<Record<string, string>>;
  /** Told when a peer goes down or comes back up (the pool's logger). */
  onHealthChange?: (peer: HttpPeer, state: PeerState) => void;
}

// What every peer request sends: no compression (a compressed body is
// refused unread), no redirect followed. `decompress: false` is Bun's own
// fetch option, ignored elsewhere: without it Bun inflates a compressed body
// as it arrives, before the headers can be checked, even when identity was
// asked for (a 1 MiB gzip bomb grew Bun by 140-180 MiB before the body could
// be cancelled).
/**
 * The request header in which our client names the ring it placed the key
 * with: `{crc32 hex}/{peer count}` (see `HttpPool.ringFingerprint`). Go
 * peers send none.
 */
export const RING_HEADER = "x-groupcache-ring";

export const REQUEST_HEADERS: Readonly<Record<string, string>> = {
  "accept-encoding": "identity",
};
const PROTOBUF = "application/x-protobuf";

/** A `fetch` reply. */
class FetchReply implements PeerReply {
  readonly #res: Response;
  constructor(res: Response) {
    this.#res = res;
  }
  get status(): number {
    return this.#res.status;
  }
  get redirected(): boolean {
    // "manual" gives the 3xx itself, or in a browser an opaque redirect
    // (status 0); a fetch that followed one anyway says res.redirected.
    return this.#res.redirected || this.#res.type === "opaqueredirect";
  }
  header(name: string): string | null {
    return this.#res.headers.get(name);
  }
  body(limit: number, truncate: boolean): Promise<Uint8Array | undefined> {
    return readBody(this.#res, limit, truncate);
  }
  cancel(): Promise<void> {
    return cancel(this.#res);
  }
}

/**
 * The transport over `fetch` (the default; pass a `fetch` to the pool to
 * wire nodes without sockets): `redirect: "manual"`, and Bun's
 * `decompress: false`.
 */
export function fetchTransport(fetch: FetchLike): PeerTransport {
  return async (url, request) => {
    // Built in a variable: as a literal, RequestInit would refuse the extra member.
    const init = {
      method: request.method,
      body: request.body,
      signal: request.signal,
      headers: request.headers,
      redirect: "manual" as const,
      decompress: false,
    };
    return new FetchReply(await fetch(url, init));
  };
}

function ignore(): void {}

/**
 * One fetch in flight, and the request the transport is handed: aborted by
 * its deadline, by the caller's signal, or released when its peer is marked
 * down. It is its own abort listener, so a fetch allocates no closures for
 * it; its AbortSignal is made only for a transport that reads it.
 */
export class PeerFetch implements Expirable, PeerRequest {
  method: PeerRequest["method"] = "GET";
  headers: Readonly<Record<string, string>> = REQUEST_HEADERS;
  body: Uint8Array<ArrayBuffer> | undefined = undefined;
  timedOut = false;
  /** The failure that took the peer down while this fetch waited. */
  releasedBy: PeerError | undefined;
  /** Whether the pool was closed while this fetch waited. */
  closed = false;
  readonly #timeoutMs: number;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #listener: ((reason: unknown) => void) | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.#aborted) {
      listener(this.#reason);
      return ignore;
    }
    this.#listener = listener;
    return () => {
      if (this.#listener === listener) this.#listener = undefined;
    };
  }

  /** Aborts once, with `reason`. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.(reason);
  }

  /** A fetch bound by `deadlines`, aborted with the caller's `signal`. */
  static start(
    signal: AbortSignal,
    deadlines: Deadlines<PeerFetch>,
  ): PeerFetch {
    const inFlight = new PeerFetch(deadlines.ms);
    if (signal.aborted) inFlight.abort(signal.reason);
    else signal.addEventListener("abort", inFlight, { once: true });
    deadlines.add(inFlight);
    return inFlight;
  }

  expire(): void {
    this.timedOut = true;
    this.abort(
      new DOMException(
        `no answer within ${this.#timeoutMs} ms`,
        "TimeoutError",
      ),
    );
  }

  /** Its peer was marked down: give up now rather than at the deadline. */
  release(cause: PeerError): void {
    this.releasedBy = cause;
    this.abort(cause);
  }

  /** The pool was closed: give up now. */
  close(): void {
    this.closed = true;
    this.abort(
      new DOMException("the pool was closed", "AbortError"),
    );
  }

  /** The caller's signal aborted. */
  handleEvent(event: Event): void {
    this.abort((event.target as AbortSignal).reason);
  }
}

/** One remote peer, reached through the pool's transport. */
export class HttpPeer implements PeerGetter {
  readonly url: string;
  /** Whether it answers; see {@linkcode PeerHealth}. */
  readonly health: PeerHealth;
  readonly #base: string;
  readonly #options: HttpClientOptions;
  // The gets waiting on this peer, released when it is marked down.
  readonly #inFlight = new Set<PeerFetch>();

  constructor(url: string, options: HttpClientOptions) {
    this.url = url;
    this.#base = url + options.basePath;
    this.#options = options;
    const onChange = options.onHealthChange;
    this.health = new PeerHealth(
      options.probeBackoff,
      undefined,
      onChange && ((state) => onChange(this, state)),
    );
  }

  /**
   * Whether to ask this peer now: yes while it is up; while it is down no,
   * and a probe starts in the background when one is due (so no caller ever
   * waits on a peer that is down).
   */
  available(): boolean {
    if (this.health.up) return true;
    if (this.health.probeDue()) void this.#probe();
    return false;
  }

  /**
   * The pool was closed: aborts every request in flight to this peer (each
   * fails with reason `"closed"`, not counted against the peer's health).
   */
  close(): void {
    for (const inFlight of this.#inFlight) inFlight.close();
  }

  async get(
    group: string,
    key: string,
    signal: AbortSignal,
  ): Promise<ByteView> {
    const url = this.#base + this.#groupPath(group) + escapeKey(key, this.url);
    const { deadlines, transport, maxResponseBytes } = this.#options;
    const inFlight = PeerFetch.start(signal, deadlines);
    this.#inFlight.add(inFlight);
    const start = performance.now();
    try {
      let res: PeerReply;
      try {
        inFlight.headers = this.#options.headers ?? REQUEST_HEADERS;
        res = await transport(url, inFlight);
      } catch (err) {
        throw this.#failed(group, key, inFlight, signal, err);
      }
      this.health.answered();
      if (res.status !== 200 || res.redirected) {
        throw await this.#refuseStatus(group, key, res);
      }
      const encoding = res.header("content-encoding");
      if (encoding !== null && encoding.toLowerCase() !== "identity") {
        await res.cancel();
        throw this.#fail(
          group,
          key,
          `refused a body with content-encoding ${
            JSON.stringify(encoding)
          } (identity was asked for)`,
          "encoding",
          { status: 200 },
        );
      }
      const type = res.header("content-type");
      if (type !== PROTOBUF && !isProtobuf(type)) {
        await res.cancel();
        throw this.#fail(
          group,
          key,
          `refused a 200 of content-type ${
            JSON.stringify(type)
          }: a value comes as ${PROTOBUF}`,
          "content-type",
          { status: 200 },
        );
      }
      let bytes: Uint8Array | undefined;
      try {
        bytes = await res.body(maxResponseBytes, false);
      } catch (err) {
        throw this.#failed(group, key, inFlight, signal, err);
      }
      if (bytes === undefined) {
        throw this.#fail(
          group,
          key,
          `response body is larger than maxResponseBytes (${maxResponseBytes})`,
          "too-large",
        );
      }
      try {
        return viewOfResponse(bytes);
      } catch (err) {
        if (!(err instanceof ProtobufError)) throw err;
        throw this.#fail(
          group,
          key,
          `malformed GetResponse: ${err.message}`,
          "malformed",
          {
            status: 200,
            cause: err,
          },
        );
      }
    } finally {
      deadlines.delete(inFlight);
      signal.removeEventListener("abort", inFlight);
      this.#inFlight.delete(inFlight);
      this.#options.observe?.(this.url, (performance.now() - start) / 1000);
    }
  }

  /**
   * mailgun's `Set`: `PUT` with a `SetRequest` body (the view's bytes and
   * its expiry in Unix nanoseconds, `0` for never), expecting `200`.
   */
  set(
    group: string,
    key: string,
    value: ByteView,
    signal: AbortSignal,
  ): Promise<void> {
    const body = encodeSetRequest({
      group,
      key,
      value: value.toBytes(),
      expire: unixNanosFromMs(value.expire),
    });
    return this.#write("PUT", group, key, body, signal);
  }

  /** mailgun's `Remove`: `DELETE`, no body, expecting `200`. */
  remove(group: string, key: string, signal: AbortSignal): Promise<void> {
    return this.#write("DELETE", group, key, undefined, signal);
  }

  /** One write within the pool's time bound; any status but 200 fails. */
  async #write(
    method: "PUT" | "DELETE",
    group: string,
    key: string,
    body: Uint8Array<ArrayBuffer> | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const url = this.#base + this.#groupPath(group) + escapeKey(key, this.url);
    const { deadlines, transport } = this.#options;
    const inFlight = PeerFetch.start(signal, deadlines);
    this.#inFlight.add(inFlight);
    try {
      let res: PeerReply;
      let text = "";
      try {
        inFlight.method = method;
        inFlight.headers = this.#options.headers ?? REQUEST_HEADERS;
        inFlight.body = body;
        res = await transport(url, inFlight);
        this.health.answered();
        // Read (a bounded start of) the body either way, to free the connection.
        text = new TextDecoder().decode(await res.body(4096, true))
          .trim();
      } catch (err) {
        throw this.#failed(group, key, inFlight, signal, err);
      }
      if (res.status !== 200) {
        throw this.#fail(
          group,
          key,
          `${method} answered ${res.status}${text ? ": " + text : ""}`,
          "status",
          { status: res.status, body: text },
        );
      }
    } finally {
      deadlines.delete(inFlight);
      signal.removeEventListener("abort", inFlight);
      this.#inFlight.delete(inFlight);
    }
  }

  /** A non-200 answer (or one a custom fetch reached by a redirect). */
  async #refuseStatus(
    group: string,
    key: string,
    res: PeerReply,
  ): Promise<PeerError> {
    const { status } = res;
    if ((status >= 300 && status < 400) || res.redirected) {
      await res.cancel();
      const location = res.header("location");
      return this.#fail(
        group,
        key,
        `refused a redirect (${status}${
          location === null ? "" : " to " + JSON.stringify(location)
        }): peers answer directly`,
        "redirect",
        { status },
      );
    }
    let body = "";
    try {
      body = new TextDecoder().decode(await res.body(4096, true)).trim();
    } catch { /* the status says enough */ }
    return this.#fail(
      group,
      key,
      `server returned ${status}${body ? ": " + body : ""}`,
      "status",
      { status, body },
    );
  }

  /**
   * Asks whether a down peer answers: `GET {basePath}`, which every peer
   * (Go's or ours) answers at once with a 400 and no getter runs. Any
   * answer re-admits it.
   */
  async #probe(): Promise<void> {
    const { deadlines, transport } = this.#options;
    const inFlight = new PeerFetch(deadlines.ms);
    deadlines.add(inFlight);
    this.#inFlight.add(inFlight);
    try {
      inFlight.headers = this.#options.headers ?? REQUEST_HEADERS;
      const res = await transport(this.#base, inFlight);
      await res.cancel();
      this.health.probeAnswered();
    } catch (err) {
      if (err instanceof MalformedReplyError) this.health.probeAnswered();
      else this.health.probeFailed(this.#thrown("", "", inFlight, err));
    } finally {
      deadlines.delete(inFlight);
      this.#inFlight.delete(inFlight);
    }
  }

  // Group names are few: escape each once.
  #groupPaths = new Map<string, string>();
  #groupPath(group: string): string {
    let path = this.#groupPaths.get(group);
    if (path === undefined) {
      path = encodeURIComponent(group) + "/";
      if (this.#groupPaths.size < 1024) this.#groupPaths.set(group, path);
    }
    return path;
  }

  /** A PeerError of this peer; a probe has neither group nor key. */
  #fail(
    group: string,
    key: string,
    message: string,
    reason: PeerErrorReason,
    extra?: object,
  ): PeerError {
    const what = group === "" && key === ""
      ? "probe"
      : `group ${group}, key ${JSON.stringify(key)}`;
    return new PeerError(`peer ${this.url}, ${what}: ${message}`, {
      peer: this.url,
      group,
      key,
      reason,
      ...extra,
    });
  }

  /** The error of a fetch or body read that threw: its deadline, or the network. */
  #thrown(
    group: string,
    key: string,
    inFlight: PeerFetch,
    err: unknown,
  ): PeerError {
    if (inFlight.timedOut) {
      const ms = this.#options.deadlines.ms;
      return this.#fail(group, key, `no answer within ${ms} ms`, "timeout", {
        cause: err,
      });
    }
    const message = `request failed: ${(err as Error)?.message ?? err}`;
    return this.#fail(group, key, message, "network", { cause: err });
  }

  /**
   * A fetch or body read that threw: released (the peer went down), the
   * deadline, the caller, or the network. The deadline and the network count
   * against the peer's health; the first such failure marks it down and
   * releases every other request waiting on it.
   */
  #failed(
    group: string,
    key: string,
    inFlight: PeerFetch,
    signal: AbortSignal,
    err: unknown,
  ): PeerError {
    if (inFlight.closed) {
      return this.#fail(
        group,
        key,
        "released: the pool was closed while this request waited",
        "closed",
      );
    }
    if (err instanceof MalformedReplyError) {
      this.health.answered();
      return this.#fail(
        group,
        key,
        `unreadable answer: ${err.message}`,
        "malformed",
        { cause: err },
      );
    }
    const down = inFlight.releasedBy;
    if (down !== undefined) {
      return this.#fail(
        group,
        key,
        `released: the peer was marked down (${down.reason}) while this ` +
          "request waited",
        "down",
        { cause: down },
      );
    }
    const error = this.#thrown(group, key, inFlight, err);
    // The caller left (an abort, not the deadline): not the peer's fault.
    if (!inFlight.timedOut && signal.aborted) return error;
    if (this.health.failed(error)) {
      for (const other of this.#inFlight) {
        if (other !== inFlight) other.release(error);
      }
    }
    return error;
  }
}

function isProtobuf(type: string | null): boolean {
  if (type === null) return false;
  const semi = type.indexOf(";");
  return (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase() ===
    PROTOBUF;
}

/** Drops a body unread (a failed cancel changes nothing). */
async function cancel(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch { /* already errored or closed */ }
}

/**
 * The key as one percent-encoded path segment, `/` escaped (a space is
 * `%20`, which Go's server decodes exactly; Go's own client sends `+`).
 */
function escapeKey(key: string, peer: string): string {
  if (key === "" || key === "." || key === "..") {
    // fetch resolves "." and ".." segments away; "" is how Bun delivers "/g/.".
    throw new InvalidKeyError(
      key,
      `cannot be sent to peer ${peer}: URLs resolve "." and ".." path ` +
        "segments, and peers refuse an empty key; use another key",
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

/** A `GetResponse` as a view, with mailgun's expiry when one was sent. */
function viewOfResponse(bytes: Uint8Array): ByteView {
  const { value, expire } = decodeGetResponseMessage(bytes);
  return new ByteView(
    value,
    expire === undefined || expire === 0n ? 0 : msFromUnixNanos(expire),
  );
}

/**
 * The body length the headers promise, when they alone frame the body. With
 * a Transfer-Encoding too, the body is chunked whatever Content-Length says
 * (RFC 9112), and Deno and Bun read it past the declared length; a value
 * that is not one number is no promise either.
 */
function declaredLength(res: Pick<Response, "headers">): number | undefined {
  const declared = res.headers.get("content-length");
  if (declared === null || res.headers.get("transfer-encoding") !== null) {
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
export async function readBody(
  res: Pick<Response, "headers" | "body" | "arrayBuffer">,
  limit: number,
  truncate: boolean,
): Promise<Uint8Array | undefined> {
  const declared = declaredLength(res);
  if (declared !== undefined && declared <= limit) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length <= limit) return bytes;
    return truncate ? bytes.subarray(0, limit) : undefined;
  }
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
