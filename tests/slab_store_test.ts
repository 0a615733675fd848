import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SLAB_BYTES, SlabStore } from "../src/slab_store.ts";
import { ByteCache } from "../src/cache.ts";
import { ByteView } from "../src/byte_view.ts";
import { seededRandom } from "./_dev/random.ts";

/** A value of `length` bytes that says which `n` it is. */
function valueOf(n: number, length: number): Uint8Array {
  const v = new Uint8Array(length);
  for (let i = 0; i < length; i++) v[i] = (n * 31 + i) & 0xff;
  return v;
}

function put(store: SlabStore, bytes: Uint8Array, expire = 0): number {
  return store.put(new ByteView(bytes, expire));
}

/** The bytes of `n` as a protobuf varint. */
const varintBytes = (n: number) =>
  n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;

/**
 * Record bytes in a slab (no expiry): a 4-byte header, `0x0a varint(length)`,
 * the value, `0x18 0x00`, padding to 4.
 */
const recordSize = (length: number) =>
  (4 + 1 + varintBytes(length) + length + 2 + 3) & ~3;

describe("SlabStore", () => {
  it("gives back what was put, with its expiry, and reuses ids", () => {
    const store = new SlabStore();
    const a = put(store, valueOf(1, 10), 1234);
    const b = put(store, valueOf(2, 0));
    assert.deepEqual(store.bytes(a), valueOf(1, 10));
    assert.equal(store.expire(a), 1234);
    assert.equal(store.bytes(b).length, 0);
    store.free(a);
    const c = put(store, valueOf(3, 5));
    assert.equal(c, a); // the freed id
    assert.deepEqual(store.bytes(c), valueOf(3, 5));
  });

  it("never changes bytes a reader holds, through frees, moves and new puts", () => {
    const store = new SlabStore();
    const rng = seededRandom(3);
    const live = new Map<number, number>(); // id → n
    const held: [Uint8Array, number, number][] = []; // view, n, length
    for (let n = 0; n < 40_000; n++) {
      const length = Math.floor(rng() * 300);
      const id = put(store, valueOf(n, length), n % 3 === 0 ? n + 0.5 : 0);
      live.set(id, n);
      if (n % 97 === 0) held.push([store.bytes(id), n, length]);
      // Free most entries at random: slabs fall under the move threshold.
      if (rng() < 0.9 && live.size > 0) {
        const ids = [...live.keys()];
        const victim = ids[Math.floor(rng() * ids.length)];
        live.delete(victim);
        store.free(victim);
      }
    }
    for (const [view, n, length] of held) {
      assert.deepEqual(view, valueOf(n, length));
    }
    for (const [id, n] of live) {
      assert.deepEqual(store.bytes(id), valueOf(n, store.length(id)));
      assert.equal(store.expire(id), n % 3 === 0 ? n + 0.5 : 0);
    }
  });

  it("holds at most 4/3 of the live bytes plus two slabs, whatever is freed", () => {
    // The model: live record bytes, against what the store's buffers hold.
    const cases = [[1, 50, 20_000], [2, 2_000, 10_000], [3, 200_000, 400]];
    for (const [seed, maxLength, steps] of cases) {
      const store = new SlabStore();
      const rng = seededRandom(seed);
      const ids: number[] = [];
      const lengths = new Map<number, number>();
      let liveBytes = 0;
      for (let step = 0; step < steps; step++) {
        // Grow to about 4 MiB of values, then churn, freeing at random.
        if (liveBytes < 4 << 20 || rng() < 0.5) {
          const length = Math.floor(rng() * maxLength);
          const id = put(store, valueOf(step, length));
          ids.push(id);
          lengths.set(id, length);
          liveBytes += recordSize(length);
        } else {
          const at = Math.floor(rng() * ids.length);
          const id = ids[at];
          ids[at] = ids[ids.length - 1];
          ids.pop();
          liveBytes -= recordSize(lengths.get(id)!);
          lengths.delete(id);
          store.free(id);
        }
        assert.ok(
          store.held <= (4 / 3) * liveBytes + 2 * SLAB_BYTES,
          `seed ${seed}: ${store.held} held for ${liveBytes} live`,
        );
      }
      for (const id of [...ids]) store.free(id);
      assert.ok(store.held <= SLAB_BYTES, `${store.held} held when empty`);
    }
  });

  it("lets a slab go when its last live entry leaves, and moves a long-lived one out", () => {
    const store = new SlabStore();
    const n = Math.floor(SLAB_BYTES / recordSize(100));
    const first: number[] = [];
    for (let i = 0; i < n; i++) first.push(put(store, valueOf(i, 100)));
    const keeper = first[0];
    const kept = store.bytes(keeper);
    for (let i = 0; i < n; i++) put(store, valueOf(i, 100)); // seals slab 1
    // Everything of the first slab but one entry leaves.
    for (const id of first.slice(1)) store.free(id);
    // The survivor was moved out and the first slab let go: not pinned.
    assert.ok(store.held <= 2 * SLAB_BYTES, `${store.held} held`);
    assert.ok(store.bytes(keeper).buffer !== kept.buffer, "moved");
    assert.deepEqual(store.bytes(keeper), valueOf(0, 100));
    assert.deepEqual(kept, valueOf(0, 100)); // the old view is unchanged
  });

  it("gives a large value a buffer of its own, let go with it", () => {
    const store = new SlabStore();
    const big = put(store, valueOf(1, 1 << 20));
    assert.equal(store.held, recordSize(1 << 20));
    store.free(big);
    assert.equal(store.held, 0);
  });
});

describe("ByteCache views", () => {
  it("hands out views that never change as the cache evicts, moves and adds", () => {
    const cache = new ByteCache(() => 0, () => {}, 0, 1 << 20);
    const views: [ByteView, number][] = [];
    for (let n = 0; n < 30_000; n++) {
      cache.add(`k${n}`, new ByteView(valueOf(n, 64)));
      views.push([cache.get(`k${n}`)!, n]);
      while (cache.items > 1_000) cache.removeOldest();
    }
    for (const [view, n] of views) {
      assert.ok(view.equals(valueOf(n, 64)), `value ${n}`);
    }
  });

  it("copies a value in: the caller's array may change afterwards", () => {
    const cache = new ByteCache(() => 0, () => {}, 0, 1 << 20);
    const bytes = valueOf(1, 10);
    cache.add("k", new ByteView(bytes));
    bytes.fill(0);
    assert.ok(cache.get("k")!.equals(valueOf(1, 10)));
  });

  it("gives the same view to repeated hits, and a fresh one after a replace", () => {
    const cache = new ByteCache(() => 0, () => {}, 0, 1 << 20);
    cache.add("k", new ByteView("one"));
    const a = cache.get("k")!;
    assert.equal(cache.get("k"), a);
    cache.add("k", new ByteView("two"));
    assert.equal(cache.get("k")!.toString(), "two");
    assert.equal(a.toString(), "one");
  });

  it("keeps at most one view per 2 KiB of budget, each until its entry leaves", () => {
    const cache = new ByteCache(() => 0, () => {}, 0, 64 << 10); // 32 kept
    const keys = Array.from({ length: 1_000 }, (_, i) => `k${i}`);
    for (const key of keys) cache.add(key, new ByteView(key));
    const first = keys.map((key) => cache.get(key)!);
    // The keys that took a slot first keep it however many others are hit.
    const kept = keys.filter((key, i) => cache.get(key) === first[i]);
    assert.deepEqual(kept, keys.slice(0, 32));
    // An entry that leaves frees its slot for the next key hit.
    cache.remove("k0");
    const next = cache.get("k32")!;
    assert.equal(cache.get("k32"), next);
  });

  it("never keeps more views than its slots, however many keys are hit", () => {
    const cache = new ByteCache(() => 0, () => {}, 0, 64 << 10); // 32 kept
    const keys = Array.from({ length: 1_000 }, (_, i) => `k${i}`);
    for (const key of keys) cache.add(key, new ByteView(key));
    // Hits in a scrambled order, many rounds, with entries leaving and
    // coming back (their slots freed and taken again) between them.
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < keys.length; i++) {
        cache.get(keys[(i * 389 + round * 17) % keys.length]);
      }
      for (let i = round; i < keys.length; i += 97) {
        cache.remove(keys[i]);
        cache.add(keys[i], new ByteView(keys[i]));
      }
      // A key whose view was kept gets that same view again: count them.
      const kept = keys.filter((key) => cache.get(key) === cache.get(key));
      assert.ok(kept.length <= 32, `${kept.length} views kept`);
      for (const key of kept) assert.equal(cache.get(key)!.toString(), key);
    }
  });

  it("segmented: evicts entries not hit since they came in before the others", () => {
    const cache = new ByteCache(() => 0, () => {}, 10, 0, 0, true);
    for (const key of ["a", "b", "c"]) cache.add(key, new ByteView(key));
    cache.get("a"); // hit again: protected
    cache.add("d", new ByteView("dd"));
    cache.removeOldest();
    cache.removeOldest();
    assert.equal(cache.items, 2); // "b" and "c" went, not "a"
    assert.ok(cache.get("a") && cache.get("d")); // "d" protected too
    // Nothing on probation: the oldest protected entry goes.
    cache.removeOldest();
    assert.equal(cache.get("a"), undefined);
    cache.add("d", new ByteView("again")); // a replace keeps its segment
    assert.equal(cache.get("d")!.toString(), "again");
    cache.remove("d");
    assert.deepEqual(cache.stats(), {
      bytes: 0,
      items: 0,
      gets: 5,
      hits: 4,
      evictions: 3,
    });
  });

  it("stores a string value as its UTF-8 bytes (a lone surrogate as U+FFFD)", () => {
    const cache = new ByteCache(() => 0, () => {}, 0, 1 << 20);
    const long = "x".repeat(100);
    for (
      const text of ["", "plain", long, "héllo 日本 😀", "a\ud800b", "\udc00"]
    ) {
      cache.add(text, new ByteView(text));
      const bytes = cache.get(text)!.toBytes();
      assert.deepEqual(bytes, new TextEncoder().encode(text), text);
    }
  });

  it("keeps a value's expiry", () => {
    let now = 0;
    const cache = new ByteCache(() => now, () => {}, 0, 1 << 20);
    cache.add("k", new ByteView("v", 10));
    assert.equal(cache.get("k")!.expire, 10);
    now = 10;
    assert.equal(cache.get("k"), undefined);
    assert.equal(cache.items, 0);
  });
});
