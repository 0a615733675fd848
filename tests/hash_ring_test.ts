import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Buffer } from "node:buffer";
import { crc32 } from "../src/crc32.ts";
import { ConfigError } from "../src/errors.ts";
import { HashRing } from "../src/hash_ring.ts";
import { buildGo, skipWithoutGo } from "./_dev/go.ts";
import { seededRandom as prng } from "./_dev/random.ts";

const hex = (s: string) =>
  Buffer.from(new TextEncoder().encode(s)).toString("hex");
const unhex = (h: string) => Buffer.from(h, "hex").toString("utf8");

/**
 * Placement by the book, sharing no code with HashRing: list every point with
 * the node that wrote it last; a key goes to the smallest point >= its hash,
 * or to the smallest point of all. Linear scans, no sorting, no search.
 */
function referenceRing(
  replicas: number,
  adds: string[][],
  hash: (s: string) => number,
): (key: string) => string | undefined {
  const owner = new Map<number, string>();
  for (const nodes of adds) {
    for (const node of nodes) {
      for (let i = 0; i < replicas; i++) owner.set(hash(`${i}${node}`), node);
    }
  }
  const points = [...owner.keys()];
  return (key) => {
    if (points.length === 0) return undefined;
    const h = hash(key);
    let best = -1, lowest = Infinity;
    for (const p of points) {
      if (p >= h && (best < 0 || p < best)) best = p;
      if (p < lowest) lowest = p;
    }
    return owner.get(best >= 0 ? best : lowest);
  };
}

/** Keys of every shape a cache sees, and some it should survive. */
function variedKeys(count: number, seed: number): string[] {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const fixed = [
    "",
    " ",
    "a b",
    "a+b",
    "a%20b",
    "%2F",
    "100%",
    "/",
    "a/b/c",
    "..",
    "user:42",
    "héllo wörld",
    "日本語のキー",
    "😀",
    "🇯🇵 flag",
    "\ud800",
    "\udfff",
    "x\ud800y",
    "k".repeat(600),
    "é".repeat(3000),
    "long/" + "z".repeat(20_000) + "😀",
  ];
  const makers: (() => string)[] = [
    // printable ASCII
    () =>
      String.fromCharCode(
        ...Array.from({ length: int(40) }, () => 32 + int(95)),
      ),
    // URL-ish with the characters Go's QueryEscape cares about
    () =>
      Array.from({ length: 1 + int(12) }, () => "ab /+%?&=#:~."[int(13)]).join(
        "",
      ),
    // BMP text
    () =>
      String.fromCharCode(
        ...Array.from({ length: int(20) }, () => 0x80 + int(0xd780)),
      ),
    // astral characters mixed with ASCII
    () =>
      Array.from(
        { length: int(10) },
        () =>
          int(2) ? String.fromCodePoint(0x10000 + int(0x100000)) : "k" + int(9),
      ).join(""),
    // "random bytes as a string": any code unit, lone surrogates included
    () =>
      String.fromCharCode(...Array.from({ length: int(30) }, () => int(65536))),
    // a binary string: every char a byte value
    () =>
      String.fromCharCode(...Array.from({ length: int(30) }, () => int(256))),
    // long keys, up to 8 KiB
    () => "key-" + String(int(1e6)).repeat(1 + int(1200)),
  ];
  const keys = [...fixed];
  while (keys.length < count) keys.push(makers[keys.length % makers.length]());
  return keys;
}

function nodeList(count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `http://10.0.${i >> 8}.${i & 255}:8000`,
  );
}

describe("HashRing construction", () => {
  it("defaults to 50 replicas and crc32, like Go's HTTPPool", () => {
    const ring = new HashRing();
    assert.equal(ring.replicas, 50);
    assert.equal(ring.hash, crc32);
  });

  const badReplicas: [string, unknown][] = [
    ["zero", 0],
    ["a negative number", -1],
    ["a fraction", 1.5],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["a numeric string", "50"],
  ];
  for (const [name, replicas] of badReplicas) {
    it(`refuses ${name} as replicas with a ConfigError`, () => {
      assert.throws(
        () => new HashRing(replicas as number),
        (e: unknown) =>
          e instanceof ConfigError && e.name === "ConfigError" &&
          /replicas must be a positive integer/.test(e.message),
      );
    });
  }

  const badHashes: [string, unknown][] = [
    ["null", null],
    ["a number", 42],
    ["a string", "crc32"],
  ];
  for (const [name, hash] of badHashes) {
    it(`refuses ${name} as the hash with a ConfigError`, () => {
      assert.throws(
        () => new HashRing(50, hash as (s: string) => number),
        (e: unknown) =>
          e instanceof ConfigError && /hash must be a function/.test(e.message),
      );
    });
  }
});

describe("HashRing placement", () => {
  it("is empty and owns nothing before any add", () => {
    const ring = new HashRing();
    assert.equal(ring.isEmpty(), true);
    assert.equal(ring.get("k"), undefined);
    assert.deepEqual(ring.nodes, []);
  });

  it("stays empty after adding no nodes", () => {
    const ring = new HashRing();
    ring.add();
    assert.equal(ring.isEmpty(), true);
    assert.equal(ring.get("k"), undefined);
  });

  it("gives every key to the only node", () => {
    const ring = new HashRing();
    ring.add("http://solo:8000");
    assert.equal(ring.isEmpty(), false);
    for (const key of variedKeys(500, 1)) {
      assert.equal(ring.get(key), "http://solo:8000");
    }
  });

  // Go's own TestHashing: the hash reads the string as a decimal number, so
  // nodes "6", "4", "2" with 3 replicas sit at 2, 4, 6, 12, 14, 16, 22, 24, 26.
  const atoi = (s: string) => Number.parseInt(s, 10);
  const goCases: [string, string, string][] = [
    ["2", "2", "2"],
    ["11", "2", "2"],
    ["23", "4", "4"],
    ["27", "2", "8"],
  ];
  for (const [key, before8, after8] of goCases) {
    it(`puts key ${key} on node ${before8}, then on ${after8} once 8 joins (Go's TestHashing)`, () => {
      const ring = new HashRing(3, atoi);
      ring.add("6", "4", "2");
      assert.equal(ring.get(key), before8);
      ring.add("8");
      assert.equal(ring.get(key), after8);
    });
  }

  it("wraps past the highest point to the lowest", () => {
    const ring = new HashRing(1, atoi);
    ring.add("10", "20");
    assert.equal(ring.get("5"), "10");
    assert.equal(ring.get("10"), "10");
    assert.equal(ring.get("11"), "20");
    assert.equal(ring.get("21"), "10");
    assert.equal(ring.get(String(2 ** 32 - 1)), "10");
  });

  it("finds points at both ends of the 32-bit range", () => {
    const ring = new HashRing(1, atoi);
    ring.add(String(2 ** 32 - 1), "0"); // points "0…" → 2^32-1 and "00" → 0
    assert.equal(ring.get("0"), "0");
    assert.equal(ring.get("1"), String(2 ** 32 - 1));
    assert.equal(ring.get(String(2 ** 31)), String(2 ** 32 - 1));
    assert.equal(ring.get(String(2 ** 32 - 1)), String(2 ** 32 - 1));
  });

  it("agrees with itself whatever the order of the nodes (Go's TestConsistency)", () => {
    const a = new HashRing(1), b = new HashRing(1);
    a.add("Bill", "Bob", "Bonny");
    b.add("Bob", "Bonny", "Bill");
    assert.equal(a.get("Ben"), b.get("Ben"));
    b.add("Becky", "Ben", "Bobby");
    for (const key of ["Ben", "Bob", "Bonny"]) {
      assert.equal(a.get(key), b.get(key), key);
    }
  });

  const sizes: [number, number][] = [
    [1, 1],
    [2, 1],
    [7, 1],
    [1, 50],
    [3, 50],
    [10, 3],
    [1000, 50],
  ];
  for (const [count, replicas] of sizes) {
    it(`places keys like the reference on ${count} nodes × ${replicas} replicas`, () => {
      const nodes = nodeList(count);
      const ring = new HashRing(replicas);
      ring.add(...nodes);
      const reference = referenceRing(replicas, [nodes], crc32);
      for (const key of variedKeys(2000, count)) {
        assert.equal(
          ring.get(key),
          reference(key),
          `key ${JSON.stringify(key.slice(0, 40))}`,
        );
      }
    });
  }

  it("spreads keys over all of 1,000 nodes", () => {
    const nodes = nodeList(1000);
    const ring = new HashRing();
    ring.add(...nodes);
    const owners = new Set<string | undefined>();
    for (let i = 0; i < 100_000; i++) owners.add(ring.get(`key:${i}`));
    assert.equal(owners.has(undefined), false);
    assert.ok(owners.size > 990, `only ${owners.size} nodes own a key`);
  });

  it("reads a signed 32-bit hash as its unsigned value", () => {
    const unsigned = new HashRing(),
      signed = new HashRing(50, (s) => crc32(s) | 0);
    const nodes = nodeList(10);
    unsigned.add(...nodes);
    signed.add(...nodes);
    for (const key of variedKeys(500, 2)) {
      assert.equal(signed.get(key), unsigned.get(key));
    }
  });
});

describe("HashRing collisions and repeated adds", () => {
  const constant = () => 7;

  it("gives a shared point to the node added later, in one add", () => {
    const ring = new HashRing(3, constant);
    ring.add("a", "b");
    assert.equal(ring.get("anything"), "b");
  });

  it("gives a shared point to the node added later, across adds", () => {
    const ring = new HashRing(3, constant);
    ring.add("b");
    ring.add("a");
    assert.equal(ring.get("anything"), "a");
  });

  it("lets a node re-added later take its points back", () => {
    const ring = new HashRing(3, constant);
    ring.add("a", "b");
    ring.add("a");
    assert.equal(ring.get("anything"), "a");
    assert.deepEqual(ring.nodes, ["a", "b"]);
  });

  it("changes nothing when the same nodes are added again", () => {
    const nodes = nodeList(10);
    const once = new HashRing(), twice = new HashRing();
    once.add(...nodes);
    twice.add(...nodes);
    twice.add(...nodes);
    for (const key of variedKeys(1000, 3)) {
      assert.equal(twice.get(key), once.get(key));
    }
  });

  const shared: [string[], string][] = [[["a", "1a"], "1a"], [
    ["1a", "a"],
    "a",
  ]];
  for (const [order, owner] of shared) {
    it(`gives the point of "11a", made by both "a" (i=11) and "1a" (i=1), to ${owner} when added ${order.join(", ")}`, () => {
      const ring = new HashRing(12);
      ring.add(...order);
      // The key "11a" hashes exactly onto the shared point.
      assert.equal(ring.get("11a"), owner);
    });
  }

  it("matches the reference under heavy collisions (hash masked to 8 bits)", () => {
    const masked = (s: string) => crc32(s) & 0xff;
    const adds = [nodeList(3), ["http://late:1"], nodeList(2)];
    const ring = new HashRing(50, masked);
    for (const nodes of adds) ring.add(...nodes);
    const reference = referenceRing(50, adds, masked);
    for (const key of variedKeys(1000, 4)) {
      assert.equal(ring.get(key), reference(key));
    }
  });
});

describe("HashRing nodes and misuse", () => {
  it("lists nodes once each, in the order first added, frozen", () => {
    const ring = new HashRing();
    ring.add("b", "a", "b");
    ring.add("c", "a");
    assert.deepEqual(ring.nodes, ["b", "a", "c"]);
    assert.equal(Object.isFrozen(ring.nodes), true);
  });

  it("accepts the empty string as a node name, as Go does", () => {
    const ring = new HashRing();
    ring.add("");
    assert.equal(ring.get("k"), "");
    assert.equal(ring.isEmpty(), false);
  });

  const badHashResults: [string, unknown][] = [
    ["a fraction", 1.5],
    ["NaN", NaN],
    ["2^32", 2 ** 32],
    ["a string", "7"],
    ["a promise", Promise.resolve(7)],
  ];
  for (const [name, value] of badHashResults) {
    it(`refuses a hash that returns ${name}, leaving the ring unchanged`, () => {
      let calls = 0;
      const ring = new HashRing(3, () => (calls++ < 3 ? 5 : value) as number);
      ring.add("first");
      assert.throws(
        () => ring.add("second"),
        (e: unknown) =>
          e instanceof TypeError && /32-bit integer/.test(e.message),
      );
      assert.deepEqual(ring.nodes, ["first"]);
      assert.equal(ring.get("k"), "first");
    });
  }

  it("refuses a node that is not a string, leaving the ring unchanged", () => {
    const ring = new HashRing();
    assert.throws(
      () => ring.add("ok", 42 as unknown as string),
      (e: unknown) =>
        e instanceof TypeError && /must be strings/.test(e.message),
    );
    assert.equal(ring.isEmpty(), true);
    assert.deepEqual(ring.nodes, []);
  });
});

describe("HashRing against Go's consistenthash.Map", {
  skip: skipWithoutGo(),
}, () => {
  interface Ring {
    replicas: number;
    mask: number;
    adds: string[][];
    keys: string[];
  }
  const rings: Ring[] = [];
  const keys = variedKeys(3000, 42);
  for (const count of [1, 3, 10, 100]) {
    for (const replicas of [50, 3]) {
      rings.push({ replicas, mask: 0, adds: [nodeList(count)], keys });
    }
  }
  // Unicode node names, names that collide by construction ("a"/"1a"/"11a"
  // at replica indexes 11/1/0...), repeated adds, and forced collisions.
  rings.push({
    replicas: 50,
    mask: 0,
    adds: [["ノード-1", "узел-2", "😀-3"], ["a", "1a", "11a"], ["a"]],
    keys,
  });
  rings.push({
    replicas: 50,
    mask: 0xff,
    adds: [nodeList(3), ["http://late:1"], nodeList(2), ["http://late:1"]],
    keys,
  });
  rings.push({
    replicas: 3,
    mask: 0xf,
    adds: [["x", "y"], ["z"], ["x"]],
    keys,
  });
  let goOwners: string[][] = [];

  before(() => {
    const bin = buildGo("tests/go/ring", "ring");
    const request = {
      rings: rings.map((r) => ({
        replicas: r.replicas,
        mask: r.mask,
        adds: r.adds.map((nodes) => nodes.map(hex)),
        keys: r.keys.map(hex),
      })),
      crc: [],
    };
    const r = spawnSync(bin, [], {
      input: JSON.stringify(request),
      encoding: "utf8",
      maxBuffer: 64 << 20,
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `Go helper failed: ${r.error ?? r.stderr}`);
    goOwners = JSON.parse(r.stdout).owners.map((o: string[]) => o.map(unhex));
  });

  rings.forEach((r, n) => {
    const nodes = r.adds.flat().length;
    const what = r.mask
      ? `${r.adds.length} adds with the hash masked to ${r.mask}`
      : `${nodes} nodes in ${r.adds.length} add(s)`;
    it(`agrees on the owner of ${r.keys.length} keys: ${what}, ${r.replicas} replicas`, () => {
      const ring = new HashRing(
        r.replicas,
        r.mask ? (s) => crc32(s) & r.mask : crc32,
      );
      for (const add of r.adds) ring.add(...add);
      assert.equal(goOwners[n].length, r.keys.length);
      r.keys.forEach((key, i) => {
        assert.equal(
          ring.get(key),
          goOwners[n][i],
          `key #${i} ${JSON.stringify(key.slice(0, 40))}`,
        );
      });
    });
  });
});
