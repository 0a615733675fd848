import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SLAB_BYTES, SlabStore, SPARE_SLABS } from "../src/slab_store.ts";
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

  it("moves long-lived entries out of slabs they pin once those hold too much", () => {
    const store = new SlabStore();
    const n = Math.floor(SLAB_BYTES / recordSize(100));
    const slabs: number[][] = [];
    for (let s = 0; s < 4; s++) {
      slabs.push([]);
      for (let i = 0; i < n; i++) slabs[s].push(put(store, valueOf(i, 100)));
    }
    put(store, valueOf(0, 100)); // seals the fourth slab
    const keepers = slabs.map((ids) => ids[0]);
    const kept = store.bytes(keepers[0]);
    // Everything but one entry per slab leaves.
    for (const ids of slabs) for (const id of ids.slice(1)) store.free(id);
    // The survivors were moved out and their slabs let go: not pinned.
    assert.ok(store.held <= 2 * SLAB_BYTES, `${store.held} held`);
    assert.ok(store.bytes(keepers[0]).buffer !== kept.buffer, "moved");
    for (const id of keepers) {
      assert.deepEqual(store.bytes(id), valueOf(0, 100));
    }
    assert.deepEqual(kept, valueOf(0, 100)); // the old view is unchanged
  });

  it("moves nothing when entries leave oldest first, as an LRU evicts", () => {
    let moves = 0;
    const store = new SlabStore(() => moves++);
    const ids: number[] = [];
    const rng = seededRandom(5);
    let head = 0;
    for (let n = 0; n < 100_000; n++) {
      ids.push(put(store, valueOf(n, Math.floor(rng() * 200))));
      if (ids.length - head > 5_000) store.free(ids[head++]);
    }
    assert.equal(moves, 0);
    // Emptied slabs were reused: the store never held more than it needs.
    assert.ok(store.held <= 8 * SLAB_BYTES, `${store.held} held`);
  });

  it("reuses an emptied slab no view reached, never one a view was handed out of", () => {
    const store = new SlabStore();
    const n = Math.floor(SLAB_BYTES / recordSize(100));
    const fill = (from: number) =>
      Array.from({ length: n }, (_, i) => put(store, valueOf(from + i, 100)));
    const unread = fill(0);
    const read = fill(n);
    // Live bytes enough that the store may keep a spare.
    const keep = Array.from({ length: 6 }, (_, s) => fill((2 + s) * n)).flat();
    put(store, valueOf(0, 100)); // seals the last slab
    const view = store.bytes(read[7]);
    const held = store.held;
    for (const id of unread) store.free(id); // a spare
    assert.equal(store.held, held);
    for (const id of read) store.free(id); // let go: a view of it is out
    assert.equal(store.held, held - SLAB_BYTES);
    fill(3 * n); // takes the spare: nothing new held
    assert.equal(store.held, held - SLAB_BYTES);
    for (let round = 0; round < 20; round++) {
      for (const id of fill(round * n)) store.free(id);
    }
    assert.deepEqual(view, valueOf(n + 7, 100));
    for (const [i, id] of keep.entries()) {
      assert.deepEqual(store.bytes(id), valueOf(2 * n + i, 100));
    }
  });

  it(`keeps at most ${SPARE_SLABS} emptied slabs for reuse`, () => {
    const store = new SlabStore();
    const n = Math.floor(SLAB_BYTES / recordSize(100));
    const ids: number[] = [];
    for (let i = 0; i < 40 * n; i++) ids.push(put(store, valueOf(i, 100)));
    const held = store.held;
    // Twenty slabs empty at once (the last, still active, stays), twenty
    // stay full.
    for (const id of ids.slice(20 * n)) store.free(id);
    assert.equal(store.held, held - (19 - SPARE_SLABS) * SLAB_BYTES);
  });

  it("reuses an emptied own buffer no view reached for a value of about its size", () => {
    const store = new SlabStore();
    const big = 1 << 20;
    const ids = Array.from(
      { length: 8 },
      (_, i) => put(store, valueOf(i, big)),
    );
    const held = store.held;
    store.free(ids[0]); // kept: a value of its size may come next
    assert.equal(store.held, held);
    ids[0] = put(store, valueOf(8, big - 1000)); // takes it
    assert.equal(store.held, held);
    assert.deepEqual(store.bytes(ids[0]), valueOf(8, big - 1000));
    store.free(ids[1]);
    const half = put(store, valueOf(9, big >> 1)); // too small for it: a buffer of its own
    assert.equal(store.held, held + recordSize(big >> 1));
    // A buffer a view was handed out of is let go, never written again.
    const view = store.bytes(ids[2]);
    store.free(ids[2]);
    assert.equal(store.held, held - recordSize(big) + recordSize(big >> 1));
    for (let i = 0; i < 20; i++) store.free(put(store, valueOf(i, big)));
    assert.deepEqual(view, valueOf(2, big));
    // At most one is kept, and only while it is under a third of the live
    // bytes plus a slab.
    for (const id of ids.slice(3)) store.free(id);
    store.free(ids[0]);
    assert.equal(store.held, recordSize(big >> 1));
    store.free(half);
    assert.equal(store.held, 0);
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

  it("never reuses a slab a hit's view was made of, even before its bytes are read", () => {
    // A hit's view holds its slab and makes no Uint8Array until read: the
    // slab must count as viewed from the hit on, or a churn of unread
    // entries would write over it.
    const cache = new ByteCache(() => 0, () => {}, 0, 1 << 24);
    for (let n = 0; n < 20_000; n++) {
      cache.add(`a${n}`, new ByteView(valueOf(n, 100)));
    }
    const views = [0, 5_000, 19_999].map((n) =>
      [cache.get(`a${n}`)!, n] as const
    );
    for (let n = 0; n < 200_000; n++) {
      cache.add(`b${n}`, new ByteView(valueOf(n, 100)));
      while (cache.items > 20_000) cache.removeOldest();
    }
    for (const [view, n] of views) {
      assert.ok(view.equals(valueOf(n, 100)), `value ${n}`);
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
