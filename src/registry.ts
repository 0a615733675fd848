/**
 * Registry: one node — the groups it serves, by name, and the peer picker
 * (its `HttpPool`) its groups ask. Go keeps one of each per process
 * (`GetGroup`, `RegisterPeerPicker`); here a node is an object, so one
 * process can hold several independent nodes (tests, multi-tenant servers).
 * Code that does not care uses {@linkcode defaultRegistry}.
 *
 * @module
 */

import type { ByteView } from "./byte_view.ts";
import { ConfigError } from "./errors.ts";
import type { Group } from "./group.ts";
import type { GetOptions } from "./group_options.ts";
import type { PeerPicker } from "./peers.ts";

/**
 * A group as the peer side (the handler of other nodes' requests) uses it:
 * the group makes it and hands it to its registry, which keeps it for
 * {@linkcode groupServer}. Not exported from mod.ts.
 */
export interface GroupServer {
  /**
   * A peer's get: counts a server request, answers from the cache (a hit
   * comes back as is, without a promise) or loads here. It never asks a
   * third peer, so nodes whose peer lists disagree cannot ask each other in
   * a circle (Go can). `options.signal` is read only on a miss.
   */
  get(key: string, options?: GetOptions): ByteView | Promise<ByteView>;
  /** A peer's set: stores `value` in the main cache, whoever owns `key`. */
  set(key: string, value: ByteView): void;
  /** A peer's remove: drops `key` from the main and hot caches. */
  remove(key: string): void;
  /** How many loads are running (for `HttpPool.status()`). */
  loadsInFlight(): number;
  /**
   * A handoff request: the value from the cache (or a getter here that is
   * loading it, briefly), `undefined` when there is none; never loads.
   */
  peek(key: string): ByteView | Promise<ByteView | undefined> | undefined;
  /** The main cache's live entries, most recently used first (for leaving). */
  newest(): Iterable<[string, ByteView]>;
  /** Counts one value handed to its next owner as the node left. */
  handedOff(): void;
}

// The servers of a registry's groups, for enroll and groupServer (set in
// the class's static block, the one place that can reach the field).
let serversOf: (registry: Registry) => WeakMap<Group, GroupServer>;

/**
 * A node: its groups by name, and its peer picker. A {@linkcode Group} joins
 * the registry of its `peers` pool (or the one passed as `registry`, or
 * {@linkcode defaultRegistry}) and belongs to it alone; an
 * {@linkcode HttpPool} registers itself as its registry's peer picker and
 * serves that registry's groups.
 *
 * @example Two nodes in one process
 * ```ts
 * import { HttpPool, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const a = new HttpPool("http://127.0.0.1:9001", { registry: new Registry() });
 * const b = new HttpPool("http://127.0.0.1:9002", { registry: new Registry() });
 * const usersA = a.newGroup("users", 1 << 20, (key) => "a:" + key);
 * const usersB = b.newGroup("users", 1 << 20, (key) => "b:" + key);
 * assert.equal(a.registry.get("users"), usersA);
 * assert.equal(b.registry.get("users"), usersB);
 * assert.equal(a.registry.peerPicker, a);
 * assert.deepEqual(a.registry.names(), ["users"]);
 * assert.equal(a.registry.has("posts"), false);
 * ```
 */
export class Registry {
  #groups = new Map<string, Group>();
  // Each group's server, kept while the group lives so that a group
  // deleted and added again is served again.
  #servers = new WeakMap<Group, GroupServer>();
  #peerPicker: PeerPicker | undefined;

  static {
    serversOf = (registry) => registry.#servers;
  }

  /** The group called `name`, or `undefined`. */
  get(name: string): Group | undefined {
    return this.#groups.get(name);
  }

  /** Whether a group called `name` is registered. */
  has(name: string): boolean {
    return this.#groups.has(name);
  }

  /** The names of the registered groups, in registration order. */
  names(): string[] {
    return [...this.#groups.keys()];
  }

  /**
   * Registers `group`, which must have been made for this registry (a group
   * belongs to one registry: its constructor adds it). A second group with
   * the same name is a {@linkcode ConfigError}.
   *
   * @example One registry per group
   * ```ts
   * import { ConfigError, Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const users = new Group("users", 1024, (key) => key, { registry });
   * assert.throws(() => registry.add(users), ConfigError); // already there
   * assert.throws(() => new Registry().add(users), ConfigError); // not its registry
   * registry.delete("users");
   * registry.add(users); // back again
   * assert.equal(registry.get("users"), users);
   * ```
   */
  add(group: Group): void {
    if (group.registry !== this) {
      throw new ConfigError(
        `group ${JSON.stringify(group.name)} belongs to another registry: ` +
          "make the group with { registry } instead",
      );
    }
    if (this.#groups.has(group.name)) {
      throw new ConfigError(
        `a group named ${JSON.stringify(group.name)} is already registered: ` +
          "pick another name, or give this node its own Registry " +
          "(new HttpPool(self, { registry: new Registry() }))",
      );
    }
    this.#groups.set(group.name, group);
  }

  /**
   * Removes the group called `name`; returns whether there was one. Its
   * peers get `404 no such group` from then on.
   */
  delete(name: string): boolean {
    return this.#groups.delete(name);
  }

  /**
   * The node's peer picker, which its groups made without `peers` ask (Go's
   * `RegisterPeerPicker`); an {@linkcode HttpPool} registers itself. A node
   * has one: registering a second is a {@linkcode ConfigError}.
   *
   * @example Go's habit: the pool first, groups without peers
   * ```ts
   * import { ConfigError, Group, HttpPool, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const pool = new HttpPool("http://a:1", { registry });
   * const g = new Group("g", 1024, (key) => key, { registry }); // asks pool's peers
   * assert.equal(registry.peerPicker, pool);
   * assert.equal(g.registry, registry);
   * assert.throws(() => new HttpPool("http://a:2", { registry }), ConfigError);
   * ```
   */
  registerPeerPicker(picker: PeerPicker): void {
    if (typeof picker?.pickPeer !== "function") {
      throw new ConfigError("a peer picker needs a pickPeer(key) method");
    }
    if (this.#peerPicker !== undefined && this.#peerPicker !== picker) {
      throw new ConfigError(
        "this registry already has a peer picker (one HttpPool per node): " +
          "give each node its own Registry " +
          "(new HttpPool(self, { registry: new Registry() }))",
      );
    }
    if (picker.registry !== undefined && picker.registry !== this) {
      throw new ConfigError("this peer picker already serves another registry");
    }
    this.#peerPicker = picker;
  }

  /** The registered peer picker, if any. */
  get peerPicker(): PeerPicker | undefined {
    return this.#peerPicker;
  }
}

/**
 * Registers `group`, being made for `registry`, with the server its peers
 * reach it through. Not exported from mod.ts: the group's constructor calls
 * it.
 */
export function enroll(
  registry: Registry,
  group: Group,
  server: GroupServer,
): void {
  registry.add(group);
  serversOf(registry).set(group, server);
}

/**
 * The server of `group`, which its registry keeps: what the peer side calls
 * for a request to that group. Not exported from mod.ts.
 */
export function groupServer(group: Group): GroupServer {
  return serversOf(group.registry).get(group)!;
}

/**
 * The registry that groups join when nothing else is named (Go's global
 * one).
 *
 * @example The default node
 * ```ts
 * import { defaultRegistry, getGroup, Group } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const name = "doc-defaultRegistry"; // unique: the registry is shared
 * const g = new Group(name, 1024, (key) => key);
 * assert.equal(g.registry, defaultRegistry);
 * assert.equal(defaultRegistry.get(name), g);
 * assert.equal(getGroup(name), g);
 * ```
 */
export const defaultRegistry: Registry = new Registry();

/**
 * The group called `name` in the default registry (Go's `GetGroup`), or
 * `undefined`.
 *
 * @example Go's GetGroup
 * ```ts
 * import { getGroup, Group } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const g = new Group("doc-getGroup", 1024, (key) => key);
 * assert.equal(getGroup("doc-getGroup"), g);
 * assert.equal(getGroup("nope"), undefined);
 * ```
 */
export function getGroup(name: string): Group | undefined {
  return defaultRegistry.get(name);
}
