// Tests of src/byte_view.ts: ByteView and utf8Length. Every
// behaviour is checked on views made from a string and from bytes, and
// TextEncoder/Uint8Array serve as the oracle wherever they can.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ByteView, utf8Length } from "../src/byte_view.ts";
import { seededRandom as random } from "./_dev/random.ts";

const encoder = new TextEncoder();
const encode = (s: string) => encoder.encode(s);

/**
 * A random string of UTF-16 code units from every UTF-8 length class,
 * including well-formed pairs, lone high and lone low surrogates.
 */
function randomString(next: () => number, maxUnits: number): string {
  const units: number[] = [];
  const n = Math.floor(next() * (maxUnits + 1));
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo));
  while (units.length < n) {
    switch (Math.floor(next() * 7)) {
      case 0:
        units.push(pick(0, 0x80));
        break;
      case 1:
        units.push(pick(0x80, 0x800));
        break;
      case 2:
        units.push(pick(0x800, 0xd800));
        break;
      case 3:
        units.push(pick(0xe000, 0x10000));
        break;
      case 4: // a well-formed pair
        units.push(pick(0xd800, 0xdc00), pick(0xdc00, 0xe000));
        break;
      case 5: // a lone high surrogate (unless a low one happens to follow)
        units.push(pick(0xd800, 0xdc00));
        break;
      default: // a lone low surrogate
        units.push(pick(0xdc00, 0xe000));
    }
  }
  return String.fromCharCode(...units);
}

/** Both ways of making a view of the same content. */
const makers: [string, (s: string) => ByteView][] = [
  ["a string", (s) => new ByteView(s)],
  ["bytes", (s) => new ByteView(encode(s))],
];

describe("utf8Length", () => {
  const cases: [string, string, number][] = [
    ["the empty string", "", 0],
    ["ASCII", "hello", 5],
    ["NUL and DEL", "\x00\x7f", 2],
    ["the first 2-byte character", "\u0080", 2],
    ["é", "é", 2],
    ["the last 2-byte character", "\u07ff", 2],
    ["the first 3-byte character", "\u0800", 3],
    ["€", "€", 3],
    ["the last BMP character", "\uffff", 3],
    ["the character just below the surrogates", "\ud7ff", 3],
    ["the character just above the surrogates", "\ue000", 3],
    ["an emoji (a surrogate pair)", "😀", 4],
    ["the last code point", "\u{10ffff}", 4],
    ["a lone high surrogate", "\ud800", 3],
    ["a lone low surrogate", "\udfff", 3],
    ["a lone high surrogate at the end", "ab\udbff", 5],
    ["a high surrogate before ASCII", "\ud800a", 4],
    ["a low surrogate before a high one", "\udc00\ud800", 6],
    ["two high surrogates then a low one", "\ud800\ud800\udc00", 7],
    ["a pair then a lone low surrogate", "😀\udc00", 7],
    ["mixed text", "héllo wörld € 😀", 22],
  ];
  for (const [name, s, want] of cases) {
    it(`counts ${name} as ${want} bytes, as TextEncoder writes it`, () => {
      assert.equal(encode(s).length, want, "the table itself is wrong");
      assert.equal(utf8Length(s), want);
    });
  }

  it("agrees with TextEncoder on 5,000 random strings", () => {
    const next = random(1);
    for (let i = 0; i < 5000; i++) {
      const s = randomString(next, 40);
      assert.equal(utf8Length(s), encode(s).length, JSON.stringify(s));
    }
  });

  it("agrees with TextEncoder on a long string", () => {
    const s = randomString(random(2), 100_000);
    assert.equal(utf8Length(s), encode(s).length);
  });
});

describe("new ByteView", () => {
  for (const [name, make] of makers) {
    it(`made from ${name} has the UTF-8 length and bytes of its content`, () => {
      const next = random(3);
      for (let i = 0; i < 500; i++) {
        const s = randomString(next, 20);
        const v = make(s);
        assert.equal(v.length, encode(s).length);
        assert.deepEqual(v.toBytes(), encode(s));
      }
    });
  }

  it("takes a Uint8Array over without copying it", () => {
    const bytes = Uint8Array.of(1, 2, 3);
    const v = new ByteView(bytes);
    bytes[0] = 9; // the caller handed it over: the view sees the same memory
    assert.equal(v.at(0), 9);
  });

  it("views exactly the window of a subarray", () => {
    const whole = Uint8Array.of(0, 1, 2, 3, 4, 5);
    const v = new ByteView(whole.subarray(2, 5));
    assert.equal(v.length, 3);
    assert.deepEqual(v.toBytes(), Uint8Array.of(2, 3, 4));
    assert.equal(v.at(-1), 4);
  });

  it("keeps the string it was made from as its toString", () => {
    const s = "groupcache é 😀";
    assert.equal(new ByteView(s).toString(), s);
  });

  const wrong: [string, unknown][] = [
    ["a number", 42],
    ["undefined", undefined],
    ["null", null],
    ["an ArrayBuffer", new ArrayBuffer(3)],
    ["a Uint16Array", new Uint16Array(3)],
    ["a Uint8ClampedArray", new Uint8ClampedArray(3)],
    ["a DataView", new DataView(new ArrayBuffer(3))],
    ["an array of numbers", [1, 2, 3]],
    ["a String object", new String("abc")],
  ];
  for (const [name, value] of wrong) {
    it(`refuses ${name} with a TypeError`, () => {
      assert.throws(
        () => new ByteView(value as string),
        (err: unknown) =>
          err instanceof TypeError &&
          /ByteView needs a Uint8Array or a string/.test(err.message),
      );
    });
  }
});

describe("copies of a Node Buffer (whose slice() shares memory)", () => {
  it("copyOf, toBytes and stream copy the bytes, never share them", async () => {
    const buffer = Buffer.from("buffer");
    const copied = ByteView.copyOf(buffer);
    const owned = new ByteView(Buffer.from("owned"));
    const out = owned.toBytes();
    const [chunk] = await readAll(owned.stream());
    buffer.fill(0);
    out.fill(0);
    chunk.fill(0);
    assert.equal(copied.toString(), "buffer");
    assert.equal(owned.toString(), "owned");
    assert.equal(
      new TextDecoder().decode(concat(await readAll(owned.stream()))),
      "owned",
    );
  });
});

describe("ByteView.copyOf", () => {
  it("views a copy, so later writes to the source do not show", () => {
    const source = Uint8Array.of(1, 2, 3);
    const v = ByteView.copyOf(source);
    source.fill(9);
    assert.deepEqual(v.toBytes(), Uint8Array.of(1, 2, 3));
  });

  it("copies only the window of a subarray", () => {
    const whole = Uint8Array.of(0, 1, 2, 3, 4, 5);
    const v = ByteView.copyOf(whole.subarray(1, 3));
    assert.deepEqual(v.toBytes(), Uint8Array.of(1, 2));
  });
});

describe("ByteView.at", () => {
  const cases: [number, number | undefined][] = [
    [0, 0x61],
    [2, 0x63],
    [-1, 0x63],
    [-3, 0x61],
    [3, undefined],
    [-4, undefined],
    [1000, undefined],
    [-1000, undefined],
  ];
  for (const [name, make] of makers) {
    for (const [index, want] of cases) {
      it(`on "abc" made from ${name} gives ${want} at ${index}`, () => {
        assert.equal(make("abc").at(index), want);
      });
    }
    it(`on an empty view made from ${name} gives undefined`, () => {
      assert.equal(make("").at(0), undefined);
      assert.equal(make("").at(-1), undefined);
    });
    it(`on "é€" made from ${name} gives UTF-8 bytes, not code units`, () => {
      const v = make("é€");
      assert.deepEqual(
        [0, 1, 2, 3, 4].map((i) => v.at(i)),
        [0xc3, 0xa9, 0xe2, 0x82, 0xac],
      );
    });
  }
});

describe("ByteView.slice", () => {
  it("of a view made from a Uint8Array shares its memory", () => {
    const bytes = new TextEncoder().encode("groupcache");
    const s = new ByteView(bytes).slice(5);
    bytes[5] = 0x43; // "C"
    assert.equal(s.toString(), "Cache");
  });

  // "groupcache" is 10 bytes.
  const cases: [number, number | undefined, string][] = [
    [0, undefined, "groupcache"],
    [5, undefined, "cache"],
    [0, 5, "group"],
    [-5, undefined, "cache"],
    [0, -5, "group"],
    [-7, -5, "up"],
    [-100, undefined, "groupcache"],
    [3, 100, "upcache"],
    [20, undefined, ""],
    [10, undefined, ""],
    [5, 2, ""],
    [-2, -5, ""],
    [4, 4, ""],
    [0, 0, ""],
  ];
  for (const [name, make] of makers) {
    for (const [from, to, want] of cases) {
      it(`of "groupcache" made from ${name} over (${from}, ${to}) is "${want}"`, () => {
        const s = make("groupcache").slice(from, to);
        assert.equal(s.toString(), want);
        assert.equal(s.length, want.length);
        assert.deepEqual(
          s.toBytes(),
          encode("groupcache").subarray(from, to),
          "differs from Uint8Array.prototype.subarray",
        );
      });
    }

    it(`of a view made from ${name} can cut a character in two`, () => {
      const s = make("é").slice(0, 1);
      assert.equal(s.length, 1);
      assert.deepEqual(s.toBytes(), Uint8Array.of(0xc3));
      assert.equal(s.toString(), "\ufffd");
    });

    it(`of a slice made from ${name} counts from the slice`, () => {
      assert.equal(
        make("groupcache").slice(2, 8).slice(1, -1).toString(),
        "upca",
      );
    });

    it(`of a view made from ${name} keeps its content after toBytes copies are changed`, () => {
      const v = make("groupcache");
      const s = v.slice(1, 4);
      v.toBytes().fill(0);
      s.toBytes().fill(0);
      assert.equal(s.toString(), "rou");
      assert.equal(v.toString(), "groupcache");
    });
  }
});

describe("ByteView.toBytes", () => {
  for (const [name, make] of makers) {
    it(`of a view made from ${name} is a fresh copy each call`, () => {
      const v = make("héllo");
      const a = v.toBytes();
      const b = v.toBytes();
      assert.notEqual(a, b);
      assert.deepEqual(a, encode("héllo"));
      a.fill(0);
      assert.deepEqual(b, encode("héllo"));
      assert.deepEqual(v.toBytes(), encode("héllo"));
      assert.equal(v.at(0), 0x68);
    });

    it(`of an empty view made from ${name} is empty`, () => {
      assert.deepEqual(make("").toBytes(), new Uint8Array(0));
    });
  }
});

describe("ByteView.toString", () => {
  const cases: [string, Uint8Array, string][] = [
    ["ASCII", encode("abc"), "abc"],
    ["multi-byte UTF-8", encode("é€😀"), "é€😀"],
    ["an invalid byte", Uint8Array.of(0x61, 0xff, 0x62), "a\ufffdb"],
    ["a truncated sequence", Uint8Array.of(0xe2, 0x82), "\ufffd"],
    ["no bytes", new Uint8Array(0), ""],
  ];
  for (const [name, bytes, want] of cases) {
    it(`decodes ${name} as UTF-8 with replacement`, () => {
      const v = new ByteView(bytes);
      assert.equal(v.toString(), want);
      assert.equal(v.toString(), want, "second (cached) call differs");
      assert.equal(`${v}`, want);
    });
  }
});

describe("ByteView.equals", () => {
  type Other = ByteView | string | Uint8Array;
  // [what, view content, other, expected]
  const cases: [string, string, Other, boolean][] = [
    ["the same string", "abc", "abc", true],
    ["a different string of the same length", "abc", "abd", false],
    ["a longer string", "abc", "abcd", false],
    ["a shorter string", "abc", "ab", false],
    ["a string view of the same text", "abc", new ByteView("abc"), true],
    ["a bytes view of the same text", "abc", new ByteView(encode("abc")), true],
    ["a different string view", "abc", new ByteView("abx"), false],
    ["a different bytes view", "abc", new ByteView(encode("xbc")), false],
    ["the same bytes", "abc", encode("abc"), true],
    ["different bytes", "abc", encode("abz"), false],
    ["a prefix of its bytes", "abc", encode("ab"), false],
    ["its bytes plus one", "abc", encode("abcd"), false],
    ["the UTF-8 of é as bytes", "é", Uint8Array.of(0xc3, 0xa9), true],
    ["the Latin-1 of é as bytes", "é", Uint8Array.of(0xe9), false],
    ["the empty string", "", "", true],
    ["no bytes", "", new Uint8Array(0), true],
    ["an empty bytes view", "", new ByteView(new Uint8Array(0)), true],
    ["a non-empty string", "", "a", false],
    [
      "a lone surrogate's bytes",
      "\ud800",
      Uint8Array.of(0xef, 0xbf, 0xbd),
      true,
    ],
  ];
  for (const [name, make] of makers) {
    for (const [what, content, other, want] of cases) {
      it(`of ${JSON.stringify(content)} made from ${name} is ${want} for ${what}`, () => {
        assert.equal(make(content).equals(other), want);
      });
    }
    it(`of a view made from ${name} is true for itself`, () => {
      const v = make("self");
      assert.equal(v.equals(v), true);
    });
    it(`of a view made from ${name} is false for other types`, () => {
      for (const other of [123, null, undefined, {}, ["a"]]) {
        assert.equal(make("a").equals(other as string), false);
      }
    });
  }

  // Invalid UTF-8 that decodes to the same text as a string is still
  // different bytes. f0 90 80 is a truncated 4-byte sequence: one U+FFFD,
  // and 3 bytes long like "\ufffd" itself.
  const invalid: [string, Uint8Array, string][] = [
    ["a truncated 4-byte sequence", Uint8Array.of(0xf0, 0x90, 0x80), "\ufffd"],
    ["a lone 0xff", Uint8Array.of(0xff), "\ufffd"],
    [
      "an encoded surrogate",
      Uint8Array.of(0xed, 0xa0, 0x80),
      "\ufffd\ufffd\ufffd",
    ],
    ["an overlong slash", Uint8Array.of(0xc0, 0xaf), "\ufffd\ufffd"],
  ];
  for (const [what, bytes, text] of invalid) {
    it(`tells ${what} from the string it decodes to`, () => {
      const v = new ByteView(bytes);
      assert.equal(v.toString(), text, "the table itself is wrong");
      assert.equal(v.equals(text), false);
      assert.equal(v.equals(new ByteView(text)), false);
      assert.equal(new ByteView(text).equals(v), false);
      assert.equal(new ByteView(text).equals(bytes), false);
    });
  }

  // A lone surrogate is written as U+FFFD (length, at and toBytes all say
  // so), so a view of "\ud800" holds the same bytes as a view of "\ufffd".
  const sameBytes: [string, string][] = [
    ["\ud800", "\ufffd"],
    ["\udc00", "\ufffd"],
    ["\ud800", "\udbff"],
    ["a\ud800b", "a\ufffdb"],
  ];
  for (const [a, b] of sameBytes) {
    it(`holds ${JSON.stringify(a)} and ${JSON.stringify(b)} equal, as their bytes are`, () => {
      assert.deepEqual(encode(a), encode(b), "the table itself is wrong");
      assert.equal(new ByteView(a).equals(new ByteView(b)), true);
      assert.equal(new ByteView(a).equals(b), true);
      assert.equal(new ByteView(b).equals(a), true);
    });
  }

  it("agrees with comparing toBytes, both ways, over random pairs", () => {
    const next = random(4);
    const views: ByteView[] = [];
    for (let i = 0; i < 150; i++) {
      // Short strings from a small alphabet, so that equal pairs occur.
      const s = randomString(next, 2);
      views.push(next() < 0.5 ? new ByteView(s) : new ByteView(encode(s)));
    }
    for (const a of views) {
      for (const b of views) {
        const want = a.toBytes().join() === b.toBytes().join();
        assert.equal(a.equals(b), want, `${a} vs ${b}`);
        assert.equal(a.equals(b.toBytes()), want);
      }
    }
  });

  it("does not confuse a bytes view whose text was cached with that text", () => {
    const v = new ByteView(Uint8Array.of(0xf0, 0x90, 0x80));
    assert.equal(v.toString(), "\ufffd"); // caches the decoding
    assert.equal(v.equals("\ufffd"), false);
    assert.equal(v.equals(new ByteView("\ufffd")), false);
  });
});

describe("ByteView.copyTo", () => {
  for (const [name, make] of makers) {
    it(`of a view made from ${name} fills a shorter destination`, () => {
      const dest = new Uint8Array(2);
      assert.equal(make("abc").copyTo(dest), 2);
      assert.deepEqual(dest, encode("ab"));
    });

    it(`of a view made from ${name} leaves the rest of a longer destination`, () => {
      const dest = new Uint8Array(5).fill(0xee);
      assert.equal(make("abc").copyTo(dest), 3);
      assert.deepEqual(dest, Uint8Array.of(0x61, 0x62, 0x63, 0xee, 0xee));
    });

    it(`of a view made from ${name} copies all into an exact destination`, () => {
      const dest = new Uint8Array(3);
      assert.equal(make("abc").copyTo(dest), 3);
      assert.deepEqual(dest, encode("abc"));
    });

    it(`of a view made from ${name} copies nothing into an empty destination`, () => {
      assert.equal(make("abc").copyTo(new Uint8Array(0)), 0);
    });

    it(`of an empty view made from ${name} copies nothing`, () => {
      const dest = new Uint8Array(2).fill(7);
      assert.equal(make("").copyTo(dest), 0);
      assert.deepEqual(dest, Uint8Array.of(7, 7));
    });

    it(`of a view made from ${name} copies from an offset, as many as fit`, () => {
      // Short ASCII, non-ASCII, and long text: each way a string is written.
      for (const text of ["abc", "héllo ü", "x".repeat(70), "é".repeat(70)]) {
        const bytes = encode(text);
        for (const offset of [0, 1, 3]) {
          for (const room of [bytes.length, bytes.length - 1, 0]) {
            const dest = new Uint8Array(offset + room + 2).fill(0xee);
            const view = make(text);
            const n = view.copyTo(dest.subarray(0, offset + room), offset);
            const what = `${
              JSON.stringify(text)
            } offset ${offset} room ${room}`;
            assert.equal(n, Math.min(room, bytes.length), what);
            const want = new Uint8Array(dest.length).fill(0xee);
            want.set(bytes.subarray(0, n), offset);
            assert.deepEqual(
              dest.subarray(0, offset),
              want.subarray(0, offset),
            );
            assert.deepEqual(
              dest.subarray(offset + n),
              want.subarray(offset + n),
              what,
            );
            assert.deepEqual(
              dest.subarray(offset, offset + n),
              bytes.subarray(0, n),
              what,
            );
          }
        }
      }
    });

    it(`of a view made from ${name} refuses an offset outside the destination`, () => {
      for (const offset of [-1, 4, 1.5, NaN]) {
        assert.throws(
          () => make("abc").copyTo(new Uint8Array(3), offset),
          RangeError,
        );
      }
    });
  }
});

describe("ByteView.readAt", () => {
  // [destination size, offset, count, bytes copied]
  const cases: [number, number, number, string][] = [
    [4, 0, 4, "abcd"],
    [6, 0, 6, "abcdef"],
    [10, 0, 6, "abcdef"],
    [2, 2, 2, "cd"],
    [4, 4, 2, "ef"],
    [4, 5, 1, "f"],
    [4, 6, 0, ""],
    [0, 3, 0, ""],
  ];
  for (const [name, make] of makers) {
    for (const [size, offset, count, want] of cases) {
      it(`of "abcdef" made from ${name} reads ${count} bytes at ${offset} into ${size}`, () => {
        const dest = new Uint8Array(size).fill(0xee);
        assert.equal(make("abcdef").readAt(dest, offset), count);
        assert.deepEqual(dest.subarray(0, count), encode(want));
        assert.ok(
          dest.subarray(count).every((b) => b === 0xee),
          "wrote past the count",
        );
      });
    }

    for (const offset of [7, 100, -1, -0.5, 1.5, NaN, Infinity, -Infinity]) {
      it(`of "abcdef" made from ${name} throws a RangeError for offset ${offset}`, () => {
        const dest = new Uint8Array(4).fill(0xee);
        assert.throws(
          () => make("abcdef").readAt(dest, offset),
          (err: unknown) =>
            err instanceof RangeError &&
            /outside the view \(0\.\.6\)/.test(err.message),
        );
        assert.deepEqual(dest, new Uint8Array(4).fill(0xee));
      });
    }
  }

  it("reads 0 bytes at offset 0 of an empty view", () => {
    assert.equal(new ByteView("").readAt(new Uint8Array(3), 0), 0);
  });
});

async function readAll(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

describe("ByteView.stream", () => {
  for (const [name, make] of makers) {
    it(`of a view made from ${name} yields its bytes`, async () => {
      const chunks = await readAll(make("héllo").stream());
      assert.deepEqual(concat(chunks), encode("héllo"));
    });

    it(`of an empty view made from ${name} ends without a chunk`, async () => {
      assert.deepEqual(await readAll(make("").stream()), []);
    });

    it(`of a view made from ${name} yields copies the reader may change`, async () => {
      const v = make("mutable?");
      const chunks = await readAll(v.stream());
      for (const c of chunks) {
        c.fill(0);
      }
      assert.equal(v.toString(), "mutable?");
      assert.deepEqual(v.toBytes(), encode("mutable?"));
      assert.deepEqual(concat(await readAll(v.stream())), encode("mutable?"));
    });
  }

  const big = new Uint8Array(200 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 255;

  it("splits 200 KiB into chunks of at most 64 KiB and reassembles exactly", async () => {
    const chunks = await readAll(new ByteView(big).stream());
    assert.ok(chunks.length >= 4, `only ${chunks.length} chunks`);
    for (const c of chunks) {
      assert.ok(c.length <= 65536, `a chunk of ${c.length}`);
    }
    assert.deepEqual(concat(chunks), big);
  });

  it("streams a slice of a large view exactly", async () => {
    const v = new ByteView(big).slice(1000, -1000);
    assert.deepEqual(
      concat(await readAll(v.stream())),
      big.subarray(1000, -1000),
    );
  });

  it("gives each stream its own position", async () => {
    const v = new ByteView(big);
    const [a, b] = await Promise.all([
      readAll(v.stream()),
      readAll(v.stream()),
    ]);
    assert.deepEqual(concat(a), big);
    assert.deepEqual(concat(b), big);
  });

  it("works as a Response body", async () => {
    const got = new Uint8Array(
      await new Response(new ByteView(big).stream()).arrayBuffer(),
    );
    assert.deepEqual(got, big);
  });

  for (const size of [0, 5, 65536, 200 * 1024]) {
    it(`serves a BYOB reader all ${size} bytes and then ends`, async () => {
      const reader = new ByteView(big.subarray(0, size)).stream().getReader({
        mode: "byob",
      });
      const chunks: Uint8Array[] = [];
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<"stalled">((resolve) => {
        timer = setTimeout(() => resolve("stalled"), 1000);
      });
      try {
        for (;;) {
          const read = reader.read(new Uint8Array(1000));
          const result = await Promise.race([read, stalled]);
          assert.notEqual(result, "stalled", "the BYOB read never settled");
          const { done, value } = result as ReadableStreamReadResult<
            Uint8Array
          >;
          if (done) break;
          chunks.push(value.slice());
        }
      } finally {
        clearTimeout(timer);
        await reader.cancel().catch(() => {});
      }
      assert.deepEqual(concat(chunks), big.subarray(0, size));
    });
  }
});

describe("ByteView immutability", () => {
  // Each attempt takes whatever a method hands out and writes to it.
  const attempts: [string, (v: ByteView) => void | Promise<void>][] = [
    ["writing to toBytes()", (v) => void v.toBytes().fill(0)],
    [
      "writing to a slice's toBytes()",
      (v) => void v.slice(1).toBytes().fill(0),
    ],
    ["writing to copyTo's destination", (v) => {
      const dest = new Uint8Array(v.length);
      v.copyTo(dest);
      dest.fill(0);
    }],
    ["writing to readAt's destination", (v) => {
      const dest = new Uint8Array(4);
      v.readAt(dest, 1);
      dest.fill(0);
    }],
    ["writing to stream chunks", async (v) => {
      for await (const chunk of v.stream()) chunk.fill(0);
    }],
    ["writing to a Response body made from stream()", async (v) => {
      new Uint8Array(await new Response(v.stream()).arrayBuffer()).fill(0);
    }],
    ["writing through a typed array over toBytes().buffer", (v) => {
      new Uint8Array(v.toBytes().buffer).fill(0);
    }],
  ];
  for (const [name, make] of makers) {
    for (const [what, attempt] of attempts) {
      it(`keeps a view made from ${name} intact against ${what}`, async () => {
        const v = make("immutable bytes é");
        await attempt(v);
        assert.equal(v.toString(), "immutable bytes é");
        assert.deepEqual(v.toBytes(), encode("immutable bytes é"));
        assert.ok(v.equals("immutable bytes é"));
        assert.equal(v.at(0), 0x69);
      });
    }
  }

  it("exposes no bytes through own properties, and length cannot be reassigned", () => {
    for (const [, make] of makers) {
      const v = make("secret");
      assert.deepEqual(Object.getOwnPropertyNames(v), []);
      assert.throws(() => {
        (v as { length: number }).length = 100;
      }, TypeError);
      assert.equal(v.length, 6);
      for (const value of Object.values(v)) {
        assert.ok(!(value instanceof Uint8Array));
      }
    }
  });
});
