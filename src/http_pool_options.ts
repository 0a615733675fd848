/**
 * HttpPool's options: their types, defaults and checks, and the check of a
 * peer's base URL (also used by discovery).
 *
 * @module
 */

import { crc32 } from "./crc32.ts";
import { ConfigError } from "./errors.ts";
import type { PeerTransport } from "./http_client.ts";
import { type Logger, loggerOption } from "./logger.ts";
import { defaultRegistry, type Registry } from "./registry.ts";
import { checkSecrets } from "./signature.ts";
import { DEFAULT_MAX_KEY_BYTES } from "./wire.ts";

/**
 * Which cluster's consistent-hash ring places keys: golang/groupcache's
 * (CRC-32, 32-bit points) or mailgun/groupcache's (MD5 and FNV-1 64, signed
 * 64-bit points). Every node of a cluster must use the same one.
 */
export type RingKind = "golang" | "mailgun";

/**
 * Whether this node's handler accepts `PUT` (set) and `DELETE` (remove)
 * from peers: `"off"` refuses them (403), `"signed"` accepts them signed
 * with the pool's `secret`, `"open"` accepts them from anyone who can reach
 * the port (mailgun nodes cannot sign).
 */
export type WritesMode = "off" | "signed" | "open";

/** Options of an {@linkcode HttpPool}. */
export interface HttpPoolOptions {
  /**
   * The ring and protocol dialect of the cluster: `"golang"` (default) to
   * join golang/groupcache nodes, `"mailgun"` to join mailgun/groupcache
   * nodes (their ring; `expire` written in every answer, and `+` in a
   * request path read as a plus, as they do).
   * Set and remove work in both between nodes of ours.
   */
  ring?: RingKind;
  /** The path under which peers are served; starts and ends with `/`. Default `"/_groupcache/"`. */
  basePath?: string;
  /** Points per peer on the ring. Default 50, as Go. */
  replicas?: number;
  /** The ring's hash of a string. Default {@linkcode crc32}, as Go (golang ring only). */
  hash?: (data: string) => number;
  /** The `fetch` used to ask peers (inject one to wire nodes without sockets). */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /**
   * How to reach peers instead of `fetch`, e.g. `nodeTransport()` of
   * `@x/groupcache/node` (`node:http` with keep-alive). Every limit of the
   * pool applies the same: `timeoutMs`, `maxResponseBytes`, no redirect
   * followed, no compressed body accepted. Not with `fetch`.
   */
  transport?: PeerTransport;
  /**
   * How long one peer fetch may take, in milliseconds; a peer that lets one
   * pass unanswered is marked down (its keys load locally until it answers
   * a probe). Default 10,000.
   */
  timeoutMs?: number;
  /**
   * How long a peer marked down is left alone before the first probe, in
   * milliseconds; each probe that fails doubles it. Default 500.
   */
  probeDelayMs?: number;
  /** The longest wait between two probes of a down peer, in milliseconds. Default 5,000. */
  maxProbeDelayMs?: number;
  /**
   * The largest response body accepted from a peer, and the largest set
   * (`PUT`) body this node accepts, in bytes. Default 64 MiB.
   */
  maxResponseBytes?: number;
  /**
   * The longest key sent to a peer, in bytes of UTF-8: a longer one is an
   * `InvalidKeyError` before any request (and no peer is blamed). Default
   * 4,096, which every runtime's server accepts once percent-encoded.
   */
  maxKeyBytes?: number;
  /**
   * The most bytes of set (`PUT`) bodies this node holds at once while
   * reading them; a write past it is answered `503` with `retry-after: 1`
   * (before its body is read, when its length is declared). A body must
   * also arrive whole within `timeoutMs`, or it is answered `408` and its
   * connection closed. Default 2 × `maxResponseBytes`.
   */
  maxWriteBytes?: number;
  /** The groups this node serves. Default {@linkcode defaultRegistry}. */
  registry?: Registry;
  /**
   * Where the pool warns, once per condition and again when it changes: a
   * peer going down and coming back, requests that arrive without the base
   * path, requests for a group this node does not have, a peer whose ring
   * differs from this node's. Default `console`; {@linkcode silentLogger}
   * says nothing.
   */
  logger?: Logger;
  /**
   * The secret every node of the cluster shares (at least 16 characters),
   * or a list of them: the first signs this node's requests, any verifies
   * a peer's (to rotate, add the new one second on every node, then first,
   * then drop the old). With a secret, every request between nodes carries
   * an HMAC-SHA-256 signature, and the handler answers an unsigned or badly
   * signed one `401`, reads included. Go and mailgun nodes cannot sign: no
   * secret in a cluster with them. Default: none.
   */
  secret?: string | string[];
  /**
   * Whether peers may set and remove keys on this node (`PUT`/`DELETE`):
   * `"off"` (the default without a secret) answers them `403`, `"signed"`
   * (the default with a secret, and only with one) accepts them signed,
   * `"open"` (never with a secret) accepts them from anyone who can reach
   * the peer port, as mailgun nodes do: the setting for a cluster with
   * mailgun nodes, or of ours without a secret that uses set and remove.
   */
  writes?: WritesMode;
  /**
   * How long after a ring change (`set`, discovery) the previous ring is
   * remembered, in milliseconds: meanwhile a key this node now owns and
   * misses is first asked, from cache only, of its previous owner (a node
   * of ours) before the getter runs. A pool's first peer list counts as a
   * change from the same list without this node (a node that joins or
   * restarts). Default 60,000; `0` turns handoff off.
   */
  handoffWindowMs?: number;
  /**
   * How many bytes of this node's most recently used values
   * {@linkcode HttpPool.close} hands to their next owners (with `set`,
   * so only with a `secret` or `writes: "open"`). Default 64 MiB; `0` turns
   * it off.
   */
  leaveBytes?: number;
  /** How long `close()` may spend handing values off, in milliseconds. Default 2,000. */
  leaveTimeoutMs?: number;
}

/** The options of a pool, checked, with their defaults filled in. */
export interface PoolSettings {
  readonly basePath: string;
  readonly replicas: number;
  readonly hash: (data: string) => number;
  readonly fetch: (input: string, init: RequestInit) => Promise<Response>;
  readonly timeoutMs: number;
  readonly probeDelayMs: number;
  readonly maxProbeDelayMs: number;
  readonly maxResponseBytes: number;
  readonly maxKeyBytes: number;
  readonly maxWriteBytes: number;
  readonly registry: Registry;
  readonly ring: RingKind;
  readonly logger: Logger;
  readonly secrets: readonly string[] | undefined;
  readonly writes: WritesMode;
  readonly handoffWindowMs: number;
  readonly leaveBytes: number;
  readonly leaveTimeoutMs: number;
}

/** Checks `options`; throws a {@linkcode ConfigError} that says how to fix a bad one. */
export function checkPoolOptions(options: HttpPoolOptions): PoolSettings {
  const {
    basePath = "/_groupcache/",
    replicas = 50,
    hash = crc32,
    fetch = globalThis.fetch,
    timeoutMs = 10_000,
    probeDelayMs = 500,
    maxProbeDelayMs = 5_000,
    maxResponseBytes = 64 << 20,
    maxKeyBytes = DEFAULT_MAX_KEY_BYTES,
    registry = defaultRegistry,
    ring = "golang",
    handoffWindowMs = 60_000,
    leaveBytes = 64 << 20,
    leaveTimeoutMs = 2_000,
  } = options;
  if (ring !== "golang" && ring !== "mailgun") {
    throw new ConfigError(
      `ring must be "golang" or "mailgun", got ${JSON.stringify(ring)}`,
    );
  }
  if (ring === "mailgun" && options.hash !== undefined) {
    throw new ConfigError(
      'ring "mailgun" places keys with its own hash (FNV-1 64 over MD5): ' +
        "leave the hash option out",
    );
  }
  if (
    typeof basePath !== "string" || !basePath.startsWith("/") ||
    !basePath.endsWith("/")
  ) {
    throw new ConfigError(
      `basePath must start and end with "/" (like "/_groupcache/"), got ${
        JSON.stringify(basePath)
      }`,
    );
  }
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new ConfigError(
      `replicas must be a positive integer, got ${String(replicas)}`,
    );
  }
  if (typeof hash !== "function") {
    throw new ConfigError("hash must be a function (data: string) => number");
  }
  if (options.transport !== undefined) {
    if (typeof options.transport !== "function") {
      throw new ConfigError(
        "transport must be a function (url, request) => Promise<PeerReply>",
      );
    }
    if (options.fetch !== undefined) {
      throw new ConfigError(
        "give fetch or transport, not both: the transport sends every request",
      );
    }
  }
  if (typeof fetch !== "function") {
    throw new ConfigError(
      "fetch must be a function; this runtime has no global fetch, pass one",
    );
  }
  if (!(typeof timeoutMs === "number" && timeoutMs > 0)) {
    throw new ConfigError(
      `timeoutMs must be a positive number of milliseconds, got ${
        String(timeoutMs)
      }`,
    );
  }
  if (!(typeof probeDelayMs === "number" && probeDelayMs > 0)) {
    throw new ConfigError(
      `probeDelayMs must be a positive number of milliseconds, got ${
        String(probeDelayMs)
      }`,
    );
  }
  if (
    !(typeof maxProbeDelayMs === "number" && maxProbeDelayMs >= probeDelayMs)
  ) {
    throw new ConfigError(
      `maxProbeDelayMs must be a number of milliseconds >= probeDelayMs ` +
        `(${probeDelayMs}), got ${String(maxProbeDelayMs)}`,
    );
  }
  if (!(Number.isInteger(maxResponseBytes) && maxResponseBytes > 0)) {
    throw new ConfigError(
      `maxResponseBytes must be a positive integer, got ${
        String(maxResponseBytes)
      }`,
    );
  }
  const maxWriteBytes = options.maxWriteBytes ?? 2 * maxResponseBytes;
  if (!(Number.isInteger(maxWriteBytes) && maxWriteBytes > 0)) {
    throw new ConfigError(
      `maxWriteBytes must be a positive integer, got ${String(maxWriteBytes)}`,
    );
  }
  if (!(Number.isInteger(maxKeyBytes) && maxKeyBytes > 0)) {
    throw new ConfigError(
      `maxKeyBytes must be a positive integer, got ${String(maxKeyBytes)}`,
    );
  }
  if (!(Number.isFinite(handoffWindowMs) && handoffWindowMs >= 0)) {
    throw new ConfigError(
      `handoffWindowMs must be a number of milliseconds >= 0 (0: no ` +
        `handoff), got ${String(handoffWindowMs)}`,
    );
  }
  if (!(Number.isInteger(leaveBytes) && leaveBytes >= 0)) {
    throw new ConfigError(
      `leaveBytes must be a whole number of bytes >= 0 (0: close() hands ` +
        `nothing off), got ${String(leaveBytes)}`,
    );
  }
  if (!(Number.isFinite(leaveTimeoutMs) && leaveTimeoutMs > 0)) {
    throw new ConfigError(
      `leaveTimeoutMs must be a positive number of milliseconds, got ${
        String(leaveTimeoutMs)
      }`,
    );
  }
  if (typeof registry?.registerPeerPicker !== "function") {
    throw new ConfigError("registry must be a Registry");
  }
  const secrets = options.secret === undefined
    ? undefined
    : checkSecrets(options.secret);
  const writes = checkWrites(options.writes, secrets !== undefined);
  return {
    basePath,
    replicas,
    hash,
    fetch,
    timeoutMs,
    probeDelayMs,
    maxProbeDelayMs,
    maxResponseBytes,
    maxKeyBytes,
    maxWriteBytes,
    registry,
    ring,
    logger: loggerOption(options.logger),
    secrets,
    writes,
    handoffWindowMs,
    leaveBytes,
    leaveTimeoutMs,
  };
}

/** Checks the `writes` option against whether a secret is set. */
function checkWrites(writes: unknown, signed: boolean): WritesMode {
  if (writes === undefined) return signed ? "signed" : "off";
  if (writes !== "off" && writes !== "signed" && writes !== "open") {
    throw new ConfigError(
      `writes must be "off", "signed" or "open", got ${JSON.stringify(writes)}`,
    );
  }
  if (writes === "signed" && !signed) {
    throw new ConfigError(
      'writes "signed" needs a secret: give every node the same secret ' +
        'option (or writes "open" to accept unsigned writes)',
    );
  }
  if (writes === "open" && signed) {
    throw new ConfigError(
      'writes "open" accepts unsigned writes, but with a secret every ' +
        'request is signed: leave writes out (it is "signed") or drop the ' +
        "secret",
    );
  }
  return writes;
}

/**
 * Checks a peer's base URL; throws a {@linkcode ConfigError} that says how
 * to write it. With `basePath`, a URL that already has it in its path is
 * refused too: the client appends it, so every request would miss.
 */
export function checkPeerUrl(
  url: unknown,
  what: string,
  basePath?: string,
): string {
  const example = 'write it like "http://10.0.0.2:8000"';
  if (typeof url !== "string") {
    throw new ConfigError(
      `${what} must be a URL string (${example}), got ${typeof url}`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      `${what} ${JSON.stringify(url)} is not a URL: ${example}`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ConfigError(
      `${what} ${JSON.stringify(url)} must be http: or https: (${example})`,
    );
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new ConfigError(
      `${what} ${JSON.stringify(url)} must not carry credentials`,
    );
  }
  if (parsed.search !== "" || parsed.hash !== "" || /[?#]/.test(url)) {
    throw new ConfigError(
      `${what} ${JSON.stringify(url)} must not have a query or fragment`,
    );
  }
  if (
    basePath !== undefined && basePath !== "/" &&
    (parsed.pathname + "/").includes(basePath)
  ) {
    const bare = basePath.slice(0, -1);
    throw new ConfigError(
      `${what} ${JSON.stringify(url)} contains the base path ${basePath}, ` +
        "which the client appends to every request: list the peer without " +
        `it, like ${JSON.stringify(url.slice(0, url.lastIndexOf(bare)))}`,
    );
  }
  if (url.endsWith("/")) {
    throw new ConfigError(
      `${what} ${
        JSON.stringify(url)
      } must not end with "/": the base path is appended to it (${example})`,
    );
  }
  return url;
}
