import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LruCache } from "../src/lru.ts";
import { ConfigError } from "../src/errors.ts";
import { seededRandom as mulberry32 } from "./_dev/random.ts";

type Op =
  | ["add", string, number]
  | ["get", string]
  | ["peek", string]
  | ["has", string]
  | ["remove", string]
  | ["removeOldest"]
  | ["clear"];

/** A cache that records what it passes to onEvicted. */
function recording<K = string, V = number>(maxEntries = 0) {
  const evicted: [K, V][] = [];
  const cache = new LruCache<K, V>({
    maxEntries,
    onEvicted: (k, v) => evicted.push([k, v]),
  });
  return { cache, evicted };
}

function apply(cache: LruCache<string, number>, op: Op): unknown {
  switch (op[0]) {
    case "add":
      return cache.add(op[1], op[2]);
    case "get":
      return cache.get(op[1]);
    case "peek":
      return cache.peek(op[1]);
    case "has":
      return cache.has(op[1]);
    case "remove":
      return cache.remove(op[1]);
    case "removeOldest":
      return cache.removeOldest();
    case "clear":
      return cache.clear();
  }
}

/** Checks that the list reads the same both ways and agrees with size/has. */
function assertConsistent<K, V>(cache: LruCache<K, V>): void {
  const forward = [...cache.entries()];
  const backward = [...cache.entries({ newestFirst: true })];
  assert.equal(forward.length, cache.size, "oldest-first walk covers size");
  assert.deepEqual(backward, forward.slice().reverse());
  for (const [k, v] of forward) {
    assert.equal(cache.has(k), true);
    assert.equal(cache.peek(k), v);
  }
  assert.deepEqual(cache.oldest(), forward[0]);
  assert.deepEqual(cache.newest(), forward.at(-1));
}

describe("LruCache options", () => {
  const bad: [string, unknown, RegExp][] = [
    ["a negative maxEntries", { maxEntries: -1 }, /maxEntries.*got -1/],
    ["a fractional maxEntries", { maxEntries: 1.5 }, /maxEntries.*got 1.5/],
    ["a NaN maxEntries", { maxEntries: NaN }, /maxEntries.*got NaN/],
    [
      "an infinite maxEntries (0 means unbounded)",
      { maxEntries: Infinity },
      /0 \(unbounded\).*got Infinity/,
    ],
    ["a string maxEntries", { maxEntries: "10" }, /maxEntries.*got "10"/],
    ["a maxEntries beyond 2^31-2", { maxEntries: 2 ** 31 }, /maxEntries/],
    ["a non-function onEvicted", { onEvicted: "log" }, /onEvicted.*"log"/],
    ["null options", null, /options must be an object.*got null/],
    ["a number as options", 5, /options must be an object.*got 5/],
  ];
  for (const [what, options, message] of bad) {
    it(`rejects ${what} with a ConfigError`, () => {
      assert.throws(
        // deno-lint-ignore no-explicit-any
        () => new LruCache(options as any),
        (err: unknown) =>
          err instanceof ConfigError && err.name === "ConfigError" &&
          message.test(err.message),
      );
    });
  }

  const good: [string, LruCacheArg, number][] = [
    ["no options", undefined, 0],
    ["empty options", {}, 0],
    ["maxEntries 0", { maxEntries: 0 }, 0],
    ["maxEntries 1", { maxEntries: 1 }, 1],
    ["maxEntries 2^31-2", { maxEntries: 2 ** 31 - 2 }, 2 ** 31 - 2],
  ];
  for (const [what, options, max] of good) {
    it(`accepts ${what}`, () => {
      const cache = new LruCache(options);
      assert.equal(cache.maxEntries, max);
      assert.equal(cache.size, 0);
    });
  }
});
type LruCacheArg = ConstructorParameters<typeof LruCache>[0];

describe("LruCache operations", () => {
  const cases: {
    name: string;
    maxEntries: number;
    ops: Op[];
    results?: unknown[];
    keys: string[];
    evicted: [string, number][];
  }[] = [
    {
      name: "evicts the oldest entry when maxEntries is exceeded",
      maxEntries: 2,
      ops: [["add", "a", 1], ["add", "b", 2], ["add", "c", 3]],
      keys: ["b", "c"],
      evicted: [["a", 1]],
    },
    {
      name: "evicts in insertion order when nothing is read",
      maxEntries: 1,
      ops: [["add", "a", 1], ["add", "b", 2], ["add", "c", 3]],
      keys: ["c"],
      evicted: [["a", 1], ["b", 2]],
    },
    {
      name: "never evicts when maxEntries is 0",
      maxEntries: 0,
      ops: [["add", "a", 1], ["add", "b", 2], ["add", "c", 3]],
      keys: ["a", "b", "c"],
      evicted: [],
    },
    {
      name: "replaces without onEvicted, keeps the size and moves to newest",
      maxEntries: 3,
      ops: [["add", "a", 1], ["add", "b", 2], ["add", "a", 10]],
      results: [undefined, undefined, 1],
      keys: ["b", "a"],
      evicted: [],
    },
    {
      name: "evicts a replaced entry only after older ones",
      maxEntries: 2,
      ops: [["add", "a", 1], ["add", "b", 2], ["add", "a", 3], [
        "add",
        "c",
        4,
      ]],
      keys: ["a", "c"],
      evicted: [["b", 2]],
    },
    {
      name: "refreshes an entry on get",
      maxEntries: 2,
      ops: [["add", "a", 1], ["add", "b", 2], ["get", "a"], ["add", "c", 3]],
      results: [undefined, undefined, 1, undefined],
      keys: ["a", "c"],
      evicted: [["b", 2]],
    },
    {
      name: "does not refresh an entry on peek or has",
      maxEntries: 2,
      ops: [
        ["add", "a", 1],
        ["add", "b", 2],
        ["peek", "a"],
        ["has", "a"],
        ["add", "c", 3],
      ],
      results: [undefined, undefined, 1, true, undefined],
      keys: ["b", "c"],
      evicted: [["a", 1]],
    },
    {
      name: "answers misses with undefined and false",
      maxEntries: 2,
      ops: [["get", "x"], ["peek", "x"], ["has", "x"], ["remove", "x"], [
        "removeOldest",
      ]],
      results: [undefined, undefined, false, false, undefined],
      keys: [],
      evicted: [],
    },
    {
      name: "calls onEvicted from remove and reports whether the key was there",
      maxEntries: 0,
      ops: [["add", "a", 1], ["add", "b", 2], ["remove", "a"], [
        "remove",
        "a",
      ]],
      results: [undefined, undefined, true, false],
      keys: ["b"],
      evicted: [["a", 1]],
    },
    {
      name: "calls onEvicted from removeOldest and returns the pair",
      maxEntries: 0,
      ops: [["add", "a", 1], ["add", "b", 2], ["get", "a"], ["removeOldest"]],
      results: [undefined, undefined, 1, ["b", 2]],
      keys: ["a"],
      evicted: [["b", 2]],
    },
    {
      name: "calls onEvicted from clear for every entry, oldest first",
      maxEntries: 3,
      ops: [
        ["add", "a", 1],
        ["add", "b", 2],
        ["add", "c", 3],
        ["get", "a"],
        ["clear"],
      ],
      keys: [],
      evicted: [["b", 2], ["c", 3], ["a", 1]],
    },
    {
      name: "works again after clear",
      maxEntries: 2,
      ops: [
        ["add", "a", 1],
        ["clear"],
        ["add", "b", 2],
        ["add", "c", 3],
        ["add", "d", 4],
      ],
      keys: ["c", "d"],
      evicted: [["a", 1], ["b", 2]],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { cache, evicted } = recording(c.maxEntries);
      const results = c.ops.map((op) => apply(cache, op));
      if (c.results) assert.deepEqual(results, c.results);
      assert.deepEqual([...cache.keys()], c.keys);
      assert.deepEqual(evicted, c.evicted);
      assert.equal(cache.size, c.keys.length);
      assertConsistent(cache);
    });
  }
});

describe("LruCache iteration", () => {
  function abc(): LruCache<string, number> {
    const cache = new LruCache<string, number>();
    cache.add("a", 1);
    cache.add("b", 2);
    cache.add("c", 3);
    cache.get("a"); // order now b, c, a
    return cache;
  }
  const cases: [
    string,
    (c: LruCache<string, number>) => unknown[],
    unknown[],
  ][] = [
    ["entries() walks oldest first", (c) => [...c.entries()], [
      ["b", 2],
      ["c", 3],
      ["a", 1],
    ]],
    [
      "entries({ newestFirst: true }) walks newest first",
      (c) => [...c.entries({ newestFirst: true })],
      [["a", 1], ["c", 3], ["b", 2]],
    ],
    ["keys() walks oldest first", (c) => [...c.keys()], ["b", "c", "a"]],
    [
      "keys({ newestFirst: true }) walks newest first",
      (c) => [...c.keys({ newestFirst: true })],
      ["a", "c", "b"],
    ],
    ["values() walks oldest first", (c) => [...c.values()], [2, 3, 1]],
    [
      "values({ newestFirst: true }) walks newest first",
      (c) => [...c.values({ newestFirst: true })],
      [1, 3, 2],
    ],
    ["for-of walks the entries oldest first", (c) => [...c], [
      ["b", 2],
      ["c", 3],
      ["a", 1],
    ]],
    ["oldest() peeks the least recently used pair", (c) => [c.oldest()], [[
      "b",
      2,
    ]]],
    ["newest() peeks the most recently used pair", (c) => [c.newest()], [[
      "a",
      1,
    ]]],
  ];
  for (const [name, walk, expected] of cases) {
    it(name, () => {
      const cache = abc();
      assert.deepEqual(walk(cache), expected);
      // Walking does not refresh anything.
      assert.deepEqual([...cache.keys()], ["b", "c", "a"]);
    });
  }

  it("yields nothing and peeks undefined when empty", () => {
    const cache = new LruCache<string, number>();
    assert.deepEqual([...cache], []);
    assert.deepEqual([...cache.keys({ newestFirst: true })], []);
    assert.equal(cache.oldest(), undefined);
    assert.equal(cache.newest(), undefined);
  });

  const mutations: [
    string,
    (c: LruCache<string, number>, k: string) => void,
    string[],
  ][] = [
    ["refreshing the visited entry", (c, k) => c.get(k), ["b", "c", "a"]],
    ["replacing the visited entry", (c, k) => c.add(k, 0), ["b", "c", "a"]],
    ["removing the visited entry", (c, k) => c.remove(k), ["b", "c", "a"]],
    [
      "refreshing every entry but the visited one",
      (c, k) => {
        for (const other of ["a", "b", "c"]) if (other !== k) c.get(other);
      },
      ["b", "c"],
    ],
    ["clearing the cache", (c) => c.clear(), ["b"]],
  ];
  for (const [name, mutate, visited] of mutations) {
    it(`survives ${name} while walking and never loops forever`, () => {
      const cache = abc();
      const seen: string[] = [];
      for (const key of cache.keys()) {
        seen.push(key);
        mutate(cache, key);
        assert.ok(seen.length <= 3, "visits at most the starting size");
      }
      assert.deepEqual(seen, visited);
      assertConsistent(cache);
    });
  }

  it("stops a walk whose next entry was removed meanwhile", () => {
    const cache = abc(); // b, c, a
    const seen: string[] = [];
    for (const key of cache.keys()) {
      seen.push(key);
      if (key === "b") cache.remove("c");
    }
    assert.deepEqual(seen, ["b"]);
    assertConsistent(cache);
  });
});

describe("LruCache onEvicted re-entrancy", () => {
  it("lets onEvicted re-add the evicted key during add", () => {
    const log: string[] = [];
    const cache: LruCache<string, number> = new LruCache({
      maxEntries: 2,
      onEvicted: (k, v) => {
        log.push(k);
        if (k === "a") cache.add("a", v + 100); // evicts "b" in turn
      },
    });
    cache.add("a", 1);
    cache.add("b", 2);
    cache.add("c", 3); // evicts a, which re-adds a and evicts b
    assert.deepEqual(log, ["a", "b"]);
    assert.deepEqual([...cache], [["c", 3], ["a", 101]]);
    assertConsistent(cache);
  });

  it("lets onEvicted remove other entries during removeOldest", () => {
    const evicted: string[] = [];
    const chained: LruCache<string, number> = new LruCache({
      onEvicted: (k) => {
        evicted.push(k);
        if (k === "a") chained.remove("c");
      },
    });
    for (const [k, v] of [["a", 1], ["b", 2], ["c", 3], ["d", 4]] as const) {
      chained.add(k, v);
    }
    assert.deepEqual(chained.removeOldest(), ["a", 1]);
    assert.deepEqual(evicted, ["a", "c"]);
    assert.deepEqual([...chained.keys()], ["b", "d"]);
    assertConsistent(chained);
  });

  it("keeps what onEvicted adds during clear", () => {
    const cache: LruCache<string, number> = new LruCache({
      onEvicted: (k, v) => {
        if (k !== "z") cache.add(`${k}2`, v * 2);
      },
    });
    cache.add("a", 1);
    cache.add("b", 2);
    cache.clear();
    assert.deepEqual([...cache], [["a2", 2], ["b2", 4]]);
    assertConsistent(cache);
  });

  it("lets onEvicted clear the cache during an eviction", () => {
    const cache: LruCache<string, number> = new LruCache({
      maxEntries: 2,
      onEvicted: (k) => {
        if (k === "a") cache.clear();
      },
    });
    cache.add("a", 1);
    cache.add("b", 2);
    cache.add("c", 3);
    assert.equal(cache.size, 0);
    cache.add("d", 4);
    assert.deepEqual([...cache], [["d", 4]]);
    assertConsistent(cache);
  });
});

describe("LruCache keys and values", () => {
  const keys: [string, unknown[]][] = [
    ["object-property names", ["__proto__", "constructor", "toString"]],
    ["numeric strings", ["0", "1", "4294967295", "-1", "1e3"]],
    ["numbers distinct from their strings", [1, "1", 2, "2"]],
    ["0 and -0 as one key (SameValueZero)", [0, -0]],
    ["NaN", [NaN, NaN]],
    ["objects by identity", [{}, {}, [], []]],
    ["undefined, null, booleans and symbols", [
      undefined,
      null,
      true,
      false,
      Symbol.for("s"),
    ]],
    ["the empty string and unicode", ["", "ключ", "🔑", "a b+c/d"]],
  ];
  for (const [what, list] of keys) {
    it(`treats ${what} as Map does`, () => {
      const cache = new LruCache<unknown, number>();
      const model = new Map<unknown, number>();
      list.forEach((k, i) => {
        assert.equal(cache.add(k, i), model.get(k));
        model.delete(k);
        model.set(k, i);
      });
      assert.equal(cache.size, model.size);
      assert.deepEqual([...cache], [...model]);
      for (const k of list) {
        assert.equal(cache.has(k), true);
        assert.equal(cache.get(k), model.get(k));
      }
      for (const k of model.keys()) assert.equal(cache.remove(k), true);
      assert.equal(cache.size, 0);
      assert.equal(cache.has("__proto__"), false);
    });
  }

  it("stores undefined as a value, told apart by has", () => {
    const cache = new LruCache<string, undefined>();
    cache.add("k", undefined);
    assert.equal(cache.has("k"), true);
    assert.equal(cache.get("k"), undefined);
    assert.equal(cache.size, 1);
  });
});

describe("LruCache values", () => {
  // Integer values live in the list's rows until another kind arrives
  // (src/lru.ts): each must come back as it was given, before and after.
  const others: [string, unknown][] = [
    ["-0", -0],
    ["a fraction", 0.5],
    ["2 ** 31", 2 ** 31],
    ["-(2 ** 31) - 1", -(2 ** 31) - 1],
    ["NaN", NaN],
    ["a numeric string", "1"],
    ["null", null],
    ["undefined", undefined],
    ["an object", { n: 1 }],
  ];
  for (const [what, odd] of others) {
    it(`keeps every value when ${what} follows 32-bit integers`, () => {
      const { cache, evicted } = recording<string, unknown>(3);
      cache.add("a", 1);
      cache.add("b", -(2 ** 31));
      cache.add("c", 2 ** 31 - 1);
      cache.remove("a"); // a free slot among the rows
      assert.equal(cache.add("d", odd), undefined);
      assert.deepEqual([...cache], [["b", -(2 ** 31)], ["c", 2 ** 31 - 1], [
        "d",
        odd,
      ]]);
      assert.ok(Object.is(cache.get("d"), odd));
      assert.equal(cache.add("c", 7), 2 ** 31 - 1);
      cache.add("e", 8); // full: evicts "b"
      assert.deepEqual(evicted, [["a", 1], ["b", -(2 ** 31)]]);
      assert.deepEqual([...cache.values()], [odd, 7, 8]);
      assertConsistent(cache);
      cache.clear(); // back to integers in the rows
      cache.add("f", 9);
      cache.add("g", odd);
      assert.deepEqual([...cache], [["f", 9], ["g", odd]]);
      assert.deepEqual(evicted.slice(2), [["d", odd], ["c", 7], ["e", 8]]);
    });
  }

  it("reports the values of a cache of integers on clear", () => {
    const { cache, evicted } = recording<string, number>();
    for (let i = 0; i < 100; i++) cache.add(`k${i}`, i - 50);
    cache.get("k0");
    cache.clear();
    assert.deepEqual(evicted.map(([, v]) => v), [
      ...Array.from({ length: 99 }, (_, i) => i - 49),
      -50,
    ]);
  });
});

describe("LruCache string index", () => {
  /** A copy of `s` built char by char: equal content, another string. */
  const rebuilt = (s: string) =>
    Array.from({ length: s.length }, (_, i) => s[i]).join("");
  const odd = [
    "",
    "a",
    "ab",
    "abc",
    "\u0000",
    "\u0000\u0000",
    "\u0001",
    "\u0100", // differs from "\u0000" only in the high byte of the unit
    "\u0001\u0000",
    "\u0000\u0001",
    "\ud800", // a lone surrogate
    "\udc00\ud800",
    "x".repeat(10_000),
    "x".repeat(9_999) + "y",
    "y" + "x".repeat(9_999),
    "key:1" + "0".repeat(50),
    "key:1" + "0".repeat(51),
  ];

  it("finds a key by its content, however the string was built", () => {
    const cache = new LruCache<string, number>();
    odd.forEach((k, i) => cache.add(k, i));
    for (let i = 0; i < 2000; i++) cache.add("key:" + i, i);
    assert.equal(cache.size, odd.length + 2000);
    odd.forEach((k, i) => {
      assert.equal(cache.get(rebuilt(k)), i, JSON.stringify(k.slice(0, 8)));
    });
    for (let i = 0; i < 2000; i++) {
      assert.equal(cache.peek(`key:${i}`), i);
      assert.equal(cache.has("key:" + (i + 2000)), false);
    }
    // Replacing by a rebuilt copy replaces, and removing one removes.
    assert.equal(cache.add(rebuilt("x".repeat(10_000)), -1), 12);
    assert.equal(cache.remove(rebuilt("\ud800")), true);
    assert.equal(cache.has("\ud800"), false);
    assert.equal(cache.size, odd.length + 1999);
  });

  it("keeps every other key findable while removing in random order", () => {
    const rng = mulberry32(8);
    const cache = new LruCache<string, number>();
    const live = new Set<number>();
    for (let i = 0; i < 4000; i++) {
      cache.add(`k${i}`, i);
      live.add(i);
    }
    const order = [...live].sort(() => rng() - 0.5);
    for (const [n, i] of order.entries()) {
      assert.equal(cache.remove(`k${i}`), true);
      live.delete(i);
      if (n % 400 === 0) {
        for (let j = 0; j < 4000; j++) {
          assert.equal(cache.peek("k" + j), live.has(j) ? j : undefined);
        }
      }
    }
    assert.equal(cache.size, 0);
  });

  it("hands a slot between string and other keys on eviction", () => {
    const { cache, evicted } = recording<unknown, number>(3);
    const keys = ["a", 1, "b", 2, "c", 3, "a", 1, Symbol.for("d"), "e"];
    keys.forEach((k, i) => cache.add(k, i));
    assert.deepEqual([...cache.keys()], [1, Symbol.for("d"), "e"]);
    assert.deepEqual(evicted.map(([k]) => k), [
      "a",
      1,
      "b",
      2,
      "c",
      3,
      "a",
    ]);
    for (const k of ["a", "b", "c", 2, 3]) assert.equal(cache.has(k), false);
    assert.equal(cache.get("e"), 9);
    assertConsistent(cache);
  });
});

describe("LruCache slot reuse", () => {
  for (const maxEntries of [0, 1, 7, 1000]) {
    const name = "stays consistent over many add/remove cycles " +
      `with maxEntries ${maxEntries}`;
    it(name, () => {
      const { cache, evicted } = recording(maxEntries);
      let live = 0;
      for (let round = 0; round < 50; round++) {
        for (let i = 0; i < 200; i++) cache.add(`r${round}k${i}`, i);
        live = maxEntries === 0 ? 200 : Math.min(200, maxEntries);
        assert.equal(cache.size, live);
        // Remove every other entry, then the rest oldest first.
        for (const [k] of [...cache].filter((_, i) => i % 2 === 0)) {
          assert.equal(cache.remove(k), true);
        }
        assertConsistent(cache);
        while (cache.removeOldest() !== undefined);
        assert.equal(cache.size, 0);
      }
      const adds = 50 * 200;
      assert.equal(evicted.length, adds, "every entry left through onEvicted");
    });
  }
});

/** The reference model: a Map in recency order (oldest first). */
class ModelLru<K, V> {
  map = new Map<K, V>();
  readonly max: number;
  readonly evicted: [K, V][];
  constructor(max: number, evicted: [K, V][]) {
    this.max = max;
    this.evicted = evicted;
  }
  add(k: K, v: V): V | undefined {
    const old = this.map.get(k);
    const had = this.map.has(k);
    this.map.delete(k);
    this.map.set(k, v);
    if (!had && this.max !== 0 && this.map.size > this.max) this.removeOldest();
    return old;
  }
  get(k: K): V | undefined {
    if (!this.map.has(k)) return undefined;
    const v = this.map.get(k)!;
    this.map.delete(k);
    this.map.set(k, v);
    return v;
  }
  remove(k: K): boolean {
    if (!this.map.has(k)) return false;
    const v = this.map.get(k)!;
    this.map.delete(k);
    this.evicted.push([k, v]);
    return true;
  }
  removeOldest(): [K, V] | undefined {
    const first = this.map.entries().next();
    if (first.done) return undefined;
    this.map.delete(first.value[0]);
    this.evicted.push(first.value);
    return first.value;
  }
  clear(): void {
    const all = [...this.map];
    this.map.clear();
    this.evicted.push(...all);
  }
}

describe("LruCache against a Map-based model", () => {
  const runs: [number, number, number][] = [
    // [maxEntries, distinct keys, seed]
    [0, 40, 1],
    [1, 5, 2],
    [3, 10, 3],
    [16, 64, 4],
    [100, 80, 5],
    // Enough keys for the string table to grow several times and to form
    // long probe runs, which removals must close up.
    [0, 1500, 6],
    [500, 1500, 7],
  ];
  for (const [maxEntries, distinct, seed] of runs) {
    const name = "agrees on 20,000 random operations " +
      `with maxEntries ${maxEntries} over ${distinct} keys`;
    it(name, () => {
      const rng = mulberry32(seed);
      const { cache, evicted } = recording<unknown, number>(maxEntries);
      const modelEvicted: [unknown, number][] = [];
      const model = new ModelLru<unknown, number>(maxEntries, modelEvicted);
      // Mixed key types, so both string and non-string keys are exercised.
      const keyOf = (n: number): unknown => (n % 3 === 0 ? n : `k${n}`);
      for (let step = 0; step < 20_000; step++) {
        const k = keyOf(Math.floor(rng() * distinct));
        const r = rng();
        let got: unknown, want: unknown;
        if (r < 0.4) [got, want] = [cache.add(k, step), model.add(k, step)];
        else if (r < 0.7) [got, want] = [cache.get(k), model.get(k)];
        else if (r < 0.8) [got, want] = [cache.peek(k), model.map.get(k)];
        else if (r < 0.85) [got, want] = [cache.has(k), model.map.has(k)];
        else if (r < 0.95) [got, want] = [cache.remove(k), model.remove(k)];
        else if (r < 0.999) {
          [got, want] = [cache.removeOldest(), model.removeOldest()];
        } else [got, want] = [cache.clear(), model.clear()];
        assert.deepEqual(got, want, `step ${step}`);
        assert.equal(cache.size, model.map.size, `size at step ${step}`);
        if (step % 97 === 0) {
          assert.deepEqual([...cache], [...model.map], `order at ${step}`);
          assertConsistent(cache);
        }
      }
      assert.deepEqual(evicted, modelEvicted);
      assert.deepEqual([...cache], [...model.map]);
    });
  }
});
