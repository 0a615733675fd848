// A hit is served as a view of the cache's bytes, already framed as the
// GetResponse (src/slab_store.ts writes the framing, hitBody in
// src/protobuf.ts finds it): the answer must be byte for byte what encoding
// writes, and the zero-copy path must really be taken for cached values.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ByteView } from "../src/byte_view.ts";
import { ByteCache } from "../src/cache.ts";
import { FramedView, hitBody } from "../src/framed.ts";
import { encodeGetResponseMessage, unixNanosFromMs } from "../src/protobuf.ts";
import { SLAB_BYTES, SlabStore } from "../src/slab_store.ts";
import { Group, HttpPool, Registry } from "../mod.ts";

/** What hitBody must answer: the encoder's bytes. */
function encoded(view: ByteView, mailgun: boolean): Uint8Array {
  const expire = view.expire;
  return encodeGetResponseMessage({
    value: view,
    expire: mailgun || expire !== 0 ? unixNanosFromMs(expire) : undefined,
  });
}

/** Asserts that `body` is a view of `view`'s own bytes, not a copy. */
function assertInPlace(body: Uint8Array, view: ByteView): void {
  assert.ok(view instanceof FramedView, "a view the cache made");
  const bytes = view.framed;
  assert.equal(body.buffer, bytes.buffer, "served from the cache's buffer");
  assert.ok(
    body.byteOffset < bytes.byteOffset &&
      body.byteOffset + body.length >= bytes.byteOffset + bytes.length,
    "around the value",
  );
}

function valueOf(n: number, length: number): Uint8Array {
  const v = new Uint8Array(length);
  for (let i = 0; i < length; i++) v[i] = (n * 31 + i) & 0xff;
  return v;
}

// Across varint boundaries of the header, and past the size (an eighth of a
// slab) from which a value gets a buffer of its own.
const LENGTHS = [0, 1, 100, 127, 128, 16383, 16384, 40_000, SLAB_BYTES + 1];
const EXPIRES = [
  0,
  1_700_000_000_123, // a date: a 9-byte varint
  1_700_000_000_123.456789, // with a fraction of a millisecond
  1, // a short varint
  -5, // negative: 10 bytes, two's complement
  1e13, // past int64's nanoseconds: wraps as the encoder does
];

describe("hitBody serves cached values framed in place", () => {
  for (const kind of ["bytes", "string"] as const) {
    it(`answers what encoding writes, without a copy (${kind} values)`, () => {
      const cache = new ByteCache(() => -Infinity, () => {}, 0, 1 << 20);
      let n = 0;
      for (const length of LENGTHS) {
        for (const expire of EXPIRES) {
          const key = `k${n++}`;
          const bytes = valueOf(n, length);
          const value = kind === "bytes"
            ? new ByteView(bytes, expire)
            : new ByteView(
              "é".repeat(length >> 1) + "x".repeat(length & 1),
              expire,
            );
          cache.add(key, value);
          const view = cache.get(key)!;
          assert.equal(view.expire, expire);
          assert.ok(view.equals(value));
          // Twice each, in turns: a view keeps the body it last answered.
          for (const mailgun of [false, true, true, false]) {
            const what =
              `${kind} ${length} B, expire ${expire}, mailgun ${mailgun}`;
            const body = hitBody(view, mailgun);
            assert.deepEqual(body, encoded(view, mailgun), what);
            assertInPlace(body, view);
          }
        }
      }
    });
  }

  it("still serves in place after a value moved to another slab", () => {
    const store = new SlabStore();
    const n = Math.floor(SLAB_BYTES / 112);
    const first: number[] = [];
    // Four slabs: emptied but for the keeper, they hold enough free bytes
    // for the store to move it (src/slab_store.ts).
    for (let i = 0; i < 4 * n; i++) {
      first.push(store.put(new ByteView(valueOf(i, 100), i === 0 ? 5 : 0)));
    }
    const keeper = first[0];
    // Views made as the cache makes them.
    const viewOf = (id: number) =>
      new FramedView(store.bytes(id), store.expire(id));
    const before = viewOf(keeper);
    for (let i = 0; i < n; i++) store.put(new ByteView(valueOf(i, 100))); // seals it
    for (const id of first.slice(1)) store.free(id);
    const view = viewOf(keeper);
    assert.notEqual(
      view.framed.buffer,
      before.framed.buffer,
      "moved",
    );
    for (const mailgun of [false, true]) {
      const body = hitBody(view, mailgun);
      assert.deepEqual(body, encoded(view, mailgun));
      assertInPlace(body, view);
      // The view handed out before the move still serves the same bytes.
      assert.deepEqual(hitBody(before, mailgun), body);
    }
  });
});

describe("FramedView", () => {
  it("reads as a plain view of the same bytes, made only when read", async () => {
    const slab = new Uint8Array(64);
    for (let i = 0; i < slab.length; i++) slab[i] = 0x41 + (i % 26);
    for (const [start, length] of [[0, 64], [5, 10], [63, 1], [7, 0]]) {
      const expire = start === 5 ? 1_700_000_000_000 : 0;
      const bytes = slab.slice(start, start + length);
      const plain = new ByteView(bytes, expire);
      const views = () => [
        new FramedView(slab, expire, start, length),
        new FramedView(slab.subarray(start, start + length), expire),
      ];
      for (const view of views()) {
        assert.equal(view.length, length);
        assert.equal(view.expire, expire);
        assert.deepEqual(view.framed, bytes);
        assert.equal(view.toString(), plain.toString());
        assert.deepEqual(view.toBytes(), bytes);
        assert.ok(view.equals(plain) && plain.equals(view));
        assert.ok(view.equals(bytes) && view.equals(plain.toString()));
        assert.equal(view.at(0), bytes.at(0));
        assert.equal(view.at(-1), bytes.at(-1));
        assert.deepEqual(view.slice(1, -1).toBytes(), bytes.slice(1, -1));
        assert.equal(view.withExpire(9).expire, 9);
        assert.deepEqual(view.withExpire(9).toBytes(), bytes);
        assert.deepEqual(
          new Uint8Array(await new Response(view.stream()).arrayBuffer()),
          bytes,
        );
      }
      for (const view of views()) {
        // Each read path first, before anything made the bytes.
        const dest = new Uint8Array(length + 2).fill(0xee);
        assert.equal(view.copyTo(dest, 1), length);
        assert.deepEqual(dest.subarray(1, 1 + length), bytes);
        assert.equal(dest[0], 0xee);
        assert.equal(dest[length + 1], 0xee);
      }
      const [first] = views();
      const half = new Uint8Array(length >> 1);
      assert.equal(first.readAt(half, length - half.length), half.length);
      assert.deepEqual(half, bytes.subarray(length - half.length));
      assert.ok(views()[1].withExpire(0).equals(bytes)); // unread before
      assert.equal(views()[0].toString(), plain.toString()); // unread before
    }
  });
});

describe("hitBody encodes anything else", () => {
  it("a view of the caller's own bytes or of a string", () => {
    const framedLike = new Uint8Array([0x0a, 3, 1, 2, 3, 0x18, 0]);
    for (
      const view of [
        new ByteView(framedLike.subarray(2, 5)), // not the cache's: not trusted
        new ByteView(framedLike.subarray(2, 5), 7),
        new ByteView("abc"),
        new ByteView(""),
        new ByteView(new Uint8Array(0)),
      ]
    ) {
      for (const mailgun of [false, true]) {
        const body = hitBody(view, mailgun);
        assert.deepEqual(body, encoded(view, mailgun));
        assert.notEqual(body.buffer, framedLike.buffer);
      }
    }
  });

  it("a cache-like buffer whose bytes around the view differ from the framing", () => {
    // Marked as the cache's, so that only the byte-for-byte check decides.
    const cases: [number[], number, number, number, boolean, boolean][] = [
      // bytes, value start, value end, expire, mailgun, in place?
      [[0x0a, 3, 1, 2, 3, 0x18, 5], 2, 5, 0, true, false], // suffix says 5, not 0
      [[0x0a, 3, 1, 2, 3, 0x18, 0], 2, 5, 0, true, true],
      [[0x0a, 3, 1, 2, 3, 0x19, 0], 2, 5, 0, true, false], // another tag
      [[0x0a, 3, 1, 2, 3], 2, 5, 0, true, false], // no room for the suffix
      [[0x0a, 3, 1, 2, 3], 2, 5, 0, false, true],
      [[0x0a, 4, 1, 2, 3, 4], 2, 5, 0, false, false], // another length
      [[0x0b, 3, 1, 2, 3], 2, 5, 0, false, false], // another tag
      [[3, 1, 2, 3], 1, 4, 0, false, false], // no room for the header
      [[0x0a, 3, 1, 2, 3, 0x18, 0x90, 0x4e], 2, 5, 0.01, false, true], // 10,000 ns
      [[0x0a, 3, 1, 2, 3, 0x18, 0x90, 0x4f], 2, 5, 0.01, false, false],
      [[0x0a, 3, 1, 2, 3, 0x18, 0x90, 0x4e], 2, 5, 0.02, true, false],
      [[0x0a, 3, 1, 2, 3, 0x18, 0x90], 2, 5, 0.01, false, false], // cut short
    ];
    for (const [bytes, start, end, expire, mailgun, inPlace] of cases) {
      const buffer = new Uint8Array(bytes);
      const view = new FramedView(buffer.subarray(start, end), expire);
      const body = hitBody(view, mailgun);
      const what =
        `${bytes} [${start}, ${end}) expire ${expire} mailgun ${mailgun}`;
      assert.deepEqual(body, encoded(view, mailgun), what);
      assert.equal(body.buffer === buffer.buffer, inPlace, what);
    }
  });

  it("a slice of a cached value", () => {
    const cache = new ByteCache(() => 0, () => {}, 0, 1 << 20);
    cache.add("k", new ByteView(valueOf(1, 300)));
    const view = cache.get("k")!;
    for (const part of [view.slice(1), view.slice(0, 299), view.slice(5, 10)]) {
      for (const mailgun of [false, true]) {
        assert.deepEqual(hitBody(part, mailgun), encoded(part, mailgun));
      }
    }
  });
});

describe("pool.handler answers hits with the framed bytes", () => {
  for (const ring of ["golang", "mailgun"] as const) {
    it(`${ring}: the body is the encoding, hit after hit, and the cache is unchanged`, async () => {
      const registry = new Registry();
      const pool = new HttpPool("http://a.test", { registry, ring });
      const values = new Map<string, [Uint8Array, number]>([
        ["plain", [valueOf(1, 1024), 0]],
        ["empty", [new Uint8Array(0), 0]],
        ["expiring", [valueOf(2, 200), Date.now() + 3_600_000]],
        ["big", [valueOf(3, 100_000), 0]],
      ]);
      const g = pool.newGroup("g", 1 << 24, (key) => {
        const [bytes, expire] = values.get(key)!;
        return new ByteView(bytes.slice(), expire);
      });
      try {
        for (let round = 0; round < 3; round++) {
          for (const [key, [bytes, expire]] of values) {
            const res = await pool.handler(
              new Request(`http://a.test/_groupcache/g/${key}`),
            );
            assert.equal(res.status, 200);
            const body = new Uint8Array(await res.arrayBuffer());
            const want = encodeGetResponseMessage({
              value: bytes,
              expire: ring === "mailgun" || expire !== 0
                ? unixNanosFromMs(expire)
                : undefined,
            });
            assert.deepEqual(body, want, `${key}, round ${round}`);
            assert.deepEqual((await g.get(key)).toBytes(), bytes);
          }
        }
        assert.equal(g.cacheStats("main").items, values.size);
      } finally {
        await pool.close();
      }
    });
  }
});

describe("Group.get of a cached value", () => {
  it("answers a key hit again with the promise of its first hit, until the entry changes", async () => {
    let now = 1_000;
    let loads = 0;
    const g = new Group("answers", 1 << 20, {
      get: (key, dest) => {
        loads++;
        dest.setString(`${key} ${loads}`, now + 500);
      },
    }, { registry: new Registry(), now: () => now });
    const first = await g.get("k");
    const p = g.get("k");
    assert.ok(g.get("k") === p, "one promise for every hit of the view");
    assert.equal(first.toString(), "k 1");
    assert.equal((await p).toString(), "k 1");
    await g.remove("k");
    const q = g.get("k");
    assert.ok(q !== p);
    assert.equal((await q).toString(), "k 2");
    assert.ok(g.get("k") === g.get("k"));
    now += 500; // expired: loaded again, a new view and promise
    const r = g.get("k");
    assert.ok(r !== p);
    assert.equal((await r).toString(), "k 3");
    assert.ok(g.get("k") !== r, "the load's answer, then the cache's");
    assert.ok(g.get("k") === g.get("k"));
  });
});
