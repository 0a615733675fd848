/**
 * The consistent-hash ring of mailgun/groupcache (v2, and groupcache-go v3),
 * so that a node of ours placed in a mailgun cluster agrees with the Go
 * nodes on the owner of every key. It differs from golang/groupcache's ring
 * (`hash_ring.ts`) in its hashes and its 64-bit points:
 *
 * - point `i` of a peer is FNV-1 64 of the lowercase hex MD5 of
 *   `String(i) + peer` (replica index first, as in Go's ring);
 * - a key's hash is FNV-1 64 of the key's UTF-8 bytes;
 * - points and hashes are compared as signed 64-bit integers (Go's `int`);
 * - on a point shared by two peers, the peer added later owns it.
 *
 * Keys that differ only in their last byte or two tend to land on one peer:
 * FNV-1 multiplies before it mixes the last byte in, so that byte barely
 * moves the hash. That is mailgun's placement, kept as it is.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { fnv1_64, type Hash64 } from "./fnv.ts";
import { md5Hex } from "./md5.ts";

/**
 * mailgun's `consistenthash.Map` with its default hash: `replicas` points
 * per peer on a ring of signed 64-bit points; a key belongs to the peer of
 * the first point at or after the key's hash, wrapping to the first point.
 * The same interface as {@linkcode HashRing}; `HttpPool` makes one for
 * `ring: "mailgun"`.
 *
 * @example Placing keys as mailgun's Go nodes do
 * ```ts
 * import { MailgunRing } from "./mailgun_ring.ts";
 * import assert from "node:assert/strict";
 *
 * const ring = new MailgunRing(); // 50 replicas, as mailgun's HTTPPool
 * assert.equal(ring.get("a"), undefined);
 * ring.add("http://10.0.0.1:8080", "http://10.0.0.2:8080");
 * assert.equal(ring.isEmpty(), false);
 * assert.deepEqual(ring.nodes, ["http://10.0.0.1:8080", "http://10.0.0.2:8080"]);
 * assert.ok(ring.nodes.includes(ring.get("user:42")!));
 * ```
 */
export class MailgunRing {
  /** How many points each node gets on the ring. */
  readonly replicas: number;
  // Point -> node, the last write winning (Go's hashMap).
  #ownerOf = new Map<bigint, string>();
  #all = new BigInt64Array(0);
  // The sorted points split in halves, so a lookup compares numbers, not
  // BigInts: the signed high half, then the unsigned low half.
  #his = new Int32Array(0);
  #los = new Uint32Array(0);
  #owners: string[] = [];
  #nodes: readonly string[] = Object.freeze([]);
  #scratch: Hash64 = { hi: 0, lo: 0 };

  /**
   * Makes an empty ring.
   *
   * @param replicas Points per node, a positive integer (default 50, as
   *   mailgun's `HTTPPool`).
   * @throws {ConfigError} When `replicas` is not a positive integer.
   */
  constructor(replicas = 50) {
    if (!Number.isSafeInteger(replicas) || replicas < 1) {
      throw new ConfigError(
        `MailgunRing: replicas must be a positive integer (mailgun uses 50), ` +
          `got ${String(replicas)}`,
      );
    }
    this.replicas = replicas;
  }

  /**
   * Adds nodes, in order, like Go's `Map.Add`; points only accumulate.
   *
   * @throws {TypeError} When a node is not a string (the ring is unchanged).
   */
  add(...nodes: string[]): void {
    for (const node of nodes) {
      if (typeof node !== "string") {
        throw new TypeError(
          `MailgunRing.add: nodes must be strings, got ${typeof node}`,
        );
      }
    }
    const old = this.#all;
    const all = new BigInt64Array(old.length + nodes.length * this.replicas);
    all.set(old);
    let k = old.length;
    for (const node of nodes) {
      for (let i = 0; i < this.replicas; i++) {
        const { hi, lo } = fnv1_64(md5Hex(String(i) + node), this.#scratch);
        const point = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
        all[k++] = point;
        this.#ownerOf.set(point, node);
      }
    }
    all.sort();
    this.#all = all;
    this.#his = Int32Array.from(all, (p) => Number(p >> 32n));
    this.#los = Uint32Array.from(all, (p) => Number(BigInt.asUintN(32, p)));
    this.#owners = Array.from(all, (p) => this.#ownerOf.get(p)!);
    const known = new Set(this.#nodes);
    const fresh = nodes.filter((n) => !known.has(n) && known.add(n));
    if (fresh.length > 0) {
      this.#nodes = Object.freeze([...this.#nodes, ...fresh]);
    }
  }

  /**
   * The node that owns `key`, or `undefined` when the ring is empty (Go
   * returns `""`). Does not allocate.
   */
  get(key: string): string | undefined {
    const n = this.#his.length;
    if (n === 0) return undefined;
    const { hi, lo } = fnv1_64(key, this.#scratch);
    const khi = hi | 0;
    const his = this.#his, los = this.#los;
    // The first point >= the key's hash (Go's sort.Search), else wrap to 0.
    let a = 0, b = n;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const phi = his[mid];
      if (phi < khi || (phi === khi && los[mid] < lo)) a = mid + 1;
      else b = mid;
    }
    return this.#owners[a === n ? 0 : a];
  }

  /**
   * Where the points lie: each point's position as a fraction of the hash
   * space (signed points from the lowest), and its owner; as
   * `HashRing.arcs()`.
   */
  arcs(): { ends: Float64Array; owners: readonly string[] } {
    const his = this.#his, los = this.#los;
    const ends = new Float64Array(his.length);
    for (let i = 0; i < ends.length; i++) {
      ends[i] = (his[i] + 2 ** 31) / 2 ** 32 + los[i] / 2 ** 64;
    }
    return { ends, owners: this.#owners };
  }

  /** True when no node has been added. */
  isEmpty(): boolean {
    return this.#his.length === 0;
  }

  /** The nodes added so far, each once, in the order first added (frozen). */
  get nodes(): readonly string[] {
    return this.#nodes;
  }
}
