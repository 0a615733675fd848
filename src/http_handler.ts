/**
 * The HTTP server side of the peer protocol: answers other nodes'
 * `GET {basePath}{group}/{key}` with a protobuf `GetResponse`, as Go's
 * `HTTPPool.ServeHTTP`, from a plain `(req: Request) => Promise<Response>`;
 * and mailgun's writes: `PUT` with a `SetRequest` body, `DELETE`.
 *
 * What reaches it depends on the server. `Deno.serve` hands over the raw
 * request path, but builds `req.url` as `http://` + the `Host` header + that
 * path, so a `Host` carrying a path would move the request to a key the
 * request line never named; a node:http adapter that builds its `Request`
 * the same way inherits that. `Bun.serve` (and any adapter that parses the
 * URL) resolves `.`/`..` segments (also `%2e`) and backslashes, and turns
 * invalid UTF-8 into U+FFFD, before the handler sees the request. So the
 * handler refuses what it can tell: a `Host` that is not a plain
 * `host[:port]`, and raw characters no peer sends unescaped.
 *
 * @module
 */

import { ByteView } from "./byte_view.ts";
import { NotFoundError, ProtobufError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { hitBody } from "./framed.ts";
import { decodeSetRequest, msFromUnixNanos } from "./protobuf.ts";
import {
  declaredLength,
  decodePart,
  ERROR_HEADER,
  PEEK_HEADER,
  PROTOBUF,
  RING_HEADER,
  WRITES_HEADER,
} from "./wire.ts";
import type { Group } from "./group.ts";
import { type GroupServer, groupServer, type Registry } from "./registry.ts";
import {
  type PeerSigner,
  SIGNATURE_HEADER,
  type Verdict,
} from "./signature.ts";
import { type BodyRefusal, readGuarded, WriteBodies } from "./write_guard.ts";
import { answerBatch, BatchAnswer } from "./batch_server.ts";
import { BATCH_HEADER, BATCH_TYPE, decodeBatchRequest } from "./batch_wire.ts";
import { MAX_BATCH_KEYS } from "./batch_wire.ts";
import { decodeBatchSet } from "./batch_set.ts";

/** How a router speaks beyond golang's protocol, and what it reports to. */
export interface PeerRouterOptions {
  /**
   * Speak to mailgun nodes: write `expire` (field 3) in every `GetResponse`,
   * as they do, and read `+` in a path as a plus (their client escapes with
   * Go's `url.PathEscape`, which leaves `+` as it is and sends a space as
   * `%20`); golang clients use `url.QueryEscape`, where `+` means a space.
   */
  mailgun?: boolean;
  /** The largest `PUT` body accepted, in bytes. */
  maxSetBytes?: number;
  /** Where to warn about misrouted requests and disagreeing rings. */
  logger?: Logger;
  /**
   * This node's ring fingerprint, `{crc32 hex}/{peer count}`, compared with
   * the one a client of ours sends in `x-groupcache-ring`.
   */
  ring?: () => string;
  /** Whether the node is shutting down: every request is then answered 503. */
  closed?: () => boolean;
  /**
   * Whether peers may `PUT` and `DELETE`: `"off"` answers them 403,
   * `"signed"` needs a `signer`. Default `"open"`.
   */
  writes?: "off" | "signed" | "open";
  /** When set, every request must be signed with one of its secrets (else 401). */
  signer?: PeerSigner;
  /**
   * The bounds of write bodies: the bytes held at once, the time one may
   * take. Default 2 × `maxSetBytes`, 10 s.
   */
  writeBodies?: WriteBodies;
}

const WRITES_OFF_TEXT = "writes are off on this node: set the HttpPool " +
  'option writes ("signed", with the same secret on every node; or ' +
  '"open" in a cluster with mailgun nodes) on the nodes that take writes';

const VERDICTS: Record<Exclude<Verdict, "ok">, string> = {
  missing: "the request is not signed",
  malformed: "the signature header is malformed",
  stale: "the signature's timestamp is outside the clock window",
  bad: "the signature does not match",
};

// How many distinct group names and ring fingerprints are remembered as
// already reported, so that a stream of them cannot grow memory.
const MAX_REPORTED = 1024;

/** Adds `what` to `seen`; true the first time (a full set starts over). */
function firstTime(seen: Set<string>, what: string): boolean {
  if (seen.has(what)) return false;
  if (seen.size >= MAX_REPORTED) seen.clear();
  seen.add(what);
  return true;
}

/** `{hex}/{count}` as words for a log line. */
function describeRing(header: string): string {
  const slash = header.lastIndexOf("/");
  if (slash < 0) return JSON.stringify(header);
  const count = header.slice(slash + 1);
  return `${header.slice(0, slash)} (${count} peer${count === "1" ? "" : "s"})`;
}

// RFC 3986: the characters of a host[:port] (reg-name, IP literal, port).
const NOT_HOST = /[^A-Za-z0-9\-._~%!$&'()*+,;=:[\]]/;
// The characters a path may carry raw (RFC 3986 pchar and "/"): every peer
// client percent-encodes the others, so one of them raw means the request
// did not come from a peer, or its server changed it on the way.
const NOT_PATH = /[^A-Za-z0-9\-._~%!$&'()*+,;=:@/]/;

/**
 * An answer that is not a value: an error (`status`, `text`), a write's
 * empty `200`, or a request outside the base path (`outside`: a server that
 * has routes of its own hands it to them).
 */
export class PeerAnswer {
  /** The HTTP status. */
  readonly status: number;
  /** The body, one line of text; `undefined` for none. */
  readonly text: string | undefined;
  /** Headers beside the content type, such as `allow` or `retry-after`. */
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** Whether the request was outside the base path. */
  readonly outside: boolean;

  constructor(
    status: number,
    text: string | undefined,
    headers?: Readonly<Record<string, string>>,
    outside = false,
  ) {
    this.status = status;
    this.text = text;
    this.headers = headers;
    this.outside = outside;
  }
}

/** A `PUT`, `DELETE` or batch `POST` to carry out once its body is read. */
export class PeerWrite {
  readonly method: "PUT" | "DELETE" | "POST";
  readonly group: Group;
  readonly key: string;
  /** The raw path and the signature header, when writes are signed. */
  readonly signed: { path: string; header: string } | undefined;

  constructor(
    method: PeerWrite["method"],
    group: Group,
    key: string,
    signed?: { path: string; header: string },
  ) {
    this.method = method;
    this.group = group;
    this.key = key;
    this.signed = signed;
  }
}

/** What {@linkcode PeerRouter.route} makes of a request. */
export type Routed =
  | ByteView
  | Promise<ByteView>
  | PeerAnswer
  | PeerWrite;

/** How the router reads a request of a server's own kind. */
export interface RequestAccess<R> {
  /** A request header, lower-case name; null or undefined when absent. */
  header(req: R, name: string): string | null | undefined;
  /** The request's abort signal, read on a miss only. */
  signal(req: R): AbortSignal;
  /**
   * What a load is given to read the signal from, when the request itself
   * can serve (a web `Request`: its `signal` getter is already lazy);
   * otherwise a {@linkcode LazySignal} is made for each request.
   */
  options?(req: R): { readonly signal: AbortSignal };
}

const CLOSED = "this node is shutting down";
const CLOSED_HEADERS = { "retry-after": "1" };

/** The request's signal, read only when a getter runs. */
class LazySignal<R> {
  readonly #req: R;
  readonly #access: RequestAccess<R>;
  constructor(req: R, access: RequestAccess<R>) {
    this.#req = req;
    this.#access = access;
  }
  get signal(): AbortSignal {
    return this.#access.signal(this.#req);
  }
}

/** A handoff request's "not cached" (see {@linkcode PEEK_HEADER}). */
class NotCached extends Error {}
const NOT_CACHED = new PeerAnswer(404, "not cached", { [PEEK_HEADER]: "miss" });

/** A handoff request's answer: the cached value, or "not cached". */
function peeked(server: GroupServer, key: string): Routed {
  const found = server.peek(key);
  if (found === undefined) return NOT_CACHED;
  if (!(found instanceof Promise)) return found;
  return found.then((view) => view ?? Promise.reject(new NotCached()));
}

const NOT_FOUND_HEADERS = { [ERROR_HEADER]: "not-found" };
const GETTER_HEADERS = { [ERROR_HEADER]: "getter" };

/**
 * A load that failed: `404` for a `NotFoundError`, else `500`, with its
 * message, and the header that tells our clients which (Go's ignore it).
 */
function getterFailure(err: unknown): PeerAnswer {
  if (err instanceof NotCached) return NOT_CACHED;
  const message = (err as Error)?.message ?? String(err);
  return err instanceof NotFoundError
    ? new PeerAnswer(404, message, NOT_FOUND_HEADERS)
    : new PeerAnswer(500, message, GETTER_HEADERS);
}

/** A bug of ours or the server's: `500`, said so. */
export function internalFailure(err: unknown): PeerAnswer {
  return new PeerAnswer(
    500,
    `internal error: ${(err as Error)?.message ?? err}`,
  );
}

/** A group a router served, with how its last request spelled its name. */
interface ServedGroup {
  readonly prefix: string;
  readonly name: string;
  readonly group: Group;
  readonly server: GroupServer;
}

/**
 * The peer protocol without a server: what a request (method, raw URL,
 * headers) asks for, every check included. Both `pool.handler` (web
 * `Request`/`Response`) and `nodeListener` (`node:http`) are built on one,
 * so they cannot answer differently.
 */
export class PeerRouter {
  readonly basePath: string;
  /** Whether answers carry mailgun's `expire` always (see {@linkcode hitBody}). */
  readonly mailgun: boolean;
  /** The largest `PUT` body accepted, in bytes. */
  readonly maxSetBytes: number;
  /** The bounds of the `PUT` bodies being read. */
  readonly writeBodies: WriteBodies;
  readonly #registry: Registry;
  readonly #logger: Logger | undefined;
  readonly #ring: (() => string) | undefined;
  readonly #closed: () => boolean;
  readonly #writes: "off" | "signed" | "open";
  readonly #signer: PeerSigner | undefined;
  #unauthorized = 0;
  #writesRefused = 0;
  readonly #notFound: PeerAnswer;
  readonly #closedOutside = new PeerAnswer(
    503,
    CLOSED,
    CLOSED_HEADERS,
    true,
  );
  readonly #closedInside = new PeerAnswer(503, CLOSED, CLOSED_HEADERS);
  #reportedStripped = false;
  // The last Host header accepted: the next request from the same peer
  // carries the same one, and need not be checked again.
  #hostSeen: string | undefined;
  // The last group a get was served from: the group part of its path with
  // the "/", as that request spelled it, the name it decodes to, and its
  // server (a group's server never changes, registry.ts).
  #served: ServedGroup | undefined;
  readonly #reportedGroups = new Set<string>();
  readonly #reportedRings = new Set<string>();

  constructor(
    basePath: string,
    registry: Registry,
    options: PeerRouterOptions = {},
  ) {
    this.basePath = basePath;
    this.mailgun = options.mailgun === true;
    this.maxSetBytes = options.maxSetBytes ?? 64 << 20;
    this.writeBodies = options.writeBodies ??
      new WriteBodies(2 * this.maxSetBytes, 10_000);
    this.#registry = registry;
    this.#logger = options.logger;
    this.#ring = options.ring;
    this.#closed = options.closed ?? (() => false);
    this.#writes = options.writes ?? "open";
    this.#signer = options.signer;
    this.#notFound = new PeerAnswer(
      404,
      `not found: this handler serves ${basePath}{group}/{key}`,
      undefined,
      true,
    );
  }

  /** How many requests were refused as unsigned or badly signed (401). */
  get unauthorized(): number {
    return this.#unauthorized;
  }

  /** How many writes were refused because writes are off (403). */
  get writesRefused(): number {
    return this.#writesRefused;
  }

  /**
   * What `method` on `url` (absolute, or the raw request target: its path
   * still percent-encoded) asks for. Never throws. A cached value comes back
   * as the view itself, a load as a promise (rejected by the getter's
   * failure); {@linkcode dispatch} answers each.
   */
  route<R>(
    req: R,
    method: string,
    url: string,
    access: RequestAccess<R>,
  ): Routed {
    try {
      return this.#route(req, method, url, access);
    } catch (err) {
      return internalFailure(err);
    }
  }

  #route<R>(
    req: R,
    method: string,
    url: string,
    access: RequestAccess<R>,
  ): Routed {
    const basePath = this.basePath;
    // The raw path, still percent-encoded, when url is absolute.
    const scheme = url.charCodeAt(0) === 47 ? -1 : url.indexOf("://");
    const start = scheme < 0 ? 0 : url.indexOf("/", scheme + 3);
    if (start < 0 || !url.startsWith(basePath, start)) {
      if (this.#closed()) return this.#closedOutside;
      this.#reportStripped(url, start);
      return this.#notFound;
    }
    if (this.#closed()) return this.#closedInside;
    // Deno puts the Host header into req.url: one with a path in it would
    // route this request to a key its request line never named.
    const host = access.header(req, "host");
    if (typeof host === "string" && host !== this.#hostSeen) {
      if (NOT_HOST.test(host)) {
        return new PeerAnswer(
          400,
          "bad request: the Host header is not a plain host[:port]",
        );
      }
      this.#hostSeen = host;
    }
    let end = url.indexOf("?", start);
    if (end < 0) end = url.length;
    const rest = url.slice(start + basePath.length, end);
    if (NOT_PATH.test(rest)) {
      return new PeerAnswer(
        400,
        "bad request: the path has raw characters a peer would have " +
          "percent-encoded",
      );
    }
    const slash = rest.indexOf("/");
    if (slash < 0) {
      return new PeerAnswer(400, `bad request: want ${basePath}{group}/{key}`);
    }
    const write = method === "PUT" || method === "DELETE" ||
      method === "POST";
    if (!write && method !== "GET" && method !== "HEAD") {
      return new PeerAnswer(
        405,
        `method ${method} not allowed: peers use GET (PUT and DELETE ` +
          "for mailgun's set and remove, POST for batches)",
        { allow: "GET, HEAD, PUT, DELETE, POST" },
      );
    }
    if ((method === "PUT" || method === "DELETE") && this.#writes === "off") {
      this.#writesRefused++;
      return new PeerAnswer(403, WRITES_OFF_TEXT, { [WRITES_HEADER]: "off" });
    }
    const signer = this.#signer;
    if (signer === undefined) {
      return this.#serve(req, method, rest, slash, write, access, undefined);
    }
    const path = url.slice(start);
    const header = access.header(req, SIGNATURE_HEADER);
    if (write) {
      // The MAC covers the body: checked once it is read (see write()).
      const early = signer.precheck(header);
      if (early !== "ok") return this.#refuse(early);
      return this.#serve(req, method, rest, slash, write, access, {
        path,
        header: header!,
      });
    }
    const verdict = signer.verify(method, path, header, undefined);
    if (verdict !== "ok") return this.#refuse(verdict);
    return this.#serve(req, method, rest, slash, false, access, undefined);
  }

  /** A request refused for its signature: 401, counted. */
  #refuse(verdict: Verdict): PeerAnswer {
    this.#unauthorized++;
    return new PeerAnswer(
      401,
      `unauthorized: ${
        VERDICTS[verdict as Exclude<Verdict, "ok">]
      }; every node needs the same secret option`,
    );
  }

  /** The request, its method and signature accepted: decoded and served. */
  #serve<R>(
    req: R,
    method: "PUT" | "DELETE" | string,
    rest: string,
    slash: number,
    write: boolean,
    access: RequestAccess<R>,
    signed: { path: string; header: string } | undefined,
  ): Routed {
    let groupName: string;
    let key: string;
    try {
      // The group's part as the last request served spelled it: its name
      // decoded then, a string whose hash the registry's map has seen.
      const served = this.#served;
      groupName = served !== undefined && rest.startsWith(served.prefix)
        ? served.name
        : decodePart(rest.slice(0, slash), "group name", this.mailgun);
      key = decodePart(rest.slice(slash + 1), "key", this.mailgun);
    } catch (err) {
      return new PeerAnswer(400, `bad request: ${(err as Error).message}`);
    }
    // A batch set (batch_set.ts): PUT on the group path, with the header.
    const batchSet = key === "" && method === "PUT" &&
      access.header(req, BATCH_HEADER) === "1";
    if ((key === "") !== (method === "POST") && !batchSet) {
      if (key !== "") {
        return new PeerAnswer(405, `a batch is POST ${this.basePath}{group}/`, {
          allow: "GET, HEAD, PUT, DELETE",
        });
      }
      // Also what Bun makes of a key "." (it resolves dot segments first).
      return new PeerAnswer(
        400,
        'bad request: empty key (keys "" "." ".." cannot be served)',
      );
    }
    if (this.#ring !== undefined && this.#logger !== undefined) {
      const theirs = access.header(req, RING_HEADER);
      if (typeof theirs === "string") this.#checkRing(theirs);
    }
    const group = this.#registry.get(groupName);
    if (group === undefined) {
      if (
        this.#logger !== undefined &&
        firstTime(this.#reportedGroups, groupName)
      ) {
        this.#logger.warn(
          `groupcache: a peer asked for group ${
            JSON.stringify(groupName)
          }, which this node does not have: it answered 404 and the peer ` +
            "loads the key itself. Make the group on every node",
        );
      }
      return new PeerAnswer(404, `no such group: ${groupName}`);
    }
    if (write) {
      return new PeerWrite(method as PeerWrite["method"], group, key, signed);
    }
    try {
      let served = this.#served;
      if (served?.group !== group) {
        const prefix = rest.slice(0, slash + 1);
        served = { prefix, name: groupName, group, server: groupServer(group) };
        this.#served = served;
      }
      const { server } = served;
      if (access.header(req, PEEK_HEADER) === "1") return peeked(server, key);
      return server.get(
        key,
        access.options?.(req) ?? new LazySignal(req, access),
      );
    } catch (err) {
      return getterFailure(err);
    }
  }

  /**
   * Carries out a write: `DELETE` drops the key from this node's caches;
   * `PUT` stores the `SetRequest` in `body` (`undefined`: the body was over
   * {@linkcode PeerRouter.maxSetBytes}) as the body's key (the URL's group
   * is used, the URL's key and the body's group are not, as mailgun does).
   * Both answer `200` with no body. A signed write is carried out once its
   * signature, body included, is checked.
   */
  write(
    write: PeerWrite,
    body: Uint8Array | BodyRefusal | undefined,
    request?: { readonly signal: AbortSignal },
  ): PeerAnswer | Promise<BatchAnswer> {
    if (typeof body === "string") return this.#refused(body);
    const signed = write.signed;
    if (signed === undefined || this.#signer === undefined) {
      return this.#apply(write, body, request);
    }
    if (write.method !== "DELETE" && body === undefined) {
      return this.#apply(write, body, request); // 413
    }
    const verdict = this.#signer.verify(
      write.method,
      signed.path,
      signed.header,
      body,
    );
    return verdict === "ok"
      ? this.#apply(write, body, request)
      : this.#refuse(verdict);
  }

  /** A body not read whole: too large, over the in-flight cap, too slow. */
  #refused(why: BodyRefusal): PeerAnswer {
    switch (why) {
      case "too-large":
        return this.#tooLarge();
      case "busy":
        return new PeerAnswer(
          503,
          "too many write bodies in flight on this node " +
            `(${this.writeBodies.capBytes} bytes): try again`,
          { "retry-after": "1" },
        );
      case "timeout":
        return new PeerAnswer(
          408,
          `the body did not arrive within ${this.writeBodies.deadlineMs} ms`,
          { connection: "close" },
        );
    }
  }

  #tooLarge(): PeerAnswer {
    return new PeerAnswer(
      413,
      `body larger than this node accepts (${this.maxSetBytes} bytes)`,
    );
  }

  #apply(
    write: PeerWrite | undefined,
    body: Uint8Array | undefined,
    request?: { readonly signal: AbortSignal },
  ): PeerAnswer | Promise<BatchAnswer> {
    if (write?.method === "POST") {
      return this.#batch(write.group, body, request);
    }
    if (write?.method === "DELETE") {
      groupServer(write.group).remove(write.key);
      return WRITTEN;
    }
    if (write === undefined || body === undefined) return this.#tooLarge();
    if (write.key === "") return this.#batchSet(write.group, body);
    let set;
    try {
      set = decodeSetRequest(body);
    } catch (err) {
      if (!(err instanceof ProtobufError)) throw err;
      return new PeerAnswer(
        400,
        `bad request: malformed SetRequest: ${err.message}`,
      );
    }
    if (set.expire !== undefined && set.expire < 0n) {
      // Before 1970, or a wrapped time: the sender's expiry was lost.
      return new PeerAnswer(
        400,
        `bad request: negative expire (${set.expire} ns) in SetRequest`,
      );
    }
    const expire = set.expire === undefined || set.expire === 0n
      ? 0
      : msFromUnixNanos(set.expire);
    groupServer(write.group).set(
      set.key,
      new ByteView(set.value ?? new Uint8Array(0), expire),
    );
    return WRITTEN;
  }

  /**
   * A batch set (see batch_set.ts): every value stored as if loaded here,
   * or, when any frame is malformed, none (400).
   */
  #batchSet(group: Group, body: Uint8Array): PeerAnswer {
    let values;
    try {
      values = decodeBatchSet(body);
    } catch (err) {
      if (!(err instanceof ProtobufError)) throw err;
      return new PeerAnswer(
        400,
        `bad request: malformed batch set: ${err.message}`,
      );
    }
    const server = groupServer(group);
    for (const [key, value] of values) server.set(key, value);
    return WRITTEN;
  }

  /** A batch (see batch_wire.ts): its keys, each answered as a get. */
  #batch(
    group: Group,
    body: Uint8Array | undefined,
    request: { readonly signal: AbortSignal } | undefined,
  ): PeerAnswer | Promise<BatchAnswer> {
    let keys;
    try {
      keys = body === undefined ? undefined : decodeBatchRequest(body);
    } catch (err) {
      if (!(err instanceof ProtobufError)) throw err;
      return new PeerAnswer(
        400,
        `bad request: malformed batch: ${err.message}`,
      );
    }
    if (keys === undefined || keys.length > MAX_BATCH_KEYS) {
      return new PeerAnswer(
        413,
        `batch larger than this node accepts (${MAX_BATCH_KEYS} keys, ` +
          `${this.maxSetBytes} bytes)`,
      );
    }
    const signal = request ?? { signal: NO_SIGNAL };
    return answerBatch(groupServer(group), keys, signal, this.mailgun);
  }

  /** A request for {group}/{key} of a group of ours, but without the base
   * path: something in front of the handler stripped it. */
  #reportStripped(url: string, start: number): void {
    const logger = this.#logger;
    if (this.#reportedStripped || logger === undefined || start < 0) return;
    const path = url.slice(start + 1).split(/[?/]/, 2);
    let group: string;
    try {
      group = decodePart(path[0], "group name", this.mailgun);
    } catch {
      return;
    }
    if (path.length < 2 || this.#registry.get(group) === undefined) return;
    this.#reportedStripped = true;
    logger.warn(
      `groupcache: a request for ${
        url.slice(start).split("?")[0]
      } arrived without the base path ${this.basePath}: the server or ` +
        "framework in front of pool.handler stripped it (Hono's app.mount " +
        "does), so every peer request is refused and loaded locally. Hand " +
        `the handler the request unchanged: app.all("${this.basePath}*", ` +
        "(c) => pool.handler(c.req.raw))",
    );
  }

  #checkRing(theirs: string): void {
    const ours = this.#ring!();
    if (
      theirs === ours || !firstTime(this.#reportedRings, `${theirs} ${ours}`)
    ) {
      return;
    }
    this.#logger!.warn(
      `groupcache: peer rings disagree: a peer placed a key with ring ${
        describeRing(theirs)
      }, this node's ring is ${describeRing(ours)}; nodes then ask owners ` +
        "that do not think they own the key, and keys load on several " +
        "nodes. Give every node the same peer list (same URLs, replicas " +
        "and ring), or let discovery (dnsPeers, etcdPeers) set it",
    );
  }
}

const WRITTEN = new PeerAnswer(200, undefined);
const NO_SIGNAL = new AbortController().signal;

/**
 * How a server turns what the router made of a request into its own kind
 * of response `T`, given the request's context `C` (the web handler: the
 * `Request`, making `Response`s; `node.ts`: the `ServerResponse`, writing
 * to it).
 */
export interface Responder<C, T> {
  /** A value: `200` with its `GetResponse`. */
  hit(ctx: C, view: ByteView): T;
  /** Anything that is not a value: an error, a write's `200`, a 404 outside. */
  answer(ctx: C, answer: PeerAnswer): T;
  /** A write, once the server has read its body. */
  write(ctx: C, write: PeerWrite): T | Promise<T>;
}

/**
 * Answers what the router made of a request through `responder`: the one
 * dispatch of both servers. A cached value is answered synchronously; a load
 * once it settles (its failure `500`, as any bug of a responder).
 */
export function dispatch<C, T>(
  routed: Routed,
  ctx: C,
  responder: Responder<C, T>,
): T | Promise<T> {
  try {
    if (routed instanceof ByteView) return responder.hit(ctx, routed);
    if (routed instanceof PeerAnswer) return responder.answer(ctx, routed);
    if (routed instanceof PeerWrite) return responder.write(ctx, routed);
  } catch (err) {
    return responder.answer(ctx, internalFailure(err));
  }
  return routed.then(
    (view) => responder.hit(ctx, view),
    (err) => responder.answer(ctx, getterFailure(err)),
  ).catch((err) => responder.answer(ctx, internalFailure(err)));
}

// Headers made once: each Response copies them (a native copy in Bun,
// without the checks a plain object's entries go through in Deno and Bun).
const OK_INIT: ResponseInit = {
  status: 200,
  headers: new Headers({ "content-type": PROTOBUF, [BATCH_HEADER]: "1" }),
};

/** A web `Response` of an answer that is not a value. */
function answerResponse(answer: PeerAnswer): Response {
  if (answer.text === undefined) {
    return new Response(null, { status: answer.status, headers: BATCH_ONLY });
  }
  const headers = new Headers(answer.headers);
  headers.set("content-type", "text/plain; charset=utf-8");
  headers.set(BATCH_HEADER, "1");
  return new Response(answer.text + "\n", { status: answer.status, headers });
}

// Every answer says this node takes batches (batch_wire.ts).
const BATCH_ONLY = { [BATCH_HEADER]: "1" };

const WEB_ACCESS: RequestAccess<Request> = {
  header: (req, name) => req.headers.get(name),
  // Deno makes a request's signal on first read.
  signal: (req) => req.signal,
  options: (req) => req,
};

/** Answers kept by a {@linkcode KeptAnswers} at once. */
export const KEPT_ANSWERS = 64;
/** The largest body a {@linkcode KeptAnswers} keeps an answer of. */
export const KEPT_BODY_BYTES = 32 << 10;

let clonesShare = false;
let probed: Promise<boolean> | undefined;

/**
 * Whether a `Response`'s clone hands out the very bytes of the original,
 * found out once (reading a body takes a turn; until then, no clones).
 * Where it does (Deno), a clone is served without a copy; where a clone
 * copies them (Bun), its server sends a clone's shared body slower than a
 * new answer's own (~8 % of a hit's CPU under wrk), so answers are made
 * anew there.
 */
export function probeClones(): Promise<boolean> {
  if (probed === undefined) {
    const probe = new Response(new Uint8Array(1));
    probed = Promise.all([probe.clone().arrayBuffer(), probe.arrayBuffer()])
      .then(([a, b]) => {
        clonesShare = a === b;
        return clonesShare;
      }, () => false);
  }
  return probed;
}

/**
 * The `Response`s of values served lately, one per view, each answered
 * again as a clone where clones share their body: Deno's `Response`
 * constructor copies the body, checks every header and makes a native
 * response (~3 µs of a hit's ~25 µs under wrk), where a clone shares the
 * body and the checked headers (~0.3 µs). Keyed weakly by the view (a view
 * the cache dropped is not kept alive, and a new value is a new view), at
 * most {@linkcode KEPT_ANSWERS} (a full table starts over) of bodies up to
 * {@linkcode KEPT_BODY_BYTES}.
 *
 * A clone's body is the kept one's bytes (`bytes()` hands out that very
 * array), so clones go only to the runtime's server, which sends them and
 * lets go (see {@linkcode webHandler}).
 */
export class KeptAnswers {
  readonly #mailgun: boolean;
  #kept = new WeakMap<ByteView, Response>();
  #count = 0;

  constructor(mailgun: boolean) {
    this.#mailgun = mailgun;
    void probeClones();
  }

  /** `200` with the view's `GetResponse`, made anew. */
  fresh(view: ByteView): Response {
    return new Response(hitBody(view, this.#mailgun), OK_INIT);
  }

  /**
   * The same answer as {@linkcode fresh}: a clone of a kept one where
   * clones share their body, else made anew.
   */
  shared(view: ByteView): Response {
    if (!clonesShare) return this.fresh(view);
    const kept = this.#kept.get(view);
    if (kept !== undefined) return kept.clone();
    const body = hitBody(view, this.#mailgun);
    const res = new Response(body, OK_INIT);
    if (body.byteLength > KEPT_BODY_BYTES) return res;
    if (++this.#count > KEPT_ANSWERS) {
      this.#kept = new WeakMap();
      this.#count = 1;
    }
    this.#kept.set(view, res);
    return res.clone();
  }
}

/**
 * The web handler of `router`: `(req: Request) => Promise<Response>`, for
 * `Deno.serve`, `Bun.serve` and any server of web `Request`/`Response`. It
 * never throws: bad paths get `400`/`404`, getter errors `500`; a cached
 * value is answered with an already-settled promise (no await hops).
 *
 * Both servers pass a second argument (Deno's `info`, Bun's server): a hit
 * so called may answer with a clone of the value's kept answer (see
 * {@linkcode KeptAnswers}). Called with the request alone, as code of the
 * user's does, every answer is made anew, its body the caller's own.
 */
export function webHandler(
  router: PeerRouter,
): (req: Request) => Promise<Response> {
  const answers = new KeptAnswers(router.mailgun);
  const responder: Responder<Request, Response> = {
    hit: (_, view) => answers.fresh(view),
    answer: (_, answer) => answerResponse(answer),
    write: (req, write) => writeWeb(router, req, write),
  };
  return (req: Request, server?: unknown) => {
    try {
      const routed = router.route(req, req.method, req.url, WEB_ACCESS);
      // A cached value, the common answer, without dispatch's turns.
      if (routed instanceof ByteView) {
        return Promise.resolve(
          server === undefined ? answers.fresh(routed) : answers.shared(routed),
        );
      }
      const res = dispatch(routed, req, responder);
      return res instanceof Response ? Promise.resolve(res) : res;
    } catch (err) {
      return Promise.resolve(answerResponse(internalFailure(err)));
    }
  };
}

const BATCH_INIT: ResponseInit = {
  status: 200,
  headers: { "content-type": BATCH_TYPE, [BATCH_HEADER]: "1" },
};

/** A write's body read from a web request, then carried out. */
/** A web `Response` of a write's or a batch's answer. */
function respond(answer: PeerAnswer | BatchAnswer): Response {
  return answer instanceof BatchAnswer
    ? new Response(answer.body, BATCH_INIT)
    : answerResponse(answer);
}

async function writeWeb(
  router: PeerRouter,
  req: Request,
  write: PeerWrite,
): Promise<Response> {
  try {
    if (write.method === "DELETE") {
      return respond(await router.write(write, undefined));
    }
    const guarded = await readGuarded(
      req.body,
      declaredLength(req.headers),
      router.maxSetBytes,
      router.writeBodies,
    );
    try {
      return respond(await router.write(write, guarded.body, req));
    } finally {
      guarded.release();
    }
  } catch (err) {
    return answerResponse(internalFailure(err));
  }
}
