/**
 * How a group finds and talks to its peers (Go's `peers.go`): a
 * {@linkcode PeerPicker} names the owner of a key, a {@linkcode PeerGetter}
 * fetches from it. `HttpPool` is the one this library provides; any
 * object of this shape will do.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import type { Registry } from "./registry.ts";
import { ConfigError, PeerError } from "./errors.ts";

/**
 * Fetches a group's value from one remote peer (Go's `ProtoGetter`), and,
 * optionally, writes to it (mailgun's `Set` and `Remove`): a peer without
 * them serves gets only, and `group.set` or `group.remove` of a key it owns
 * is a `ConfigError`.
 */
export interface PeerGetter {
  /** The peer's base URL (or another name for it), for errors and logs. */
  readonly url: string;
  /** Asks the peer for `key` of `group`; the view carries its expiry. */
  get(group: string, key: string, signal: AbortSignal): Promise<ByteView>;
  /**
   * The same get, free to travel with the other keys asked of this peer in
   * the same tick in one request (`group.getMany` calls it when present).
   */
  getBatched?(
    group: string,
    key: string,
    signal: AbortSignal,
  ): Promise<ByteView>;
  /** Stores `value` (with its expiry) as `key` in the peer's main cache. */
  set?(
    group: string,
    key: string,
    value: ByteView,
    signal: AbortSignal,
  ): Promise<void>;
  /** Drops `key` from the peer's main and hot caches. */
  remove?(group: string, key: string, signal: AbortSignal): Promise<void>;
  /**
   * Asks the peer for `key` from its cache only (a handoff): the value, or
   * `undefined` when it holds none. The peer never loads nor forwards it.
   */
  peek?(
    group: string,
    key: string,
    signal: AbortSignal,
  ): Promise<ByteView | undefined>;
}

/** Names the peer that owns a key (Go's `PeerPicker`). */
export interface PeerPicker {
  /**
   * The owner of `key`, or `undefined` to load it locally: this node owns
   * it, or its owner is not to be asked now (an `HttpPool` skips a peer it
   * has marked down).
   */
  pickPeer(key: string): PeerGetter | undefined;
  /**
   * Every remote peer (mailgun's `GetAll`, without this node), for
   * `group.remove` to tell them all; without it, a remove reaches the owner
   * only.
   */
  getAll?(): readonly PeerGetter[];
  /**
   * The URL of `key`'s owner when that is another node, even one
   * {@linkcode PeerPicker.pickPeer} skips for now; `undefined` when the key
   * is this node's to keep. With it, `group.set` and `group.remove` of a
   * key whose owner is down reject, as they do when the owner fails;
   * without it, such a key is written here only.
   */
  remoteOwner?(key: string): string | undefined;
  /**
   * The node that owned `key` before the ring last changed, when this node
   * owns it now and that node may still hold it (a node of ours, up): a
   * miss asks it from cache only before the getter runs. `undefined`
   * otherwise, and once the handoff window has passed.
   */
  previousOwner?(key: string): PeerGetter | undefined;
  /**
   * The registry (node) this picker serves, as an `HttpPool`'s: a group
   * given the picker as `peers` joins it.
   */
  readonly registry?: Registry;
}

/**
 * The remote owner a write of `key` of `group` goes to, able to take it;
 * `undefined` when the key is this node's. An owner that is down is a
 * {@linkcode PeerError}: the write would otherwise land here only.
 */
export function writableOwner(
  group: string,
  what: "set" | "remove",
  key: string,
  picker: PeerPicker | undefined,
): PeerGetter | undefined {
  const owner = picker?.pickPeer(key);
  if (owner === undefined) {
    const down = picker?.remoteOwner?.(key);
    if (down === undefined) return undefined;
    throw new PeerError(
      `peer ${down}, group ${group}, key ${JSON.stringify(key)}: ` +
        `cannot ${what}: the key's owner is marked down, so nothing was ` +
        "written (try again once it answers)",
      { peer: down, group, key, reason: "down" },
    );
  }
  if (typeof owner[what] !== "function") {
    throw new ConfigError(
      `group ${JSON.stringify(group)}: cannot ${what} a key owned by ` +
        `peer ${owner.url}: its PeerGetter has no ${what} method (an ` +
        `HttpPool's peers have one)`,
    );
  }
  return owner;
}

/** mailgun's "peer returned expired value": a peer error, then a local load. */
export function arrivedExpired(
  peer: string,
  group: string,
  key: string,
): PeerError {
  return new PeerError(
    `peer ${peer}, group ${group}, key ${JSON.stringify(key)}: ` +
      "the value arrived already expired (are the clocks in sync?)",
    { peer, group, key, reason: "expired" },
  );
}
