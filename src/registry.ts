/**
 * Registry: the groups a node serves, by name. Go keeps one global registry
 * per process; here it is an object, so one process can hold several
 * independent nodes (tests, multi-tenant servers). Code that does not care
 * uses {@linkcode defaultRegistry}, which is what Go's `GetGroup` reads.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import type { Group } from "./group.ts";

/**
 * Groups by name. A {@linkcode Group} joins the registry of its `peers` pool
 * (or the one passed as `registry`, or {@linkcode defaultRegistry}); an
 * {@linkcode HttpPool} serves the groups of its registry.
 *
 * @example
 * ```ts
 * import { Group, HttpPool, Registry } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * // Two nodes in one process, each with its own "users" group.
 * const a = new HttpPool("http://127.0.0.1:9001", { registry: new Registry() });
 * const b = new HttpPool("http://127.0.0.1:9002", { registry: new Registry() });
 * new Group("users", 1 << 20, (key, dest) => dest.setString("a:" + key), { peers: a });
 * new Group("users", 1 << 20, (key, dest) => dest.setString("b:" + key), { peers: b });
 * assert.notEqual(a.registry.get("users"), b.registry.get("users"));
 * ```
 */
export class Registry {
  #groups = new Map<string, Group>();

  /**
   * The group called `name`, or `undefined`.
   *
   * @example
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const users = new Group("users", 1024, (k, dest) => dest.setString(k), {
   *   registry,
   * });
   * assert.equal(registry.get("users"), users);
   * assert.equal(registry.get("posts"), undefined);
   * ```
   */
  get(name: string): Group | undefined {
    return this.#groups.get(name);
  }

  /**
   * Whether a group called `name` is registered.
   *
   * @example
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const users = new Group("users", 1024, (k, dest) => dest.setString(k), {
   *   registry,
   * });
   * assert.equal(registry.has("users"), true);
   * assert.equal(registry.has("posts"), false);
   * assert.equal(users.name, "users");
   * ```
   */
  has(name: string): boolean {
    return this.#groups.has(name);
  }

  /**
   * The names of the registered groups, in registration order.
   *
   * @example
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * for (const name of ["b", "a", "c"]) {
   *   new Group(name, 1024, (key, dest) => dest.setString(key), { registry });
   * }
   * assert.deepEqual(registry.names(), ["b", "a", "c"]);
   * ```
   */
  names(): string[] {
    return [...this.#groups.keys()];
  }

  /**
   * Adds `group`; a second group with the same name is a
   * {@linkcode ConfigError}.
   *
   * @example
   * ```ts
   * import { ConfigError, Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * // A group adds itself to its registry when it is made.
   * const users = new Group("users", 1024, (k, dest) => dest.setString(k), {
   *   registry,
   * });
   * assert.throws(() => registry.add(users), ConfigError); // the name is taken
   * const other = new Registry();
   * other.add(users);
   * assert.equal(other.get("users"), users);
   * ```
   */
  add(group: Group): void {
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
   * Removes the group called `name`; returns whether there was one.
   *
   * @example
   * ```ts
   * import { Group, Registry } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * const registry = new Registry();
   * const users = new Group("users", 1024, (k, dest) => dest.setString(k), {
   *   registry,
   * });
   * assert.equal(registry.delete("users"), true);
   * assert.equal(registry.has("users"), false);
   * assert.equal(registry.delete("users"), false);
   * ```
   */
  delete(name: string): boolean {
    return this.#groups.delete(name);
  }
}

/**
 * The registry that groups join when nothing else is named (Go's global
 * one).
 *
 * @example
 * ```ts
 * import { defaultRegistry, getGroup, Group } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const name = "doc-defaultRegistry"; // unique: the registry is shared
 * const g = new Group(name, 1024, (key, dest) => dest.setString(key));
 * assert.equal(g.registry, defaultRegistry);
 * assert.equal(defaultRegistry.get(name), g);
 * assert.equal(getGroup(name), g);
 * ```
 */
export const defaultRegistry: Registry = new Registry();
