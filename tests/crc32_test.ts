import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Buffer } from "node:buffer";
import { crc32, crc32Update } from "../src/crc32.ts";
import { buildGo, skipWithoutGo } from "./_dev/go.ts";
import { seededRandom as prng } from "./_dev/random.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

// Bit-at-a-time CRC-32 (IEEE, reflected): slow, obviously right, and shares
// nothing with the table-driven code under test.
function reference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/** Random strings of every kind the string path distinguishes. */
function randomStrings(count: number, seed: number): string[] {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pieces: (() => string)[] = [
    () => String.fromCharCode(32 + int(95)), // printable ASCII
    () => String.fromCharCode(int(0x80)), // any ASCII, controls included
    () => String.fromCharCode(0x80 + int(0x780)), // 2-byte UTF-8
    () => String.fromCharCode(0x800 + int(0xd000)), // 3-byte, below surrogates
    () => String.fromCharCode(0xe000 + int(0x2000)), // 3-byte, above them
    () => String.fromCodePoint(0x10000 + int(0x100000)), // 4-byte (a pair)
    () => String.fromCharCode(0xd800 + int(0x800)), // lone surrogate, usually
    () => String.fromCharCode(int(0x10000)), // any code unit at all
  ];
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    // Mostly short keys, some long ones (the native-encoder path starts at
    // 512 characters and works in 16,384-character chunks).
    const length = n % 50 === 0
      ? int(40_000)
      : n % 7 === 0
      ? int(2000)
      : int(40);
    // Some strings are pure ASCII, some start ASCII and change later.
    const kinds = n % 3 === 0 ? 1 : n % 3 === 1 ? 2 : pieces.length;
    const asciiPrefix = n % 5 === 0 ? int(length + 1) : 0;
    let s = "";
    while (s.length < asciiPrefix) s += pieces[0]();
    while (s.length < length) s += pieces[int(kinds)]();
    out.push(s);
  }
  return out;
}

function randomBytes(count: number, seed: number): Uint8Array[] {
  const random = prng(seed);
  const out: Uint8Array[] = [];
  for (let n = 0; n < count; n++) {
    const length = n % 40 === 0
      ? Math.floor(random() * 200_000)
      : Math.floor(random() * 600);
    const b = new Uint8Array(length);
    for (let i = 0; i < length; i++) b[i] = random() * 256;
    out.push(b);
  }
  return out;
}

describe("crc32", () => {
  // Known answers; the non-ASCII ones were computed by Go's ChecksumIEEE.
  const vectors: [string, number][] = [
    ["", 0],
    ["a", 0xe8b7be43],
    ["abc", 0x352441c2],
    ["123456789", 0xcbf43926],
    ["The quick brown fox jumps over the lazy dog", 0x414fa339],
    ["héllo wörld", 0x151d5fb9],
    ["日本語", 0xa80b52e5],
    ["😀", 0x054db544],
    ["\ufffd", 0x8b7233c9],
    ["a\ufffdb", 0xd0b99122],
    ["ключ:42", 0xd583ae6c],
  ];
  for (const [input, want] of vectors) {
    it(`hashes ${JSON.stringify(input)} to 0x${want.toString(16)}`, () => {
      assert.equal(crc32(input), want);
      assert.equal(crc32(utf8(input)), want);
    });
  }

  const surrogates: [string, string, string][] = [
    ["a lone high surrogate", "\ud800", "\ufffd"],
    ["a lone low surrogate", "\udc00", "\ufffd"],
    ["a high surrogate at the end", "ab\udbff", "ab\ufffd"],
    ["two high surrogates then a low", "\ud800\ud83d\ude00", "\ufffd😀"],
    ["a low surrogate before a high", "\ude00\ud83d", "\ufffd\ufffd"],
    ["a pair after 600 ASCII", "x".repeat(600) + "😀", "x".repeat(600) + "😀"],
    [
      "a pair across the 16,384-char chunk edge",
      "x".repeat(16383) + "😀y",
      "x".repeat(16383) + "😀y",
    ],
    [
      "a lone high surrogate at the chunk edge",
      "x".repeat(16383) + "\ud800y",
      "x".repeat(16383) + "\ufffdy",
    ],
  ];
  for (const [name, input, same] of surrogates) {
    it(`hashes ${name} as TextEncoder encodes it`, () => {
      assert.equal(crc32(input), crc32(same));
      assert.equal(crc32(input), reference(utf8(input)));
    });
  }

  it("hashes a string as its UTF-8 bytes, for thousands of strings", () => {
    for (const s of randomStrings(3000, 1)) {
      const want = reference(utf8(s));
      assert.equal(crc32(s), want, `string of length ${s.length}`);
      assert.equal(crc32(utf8(s)), want, `bytes of length ${s.length}`);
    }
  });

  it("hashes bytes at every alignment and length like the reference", () => {
    const random = prng(2);
    const backing = new Uint8Array(1200);
    for (let i = 0; i < backing.length; i++) backing[i] = random() * 256;
    for (let offset = 0; offset < 8; offset++) {
      for (let length = 0; length < 300; length++) {
        const view = backing.subarray(offset, offset + length);
        assert.equal(crc32(view), reference(view), `${offset}+${length}`);
      }
    }
    const big = backing.subarray(3, 1200);
    assert.equal(crc32(big), reference(big));
  });

  it("accepts a Node Buffer, which is a Uint8Array", () => {
    assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
  });

  it("returns an unsigned 32-bit integer", () => {
    for (const s of randomStrings(200, 3)) {
      const h = crc32(s);
      assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32, String(h));
    }
    assert.equal(crc32("123456789") > 2 ** 31, true);
  });

  const wrong: [string, unknown][] = [
    ["a number", 42],
    ["null", null],
    ["undefined", undefined],
    ["an array of bytes", [1, 2, 3]],
    ["an ArrayBuffer", new ArrayBuffer(4)],
    ["a Uint16Array", new Uint16Array(2)],
  ];
  for (const [name, input] of wrong) {
    it(`throws a TypeError for ${name}`, () => {
      assert.throws(
        () => crc32(input as string),
        (e: unknown) =>
          e instanceof TypeError && /string or a Uint8Array/.test(e.message),
      );
    });
  }
});

describe("crc32Update", () => {
  it("continues a checksum: pieces hash like the whole", () => {
    const random = prng(4);
    for (const s of randomStrings(300, 5)) {
      const bytes = utf8(s);
      const cut = Math.floor(random() * (bytes.length + 1));
      const whole = crc32(bytes);
      assert.equal(
        crc32Update(crc32(bytes.subarray(0, cut)), bytes.subarray(cut)),
        whole,
      );
      // Cutting a string between code points (not inside a pair) is fine.
      const at = [...s].slice(0, 3).join("").length;
      assert.equal(crc32Update(crc32(s.slice(0, at)), s.slice(at)), whole);
    }
  });

  it("starts from 0 like crc32", () => {
    assert.equal(crc32Update(0, "123456789"), 0xcbf43926);
    assert.equal(crc32Update(0, ""), 0);
    assert.equal(crc32Update(0xcbf43926, new Uint8Array(0)), 0xcbf43926);
  });

  it("mixes strings and bytes", () => {
    let crc = crc32Update(0, "1234");
    crc = crc32Update(crc, utf8("567"));
    crc = crc32Update(crc, "89");
    assert.equal(crc, 0xcbf43926);
  });
});

describe("crc32 against Go's crc32.ChecksumIEEE", {
  skip: skipWithoutGo(),
}, () => {
  it("agrees on thousands of random strings and byte arrays", () => {
    const bin = buildGo("tests/go/ring", "ring");
    const strings = randomStrings(2500, 6);
    const bytes = randomBytes(2500, 7);
    const inputs = [...strings.map(utf8), ...bytes];
    const r = spawnSync(bin, [], {
      input: JSON.stringify({ rings: [], crc: inputs.map(hex) }),
      encoding: "utf8",
      maxBuffer: 64 << 20,
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `Go helper failed: ${r.error ?? r.stderr}`);
    const go: number[] = JSON.parse(r.stdout).crc;
    assert.equal(go.length, inputs.length);
    strings.forEach((s, i) => {
      assert.equal(crc32(s), go[i], `string #${i} of length ${s.length}`);
    });
    bytes.forEach((b, i) => {
      const want = go[strings.length + i];
      assert.equal(crc32(b), want, `bytes #${i} of length ${b.length}`);
    });
  });
});
