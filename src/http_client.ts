/**
 * The HTTP client of the peer protocol: asks one remote peer for a key with
 * `fetch`, as Go's `httpGetter`, within a time bound and a size limit; and
 * sends it mailgun's writes, `PUT` (set) and `DELETE` (remove).
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
  decodeGetResponseMessage,
  encodeSetRequest,
  msFromUnixNanos,
  unixNanosFromMs,
} from "./protobuf.ts";

/** The `fetch` the client calls. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** What every peer of one pool shares. */
export interface HttpClientOptions {
  /** The path under which peers serve, e.g. `"/_groupcache/"`. */
  basePath: string;
  /** The `fetch` to call. */
  fetch: FetchLike;
  /** The bound of one fetch; its `ms` is the pool's `timeoutMs`. */
  deadlines: Deadlines<PeerFetch>;
  /** The largest response body accepted, in bytes. */
  maxResponseBytes: number;
  /** Told how long each fetch took, body read included, failed ones too (metrics). */
  observe?: (peer: string, seconds: number) => void;
}

/**
 * One fetch in flight: aborted by its deadline or by the caller's signal.
 * It is its own abort listener, so a fetch allocates no closures for it.
 */
export class PeerFetch implements Expirable {
  readonly controller = new AbortController();
  timedOut = false;
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** A fetch bound by `deadlines`, aborted with the caller's `signal`. */
  static start(
    signal: AbortSignal,
    deadlines: Deadlines<PeerFetch>,
  ): PeerFetch {
    const inFlight = new PeerFetch(deadlines.ms);
    if (signal.aborted) inFlight.controller.abort(signal.reason);
    else signal.addEventListener("abort", inFlight, { once: true });
    deadlines.add(inFlight);
    return inFlight;
  }

  expire(): void {
    this.timedOut = true;
    this.controller.abort(
      new DOMException(
        `no answer within ${this.#timeoutMs} ms`,
        "TimeoutError",
      ),
    );
  }

  /** The caller's signal aborted. */
  handleEvent(event: Event): void {
    this.controller.abort((event.target as AbortSignal).reason);
  }
}

/** One remote peer, reached with `fetch`. */
export class HttpPeer implements PeerGetter {
  readonly url: string;
  readonly #base: string;
  readonly #options: HttpClientOptions;

  constructor(url: string, options: HttpClientOptions) {
    this.url = url;
    this.#base = url + options.basePath;
    this.#options = options;
  }

  async get(
    group: string,
    key: string,
    signal: AbortSignal,
  ): Promise<ByteView> {
    const url = this.#base + this.#groupPath(group) + escapeKey(key, this.url);
    const { deadlines, fetch, maxResponseBytes } = this.#options;
    const inFlight = PeerFetch.start(signal, deadlines);
    const start = performance.now();
    try {
      let res: Response;
      try {
        res = await fetch(url, { signal: inFlight.controller.signal });
      } catch (err) {
        throw this.#failed(group, key, inFlight, err);
      }
      if (res.status !== 200) {
        let body = "";
        try {
          body = new TextDecoder().decode(await readBody(res, 4096, true))
            .trim();
        } catch { /* the status says enough */ }
        throw this.#fail(
          group,
          key,
          `server returned ${res.status}${body ? ": " + body : ""}`,
          "status",
          { status: res.status, body },
        );
      }
      let bytes: Uint8Array | undefined;
      try {
        // The common case inline: a declared length within the limit.
        const declared = res.headers.get("content-length");
        bytes = declared !== null && Number(declared) <= maxResponseBytes
          ? new Uint8Array(await res.arrayBuffer())
          : await readBody(res, maxResponseBytes, false);
        if (bytes !== undefined && bytes.length > maxResponseBytes) {
          bytes = undefined;
        }
      } catch (err) {
        throw this.#failed(group, key, inFlight, err);
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
    const { deadlines, fetch } = this.#options;
    const inFlight = PeerFetch.start(signal, deadlines);
    try {
      let res: Response;
      let text = "";
      try {
        res = await fetch(url, {
          method,
          body,
          signal: inFlight.controller.signal,
        });
        // Read (a bounded start of) the body either way, to free the connection.
        text = new TextDecoder().decode(await readBody(res, 4096, true))
          .trim();
      } catch (err) {
        throw this.#failed(group, key, inFlight, err);
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

  #fail(
    group: string,
    key: string,
    message: string,
    reason: PeerErrorReason,
    extra?: object,
  ): PeerError {
    return new PeerError(
      `peer ${this.url}, group ${group}, key ${JSON.stringify(key)}: ` +
        message,
      { peer: this.url, group, key, reason, ...extra },
    );
  }

  /** A fetch or body read that threw: the deadline, or the network. */
  #failed(
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
 * Reads at most `limit` bytes of a body (a response's, or a request's).
 * Over the limit: `undefined`, or the first `limit` bytes when `truncate`
 * is set; the rest is never buffered.
 */
export async function readBody(
  res: Pick<Response, "headers" | "body" | "arrayBuffer">,
  limit: number,
  truncate: boolean,
): Promise<Uint8Array | undefined> {
  const declared = res.headers.get("content-length");
  if (declared !== null && Number(declared) <= limit) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length <= limit) return bytes;
    return truncate ? bytes.subarray(0, limit) : undefined;
  }
  if (res.body === null) return new Uint8Array(0);
  if (declared !== null && !truncate) {
    await res.body.cancel();
    return undefined;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
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
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
