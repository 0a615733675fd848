// Tests of src/protobuf.ts: GetResponse encoding at every varint boundary,
// decoding of every field layout the wire may carry, rejection of malformed
// input, and a cross-check against Go's own groupcachepb and golang/protobuf
// (tests/go/pb) on a table and on random messages, both ways.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { decodeGetResponse, encodeGetResponse } from "../src/protobuf.ts";
import { ProtobufError } from "../src/errors.ts";
import { buildGo, skipWithoutGo } from "./_dev/go.ts";
import { runToExit } from "./_dev/proc.ts";
import { seededRandom as random } from "./_dev/random.ts";

// ---- wire-format builders (written independently of src/protobuf.ts) ----

type Part = number[] | Uint8Array;

/** A base-128 varint; `pad` adds redundant continuation bytes (up to 10). */
function varint(n: number | bigint, pad = 0): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  } while (v > 0n);
  for (let i = 0; i < pad && out.length < 10; i++) out.push(0x80);
  out[out.length - 1] &= 0x7f;
  return out;
}

function tag(field: number | bigint, wire: number): number[] {
  return varint((BigInt(field) << 3n) | BigInt(wire));
}

function msg(...parts: Part[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

/** Field 1, length-delimited. */
function value(bytes: Part): number[] {
  return [0x0a, ...varint(bytes.length), ...bytes];
}

/** Field 2 as Go writes it: fixed64, a little-endian double. */
function qps(x: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return [0x11, ...b];
}

const text = (s: string) => Array.from(new TextEncoder().encode(s));
const hex = (b: Uint8Array) =>
  Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const repeat = (byte: number, n: number) => new Array<number>(n).fill(byte);

function randomBytes(next: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

function patterned(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 7)) & 255;
  return b;
}

// ---- encode -----------------------------------------------------------

// [value length, the header encodeGetResponse must write]
const lengths: [number, number[]][] = [
  [0, [0x0a, 0x00]],
  [1, [0x0a, 0x01]],
  [127, [0x0a, 0x7f]],
  [128, [0x0a, 0x80, 0x01]],
  [300, [0x0a, 0xac, 0x02]],
  [16383, [0x0a, 0xff, 0x7f]],
  [16384, [0x0a, 0x80, 0x80, 0x01]],
  [2097151, [0x0a, 0xff, 0xff, 0x7f]],
  [2097152, [0x0a, 0x80, 0x80, 0x80, 0x01]],
  [1 << 20, [0x0a, 0x80, 0x80, 0x40]],
];

describe("encodeGetResponse", () => {
  for (const [n, header] of lengths) {
    it(`writes a ${n}-byte value as tag, ${header.length - 1}-byte length, bytes`, () => {
      assert.deepEqual(varint(n), header.slice(1), "the table itself is wrong");
      const v = patterned(n);
      const out = encodeGetResponse(v);
      assert.equal(out.length, header.length + n);
      assert.deepEqual(Array.from(out.subarray(0, header.length)), header);
      assert.deepEqual(out.subarray(header.length), v);
    });

    it(`writes a ${n}-byte value that decodes back`, () => {
      const v = patterned(n);
      assert.deepEqual(decodeGetResponse(encodeGetResponse(v)), v);
    });
  }

  it("encodes the window of a subarray, not its whole buffer", () => {
    const whole = Uint8Array.from([9, 9, 1, 2, 3, 9]);
    assert.deepEqual(
      encodeGetResponse(whole.subarray(2, 5)),
      Uint8Array.from([0x0a, 3, 1, 2, 3]),
    );
  });

  it("copies the value, so later writes to it do not show", () => {
    const v = Uint8Array.from([1, 2, 3]);
    const out = encodeGetResponse(v);
    v.fill(0);
    assert.deepEqual(out, Uint8Array.from([0x0a, 3, 1, 2, 3]));
  });
});

// ---- decode -----------------------------------------------------------

// [what, message, the value it holds]
const accepted: [string, Uint8Array, Part][] = [
  ["a 0-byte body", msg(), []],
  ["a one-byte value", msg(value([0x41])), [0x41]],
  ["an empty value field", msg(value([])), []],
  ["a value of bytes that look like fields", msg(value([0x0a, 1, 0x41])), [
    0x0a,
    1,
    0x41,
  ]],
  ["minute_qps before the value", msg(qps(1.5), value(text("hi"))), text("hi")],
  ["minute_qps after the value", msg(value(text("hi")), qps(1.5)), text("hi")],
  ["minute_qps alone", msg(qps(3)), []],
  ["minute_qps as NaN", msg(qps(NaN), value([7])), [7]],
  [
    "the value twice (the last wins)",
    msg(value(text("A")), value(text("BB"))),
    text("BB"),
  ],
  ["a value then an empty value", msg(value(text("A")), value([])), []],
  [
    "value, minute_qps, value",
    msg(value(text("first")), qps(2), value(text("last"))),
    text("last"),
  ],
  ["an unknown varint field", msg(tag(3, 0), varint(300), value([1])), [1]],
  [
    "an unknown 10-byte varint (2^64 - 1)",
    msg(tag(3, 0), varint(2n ** 64n - 1n), value([1])),
    [1],
  ],
  ["an unknown fixed64 field", msg(tag(4, 1), repeat(0xab, 8), value([1])), [
    1,
  ]],
  [
    "an unknown length-delimited field",
    msg(tag(5, 2), [3, 1, 2, 3], value([1])),
    [1],
  ],
  ["an empty unknown length-delimited field", msg(value([1]), tag(5, 2), [0]), [
    1,
  ]],
  ["an unknown fixed32 field", msg(tag(6, 5), repeat(0xcd, 4), value([1])), [
    1,
  ]],
  ["unknown fields only", msg(tag(3, 0), [1], tag(4, 1), repeat(0, 8)), []],
  ["the largest field number", msg(tag(2 ** 29 - 1, 0), [1], value([2])), [2]],
  ["a two-byte tag", msg(tag(16, 2), [1, 0], value([2])), [2]],
  ["minute_qps as a varint", msg(tag(2, 0), varint(150), value([1])), [1]],
  ["minute_qps as length-delimited", msg(tag(2, 2), [2, 0, 0], value([1])), [
    1,
  ]],
  ["minute_qps as fixed32", msg(tag(2, 5), repeat(0, 4), value([1])), [1]],
  ["a padded two-byte tag for field 1", msg([0x8a, 0x00], [1, 0x41]), [0x41]],
  ["a padded ten-byte tag for field 1", msg(varint(0x0a, 9), [1, 0x41]), [
    0x41,
  ]],
  ["a padded length", msg([0x0a], varint(1, 1), [0x41]), [0x41]],
  ["a 300-byte value", msg(value(patterned(300))), patterned(300)],
];

// [what, message, whether Go's decoder accepts it]. Go is laxer in a few
// places, where we reject input no protobuf encoder writes.
const rejected: [string, Uint8Array, boolean][] = [
  ["a truncated tag varint", msg([0x8a]), false],
  ["a truncated length varint", msg([0x0a, 0x80]), false],
  ["a missing length", msg(value([1]), [0x0a]), false],
  ["a length beyond the end", msg([0x0a, 5, 1, 2]), false],
  [
    "an unknown field's length beyond the end",
    msg(tag(5, 2), [3, 1, 2]),
    false,
  ],
  ["a truncated unknown varint", msg(tag(3, 0), [0x80]), false],
  ["a missing unknown varint", msg(tag(3, 0)), false],
  ["a truncated minute_qps", msg([0x11], repeat(0, 7)), false],
  ["a truncated unknown fixed64", msg(tag(3, 1), repeat(0, 7)), false],
  ["a truncated fixed32 minute_qps", msg(tag(2, 5), repeat(0, 3)), false],
  ["a truncated unknown fixed32", msg(tag(3, 5), repeat(0, 3)), false],
  ["an 11-byte tag varint", msg(repeat(0x80, 10), [0x00]), false],
  ["an 11-byte length varint", msg([0x0a], repeat(0xff, 10), [0x01]), false],
  [
    "an 11-byte unknown varint",
    msg(tag(3, 0), repeat(0xff, 10), [0x01]),
    false,
  ],
  [
    "a length of 2^56 + 1 (above 2^53)",
    msg([0x0a], varint(2n ** 56n + 1n), [0x41]),
    false,
  ],
  [
    "a 10-byte varint whose last byte overflows 64 bits",
    msg(tag(3, 0), repeat(0xff, 9), [0x02], value([1])),
    false,
  ],
  ["a length of 2^64 - 1", msg([0x0a], varint(2n ** 64n - 1n), [0x41]), false],
  ["a length of 2^53", msg([0x0a], varint(2n ** 53n), [0x41]), false],
  ["wire type 3 without its end group", msg(tag(3, 3)), false],
  ["wire type 4", msg(tag(3, 4)), false],
  ["wire type 6", msg(tag(3, 6)), false],
  ["wire type 7", msg(tag(3, 7)), false],
  ["wire type 6 on field 1", msg(tag(1, 6)), false],
  ["field number 0 as a varint", msg(tag(0, 0), [0], value([1])), false],
  ["field number 0 as length-delimited", msg(tag(0, 2), [0]), false],
  // Stricter than Go:
  ["a group (wire types 3 and 4)", msg(tag(3, 3), tag(3, 4), value([1])), true],
  ["field 1 as a varint", msg(tag(1, 0), [1]), true],
  ["field 1 as fixed64", msg(tag(1, 1), repeat(0, 8)), true],
  ["field 1 as fixed32", msg(tag(1, 5), repeat(0, 4)), true],
  [
    "field 1 as a varint after a value",
    msg(value([0x41]), tag(1, 0), [1]),
    true,
  ],
  [
    "a tag above 2^53 whose low bits say field 1",
    msg(varint(2n ** 56n + 0x0an), [1, 0x41]),
    true,
  ],
];

describe("decodeGetResponse", () => {
  for (const [what, body, want] of accepted) {
    it(`reads ${what}`, () => {
      assert.deepEqual(decodeGetResponse(body), Uint8Array.from(want));
    });
  }

  for (const [what, body] of rejected) {
    it(`rejects ${what} with a ProtobufError`, () => {
      assert.throws(
        () => decodeGetResponse(body),
        (err: unknown) =>
          err instanceof ProtobufError && err.name === "ProtobufError",
      );
    });
  }

  it("rejects every proper prefix of a message that ends inside a field", () => {
    const body = msg(
      qps(1),
      tag(3, 0),
      varint(2n ** 40n),
      value(patterned(200)),
    );
    const boundaries = new Set([0, 9, 9 + 1 + 6]);
    for (let n = 1; n < body.length; n++) {
      if (boundaries.has(n)) continue;
      assert.throws(
        () => decodeGetResponse(body.subarray(0, n)),
        ProtobufError,
        `a prefix of ${n} bytes`,
      );
    }
  });

  it("returns a view into the body, not a copy", () => {
    const body = msg(qps(1), value([5, 6, 7]));
    const v = decodeGetResponse(body);
    assert.equal(v.buffer, body.buffer);
    assert.equal(v.byteOffset, 11);
  });

  it("reads a body that is itself a subarray", () => {
    const backing = msg([0xff, 0xff], value([5, 6]), [0xff]);
    assert.deepEqual(
      decodeGetResponse(backing.subarray(2, 6)),
      Uint8Array.from([5, 6]),
    );
  });
});

// ---- random messages ----------------------------------------------------

interface Sample {
  body: Uint8Array;
  value: Uint8Array;
}

/** A random valid GetResponse with unknown fields and minute_qps mixed in. */
function randomMessage(next: () => number): Sample {
  const parts: number[][] = [];
  let last: Uint8Array = new Uint8Array(0);
  const pad = () => (next() < 0.1 ? 1 + Math.floor(next() * 3) : 0);
  const bigVarint = () => {
    const bits = Math.floor(next() * 64);
    return BigInt(Math.floor(next() * 2 ** 32)) *
        2n ** BigInt(Math.max(0, bits - 32)) %
      2n ** 64n;
  };
  const fields = Math.floor(next() * 7);
  for (let f = 0; f < fields; f++) {
    const kind = next();
    if (kind < 0.35) {
      const n = next() < 0.9
        ? Math.floor(next() * 40)
        : next() < 0.8
        ? 100 + Math.floor(next() * 300)
        : 16000 + Math.floor(next() * 1000);
      last = randomBytes(next, n);
      parts.push([...varint(0x0a, pad()), ...varint(n, pad()), ...last]);
    } else if (kind < 0.5) {
      parts.push(qps(next() * 1e6));
    } else {
      const field = next() < 0.5
        ? 2 + Math.floor(next() * 30)
        : 3 + Math.floor(next() * (2 ** 29 - 3));
      const wire = [0, 1, 2, 5][Math.floor(next() * 4)];
      const t = varint((BigInt(field) << 3n) | BigInt(wire), pad());
      if (wire === 0) parts.push([...t, ...varint(bigVarint(), pad())]);
      if (wire === 1) parts.push([...t, ...randomBytes(next, 8)]);
      if (wire === 5) parts.push([...t, ...randomBytes(next, 4)]);
      if (wire === 2) {
        const data = randomBytes(next, Math.floor(next() * 50));
        parts.push([...t, ...varint(data.length, pad()), ...data]);
      }
    }
  }
  return { body: msg(...parts), value: last };
}

/** A truncated or corrupted copy of a random message. */
function damaged(next: () => number): Uint8Array {
  const body = randomMessage(next).body;
  if (body.length === 0) return Uint8Array.from([Math.floor(next() * 256)]);
  if (next() < 0.5) return body.subarray(0, Math.floor(next() * body.length));
  const copy = body.slice();
  for (let i = 0; i < 1 + Math.floor(next() * 3); i++) {
    copy[Math.floor(next() * copy.length)] = Math.floor(next() * 256);
  }
  return copy;
}

describe("decodeGetResponse on random messages", () => {
  it("reads the last value of 1,000 random valid messages", () => {
    const next = random(7);
    for (let i = 0; i < 1000; i++) {
      const { body, value } = randomMessage(next);
      assert.deepEqual(decodeGetResponse(body), value, hex(body));
    }
  });

  it("either reads or rejects with a ProtobufError 3,000 damaged messages", () => {
    const next = random(8);
    for (let i = 0; i < 3000; i++) {
      const body = damaged(next);
      try {
        decodeGetResponse(body);
      } catch (err) {
        assert.ok(err instanceof ProtobufError, `${err} for ${hex(body)}`);
      }
    }
  });
});

// ---- Go's golang/protobuf as the reference --------------------------------

describe("against Go's golang/protobuf", { skip: skipWithoutGo() }, () => {
  let binary = "";

  /**
   * Runs tests/go/pb over one hex line per input; one output line each.
   * Asynchronous: a synchronous child with megabytes both ways deadlocks
   * under Deno (its stdin write waits on our unread stdout).
   */
  async function goLines(
    mode: "decode" | "encode",
    inputs: Uint8Array[],
  ): Promise<string[]> {
    const r = await runToExit(binary, ["-mode", mode], {
      input: inputs.map(hex).join("\n") + "\n",
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, `tests/go/pb failed: ${r.stderr}`);
    const lines = r.stdout.split("\n");
    assert.equal(lines.pop(), "", "output does not end in a newline");
    assert.equal(lines.length, inputs.length, "one output line per input");
    return lines;
  }

  /** Our decoding as Go's program prints it: hex of the value, or ERR. */
  function ours(body: Uint8Array): string {
    try {
      return hex(decodeGetResponse(body));
    } catch (err) {
      if (err instanceof ProtobufError) return "ERR";
      throw err;
    }
  }

  before(() => {
    binary = buildGo("tests/go/pb", "pb");
  });

  it("reads every accepted table message as Go does", async () => {
    const go = await goLines("decode", accepted.map(([, body]) => body));
    accepted.forEach(([what, body, want], i) => {
      assert.equal(go[i], hex(Uint8Array.from(want)), `Go on ${what}`);
      assert.equal(ours(body), go[i], what);
    });
  });

  it("rejects what Go rejects, and only knowingly more", async () => {
    const go = await goLines("decode", rejected.map(([, body]) => body));
    rejected.forEach(([what, body, goAccepts], i) => {
      assert.equal(go[i] !== "ERR", goAccepts, `Go on ${what}: ${go[i]}`);
      assert.equal(ours(body), "ERR", what);
    });
  });

  it("decodes 500 random valid messages as Go does", async () => {
    const next = random(9);
    const samples = Array.from({ length: 500 }, () => randomMessage(next));
    const go = await goLines("decode", samples.map((s) => s.body));
    samples.forEach(({ body, value }, i) => {
      assert.equal(go[i], hex(value), `Go on ${hex(body)}`);
      assert.equal(ours(body), go[i], hex(body));
    });
  });

  it("accepts from 1,000 damaged messages only what Go accepts, with Go's value", async () => {
    const next = random(10);
    const bodies = Array.from({ length: 1000 }, () => damaged(next));
    const go = await goLines("decode", bodies);
    let agreedErrors = 0;
    bodies.forEach((body, i) => {
      const mine = ours(body);
      if (mine !== "ERR") assert.equal(go[i], mine, hex(body));
      if (mine === "ERR" && go[i] === "ERR") agreedErrors++;
    });
    assert.ok(
      agreedErrors > 100,
      `only ${agreedErrors} damaged messages failed`,
    );
  });

  const values = [
    ...lengths.map(([n]) => patterned(n)),
    ...(() => {
      const next = random(11);
      return Array.from({ length: 300 }, () => {
        const n = next() < 0.9
          ? Math.floor(next() * 200)
          : Math.floor(next() * 40000);
        return randomBytes(next, n);
      });
    })(),
  ];

  it("encodes every boundary length and 300 random values byte for byte as Go", async () => {
    const go = await goLines("encode", values);
    values.forEach((v, i) => {
      const [plain] = go[i].split(" ");
      assert.equal(
        hex(encodeGetResponse(v)),
        plain,
        `a ${v.length}-byte value`,
      );
    });
  });

  it("reads what Go writes with minute_qps set", async () => {
    const go = await goLines("encode", values);
    values.forEach((v, i) => {
      const withQps = fromHex(go[i].split(" ")[1]);
      assert.equal(withQps.length, encodeGetResponse(v).length + 9);
      assert.deepEqual(
        decodeGetResponse(withQps),
        v,
        `a ${v.length}-byte value`,
      );
    });
  });

  it("writes what Go reads back as the same value", async () => {
    const go = await goLines("decode", values.map(encodeGetResponse));
    values.forEach((v, i) => {
      assert.equal(go[i], hex(v), `a ${v.length}-byte value`);
    });
  });
});
