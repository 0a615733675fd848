// Tests of src/sink.ts: every sink kind filled by every setter, the copy
// rules (setBytes copies), unset sinks, and the truncating sink's buffer.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ByteView } from "../src/byte_view.ts";
import { SinkNotSetError } from "../src/errors.ts";
import {
  bytesSink,
  byteViewSink,
  type Sink,
  stringSink,
  truncatingBytesSink,
} from "../src/sink.ts";

const encode = (s: string) => new TextEncoder().encode(s);

/** A sink kind, and its value turned into bytes for comparison. */
interface Kind {
  name: string;
  make: () => Sink & { readonly isSet: boolean; readonly value: unknown };
  bytesOf: (value: unknown) => Uint8Array;
}

const kinds: Kind[] = [
  {
    name: "stringSink",
    make: stringSink,
    bytesOf: (v) => encode(v as string),
  },
  {
    name: "bytesSink",
    make: bytesSink,
    bytesOf: (v) => v as Uint8Array,
  },
  {
    name: "truncatingBytesSink with room to spare",
    make: () => truncatingBytesSink(new Uint8Array(64)),
    bytesOf: (v) => v as Uint8Array,
  },
  {
    name: "byteViewSink",
    make: byteViewSink,
    bytesOf: (v) => (v as ByteView).toBytes(),
  },
];

/** The three setters, each fed the same text its own way. */
const setters: [string, (sink: Sink, text: string) => void][] = [
  ["setString", (sink, text) => sink.setString(text)],
  ["setBytes", (sink, text) => sink.setBytes(encode(text))],
  [
    "setView of a string view",
    (sink, text) => sink.setView(new ByteView(text)),
  ],
  [
    "setView of a bytes view",
    (sink, text) => sink.setView(new ByteView(encode(text))),
  ],
];

const texts = ["", "hello", "héllo wörld € 😀"];

describe("every sink kind filled by every setter", () => {
  for (const kind of kinds) {
    for (const [setter, set] of setters) {
      for (const text of texts) {
        it(`${kind.name} holds ${JSON.stringify(text)} after ${setter}`, () => {
          const sink = kind.make();
          set(sink, text);
          assert.equal(sink.isSet, true);
          assert.deepEqual(kind.bytesOf(sink.value), encode(text));
        });
      }
    }
  }

  it("stringSink gives back the very string given to setString", () => {
    const sink = stringSink();
    sink.setString("same");
    assert.equal(sink.value, "same");
  });

  it("stringSink decodes invalid UTF-8 from setBytes with U+FFFD", () => {
    const sink = stringSink();
    sink.setBytes(Uint8Array.of(0x61, 0xff));
    assert.equal(sink.value, "a\ufffd");
  });

  it("byteViewSink keeps the very view given to setView", () => {
    const view = new ByteView("kept");
    const sink = byteViewSink();
    sink.setView(view);
    assert.equal(sink.value, view);
  });
});

describe("setBytes copies", () => {
  for (const kind of kinds) {
    it(`${kind.name} keeps its value when the source is changed afterwards`, () => {
      const source = encode("original");
      const sink = kind.make();
      sink.setBytes(source);
      source.fill(0x21);
      assert.deepEqual(kind.bytesOf(sink.value), encode("original"));
    });

    it(`${kind.name} copies only the window of a subarray`, () => {
      const whole = encode("xxwindowxx");
      const sink = kind.make();
      sink.setBytes(whole.subarray(2, 8));
      whole.fill(0x21);
      assert.deepEqual(kind.bytesOf(sink.value), encode("window"));
    });
  }

  it("bytesSink hands out bytes that are not the source array", () => {
    const source = encode("abc");
    const sink = bytesSink();
    sink.setBytes(source);
    assert.notEqual(sink.value, source);
    assert.notEqual(sink.value.buffer, source.buffer);
  });

  it("bytesSink hands out its own copy even of a view from setView", () => {
    const view = new ByteView("shared");
    const sink = bytesSink();
    sink.setView(view);
    sink.value.fill(0);
    assert.equal(view.toString(), "shared");
  });
});

describe("an unset sink", () => {
  for (const kind of kinds) {
    it(`${kind.name} says it is not set and throws SinkNotSetError on value`, () => {
      const sink = kind.make();
      assert.equal(sink.isSet, false);
      assert.throws(
        () => sink.value,
        (err: unknown) =>
          err instanceof SinkNotSetError &&
          err.name === "SinkNotSetError" &&
          /read before anything was stored/.test(err.message),
      );
    });
  }
});

describe("a sink set twice", () => {
  for (const kind of kinds) {
    for (const [first, setFirst] of setters) {
      for (const [second, set] of setters) {
        it(`${kind.name} keeps the last value after ${first} then ${second}`, () => {
          const sink = kind.make();
          setFirst(sink, "first value, longer");
          assert.deepEqual(
            kind.bytesOf(sink.value),
            encode("first value, longer"),
          );
          set(sink, "second");
          assert.deepEqual(kind.bytesOf(sink.value), encode("second"));
        });
      }
    }
  }
});

describe("truncatingBytesSink", () => {
  // [buffer size, text, bytes written, truncated]
  const cases: [number, string, number, boolean][] = [
    [8, "abc", 3, false],
    [3, "abc", 3, false],
    [3, "abcdef", 3, true],
    [0, "abc", 0, true],
    [0, "", 0, false],
    [4, "", 0, false],
    [1, "é", 1, true],
  ];
  for (const [size, text, written, truncated] of cases) {
    for (const [setter, set] of setters) {
      it(`with ${size} bytes of room takes ${written} of ${JSON.stringify(text)} by ${setter}`, () => {
        const buffer = new Uint8Array(size).fill(0xee);
        const sink = truncatingBytesSink(buffer);
        set(sink, text);
        assert.equal(sink.bytesWritten, written);
        assert.equal(sink.truncated, truncated);
        assert.deepEqual(
          buffer.subarray(0, written),
          encode(text).subarray(0, written),
        );
        assert.ok(
          buffer.subarray(written).every((b) => b === 0xee),
          "wrote past bytesWritten",
        );
        assert.deepEqual(sink.value, encode(text).subarray(0, written));
      });
    }
  }

  it("gives as value a subarray of the buffer it was given", () => {
    const backing = new Uint8Array(16);
    const buffer = backing.subarray(4, 12);
    const sink = truncatingBytesSink(buffer);
    sink.setString("abc");
    assert.equal(sink.buffer, buffer);
    assert.equal(sink.value.buffer, backing.buffer);
    assert.equal(sink.value.byteOffset, 4);
    assert.equal(sink.value.length, 3);
    sink.value[0] = 0x7a; // it is the caller's buffer, so this shows there
    assert.equal(buffer[0], 0x7a);
  });

  it("reports nothing written and not truncated before any set", () => {
    const sink = truncatingBytesSink(new Uint8Array(4));
    assert.equal(sink.bytesWritten, 0);
    assert.equal(sink.truncated, false);
    assert.equal(sink.isSet, false);
    assert.throws(() => sink.value, SinkNotSetError);
  });

  it("after a long then a short value reports the short one", () => {
    const buffer = new Uint8Array(4);
    const sink = truncatingBytesSink(buffer);
    sink.setString("abcdef");
    assert.equal(sink.truncated, true);
    sink.setString("x");
    assert.equal(sink.bytesWritten, 1);
    assert.equal(sink.truncated, false);
    assert.deepEqual(sink.value, encode("x"));
    assert.deepEqual(buffer, encode("xbcd")); // Go also leaves the tail
  });
});

describe("wrong argument types", () => {
  const wrongs: [string, unknown][] = [
    ["undefined", undefined],
    ["null", null],
    ["a number", 1],
    ["an object", {}],
  ];
  for (const kind of kinds) {
    const sink = kind.make();
    const calls: [string, (value: unknown) => void, unknown[]][] = [
      ["setString", (v) => sink.setString(v as string), [
        ...wrongs,
        ["bytes", encode("a")],
        ["a ByteView", new ByteView("a")],
      ]],
      ["setBytes", (v) => sink.setBytes(v as Uint8Array), [
        ...wrongs,
        ["a string", "a"],
        ["an ArrayBuffer", new ArrayBuffer(1)],
        ["an array", [97]],
        ["a ByteView", new ByteView("a")],
      ]],
      ["setView", (v) => sink.setView(v as ByteView), [
        ...wrongs,
        ["a string", "a"],
        ["bytes", encode("a")],
      ]],
    ];
    for (const [method, call, values] of calls) {
      for (const [what, value] of values as [string, unknown][]) {
        it(`${kind.name}.${method} refuses ${what} with a TypeError and stays unset`, () => {
          assert.throws(
            () => call(value),
            (err: unknown) =>
              err instanceof TypeError &&
              err.message.startsWith(`${method} needs`),
          );
          assert.equal(sink.isSet, false);
        });
      }
    }
  }

  const buffers: [string, unknown][] = [
    ["undefined", undefined],
    ["a number", 8],
    ["an ArrayBuffer", new ArrayBuffer(8)],
    ["an array", [0, 0]],
    ["a string", "buffer"],
  ];
  for (const [what, buffer] of buffers) {
    it(`truncatingBytesSink refuses ${what} as its buffer with a TypeError`, () => {
      assert.throws(
        () => truncatingBytesSink(buffer as Uint8Array),
        (err: unknown) =>
          err instanceof TypeError &&
          /truncatingBytesSink needs a Uint8Array buffer/.test(err.message),
      );
    });
  }
});
