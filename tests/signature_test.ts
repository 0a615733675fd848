// The peer signature's MAC (src/hmac_sha256.ts): RFC 4231's HMAC-SHA-256
// vectors, and the same MAC as crypto.subtle for keys and messages of every
// length around the block boundaries; and what PeerSigner signs and refuses.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HmacSha256 } from "../src/hmac_sha256.ts";
import { PeerSigner } from "../src/signature.ts";
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

describe("PeerSigner", () => {
  const secret = "a secret of sixteen+ chars";
  const macOf = async (message: Uint8Array<ArrayBuffer>) => {
    const key = await crypto.subtle.importKey(
      "raw",
      text(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    return hex(new Uint8Array(await crypto.subtle.sign("HMAC", key, message)));
  };

  it("signs method, path, time and body as documented, ASCII or not", async () => {
    const signer = new PeerSigner([secret]);
    const body = text("the body");
    const cases: [string, string, Uint8Array | undefined][] = [
      ["GET", "/_groupcache/g/k", undefined],
      ["PUT", "/_groupcache/g/k", body],
      ["GET", "/_groupcache/g/é€😀", undefined],
      ["PUT", "/_groupcache/g/\ud800 lone", body],
      ["GET", `/_groupcache/g/${"k".repeat(300)}`, undefined],
    ];
    for (const [method, path, content] of cases) {
      const header = signer.sign(method, path, content, 1_234_567);
      const head = text(`${method}\n${path}\n1234567\n`);
      const message = new Uint8Array(head.length + (content?.length ?? 0));
      message.set(head);
      if (content) message.set(content, head.length);
      assert.equal(header, `1234567.${await macOf(message)}`, path);
      assert.equal(
        signer.verify(method, path, header, content, 1_234_567),
        "ok",
        path,
      );
    }
  });

  it("calls a MAC that is not 64 lower-case hex digits malformed", () => {
    const signer = new PeerSigner([secret]);
    const good = signer.sign("GET", "/p", undefined, 5_000);
    const mac = good.slice(good.indexOf(".") + 1);
    const cases: [string, string][] = [
      ["upper case", `5000.${mac.toUpperCase()}`],
      ["a non-hex letter", `5000.g${mac.slice(1)}`],
      ["a non-ASCII digit", `5000.\u0660${mac.slice(1)}`],
      ["one digit short", `5000.${mac.slice(1)}`],
      ["one digit long", `5000.${mac}0`],
      ["no time", `.${mac}`],
      ["a time that is not digits", `5e3.${mac}`],
    ];
    for (const [name, header] of cases) {
      assert.equal(
        signer.verify("GET", "/p", header, undefined, 5_000),
        "malformed",
        name,
      );
    }
    assert.equal(signer.verify("GET", "/p", good, undefined, 5_000), "ok");
  });

  it("accepts any of its secrets and refuses a MAC one bit off", () => {
    const old = new PeerSigner(["the old secret, rotated"]);
    const both = new PeerSigner(["the new secret, signing", secret]);
    const header = old.sign("GET", "/p", undefined, 9_000);
    assert.equal(both.verify("GET", "/p", header, undefined, 9_000), "bad");
    const rotated = new PeerSigner([secret]).sign(
      "GET",
      "/p",
      undefined,
      9_000,
    );
    assert.equal(both.verify("GET", "/p", rotated, undefined, 9_000), "ok");
    const last = rotated.at(-1) === "0" ? "1" : "0";
    assert.equal(
      both.verify("GET", "/p", rotated.slice(0, -1) + last, undefined, 9_000),
      "bad",
    );
  });
});
