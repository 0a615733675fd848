/**
 * # @x/groupcache/node
 *
 * The peer protocol on `node:http` itself, without web `Request`/`Response`
 * objects: on Node, building those for every request (the adapter's work)
 * costs more than groupcache's own.
 *
 * - {@linkcode nodeListener}: serve peers from `http.createServer`;
 *   {@linkcode nodePeers} is the same as a middleware that hands every
 *   other path to the app's own routes.
 * - {@linkcode nodeTransport}: ask peers through `node:http`/`node:https`
 *   with keep-alive sockets (`new HttpPool(self, { transport:
 *   nodeTransport() })`).
 *
 * Both answer and ask exactly as `pool.handler` and the default `fetch`
 * client: the same checks, limits and errors. They also run on Bun and
 * Deno (their `node:http`).
 *
 * ```ts ignore
 * import { createServer } from "node:http";
 * import { HttpPool } from "@x/groupcache";
 * import { nodeListener, nodeTransport } from "@x/groupcache/node";
 *
 * const pool = new HttpPool("http://10.0.0.1:8000", { transport: nodeTransport() });
 * createServer(nodeListener(pool)).listen(8000);
 * ```
 *
 * @module
 */

import type {
  IncomingHttpHeaders,
  IncomingMessage,
  ServerResponse,
} from "node:http";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import {
  MalformedReplyError,
  type PeerReply,
  type PeerRequest,
  type PeerTransport,
} from "./src/http_client.ts";
import {
  dispatch,
  internalFailure,
  type PeerAnswer,
  type PeerRouter,
  type PeerWrite,
  type RequestAccess,
  type Responder,
} from "./src/http_handler.ts";
import { type HttpPool, poolInternals } from "./src/http_pool.ts";
import { hitBody } from "./src/framed.ts";
import { BatchAnswer } from "./src/batch_server.ts";
import { BATCH_HEADER, BATCH_TYPE } from "./src/batch_wire.ts";
import { concat, declaredLength, PROTOBUF } from "./src/wire.ts";
import { readGuarded } from "./src/write_guard.ts";

export type {
  PeerReply,
  PeerRequest,
  PeerTransport,
} from "./src/http_client.ts";
export type { HttpPool } from "./src/http_pool.ts";

const TEXT = "text/plain; charset=utf-8";
const encoder = new TextEncoder();

/** The body length a `node:http` message's headers promise (see wire.ts). */
function lengthOf(msg: IncomingMessage): number | undefined {
  return declaredLength({ get: (name) => headerOf(msg.headers, name) });
}

/** One header of a `node:http` message as a string. */
function headerOf(
  headers: IncomingHttpHeaders,
  name: string,
): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return typeof value === "string" ? value : value.join(", ");
}

/**
 * A request header from the raw list (Node builds `req.headers` on first
 * read; the router needs one or two names), repeats joined with ", ".
 */
function rawHeader(raw: string[], name: string): string | null {
  let value: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i];
    if (key.length === name.length && key.toLowerCase() === name) {
      value = value === null ? raw[i + 1] : `${value}, ${raw[i + 1]}`;
    }
  }
  return value;
}

// The router reads a request through its response (res.req is the request):
// a peer that hangs up is seen as the response closing unfinished.
const ACCESS: RequestAccess<ServerResponse> = {
  header: (res, name) => rawHeader(res.req.rawHeaders, name),
  signal: (res) => {
    const controller = new AbortController();
    if (res.closed) controller.abort(gone());
    else {
      res.once("close", () => {
        if (!res.writableFinished) controller.abort(gone());
      });
    }
    return controller.signal;
  },
};

function gone(): DOMException {
  return new DOMException("the peer closed the connection", "AbortError");
}

/** A `200` with `body` of `type` (a hit's value, a batch's entries). */
function writeOk(res: ServerResponse, type: string, body: Uint8Array): void {
  res.writeHead(200, {
    "content-type": type,
    "content-length": String(body.length),
    [BATCH_HEADER]: "1",
  });
  res.end(body);
}

function writeAnswer(res: ServerResponse, answer: PeerAnswer): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (answer.text === undefined) {
    res.writeHead(answer.status, {
      "content-length": "0",
      [BATCH_HEADER]: "1",
    });
    res.end();
    return;
  }
  const body = encoder.encode(answer.text + "\n");
  res.writeHead(answer.status, {
    ...answer.headers,
    [BATCH_HEADER]: "1",
    "content-type": TEXT,
    "content-length": String(body.length),
  });
  res.end(body);
}

/**
 * Answers the requests under the router's base path; for any other it
 * writes nothing and returns the router's answer (the 404, or the 503 of a
 * closed pool), for the caller to write or pass on.
 */
function serveWith(
  router: PeerRouter,
): (req: IncomingMessage, res: ServerResponse) => PeerAnswer | undefined {
  const mailgun = router.mailgun;
  // Each writes the response (undefined) or hands an outside request back.
  const responder: Responder<ServerResponse, PeerAnswer | undefined> = {
    hit(res, view) {
      writeOk(res, PROTOBUF, hitBody(view, mailgun));
      return undefined;
    },
    answer(res, answer) {
      if (answer.outside) return answer;
      writeAnswer(res, answer);
      return undefined;
    },
    write(res, routed) {
      void carryOut(router, res.req, res, routed);
      return undefined;
    },
  };
  return (req, res) => {
    const routed = router.route(
      res,
      req.method ?? "GET",
      req.url ?? "",
      ACCESS,
    );
    const outside = dispatch(routed, res, responder);
    return outside instanceof Promise ? undefined : outside;
  };
}

/** A write: its body read within the router's limit, then carried out. */
async function carryOut(
  router: PeerRouter,
  req: IncomingMessage,
  res: ServerResponse,
  write: PeerWrite,
): Promise<void> {
  try {
    if (write.method === "DELETE") {
      writeAnswer(res, await router.write(write, undefined) as PeerAnswer);
      return;
    }
    const guarded = await readGuarded(
      // The same bounded read as pool.handler's.
      Readable.toWeb(req) as ReadableStream<Uint8Array>,
      lengthOf(req),
      router.maxSetBytes,
      router.writeBodies,
    );
    let answer;
    try {
      // The rest of a refused body is never read: no keep-alive after it.
      if (typeof guarded.body === "string") res.shouldKeepAlive = false;
      answer = await router.write(write, guarded.body, {
        get signal() {
          return ACCESS.signal(res);
        },
      });
    } finally {
      guarded.release();
    }
    if (!(answer instanceof BatchAnswer)) return writeAnswer(res, answer);
    writeOk(res, BATCH_TYPE, answer.body);
  } catch (err) {
    writeAnswer(res, internalFailure(err));
  }
}

/** The router behind `pool.handler`, so that both servers answer alike. */
function routerOf(pool: HttpPool): PeerRouter {
  const internals = poolInternals(pool);
  if (internals === undefined) throw new TypeError("not an HttpPool");
  return internals.router;
}

/**
 * A `node:http` request listener that answers peers as `pool.handler` does
 * (same paths, checks, errors and 503 after `pool.close()`), writing the
 * protobuf answer straight to the response. Requests outside the base path
 * get the handler's `404`; to serve your own routes on the same server, use
 * {@linkcode nodePeers}.
 *
 * @example One line to serve peers
 * ```ts
 * import { createServer } from "node:http";
 * import { HttpPool, Registry } from "@x/groupcache";
 * import { nodeListener } from "@x/groupcache/node";
 * import assert from "node:assert/strict";
 *
 * const pool = new HttpPool("http://127.0.0.1:8001", { registry: new Registry() });
 * pool.newGroup("greetings", 1 << 20, (key) => `hello ${key}`);
 * const server = createServer(nodeListener(pool));
 * await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
 * const { port } = server.address() as { port: number };
 * const res = await fetch(`http://127.0.0.1:${port}/_groupcache/greetings/ada`);
 * assert.equal(res.headers.get("content-type"), "application/x-protobuf");
 * assert.equal(res.status, 200);
 * await res.arrayBuffer();
 * await new Promise((ok) => server.close(ok));
 * ```
 */
export function nodeListener(
  pool: HttpPool,
): (req: IncomingMessage, res: ServerResponse) => void {
  const serve = serveWith(routerOf(pool));
  return (req, res) => {
    const outside = serve(req, res);
    if (outside !== undefined) writeAnswer(res, outside);
  };
}

/**
 * {@linkcode nodeListener} as a middleware: answers the requests under the
 * pool's base path and returns `true`; for any other path it returns
 * `false` and calls `next` (when given), leaving the response to the app.
 * Mounts in plain `node:http`, Express (`app.use(nodePeers(pool))`),
 * Fastify, or in front of `@hono/node-server`'s listener.
 *
 * @example Next to the app's own routes
 * ```ts
 * import { createServer } from "node:http";
 * import { HttpPool, Registry } from "@x/groupcache";
 * import { nodePeers } from "@x/groupcache/node";
 * import assert from "node:assert/strict";
 *
 * const pool = new HttpPool("http://127.0.0.1:8001", { registry: new Registry() });
 * pool.newGroup("greetings", 1 << 20, (key) => `hello ${key}`);
 * const peers = nodePeers(pool);
 * const server = createServer((req, res) => {
 *   if (peers(req, res)) return;
 *   res.end("the app's own route\n");
 * });
 * await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
 * const { port } = server.address() as { port: number };
 * const res = await fetch(`http://127.0.0.1:${port}/hello`);
 * assert.equal(await res.text(), "the app's own route\n");
 * await new Promise((ok) => server.close(ok));
 * ```
 */
export function nodePeers(
  pool: HttpPool,
): (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => boolean {
  const serve = serveWith(routerOf(pool));
  return (req, res, next) => {
    if (serve(req, res) === undefined) return true;
    next?.();
    return false;
  };
}

/** Options of {@linkcode nodeTransport}. */
export interface NodeTransportOptions {
  /**
   * The most sockets open to one peer at a time; more requests wait for
   * one. Default 64.
   */
  maxSockets?: number;
  /**
   * How long an idle kept-alive socket stays open, in milliseconds (under
   * the peers' own idle timeout: Node servers close at 5,000). Default
   * 4,000.
   */
  idleMs?: number;
}

/** A {@linkcode PeerTransport} over `node:http`, with its sockets. */
export interface NodeTransport extends PeerTransport {
  /** Closes every socket, idle or busy (requests in flight fail). */
  close(): void;
}

interface Origin {
  https: boolean;
  hostname: string;
  port: string;
}

/** The parts of a peer's base URL that node:http needs. */
function parseOrigin(origin: string): Origin {
  const parsed = new URL(origin);
  return {
    https: parsed.protocol === "https:",
    // Brackets stay off an IPv6 literal for node:http.
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: parsed.port,
  };
}

// A request on a kept-alive socket the peer had just closed fails before any
// answer: sent again once, on a new socket (what Node's docs advise).
const STALE = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/**
 * A peer transport on `node:http` and `node:https` with keep-alive agents
 * (at most `maxSockets` sockets per peer). What the pool's client asks of
 * every transport holds: no redirect is followed, nothing is decompressed,
 * a body is never buffered past the limit the client reads it with, and an
 * abort (the caller's, or the pool's `timeoutMs`) destroys the socket.
 *
 * @example Ask peers natively
 * ```ts
 * import { HttpPool, Registry } from "@x/groupcache";
 * import { nodeTransport } from "@x/groupcache/node";
 *
 * const transport = nodeTransport({ maxSockets: 32 });
 * const pool = new HttpPool("http://127.0.0.1:8001", {
 *   registry: new Registry(),
 *   transport,
 * });
 * await pool.close();
 * transport.close();
 * ```
 */
export function nodeTransport(
  options: NodeTransportOptions = {},
): NodeTransport {
  const { maxSockets = 64, idleMs = 4_000 } = options;
  if (!(Number.isInteger(maxSockets) && maxSockets > 0)) {
    throw new RangeError(
      `maxSockets must be a positive integer, got ${String(maxSockets)}`,
    );
  }
  if (!(typeof idleMs === "number" && idleMs > 0)) {
    throw new RangeError(
      `idleMs must be a positive number of milliseconds, got ${String(idleMs)}`,
    );
  }
  // timeout: an idle socket is destroyed after it; a busy one is bounded by
  // the pool's deadline instead (its timeout event is not listened to).
  const agentOptions = {
    keepAlive: true,
    maxSockets,
    timeout: idleMs,
    scheduling: "lifo" as const,
  };
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent(agentOptions);
  // A peer's base URL is one of few: each parsed once, per transport.
  const origins = new Map<string, Origin>();
  const originOf = (url: string, end: number): Origin => {
    const key = url.slice(0, end);
    let origin = origins.get(key);
    if (origin === undefined) {
      origin = parseOrigin(key);
      if (origins.size < 4096) origins.set(key, origin);
    }
    return origin;
  };
  const send = (
    url: string,
    request: PeerRequest,
    retry: boolean,
  ): Promise<PeerReply> =>
    new Promise((resolve, reject) => {
      const end = url.indexOf("/", url.indexOf("//") + 2);
      const origin = originOf(url, end < 0 ? url.length : end);
      const headers = request.body === undefined ? request.headers : {
        ...request.headers,
        "content-length": String(request.body.length),
      };
      const call = new Call();
      const req = (origin.https ? httpsRequest : httpRequest)({
        method: request.method,
        hostname: origin.hostname,
        port: origin.port,
        path: end < 0 ? "/" : url.slice(end),
        headers,
        agent: origin.https ? https : http,
      }, (res: IncomingMessage) => {
        call.answered = true;
        resolve(new NodeReply(res, call));
      });
      req.on("error", (err: Error & { code?: string }) => {
        if (call.answered) return;
        call.unwatch();
        if (call.aborted) reject(call.reason);
        else if (
          retry && req.reusedSocket && STALE.has(err.code ?? "")
        ) resolve(send(url, request, false));
        else reject(unreadable(err));
      });
      // Watched until the body is read: an abort destroys the socket, and
      // whatever waits on it rejects with the reason.
      call.unwatch = request.onAbort((reason) => {
        call.aborted = true;
        call.reason = reason;
        req.destroy(reason instanceof Error ? reason : undefined);
        if (!call.answered) reject(reason);
      });
      if (call.aborted) return;
      req.end(request.body);
    });
  const transport =
    ((url, request) => send(url, request, true)) as NodeTransport;
  transport.close = () => {
    http.destroy();
    https.destroy();
  };
  return transport;
}

/** One request's state, shared by its reply. */
class Call {
  answered = false;
  aborted = false;
  reason: unknown;
  unwatch: () => void = ignore;
}

/** A `node:http` response as the client reads it. */
class NodeReply implements PeerReply {
  readonly status: number;
  readonly redirected = false;
  readonly #res: IncomingMessage;
  readonly #call: Call;

  constructor(res: IncomingMessage, call: Call) {
    this.status = res.statusCode ?? 0;
    this.#res = res;
    this.#call = call;
    // Errors before the body is read are seen then (res.destroyed).
    res.on("error", ignore);
  }

  header(name: string): string | null {
    return headerOf(this.#res.headers, name);
  }

  async body(
    limit: number,
    truncate: boolean,
  ): Promise<Uint8Array | undefined> {
    try {
      return await readMessage(this.#res, limit, truncate, this.#call);
    } finally {
      this.#call.unwatch();
    }
  }

  cancel(): Promise<void> {
    this.#call.unwatch();
    const res = this.#res;
    // Unread, the socket cannot be reused: destroyed. But a body that has
    // all arrived (a short answer, such as handoff's "not cached") is
    // dropped from memory and the socket kept for the next request:
    // destroying it cost every handoff miss a new connection.
    if (!res.complete) res.destroy();
    else if (!res.readableEnded) {
      return new Promise((done) => {
        res.once("end", done).once("close", done);
        res.resume();
      });
    }
    return Promise.resolve();
  }
}

function ignore(): void {}

/** llhttp's refusals (codes HPE_*) are answers that cannot be read. */
function unreadable(err: Error & { code?: string }): Error {
  return typeof err.code === "string" && err.code.startsWith("HPE_")
    ? new MalformedReplyError(err.message, { cause: err })
    : err;
}

/**
 * At most `limit` bytes of a response's body: over the limit `undefined`,
 * or the first `limit` bytes when `truncate` is set; the rest is never
 * buffered (the response is then destroyed). A Content-Length beside a
 * Transfer-Encoding bounds nothing.
 */
function readMessage(
  msg: IncomingMessage,
  limit: number,
  truncate: boolean,
  call: Call,
): Promise<Uint8Array | undefined> {
  const drop = () => void msg.destroy();
  return new Promise((resolve, reject) => {
    if (call.aborted) {
      msg.destroy();
      reject(call.reason);
      return;
    }
    const declared = lengthOf(msg);
    if (declared !== undefined && declared > limit && !truncate) {
      drop();
      resolve(undefined);
      return;
    }
    if (msg.readableEnded) {
      resolve(new Uint8Array(0));
      return;
    }
    if (msg.destroyed) {
      reject(
        call.aborted
          ? call.reason
          : new Error("the connection closed mid-body"),
      );
      return;
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const done = (value: Uint8Array | undefined, destroy: boolean) => {
      msg.off("data", onData);
      msg.off("end", onEnd);
      msg.off("error", onError);
      msg.off("close", onClose);
      if (destroy) drop();
      resolve(value);
    };
    const fail = (err: unknown) => {
      msg.off("data", onData);
      msg.off("end", onEnd);
      msg.off("error", onError);
      msg.off("close", onClose);
      msg.destroy();
      reject(call.aborted ? call.reason : err);
    };
    const onData = (data: Uint8Array) => {
      // A plain Uint8Array (not a Buffer); a view of a much larger buffer
      // would keep it alive: only the bytes are kept then.
      const chunk = data.byteLength * 2 < data.buffer.byteLength
        ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      total += chunk.length;
      if (total > limit) {
        if (!truncate) return done(undefined, true);
        chunks.push(chunk.subarray(0, chunk.length - (total - limit)));
        total = limit;
        return done(concat(chunks, total), true);
      }
      chunks.push(chunk);
    };
    const onEnd = () => done(concat(chunks, total), false);
    const onError = (err: Error) => fail(unreadable(err));
    const onClose = () => {
      if (!msg.complete) fail(new Error("the connection closed mid-body"));
    };
    msg.on("data", onData);
    msg.once("end", onEnd);
    msg.once("error", onError);
    msg.once("close", onClose);
  });
}
