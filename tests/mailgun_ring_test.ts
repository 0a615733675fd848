// Tests of src/md5.ts, src/fnv.ts and src/mailgun_ring.ts: MD5 against RFC
// 1321's suite, FNV-1 64 against the reference vectors, and the ring against
// an independent Go implementation (tests/go/mailgun_ring, Go's crypto/md5
// and hash/fnv) over thousands of keys and several peer lists.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Buffer } from "node:buffer";
import { ConfigError } from "../src/errors.ts";
import { fnv1_64 } from "../src/fnv.ts";
import { MailgunRing } from "../src/mailgun_ring.ts";
import { md5, md5Hex } from "../src/md5.ts";
import { buildGo, skipWithoutGo } from "./_dev/go.ts";
import { seededRandom as prng } from "./_dev/random.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const fnvHex = (data: string | Uint8Array) => {
  const { hi, lo } = fnv1_64(data);
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
};

describe("md5", () => {
  // RFC 1321, appendix A.5.
  const rfc: [string, string][] = [
    ["", "d41d8cd98f00b204e9800998ecf8427e"],
    ["a", "0cc175b9c0f1b6a831c399e269772661"],
    ["abc", "900150983cd24fb0d6963f7d28e17f72"],
    ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
    ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
    [
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f",
    ],
    [
      "1234567890".repeat(8),
      "57edf4a22be3c955ac49da2e2107b67a",
    ],
  ];
  for (const [input, digest] of rfc) {
    it(`hashes ${JSON.stringify(input.slice(0, 20))} (${input.length} bytes) to RFC 1321's ${digest}`, () => {
      assert.equal(md5Hex(input), digest);
      assert.equal(hex(md5(utf8(input))), digest);
    });
  }

  it("hashes a string as its UTF-8 bytes", () => {
    assert.equal(md5Hex("héllo 😀"), md5Hex(utf8("héllo 😀")));
  });
});

describe("fnv1_64", () => {
  // FNV-1 (not 1a) 64-bit reference values.
  const vectors: [string, string][] = [
    ["", "cbf29ce484222325"],
    ["a", "af63bd4c8601b7be"],
    ["b", "af63bd4c8601b7bd"],
    ["ab", "08326707b4eb37b8"],
    ["abc", "d8dcca186bafadcb"],
    ["foo", "d8cbc7186ba13533"],
    ["foobar", "340d8765a4dda9c2"],
    ["chongo was here!\n", "e0aca20b624e4235"],
  ];
  for (const [input, hash] of vectors) {
    it(`hashes ${JSON.stringify(input)} to ${hash}`, () => {
      assert.equal(fnvHex(input), hash);
      assert.equal(fnvHex(utf8(input)), hash);
    });
  }

  const strings = [
    "héllo",
    "日本語",
    "😀 flag",
    "\ud800 lone",
    "lone at the end \udfff",
    "x\ud800",
  ];
  for (const s of strings) {
    it(`hashes ${JSON.stringify(s)} as TextEncoder's UTF-8 bytes`, () => {
      assert.equal(fnvHex(s), fnvHex(utf8(s)));
    });
  }
});

describe("MailgunRing", () => {
  it("refuses replicas that are not a positive integer", () => {
    for (const bad of [0, -1, 1.5, NaN]) {
      assert.throws(() => new MailgunRing(bad), ConfigError);
    }
  });

  it("refuses a node that is not a string, leaving the ring unchanged", () => {
    const ring = new MailgunRing();
    assert.throws(
      () => ring.add("ok", 1 as unknown as string),
      TypeError,
    );
    assert.equal(ring.isEmpty(), true);
  });

  it("gives every key to the only node, and lists nodes once in order", () => {
    const ring = new MailgunRing();
    ring.add("http://b:1", "http://a:1", "http://b:1");
    assert.deepEqual(ring.nodes, ["http://b:1", "http://a:1"]);
    const solo = new MailgunRing(3);
    solo.add("http://solo:1");
    for (const key of ["", "a", "日本", "😀"]) {
      assert.equal(solo.get(key), "http://solo:1");
    }
  });

  it("places keys differently from the golang ring for most keys", async () => {
    const { HashRing } = await import("../src/hash_ring.ts");
    const nodes = ["http://a:1", "http://b:1", "http://c:1"];
    const mailgun = new MailgunRing(), golang = new HashRing();
    mailgun.add(...nodes);
    golang.add(...nodes);
    let differ = 0;
    for (let i = 0; i < 3000; i++) {
      if (mailgun.get(`key-${i}`) !== golang.get(`key-${i}`)) differ++;
    }
    assert.ok(differ > 1500 && differ < 2500, `${differ} of 3000 differ`);
  });
});

/** Keys of many shapes, including the sequential ones FNV-1 clusters. */
function keys(count: number, seed: number): string[] {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const fixed = [
    "",
    "a",
    "mg:a",
    "a b",
    "/",
    "日本語",
    "😀",
    "\ud800",
    "k".repeat(3000),
  ];
  const makers: (() => string)[] = [
    () => `key-${int(1e6)}`,
    () => `user:${keys.length}`,
    () =>
      String.fromCharCode(
        ...Array.from({ length: int(30) }, () => 32 + int(95)),
      ),
    () =>
      String.fromCharCode(...Array.from({ length: int(12) }, () => int(65536))),
    () =>
      Array.from(
        { length: int(6) },
        () => String.fromCodePoint(0x10000 + int(0x10000)),
      ).join(""),
  ];
  const out = [...fixed];
  while (out.length < count) out.push(makers[out.length % makers.length]());
  return out;
}

describe("MailgunRing against an independent Go implementation", {
  skip: skipWithoutGo(),
}, () => {
  const sample = keys(4000, 13);
  const peerLists: string[][][] = [
    [["http://127.0.0.1:8080"]],
    [["http://10.0.0.1:8080", "http://10.0.0.2:8080", "http://10.0.0.3:8080"]],
    [Array.from({ length: 20 }, (_, i) => `http://10.1.0.${i}:9000`)],
    [["localhost:8001", "localhost:8002"], ["localhost:8003"]], // groupcache-go v3 names
    [["ノード", "узел", "😀"], ["ノード"]],
  ];
  const rings = peerLists.flatMap((adds) =>
    [50, 3].map((replicas) => ({ replicas, adds }))
  );
  const hashInputs = [...sample.slice(0, 500), "a", "foobar"];
  let go: { owners: string[][]; hash: { md5: string; fnv1: string }[] };

  before(() => {
    const bin = buildGo("tests/go/mailgun_ring", "mailgun_ring");
    const enc = (s: string) => hex(utf8(s));
    const r = spawnSync(bin, [], {
      input: JSON.stringify({
        rings: rings.map((r) => ({
          replicas: r.replicas,
          adds: r.adds.map((nodes) => nodes.map(enc)),
          keys: sample.map(enc),
        })),
        hash: hashInputs.map(enc),
      }),
      encoding: "utf8",
      maxBuffer: 64 << 20,
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `Go helper failed: ${r.error ?? r.stderr}`);
    go = JSON.parse(r.stdout);
  });

  it(`agrees with Go's crypto/md5 and hash/fnv on ${hashInputs.length} inputs`, () => {
    hashInputs.forEach((s, i) => {
      assert.equal(md5Hex(s), go.hash[i].md5, `md5 of #${i}`);
      assert.equal(
        fnvHex(s),
        go.hash[i].fnv1.padStart(16, "0"),
        `fnv1 of #${i}`,
      );
    });
  });

  rings.forEach((r, n) => {
    const nodes = r.adds.flat();
    it(`agrees on the owner of ${sample.length} keys: ${nodes.length} nodes in ${r.adds.length} add(s), ${r.replicas} replicas`, () => {
      const ring = new MailgunRing(r.replicas);
      for (const add of r.adds) ring.add(...add);
      sample.forEach((key, i) => {
        const want = new TextDecoder().decode(unhex(go.owners[n][i]));
        assert.equal(
          ring.get(key),
          want,
          `key #${i} ${JSON.stringify(key.slice(0, 30))}`,
        );
      });
    });
  });
});
