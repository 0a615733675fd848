// Tests of mailgun's messages in src/protobuf.ts: GetResponse's expire
// (field 3) and SetRequest, byte for byte against the bytes a real mailgun
// v2 node writes, and both ways against golang/protobuf given the same
// message declarations (tests/go/mailgun_pb).
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ByteView } from "../src/byte_view.ts";
import { ProtobufError } from "../src/errors.ts";
import {
  decodeGetResponse,
  decodeGetResponseMessage,
  decodeSetRequest,
  encodeGetResponse,
  encodeGetResponseMessage,
  encodeSetRequest,
  msFromUnixNanos,
  type SetRequestMessage,
  unixNanosFromMs,
} from "../src/protobuf.ts";
import { buildGo, skipWithoutGo } from "./_dev/go.ts";
import { runToExit } from "./_dev/proc.ts";
import { seededRandom as random } from "./_dev/random.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const utf8 = (s: string) => new TextEncoder().encode(s);
const MAX_INT64 = 2n ** 63n - 1n, MIN_INT64 = -(2n ** 63n);

// [what, value, expire, the bytes]. The first two are what a mailgun v2 node
// answers for a cached "mg:a" (read off the wire).
const getGolden: [string, string, bigint | undefined, string][] = [
  [
    '"mg:a" without an expiry, as mailgun writes it',
    "mg:a",
    0n,
    "0a046d673a611800",
  ],
  [
    '"mg:a" expiring at 1796135835635750149 ns',
    "mg:a",
    1796135835635750149n,
    "0a046d673a611885aaac9beb80caf618",
  ],
  [
    '"mg:a" as golang writes it (no field 3)',
    "mg:a",
    undefined,
    "0a046d673a61",
  ],
  [
    "an empty value expiring at -5 ns (ten bytes)",
    "",
    -5n,
    "0a0018fbffffffffffffffff01",
  ],
  ["the largest int64", "", MAX_INT64, "0a0018ffffffffffffffff7f"],
  ["the smallest int64", "", MIN_INT64, "0a001880808080808080808001"],
];

const setGolden: [string, SetRequestMessage, string][] = [
  [
    "every field",
    { group: "g", key: "k", value: utf8("v"), expire: 0n },
    "0a016712016b1a01762000",
  ],
  ["group and key only", { group: "", key: "" }, "0a001200"],
  [
    "an expiry past 2^53",
    {
      group: "g",
      key: "k",
      value: new Uint8Array(0),
      expire: 1796135835635750149n,
    },
    "0a016712016b1a00" + "2085aaac9beb80caf618",
  ],
];

describe("GetResponse with mailgun's expire", () => {
  for (const [what, value, expire, bytes] of getGolden) {
    it(`encodes ${what}`, () => {
      const view = new ByteView(value);
      assert.equal(
        hex(encodeGetResponseMessage({ value: view, expire })),
        bytes,
      );
      assert.equal(
        hex(encodeGetResponseMessage({ value: utf8(value), expire })),
        bytes,
      );
    });

    it(`decodes ${what}`, () => {
      const message = decodeGetResponseMessage(fromHex(bytes));
      assert.deepEqual(message.value, utf8(value));
      assert.equal(message.expire, expire);
      assert.deepEqual(decodeGetResponse(fromHex(bytes)), utf8(value));
    });
  }

  it("writes golang's bytes when no expire is given", () => {
    const v = new ByteView("x".repeat(300));
    assert.deepEqual(
      encodeGetResponseMessage({ value: v }),
      encodeGetResponse(v),
    );
  });

  const decoded: [string, string, bigint | undefined][] = [
    ["expire before value", "18070a0161", 7n],
    ["the last of two expires", "1801180a0a00", 10n],
    [
      "field 3 as fixed64: skipped, as protobuf-go does",
      "190000000000000000" + "0a00",
      undefined,
    ],
    ["field 3 as length-delimited: skipped", "1a0101" + "0a00", undefined],
  ];
  for (const [what, bytes, expire] of decoded) {
    it(`reads ${what}`, () => {
      assert.equal(decodeGetResponseMessage(fromHex(bytes)).expire, expire);
    });
  }

  const bad: [string, string][] = [
    ["a truncated expire", "0a00188080"],
    ["an expire of 11 bytes", "1880808080808080808080" + "00"],
    ["an expire that overflows 64 bits", "18ffffffffffffffffff02"],
  ];
  for (const [what, bytes] of bad) {
    it(`rejects ${what} with a ProtobufError`, () => {
      assert.throws(
        () => decodeGetResponseMessage(fromHex(bytes)),
        ProtobufError,
      );
    });
  }
});

describe("SetRequest", () => {
  for (const [what, message, bytes] of setGolden) {
    it(`encodes ${what} in field order, as Go does`, () => {
      assert.equal(hex(encodeSetRequest(message)), bytes);
    });

    it(`decodes ${what}`, () => {
      assert.deepEqual(decodeSetRequest(fromHex(bytes)), message);
    });
  }

  it("reads fields in any order, skipping unknown ones, and keeps the value a view", () => {
    const body = fromHex(
      "2005" + "1a0278" + "79" + "2801" + "12016b" + "0a0167",
    );
    const m = decodeSetRequest(body);
    assert.deepEqual(m, {
      group: "g",
      key: "k",
      value: utf8("xy"),
      expire: 5n,
    });
    assert.equal(m.value!.buffer, body.buffer);
  });

  it("carries keys and groups of any Unicode text", () => {
    const m = { group: "グループ", key: "a/b c+😀", value: utf8("v") };
    assert.deepEqual(decodeSetRequest(encodeSetRequest(m)), m);
  });

  const bad: [string, string, RegExp][] = [
    ["no group", "12016b", /required field 1 \(group\)/],
    ["no key", "0a0167", /required field 2 \(key\)/],
    ["an empty body", "", /required field 1/],
    [
      "a key as a varint",
      "0a01671001",
      /field 2 \(key\) must be length-delimited/,
    ],
    [
      "expire as length-delimited",
      "0a016712016b2200",
      /field 4 \(expire\) must be a varint/,
    ],
    ["a truncated value", "0a016712016b1a05", /claims 5 bytes/],
    ["a key that is not UTF-8", "0a01671201ff", /key is not valid UTF-8/],
    ["wire type 7 on an unknown field", "4f", /unsupported wire type 7/],
  ];
  for (const [what, bytes, message] of bad) {
    it(`rejects ${what} with a ProtobufError`, () => {
      assert.throws(
        () => decodeSetRequest(fromHex(bytes)),
        (err: unknown) =>
          err instanceof ProtobufError && message.test(err.message),
      );
    });
  }
});

describe("Unix milliseconds and the wire's nanoseconds", () => {
  const exact: [number, bigint][] = [
    [0, 0n],
    [1, 1_000_000n],
    [1796135835635, 1796135835635000000n],
    [-1, -1_000_000n],
    [1.5, 1_500_000n],
  ];
  for (const [ms, ns] of exact) {
    it(`converts ${ms} ms to ${ns} ns and back`, () => {
      assert.equal(unixNanosFromMs(ms), ns);
      assert.equal(msFromUnixNanos(ns), ms);
    });
  }

  it("keeps a nanosecond time past 2^53 to within a microsecond", () => {
    const ns = 1796135835635750149n;
    const ms = msFromUnixNanos(ns);
    assert.ok(Math.abs(ms - 1796135835635.750149) < 1e-3);
    const back = unixNanosFromMs(ms);
    assert.ok(back - ns < 1000n && ns - back < 1000n, String(back));
  });
});

describe("mailgun's messages against golang/protobuf", {
  skip: skipWithoutGo(),
}, () => {
  let binary = "";
  before(() => {
    binary = buildGo("tests/go/mailgun_pb", "mailgun_pb");
  });

  async function goLines(mode: string, lines: string[]): Promise<string[]> {
    const r = await runToExit(binary, ["-mode", mode], {
      input: lines.join("\n") + "\n",
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split("\n").slice(0, lines.length);
  }

  const next = random(21);
  const int = (n: number) => Math.floor(next() * n);
  const bytesOf = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const int64 = () => {
    const pick = int(5);
    if (pick === 0) return 0n;
    if (pick === 1) return MIN_INT64 + BigInt(int(1000));
    if (pick === 2) return MAX_INT64 - BigInt(int(1000));
    return BigInt.asIntN(
      64,
      (BigInt(int(2 ** 32)) << 32n) | BigInt(int(2 ** 32)),
    );
  };
  const text = () =>
    String.fromCodePoint(
      ...Array.from({ length: int(12) }, () =>
        int(3)
          ? 32 + int(95)
          : 0x80 + int(0x10000 - 0x80 - 0x800) + (int(2) ? 0x800 : 0)).filter((
          c,
        ) =>
          c < 0xd800 || c > 0xdfff),
    );
  const gets = Array.from({ length: 300 }, () => ({
    value: bytesOf(int(3) ? int(40) : int(3000)),
    expire: int(4) ? int64() : undefined,
  }));
  const sets: SetRequestMessage[] = Array.from({ length: 300 }, () => {
    const m: SetRequestMessage = { group: text(), key: text() };
    if (int(4)) m.value = bytesOf(int(100));
    if (int(4)) m.expire = int64();
    return m;
  });
  const field = (b: Uint8Array | undefined) =>
    b === undefined ? "-" : b.length === 0 ? "." : hex(b);
  const str = (s: string) => (s === "" ? "." : hex(utf8(s)));
  const num = (n: bigint | undefined) => (n === undefined ? "-" : String(n));

  it("encodes 300 random GetResponses byte for byte as Go", async () => {
    const go = await goLines(
      "encode-get",
      gets.map((m) => `${field(m.value)} ${num(m.expire)}`),
    );
    gets.forEach((m, i) =>
      assert.equal(hex(encodeGetResponseMessage(m)), go[i], `#${i}`)
    );
  });

  it("writes GetResponses Go reads back with the same value and expire", async () => {
    const go = await goLines(
      "decode-get",
      gets.map((m) => hex(encodeGetResponseMessage(m))),
    );
    gets.forEach((m, i) => {
      const want = `${m.value.length ? hex(m.value) : "."} ${num(m.expire)}`;
      assert.equal(go[i], want, `#${i}`);
    });
  });

  it("encodes 300 random SetRequests byte for byte as Go", async () => {
    const go = await goLines(
      "encode-set",
      sets.map((m) =>
        `${str(m.group)} ${str(m.key)} ${field(m.value)} ${num(m.expire)}`
      ),
    );
    sets.forEach((m, i) =>
      assert.equal(hex(encodeSetRequest(m)), go[i], `#${i}`)
    );
  });

  it("reads the SetRequests Go writes, and Go reads ours", async () => {
    const lines = sets.map((m) =>
      `${str(m.group)} ${str(m.key)} ${field(m.value)} ${num(m.expire)}`
    );
    const goBytes = await goLines("encode-set", lines);
    goBytes.forEach((b, i) =>
      assert.deepEqual(decodeSetRequest(fromHex(b)), sets[i], `#${i}`)
    );
    const back = await goLines(
      "decode-set",
      sets.map((m) => hex(encodeSetRequest(m))),
    );
    back.forEach((line, i) => assert.equal(line, lines[i], `#${i}`));
  });

  it("rejects a SetRequest without a key, as Go does", async () => {
    const [go] = await goLines("decode-set", ["0a0167"]);
    assert.equal(go, "ERR");
    assert.throws(() => decodeSetRequest(fromHex("0a0167")), ProtobufError);
  });
});
