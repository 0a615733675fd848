// Starts and drives the real Go groupcache node of tests/go/node (build it with
// `buildGo("tests/go/node", "gonode")` from ./go.ts). Runs under Deno, Bun and
// Node: only ./proc.ts and fetch.
import { type Server, startServer } from "./proc.ts";

/** How to start one Go node. */
export interface GoNodeOptions {
  /** Path of the built tests/go/node binary. */
  binary: string;
  /** Port to listen on, on 127.0.0.1; 0 or absent lets the node pick one. */
  port?: number;
  /** This node's base URL as its peers know it (default http://127.0.0.1:PORT). */
  self?: string;
  /** Peer base URLs, passed to Go's pool.Set in this order. */
  peers?: string[];
  /** Group name (default "test"). */
  group?: string;
  /** The group's cacheBytes (default 64 MiB). */
  cacheBytes?: number;
  /** How long to wait for "listening" before giving up (default 10 s). */
  startTimeoutMs?: number;
}

/** Counters of one Go cache (groupcache.CacheStats). */
export interface GoCacheStats {
  Bytes: number;
  Items: number;
  Gets: number;
  Hits: number;
  Evictions: number;
}

/** groupcache.Stats of the node's group, plus both caches' CacheStats. */
export interface GoStats {
  Gets: number;
  CacheHits: number;
  PeerLoads: number;
  PeerErrors: number;
  Loads: number;
  LoadsDeduped: number;
  LocalLoads: number;
  LocalLoadErrs: number;
  ServerRequests: number;
  mainCache: GoCacheStats;
  hotCache: GoCacheStats;
}

/** A running Go node. */
export interface GoNode {
  /** Base URL, http://127.0.0.1:PORT (what peers list). */
  readonly url: string;
  readonly port: number;
  /** Runs group.Get(key) in the Go node: 200 with the value, or 500 with the error text. */
  get(key: string): Promise<{ status: number; body: Uint8Array }>;
  /** Getter calls so far, key → count. */
  loads(): Promise<Record<string, number>>;
  stats(): Promise<GoStats>;
  /** Calls Go's pool.Set(peers...) again. */
  setPeers(peers: string[]): Promise<void>;
  /** What the node wrote to stderr so far. */
  stderr(): string;
  /** SIGSTOP: the kernel still accepts its connections, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs` (default 3 s). */
  kill(graceMs?: number): Promise<void>;
}

/** Starts a Go node and resolves once it has printed `listening ADDR`. */
export async function startGoNode(opts: GoNodeOptions): Promise<GoNode> {
  const port = opts.port ?? 0;
  const args = ["-addr", `127.0.0.1:${port}`];
  if (opts.self !== undefined) args.push("-self", opts.self);
  else if (port !== 0) args.push("-self", `http://127.0.0.1:${port}`);
  if (opts.peers !== undefined) args.push("-peers", opts.peers.join(","));
  if (opts.group !== undefined) args.push("-group", opts.group);
  if (opts.cacheBytes !== undefined) {
    args.push("-cache", String(opts.cacheBytes));
  }
  const server = await startServer(opts.binary, args, {
    timeoutMs: opts.startTimeoutMs ?? 10_000,
    name: `Go node ${opts.binary} ${args.join(" ")}`,
  });
  const bound = Number(
    server.address.slice(server.address.lastIndexOf(":") + 1),
  );
  return makeNode(server, bound);
}

function makeNode(server: Server, port: number): GoNode {
  const url = `http://127.0.0.1:${port}`;
  async function call(path: string): Promise<Response> {
    const res = await fetch(url + path);
    return res;
  }
  async function json<T>(path: string): Promise<T> {
    const res = await call(path);
    const text = await res.text();
    if (res.status !== 200) {
      throw new Error(`Go node ${url}${path}: ${res.status} ${text}`);
    }
    return JSON.parse(text) as T;
  }
  return {
    url,
    port,
    async get(key) {
      const res = await call(`/get?key=${encodeURIComponent(key)}`);
      const body = new Uint8Array(await res.arrayBuffer());
      return { status: res.status, body };
    },
    loads: () => json<Record<string, number>>("/loads"),
    stats: () => json<GoStats>("/stats"),
    async setPeers(peers) {
      const path = `/set-peers?peers=${encodeURIComponent(peers.join(","))}`;
      const res = await call(path);
      const text = await res.text();
      if (res.status !== 200) {
        throw new Error(`Go node ${url}${path}: ${res.status} ${text}`);
      }
    },
    stderr: server.stderr,
    pause: server.pause,
    resume: server.resume,
    kill: (graceMs) => server.stop(graceMs),
  };
}

/**
 * What the Go node's getter yields for `key`, mirroring `value` in
 * tests/go/node/main.go, checked in this order:
 * - `err:…` → an Error whose message is Go's `go getter failed for %q`;
 * - `size:N:…` (N a decimal, as strconv.Atoi reads it) → N bytes, byte i =
 *   (i*31 + UTF-8 length of key) & 0xff; a bad N falls through to the last rule;
 * - `empty:…` → zero bytes;
 * - anything else → the UTF-8 bytes of `"go:" + key`.
 */
export function goValue(key: string): Uint8Array | Error {
  if (key.startsWith("err:")) {
    return new Error(`go getter failed for ${goQuote(key)}`);
  }
  if (key.startsWith("size:")) {
    const rest = key.slice(5);
    const colon = rest.indexOf(":");
    const digits = colon < 0 ? "" : rest.slice(0, colon);
    if (/^[+-]?[0-9]+$/.test(digits)) {
      const n = Number(digits);
      if (Number.isSafeInteger(n) && n >= 0) {
        const keyLen = encoder.encode(key).length;
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = (i * 31 + keyLen) & 0xff;
        return out;
      }
    }
  } else if (key.startsWith("empty:")) {
    return new Uint8Array(0);
  }
  return encoder.encode("go:" + key);
}

const encoder = new TextEncoder();

/**
 * Go's strconv.Quote (what %q prints) for well-formed strings: printable
 * runes as they are, the usual backslash escapes, \xNN below 0x80, \uNNNN and
 * \UNNNNNNNN above.
 */
export function goQuote(s: string): string {
  const named: Record<string, string> = {
    "\x07": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
  };
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (named[ch] !== undefined) out += named[ch];
    // A lone surrogate reaches Go as U+FFFD (TextEncoder replaces it).
    else if (cp >= 0xd800 && cp <= 0xdfff) out += "\ufffd";
    else if (ch === " " || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
    else if (cp < 0x80) out += "\\x" + cp.toString(16).padStart(2, "0");
    else if (cp < 0x10000) out += "\\u" + cp.toString(16).padStart(4, "0");
    else out += "\\U" + cp.toString(16).padStart(8, "0");
  }
  return out + '"';
}
