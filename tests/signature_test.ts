// The peer signature's MAC (src/hmac_sha256.ts): RFC 4231's HMAC-SHA-256
// vectors, and the same MAC as crypto.subtle for keys and messages of every
// length around the block boundaries.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HmacSha256 } from "../src/hmac_sha256.ts";
import { seededRandom } from "./_dev/random.ts";

const hex = (b: Uint8Array) =>
  [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const text = (s: string) => new TextEncoder().encode(s);

describe("HmacSha256", () => {
  it("matches RFC 4231's test cases 1, 2, 6 and 7", () => {
    const cases: [Uint8Array, Uint8Array, string][] = [
      [
        new Uint8Array(20).fill(0x0b),
        text("Hi There"),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      ],
      [
        text("Jefe"),
        text("what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      ],
      [
        new Uint8Array(131).fill(0xaa),
        text("Test Using Larger Than Block-Size Key - Hash Key First"),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
      ],
      [
        new Uint8Array(131).fill(0xaa),
        text(
          "This is a test using a larger than block-size key and a larger " +
            "than block-size data. The key needs to be hashed before being " +
            "used by the HMAC algorithm.",
        ),
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
      ],
    ];
    for (const [key, data, mac] of cases) {
      assert.equal(hex(new HmacSha256(key).mac(data)), mac);
    }
  });

  it("computes what crypto.subtle computes", async () => {
    const random = seededRandom(4231);
    const bytes = (n: number) =>
      Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    for (const keyLength of [1, 16, 32, 63, 64, 65, 200]) {
      const key = bytes(keyLength);
      const ours = new HmacSha256(key);
      const theirs = await crypto.subtle.importKey(
        "raw",
        key,
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000]) {
        const data = bytes(length);
        const want = new Uint8Array(
          await crypto.subtle.sign("HMAC", theirs, data),
        );
        assert.equal(hex(ours.mac(data)), hex(want), `${keyLength}/${length}`);
      }
    }
  });
});
