/**
 * The HTTP server side of the peer protocol: answers other nodes'
 * `GET {basePath}{group}/{key}` with a protobuf `GetResponse`, as Go's
 * `HTTPPool.ServeHTTP`, from a plain `(req: Request) => Promise<Response>`.
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
import { encodeGetResponse } from "./protobuf.ts";
import type { Registry } from "./registry.ts";

const OK_INIT: ResponseInit = {
  status: 200,
  headers: { "content-type": "application/x-protobuf" },
};

function okResponse(view: ByteView): Response {
  return new Response(encodeGetResponse(view), OK_INIT);
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

/** Percent-decodes one path part, reading `+` as a space (what Go clients mean). */
function decodePart(part: string, what: string): string {
  if (part.includes("+")) part = part.replaceAll("+", " ");
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
): (req: Request) => Promise<Response> {
  const serve = (req: Request): Response | Promise<Response> => {
    const url = req.url;
    // The raw path, still percent-encoded: req.url is absolute.
    const scheme = url.indexOf("://");
    const start = scheme < 0 ? 0 : url.indexOf("/", scheme + 3);
    if (start < 0 || !url.startsWith(basePath, start)) {
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
    if (req.method !== "GET" && req.method !== "HEAD") {
      return textResponse(
        405,
        `method ${req.method} not allowed: peers use GET`,
        { allow: "GET, HEAD" },
      );
    }
    let groupName: string;
    let key: string;
    try {
      groupName = decodePart(rest.slice(0, slash), "group name");
      key = decodePart(rest.slice(slash + 1), "key");
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
    const group = registry.get(groupName);
    if (group === undefined) {
      return textResponse(404, `no such group: ${groupName}`);
    }
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
    if (found instanceof ByteView) return okResponse(found);
    return found.then(okResponse, getterError);
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
