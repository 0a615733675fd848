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

  /** Adds `group`; a second group with the same name is a {@linkcode ConfigError}. */
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

  /** Removes the group called `name`; returns whether there was one. */
  delete(name: string): boolean {
    return this.#groups.delete(name);
  }
}

/** The registry that groups join when nothing else is named (Go's global one). */
export const defaultRegistry: Registry = new Registry();
