/**
 * A consistent-hash ring that places keys on nodes exactly as Go's
 * `groupcache/consistenthash.Map` does, so a TypeScript node and a Go node
 * given the same peer list agree on the owner of every key.
 *
 * @module
 */
import { crc32 } from "./crc32.ts";
import { ConfigError } from "./errors.ts";

/**
 * Go's `consistenthash.Map`: each node is hashed onto a ring of 32-bit points
 * `replicas` times, and a key belongs to the node of the first point at or
 * after the key's own hash, wrapping past the top of the ring to the first
 * point.
 *
 * Placement is identical to Go's for every key: the points of a node are
 * `hash(String(i) + node)` for `i` from `0` to `replicas - 1` (replica index
 * first, no separator: `"0http://a:8001"`); when two points collide, the node
 * added later owns the point. The defaults (50 replicas, CRC-32 of the UTF-8
 * bytes) are those of Go's `HTTPPool`.
 *
 * @example Placing keys on peers
 * ```ts
 * import { HashRing } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * const ring = new HashRing(); // Go: consistenthash.New(50, nil)
 * assert.equal(ring.isEmpty(), true);
 * assert.equal(ring.get("user:42"), undefined); // Go returns ""
 * ring.add("http://10.0.0.1:8000", "http://10.0.0.2:8000");
 * ring.add("http://10.0.0.1:8000"); // already there: nothing changes
 * assert.deepEqual(ring.nodes, ["http://10.0.0.1:8000", "http://10.0.0.2:8000"]);
 * const owner = ring.get("user:42");
 * assert.ok(ring.nodes.includes(owner!));
 * assert.equal(ring.get("user:42"), owner); // stable
 * ```
 *
 * @example Go's test hash: the points can be read off
 * ```ts
 * import { HashRing } from "@x/groupcache";
 * import assert from "node:assert/strict";
 *
 * // A string of digits is its own point, as in Go's consistenthash_test.go.
 * const ring = new HashRing(3, (s) => Number.parseInt(s, 10));
 * ring.add("6", "4", "2"); // points 2, 4, 6, 12, 14, 16, 22, 24, 26
 * assert.equal(ring.get("11"), "2");
 * assert.equal(ring.get("23"), "4");
 * assert.equal(ring.get("27"), "2"); // past the top: wraps to point 2
 * ```
 */
export class HashRing {
  /** How many points each node gets on the ring. */
  readonly replicas: number;
  /** The hash that places nodes and keys, a string to a 32-bit integer. */
  readonly hash: (data: string) => number;

  // Go's hashMap: point -> node, where the last write wins.
  #ownerOf = new Map<number, string>();
  // Every point ever added, sorted, duplicates kept (Go's `keys`), and the
  // owner of each, so a lookup is a search and one array read.
  #points = new Uint32Array(0);
  #owners: string[] = [];
  // Index on the top bits of a hash: the points of bucket b (those whose top
  // bits equal b) are #points[#starts[b]] up to #points[#starts[b + 1]].
  // With about one point per bucket, the search that follows takes a step or
  // two instead of log2(points) hard-to-predict ones.
  #starts = new Uint32Array(2);
  #shift = 31;
  #nodes: readonly string[] = Object.freeze([]);

  /**
   * Makes an empty ring.
   *
   * @param replicas Points per node, a positive integer (default 50, as in
   *   Go's `HTTPPool`). More points spread keys more evenly.
   * @param hash Maps a string to an unsigned 32-bit integer (a signed int32
   *   is read as its unsigned value). Default: {@linkcode crc32}, Go's
   *   `crc32.ChecksumIEEE` over UTF-8.
   * @throws {ConfigError} When `replicas` is not a positive integer or
   *   `hash` is not a function.
   */
  constructor(replicas = 50, hash: (data: string) => number = crc32) {
    if (!Number.isSafeInteger(replicas) || replicas < 1) {
      throw new ConfigError(
        `HashRing: replicas must be a positive integer (Go's HTTPPool uses ` +
          `50), got ${describe(replicas)}`,
      );
    }
    if (typeof hash !== "function") {
      throw new ConfigError(
        `HashRing: hash must be a function (data: string) => number, got ` +
          `${describe(hash)}; leave it out to use crc32 like Go`,
      );
    }
    this.replicas = replicas;
    this.hash = hash;
  }

  /**
   * Adds nodes to the ring, in order, like Go's `Map.Add`. It may be called
   * more than once; as in Go, points only accumulate (adding a node again
   * changes nothing unless another node took some of its points in between,
   * in which case it takes them back).
   *
   * @param nodes Node names, usually peer base URLs.
   * @throws {TypeError} When a node is not a string, or the hash returns
   *   something other than a 32-bit integer. The ring is unchanged then.
   */
  add(...nodes: string[]): void {
    const replicas = this.replicas;
    const old = this.#points;
    const points = new Uint32Array(old.length + nodes.length * replicas);
    points.set(old);
    const placed: [number, string][] = [];
    let k = old.length;
    for (const node of nodes) {
      if (typeof node !== "string") {
        throw new TypeError(
          `HashRing.add: nodes must be strings, got ${describe(node)}`,
        );
      }
      for (let i = 0; i < replicas; i++) {
        const h = this.hash(String(i) + node);
        if (h !== (h >>> 0) && h !== (h | 0)) {
          throw new TypeError(
            `HashRing.add: hash must return a 32-bit integer, got ` +
              `${describe(h)} for ${JSON.stringify(String(i) + node)}`,
          );
        }
        points[k++] = h;
        placed.push([h >>> 0, node]);
      }
    }
    for (const [point, node] of placed) this.#ownerOf.set(point, node);
    points.sort();
    this.#points = points;
    this.#owners = Array.from(points, (point) => this.#ownerOf.get(point)!);
    this.#index(points);
    const known = new Set(this.#nodes);
    const fresh = [];
    for (const node of nodes) {
      if (!known.has(node)) {
        known.add(node);
        fresh.push(node);
      }
    }
    if (fresh.length > 0) {
      this.#nodes = Object.freeze([...this.#nodes, ...fresh]);
    }
  }

  #index(points: Uint32Array): void {
    const n = points.length;
    const bits = Math.min(20, Math.max(1, Math.ceil(Math.log2(n))));
    const shift = 32 - bits, buckets = 2 ** bits;
    const starts = new Uint32Array(buckets + 1);
    let j = 0;
    for (let b = 0; b < buckets; b++) {
      const bottom = b * 2 ** shift;
      while (j < n && points[j] < bottom) j++;
      starts[b] = j;
    }
    starts[buckets] = n;
    this.#starts = starts;
    this.#shift = shift;
  }

  /**
   * The node that owns `key`, like Go's `Map.Get`, or `undefined` when the
   * ring is empty (Go returns `""`). Does not allocate.
   *
   * @param key The key to place.
   * @returns The owning node, or `undefined` if no node was added.
   */
  get(key: string): string | undefined {
    const points = this.#points;
    const n = points.length;
    if (n === 0) return undefined;
    const h = this.hash(key) >>> 0;
    // The first point >= h (Go's sort.Search), looked for in h's bucket; if
    // there is none there, it is the first of the next buckets (starts[b+1]),
    // and n means "wrap to 0".
    const b = h >>> this.#shift;
    let lo = this.#starts[b], hi = this.#starts[b + 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.#owners[lo === n ? 0 : lo];
  }

  /**
   * Where the points lie, for pictures and reports: for each point in ring
   * order, its position as a fraction of the hash space (`ends[i]`, in
   * `[0, 1)`) and its owner (`owners[i]`). Keys hashing after the previous
   * point, up to and including this one, belong to its owner; the first
   * point's arc wraps around from the last.
   *
   * @example Each node's share of the hash space
   * ```ts
   * import { HashRing } from "@x/groupcache";
   * import assert from "node:assert/strict";
   *
   * // Go's test hash: "2" and "4" place points at 2, 4, 12, 14 (of 2^32).
   * const ring = new HashRing(2, (s) => Number.parseInt(s, 10));
   * ring.add("2", "4");
   * const { ends, owners } = ring.arcs();
   * assert.deepEqual(owners, ["2", "4", "2", "4"]);
   * assert.equal(ends[1], 4 / 2 ** 32);
   * ```
   */
  arcs(): { ends: Float64Array; owners: readonly string[] } {
    const ends = new Float64Array(this.#points.length);
    for (let i = 0; i < ends.length; i++) ends[i] = this.#points[i] / 2 ** 32;
    return { ends, owners: this.#owners };
  }

  /** True when no node has been added, like Go's `Map.IsEmpty`. */
  isEmpty(): boolean {
    return this.#points.length === 0;
  }

  /**
   * The nodes added so far, each once, in the order they were first added
   * (a frozen array).
   */
  get nodes(): readonly string[] {
    return this.#nodes;
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "bigint") {
    return String(value);
  }
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
