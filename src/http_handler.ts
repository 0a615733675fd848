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
import { ProtobufError } from "./errors.ts";
import { readBody, RING_HEADER } from "./http_client.ts";
import type { Logger } from "./logger.ts";
import { decodeSetRequest, hitBody, msFromUnixNanos } from "./protobuf.ts";
import type { Group } from "./group.ts";
import type { Registry } from "./registry.ts";

/** How a handler speaks beyond golang's protocol. */
export interface PeerHandlerOptions {
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
}

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

const OK_INIT: ResponseInit = {
  status: 200,
  headers: { "content-type": "application/x-protobuf" },
};

/** golang's answer, with mailgun's expire only for a value that has one. */
function okResponse(view: ByteView): Response {
  return new Response(hitBody(view, false), OK_INIT);
}

/** mailgun's answer: expire always written, 0 for never. */
function okMailgun(view: ByteView): Response {
  return new Response(hitBody(view, true), OK_INIT);
}

function getterError(err: unknown): Response {
  return textResponse(500, (err as Error)?.message ?? String(err));
}

function internalError(err: unknown): Response {
  return textResponse(500, `internal error: ${(err as Error)?.message ?? err}`);
}

function textResponse(
  status: number,
  text: string,
  extra?: HeadersInit,
): Response {
  const headers = new Headers(extra);
  headers.set("content-type", "text/plain; charset=utf-8");
  return new Response(text + "\n", { status, headers });
}

// RFC 3986: the characters of a host[:port] (reg-name, IP literal, port).
const NOT_HOST = /[^A-Za-z0-9\-._~%!$&'()*+,;=:[\]]/;
// The characters a path may carry raw (RFC 3986 pchar and "/"): every peer
// client percent-encodes the others, so one of them raw means the request
// did not come from a peer, or its server changed it on the way.
const NOT_PATH = /[^A-Za-z0-9\-._~%!$&'()*+,;=:@/]/;

/**
 * Percent-decodes one path part, reading `+` as a space (what golang
 * clients mean) unless `plus` says it is a plus (mailgun clients).
 */
function decodePart(part: string, what: string, plus = false): string {
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
 * The handler that serves `registry`'s groups under `basePath`. It never
 * throws: bad paths get `400`/`404`, getter errors `500`; a cached value is
 * answered with an already-settled promise (no await hops).
 */
export function peerHandler(
  basePath: string,
  registry: Registry,
  options: PeerHandlerOptions = {},
): (req: Request) => Promise<Response> {
  const mailgun = options.mailgun === true;
  const ok = mailgun ? okMailgun : okResponse;
  const maxSetBytes = options.maxSetBytes ?? 64 << 20;
  const logger = options.logger;
  const ring = options.ring;
  let reportedStripped = false;
  const reportedGroups = new Set<string>();
  const reportedRings = new Set<string>();
  // A request for {group}/{key} of a group of ours, but without the base
  // path: something in front of the handler stripped it.
  const reportStripped = (url: string, start: number) => {
    if (reportedStripped || logger === undefined || start < 0) return;
    const path = url.slice(start + 1).split(/[?/]/, 2);
    let group: string;
    try {
      group = decodePart(path[0], "group name", mailgun);
    } catch {
      return;
    }
    if (path.length < 2 || registry.get(group) === undefined) return;
    reportedStripped = true;
    logger.warn(
      `groupcache: a request for ${
        url.slice(start).split("?")[0]
      } arrived without the base path ${basePath}: the server or framework ` +
        "in front of pool.handler stripped it (Hono's app.mount does), so " +
        "every peer request is refused and loaded locally. Hand the handler " +
        `the request unchanged: app.all("${basePath}*", (c) => ` +
        "pool.handler(c.req.raw))",
    );
  };
  const checkRing = (theirs: string) => {
    const ours = ring!();
    if (theirs === ours || !firstTime(reportedRings, `${theirs} ${ours}`)) {
      return;
    }
    logger!.warn(
      `groupcache: peer rings disagree: a peer placed a key with ring ${
        describeRing(theirs)
      }, this node's ring is ${describeRing(ours)}; nodes then ask owners ` +
        "that do not think they own the key, and keys load on several " +
        "nodes. Give every node the same peer list (same URLs, replicas " +
        "and ring), or let discovery (dnsPeers, etcdPeers) set it",
    );
  };
  const serve = (req: Request): Response | Promise<Response> => {
    const url = req.url;
    // The raw path, still percent-encoded: req.url is absolute.
    const scheme = url.indexOf("://");
    const start = scheme < 0 ? 0 : url.indexOf("/", scheme + 3);
    if (start < 0 || !url.startsWith(basePath, start)) {
      reportStripped(url, start);
      return textResponse(
        404,
        `not found: this handler serves ${basePath}{group}/{key}`,
      );
    }
    // Deno puts the Host header into req.url: one with a path in it would
    // route this request to a key its request line never named.
    const host = req.headers.get("host");
    if (host !== null && NOT_HOST.test(host)) {
      return textResponse(
        400,
        "bad request: the Host header is not a plain host[:port]",
      );
    }
    let end = url.indexOf("?", start);
    if (end < 0) end = url.length;
    const rest = url.slice(start + basePath.length, end);
    if (NOT_PATH.test(rest)) {
      return textResponse(
        400,
        "bad request: the path has raw characters a peer would have " +
          "percent-encoded",
      );
    }
    const slash = rest.indexOf("/");
    if (slash < 0) {
      return textResponse(400, `bad request: want ${basePath}{group}/{key}`);
    }
    const write = req.method === "PUT" || req.method === "DELETE";
    if (!write && req.method !== "GET" && req.method !== "HEAD") {
      return textResponse(
        405,
        `method ${req.method} not allowed: peers use GET (PUT and DELETE ` +
          "for mailgun's set and remove)",
        { allow: "GET, HEAD, PUT, DELETE" },
      );
    }
    let groupName: string;
    let key: string;
    try {
      groupName = decodePart(rest.slice(0, slash), "group name", mailgun);
      key = decodePart(rest.slice(slash + 1), "key", mailgun);
    } catch (err) {
      return textResponse(400, `bad request: ${(err as Error).message}`);
    }
    if (key === "") {
      // Also what Bun makes of a key "." (it resolves dot segments first).
      return textResponse(
        400,
        'bad request: empty key (keys "" "." ".." cannot be served)',
      );
    }
    if (ring !== undefined && logger !== undefined) {
      const theirs = req.headers.get(RING_HEADER);
      if (theirs !== null) checkRing(theirs);
    }
    const group = registry.get(groupName);
    if (group === undefined) {
      if (logger !== undefined && firstTime(reportedGroups, groupName)) {
        logger.warn(
          `groupcache: a peer asked for group ${
            JSON.stringify(groupName)
          }, which this node does not have: it answered 404 and the peer ` +
            "loads the key itself. Make the group on every node",
        );
      }
      return textResponse(404, `no such group: ${groupName}`);
    }
    if (write) return serveWrite(req, group, key, maxSetBytes);
    let found: ByteView | Promise<ByteView>;
    try {
      // The peer's signal, read on a miss only: Deno makes it on first read.
      const from = {
        get signal() {
          return req.signal;
        },
      };
      found = group.lookupOrLoad(key, from, false);
    } catch (err) {
      return getterError(err);
    }
    if (found instanceof ByteView) return ok(found);
    return found.then(ok, getterError);
  };
  return (req) => {
    try {
      const res = serve(req);
      return res instanceof Response
        ? Promise.resolve(res)
        : res.catch(internalError);
    } catch (err) {
      return Promise.resolve(internalError(err));
    }
  };
}

/**
 * mailgun's writes: `DELETE {group}/{key}` drops the key from this node's
 * caches; `PUT {group}/{key}` with a `SetRequest` body stores the body's
 * value as the body's key (the URL's group is used, the URL's key and the
 * body's group are not, as mailgun does). Both answer `200` with no body.
 */
async function serveWrite(
  req: Request,
  group: Group,
  key: string,
  maxSetBytes: number,
): Promise<Response> {
  if (req.method === "DELETE") {
    group.removeForPeer(key);
    return new Response(null, { status: 200 });
  }
  const body = await readBody(req, maxSetBytes, false);
  if (body === undefined) {
    return textResponse(
      413,
      `set body larger than this node accepts (${maxSetBytes} bytes)`,
    );
  }
  let set;
  try {
    set = decodeSetRequest(body);
  } catch (err) {
    if (!(err instanceof ProtobufError)) throw err;
    return textResponse(
      400,
      `bad request: malformed SetRequest: ${err.message}`,
    );
  }
  const expire = set.expire === undefined || set.expire === 0n
    ? 0
    : msFromUnixNanos(set.expire);
  group.setForPeer(
    set.key,
    new ByteView(set.value ?? new Uint8Array(0), expire),
  );
  return new Response(null, { status: 200 });
}
