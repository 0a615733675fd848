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
import { PeerError, type PeerErrorReason, ProtobufError } from "./errors.ts";
import type { PeerGetter } from "./peers.ts";
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
import { type PeerSigner, SIGNATURE_HEADER } from "./signature.ts";
import {
  encodeKey,
  ownerFailure,
  PEEK_HEADER,
  PROTOBUF,
  readBody,
  REQUEST_HEADERS,
  WRITES_HEADER,
} from "./wire.ts";
import { PeerBatches } from "./batch_client.ts";
import { ASK, Asking, type Caller, follow, unfollow } from "./asking.ts";
import { BATCH_HEADER, BATCH_TYPE, decodeBatchAnswer } from "./batch_wire.ts";
import { encodeBatchRequest } from "./batch_wire.ts";
import { encodeBatchSet } from "./batch_set.ts";

/** The `fetch` the client calls. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** One request to a peer, as the client hands it to a {@linkcode PeerTransport}. */
export interface PeerRequest {
  /** `GET` a value, `PUT` (set), `DELETE` (remove) or `POST` (a batch). */
  readonly method: "GET" | "PUT" | "DELETE" | "POST";
  /** Sent as they are; `accept-encoding: identity` among them. */
  readonly headers: Readonly<Record<string, string>>;
  /** A `PUT`'s `SetRequest`, a `POST`'s keys. */
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
  /** The longest key sent, in bytes of UTF-8; longer is an `InvalidKeyError`. */
  maxKeyBytes?: number;
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
  /** Signs every request (the pool's `secret`). */
  signer?: PeerSigner;
}

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
// `decompress: false` is Bun's own fetch option, ignored elsewhere: without
// it Bun inflates a compressed body as it arrives, before the headers can be
// checked, even when identity was asked for (a 1 MiB gzip bomb grew Bun by
// 140-180 MiB before the body could be cancelled).
export function fetchTransport(fetch: FetchLike): PeerTransport {
  // Not an async function: one promise fewer per request.
  return (url, request) => {
    // Built in a variable: as a literal, RequestInit would refuse the extra member.
    const init = {
      method: request.method,
      body: request.body,
      signal: request.signal,
      headers: request.headers,
      redirect: "manual" as const,
      decompress: false,
    };
    try {
      // Promise.resolve: a custom fetch may hand back a thenable (returned
      // as is when it is a promise already).
      return Promise.resolve(fetch(url, init)).then(toReply);
    } catch (err) {
      return Promise.reject(err); // as an async function would
    }
  };
}

function toReply(res: Response): PeerReply {
  return new FetchReply(res);
}

/** What makes the result of a peer's answer (`HttpPeer.#request`). */
type Reader<T> = (
  this: HttpPeer,
  res: PeerReply,
  group: string,
  key: string,
  inFlight: PeerFetch,
  signal: Caller | undefined,
) => Promise<T>;

const PEEK_REQUEST = { [PEEK_HEADER]: "1" };

/**
 * One fetch in flight, and the request the transport is handed: aborted by
 * its deadline, by the caller's signal, or released when its peer is marked
 * down. It is its own abort listener, so a fetch allocates no closures for
 * it; its AbortSignal is made only for a transport that reads it.
 */
export class PeerFetch extends Asking implements Expirable, PeerRequest {
  method: PeerRequest["method"] = "GET";
  headers: Readonly<Record<string, string>> = REQUEST_HEADERS;
  body: Uint8Array<ArrayBuffer> | undefined = undefined;
  timedOut = false;
  /** The failure that took the peer down while this fetch waited. */
  releasedBy: PeerError | undefined;
  /** Whether the pool was closed while this fetch waited. */
  closed = false;
  // Declared so every PeerFetch has one shape: the deadline queue's links
  // (deadlines.ts) and its peer's list of fetches in flight (HttpPeer).
  deadline: number | undefined = undefined;
  olderWaiting: Expirable | undefined = undefined;
  newerWaiting: Expirable | undefined = undefined;
  olderOfPeer: PeerFetch | undefined = undefined;
  newerOfPeer: PeerFetch | undefined = undefined;
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    super();
    this.#timeoutMs = timeoutMs;
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    const heard = { abort: listener };
    this.listen(heard);
    return () => this.unlisten(heard);
  }

  /** A fetch bound by `deadlines`, aborted with the caller's `signal` if any. */
  static start(
    signal: Caller | undefined,
    deadlines: Deadlines<PeerFetch>,
  ): PeerFetch {
    const inFlight = new PeerFetch(deadlines.ms);
    if (signal !== undefined) follow(signal, inFlight);
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
  // The newest of the requests waiting on this peer, released when it is
  // marked down; linked through their olderOfPeer/newerOfPeer, so a request
  // allocates and hashes nothing to be found (as in a Set it would).
  #inFlight: PeerFetch | undefined;
  // Whether its last answer said it takes batches (BATCH_HEADER).
  #takesBatches = false;
  readonly #batches = new PeerBatches(
    (group, keys, signal) =>
      this.#request(
        "POST",
        this.#base + this.#groupPath(group),
        encodeBatchRequest(keys),
        group,
        "",
        signal,
        (res, group, _, inFlight, signal) =>
          this.#readBatch(res, group, keys, inFlight, signal),
      ),
    (group, key, signal) =>
      this.#getKey(group, key, signal, this.#readValue, undefined, true),
    () => this.#options.deadlines.size > 0,
  );

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
    for (let f = this.#inFlight; f !== undefined; f = f.olderOfPeer) f.close();
  }

  get(group: string, key: string, signal: AbortSignal): Promise<ByteView> {
    return this.#getKey(group, key, signal, this.#readValue, undefined, true);
  }

  /**
   * A group's get (asking.ts), or with `batched` its `getBatched`: its abort
   * heard without an event listener.
   */
  [ASK](
    group: string,
    key: string,
    asking: Asking,
    batched: boolean,
  ): Promise<ByteView> {
    if (batched && this.#takesBatches) {
      return this.#batches.get(group, key, asking);
    }
    return this.#getKey(group, key, asking, this.#readValue, undefined, true);
  }

  /** A `GET` of `key` (its time observed with `observed`); see `#request`. */
  #getKey<T>(
    group: string,
    key: string,
    signal: Caller,
    read: Reader<T>,
    extra: Readonly<Record<string, string>> | undefined,
    observed: boolean,
  ): Promise<T> {
    let url: string;
    try {
      url = this.#keyUrl(group, key);
    } catch (err) {
      return Promise.reject(err); // an InvalidKeyError, as a rejection
    }
    return this.#request(
      "GET",
      url,
      undefined,
      group,
      key,
      signal,
      read,
      extra,
      observed,
    );
  }

  /**
   * Whether the peer has shown it is one of ours: its last answer said it
   * takes batches ({@linkcode BATCH_HEADER}), which Go and mailgun nodes
   * never send. Only such a peer is sent a handoff request.
   */
  get ours(): boolean {
    return this.#takesBatches;
  }

  /**
   * A handoff request: `key` from the peer's cache only (a `GET` with
   * {@linkcode PEEK_HEADER}); `undefined` when it answers "not cached".
   */
  peek(
    group: string,
    key: string,
    signal: AbortSignal,
  ): Promise<ByteView | undefined> {
    return this.#getKey(
      group,
      key,
      signal,
      this.#readPeek,
      PEEK_REQUEST,
      false,
    );
  }

  /** A handoff's answer: a value, or "not cached" (a 404 saying so). */
  async #readPeek(
    res: PeerReply,
    group: string,
    key: string,
    inFlight: PeerFetch,
    signal: Caller | undefined,
  ): Promise<ByteView | undefined> {
    if (res.status === 404 && res.header(PEEK_HEADER) === "miss") {
      await res.cancel();
      return undefined;
    }
    return await this.#readValue(res, group, key, inFlight, signal);
  }

  /**
   * A get that travels with the other keys of `group` asked of this peer in
   * the same tick, in one batch request, once the peer has said it takes
   * them (its last answer had {@linkcode BATCH_HEADER}); else a plain get.
   */
  getBatched(
    group: string,
    key: string,
    signal: AbortSignal,
  ): Promise<ByteView> {
    if (!this.#takesBatches) return this.get(group, key, signal);
    return this.#batches.get(group, key, signal);
  }

  /**
   * A batch's answer: a `200` of the batch type, within `maxResponseBytes`,
   * with one entry for each key asked and for no other.
   */
  async #readBatch(
    res: PeerReply,
    group: string,
    keys: string[],
    inFlight: PeerFetch,
    signal: Caller | undefined,
  ): Promise<Map<string, ByteView | Error>> {
    if (res.status !== 200 || res.redirected) {
      throw await this.#refuseStatus(group, "", res);
    }
    const encoding = res.header("content-encoding") ?? "identity";
    if (res.header("content-type") !== BATCH_TYPE || encoding !== "identity") {
      await res.cancel();
      throw this.#fail(
        group,
        "",
        "refused a batch answer of another type or encoding",
        "content-type",
        { status: 200 },
      );
    }
    const bytes = await this.#body(res, group, "", inFlight, signal);
    const results = new Map<string, ByteView | Error>();
    const asked = new Set(keys);
    try {
      for (const { key, kind, bytes: entry } of decodeBatchAnswer(bytes)) {
        if (!asked.has(key) || results.has(key)) {
          throw new ProtobufError(
            `an entry for key ${JSON.stringify(key)}, not asked for or twice`,
          );
        }
        results.set(key, this.#entry(group, key, kind, entry));
      }
      if (results.size !== keys.length) {
        throw new ProtobufError(
          `${results.size} entries for ${keys.length} keys`,
        );
      }
    } catch (err) {
      if (!(err instanceof ProtobufError)) throw err;
      throw this.#fail(
        group,
        "",
        `malformed batch answer: ${err.message}`,
        "malformed",
        { status: 200, cause: err },
      );
    }
    return results;
  }

  /** One key's entry of a batch answer, as a single get would have ended. */
  #entry(
    group: string,
    key: string,
    kind: number,
    bytes: Uint8Array,
  ): ByteView | Error {
    if (kind === 0) return viewOfResponse(bytes);
    const [status, header] = kind === 1 ? [404, "not-found"] : [500, "getter"];
    const body = new TextDecoder().decode(bytes);
    return ownerFailure(this.url, group, key, status, body, {
      header: () => header,
    })!;
  }

  /** A get's answer: only a plain `200` with a protobuf body is a value. */
  async #readValue(
    res: PeerReply,
    group: string,
    key: string,
    inFlight: PeerFetch,
    signal: Caller | undefined,
  ): Promise<ByteView> {
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
    const bytes = await this.#body(res, group, key, inFlight, signal);
    try {
      return viewOfResponse(bytes);
    } catch (err) {
      if (!(err instanceof ProtobufError)) throw err;
      throw this.#fail(
        group,
        key,
        `malformed GetResponse: ${err.message}`,
        "malformed",
        { status: 200, cause: err },
      );
    }
  }

  /** A value's (or batch's) body, within `maxResponseBytes`. */
  async #body(
    res: PeerReply,
    group: string,
    key: string,
    inFlight: PeerFetch,
    signal: Caller | undefined,
  ): Promise<Uint8Array> {
    const { maxResponseBytes } = this.#options;
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
    return bytes;
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

  /**
   * A batch set (batch_set.ts): `values` of `group` in one `PUT` on the
   * group path. `false` when the peer does not know the request (`400` or
   * `405`: a node of ours from before it): send single `PUT`s instead.
   * Any other answer but `200` fails. Only for peers of ours.
   */
  async setBatch(
    group: string,
    values: ReadonlyArray<readonly [string, ByteView]>,
    signal: AbortSignal,
  ): Promise<boolean> {
    const body = encodeBatchSet(values);
    const url = this.#base + this.#groupPath(group);
    try {
      await this.#request(
        "PUT",
        url,
        body,
        group,
        "",
        signal,
        this.#written,
        BATCH_SET_HEADERS,
      );
      return true;
    } catch (err) {
      const status = err instanceof PeerError ? err.status : undefined;
      if (status === 400 || status === 405) return false;
      throw err;
    }
  }

  /** mailgun's `Remove`: `DELETE`, no body, expecting `200`. */
  remove(group: string, key: string, signal: AbortSignal): Promise<void> {
    return this.#write("DELETE", group, key, undefined, signal);
  }

  /** One write within the pool's time bound; any status but 200 fails. */
  #write(
    method: "PUT" | "DELETE",
    group: string,
    key: string,
    body: Uint8Array<ArrayBuffer> | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const url = this.#keyUrl(group, key);
    return this.#request(method, url, body, group, key, signal, this.#written);
  }

  /** A write's answer: `200`, or a failure with (the start of) its body. */
  async #written(
    res: PeerReply,
    group: string,
    key: string,
    inFlight: PeerFetch,
    signal: Caller | undefined,
  ): Promise<void> {
    let text: string;
    try {
      // Read (a bounded start of) the body either way, to free the connection.
      text = new TextDecoder().decode(await res.body(4096, true)).trim();
    } catch (err) {
      throw this.#failed(group, key, inFlight, signal, err);
    }
    if (res.status !== 200) {
      const reason = refusal(res);
      throw this.#fail(
        group,
        key,
        `${inFlight.method} answered ${res.status}${text ? ": " + text : ""}`,
        reason,
        { status: res.status, body: text },
      );
    }
  }

  /** A non-200 answer (or one a custom fetch reached by a redirect). */
  async #refuseStatus(
    group: string,
    key: string,
    res: PeerReply,
  ): Promise<Error> {
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
    return ownerFailure(this.url, group, key, status, body, res) ??
      this.#fail(
        group,
        key,
        `server returned ${status}${body ? ": " + body : ""}`,
        refusal(res),
        { status, body },
      );
  }

  /**
   * Asks whether a down peer answers: `GET {basePath}`, which every peer
   * (Go's or ours) answers at once with a 400 and no getter runs. Any
   * answer re-admits it; the outcome goes to the probe's side of the
   * peer's health (see {@linkcode HttpPeer.#failed}), so this never rejects.
   */
  async #probe(): Promise<void> {
    try {
      await this.#request(
        "GET",
        this.#base,
        undefined,
        "",
        "",
        undefined,
        drop,
      );
    } catch { /* told to the peer's health */ }
  }

  /**
   * The bracket of every request to this peer (a get, a write, a probe):
   * bound by the pool's deadline and the caller's `signal` (a probe has
   * none), released when the peer goes down or the pool closes; a transport
   * failure classified and counted against the peer (`#failed`), an answer
   * counted for it; then `read` makes the result of the answer. With
   * `observed`, its time goes to the `observe` option (a get's).
   */
  async #request<T>(
    method: PeerRequest["method"],
    url: string,
    body: Uint8Array<ArrayBuffer> | undefined,
    group: string,
    key: string,
    signal: Caller | undefined,
    read: Reader<T>,
    extra?: Readonly<Record<string, string>>,
    observed = false,
  ): Promise<T> {
    const { deadlines, transport } = this.#options;
    const inFlight = PeerFetch.start(signal, deadlines);
    // The start as the deadline took it: one clock read fewer per get.
    const start = inFlight.deadline! - deadlines.ms;
    const newest = this.#inFlight;
    if (newest !== undefined) newest.newerOfPeer = inFlight;
    inFlight.olderOfPeer = newest;
    this.#inFlight = inFlight;
    try {
      let res: PeerReply;
      try {
        inFlight.method = method;
        inFlight.headers = this.#options.headers ?? REQUEST_HEADERS;
        if (extra !== undefined) {
          inFlight.headers = { ...inFlight.headers, ...extra };
        }
        inFlight.body = body;
        const signer = this.#options.signer;
        if (signer !== undefined) {
          inFlight.headers = {
            ...inFlight.headers,
            [SIGNATURE_HEADER]: signer.sign(
              method,
              url.slice(this.url.length),
              body,
            ),
          };
        }
        res = await transport(url, inFlight);
      } catch (err) {
        throw this.#failed(group, key, inFlight, signal, err);
      }
      this.#takesBatches = res.header(BATCH_HEADER) === "1";
      if (signal === undefined) this.health.probeAnswered();
      else this.health.answered();
      return await read.call(this, res, group, key, inFlight, signal);
    } finally {
      deadlines.delete(inFlight);
      if (signal !== undefined) unfollow(signal, inFlight);
      const { olderOfPeer, newerOfPeer } = inFlight;
      if (newerOfPeer === undefined) this.#inFlight = olderOfPeer;
      else newerOfPeer.olderOfPeer = olderOfPeer;
      if (olderOfPeer !== undefined) olderOfPeer.newerOfPeer = newerOfPeer;
      if (observed) {
        this.#options.observe?.(this.url, (performance.now() - start) / 1000);
      }
    }
  }

  // Group names are few: escape each once.
  /** The URL of `key` of `group` on this peer (an `InvalidKeyError` past `maxKeyBytes`). */
  #keyUrl(group: string, key: string): string {
    return this.#base + this.#groupPath(group) +
      encodeKey(key, this.url, this.#options.maxKeyBytes);
  }

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
    const message = refused(err)
      ? `connection refused to ${this.url}`
      : `request failed: ${(err as Error)?.message ?? err}`;
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
    signal: Caller | undefined,
    err: unknown,
  ): PeerError {
    // A probe (no caller): an unreadable answer is still an answer and
    // re-admits the peer; anything else is a failed probe (the wait before
    // the next one grows). Nothing waits on a probe, nothing is released.
    if (signal === undefined) {
      const error = this.#thrown(group, key, inFlight, err);
      if (err instanceof MalformedReplyError) this.health.probeAnswered();
      else this.health.probeFailed(error);
      return error;
    }
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
      for (let other = this.#inFlight; other; other = other.olderOfPeer) {
        if (other !== inFlight) other.release(error);
      }
    }
    return error;
  }
}

/**
 * Whether a transport's error says the connection was refused: fetch on
 * Deno and Node says only "fetch failed", the reason is in its cause (Node:
 * code `ECONNREFUSED`; Deno: "Connection refused" in the message); Bun and
 * `node:http` put the code on the error itself.
 */
function refused(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 3; depth++) {
    if ((e as { code?: unknown }).code === "ECONNREFUSED") return true;
    if (/\bConnection refused \(os error/.test(e.message)) return true;
    e = e.cause;
  }
  return false;
}

/**
 * The reason of a non-200 answer: the peer refused the request's signature
 * (401), or refused a write because its writes are off (403 saying so).
 */
/** The headers of a batch set, beside the pool's. */
const BATCH_SET_HEADERS = {
  [BATCH_HEADER]: "1",
  "content-type": BATCH_TYPE,
} as const;

function refusal(res: PeerReply): PeerErrorReason {
  if (res.status === 401) return "unauthorized";
  if (res.status === 403 && res.header(WRITES_HEADER) === "off") {
    return "writes-off";
  }
  return "status";
}

function isProtobuf(type: string | null): boolean {
  if (type === null) return false;
  const semi = type.indexOf(";");
  return (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase() ===
    PROTOBUF;
}

/** A probe's read: the answer is enough, its body is dropped. */
function drop(res: PeerReply): Promise<void> {
  return res.cancel();
}

/** Drops a body unread (a failed cancel changes nothing). */
async function cancel(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch { /* already errored or closed */ }
}

/** A `GetResponse` as a view, with mailgun's expiry when one was sent. */
function viewOfResponse(bytes: Uint8Array): ByteView {
  const { value, expire } = decodeGetResponseMessage(bytes);
  if (expire !== undefined && expire < 0n) {
    // Before 1970, or a wrapped time: not an expiry a node of ours sends.
    throw new ProtobufError(`negative expire (${expire} ns)`);
  }
  return new ByteView(
    value,
    expire === undefined || expire === 0n ? 0 : msFromUnixNanos(expire),
  );
}
