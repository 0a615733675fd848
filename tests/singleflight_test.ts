// Tests of src/singleflight.ts: one execution per key in flight, shared
// values and errors, release after settling, forget, re-entrancy, and no
// unhandled rejections from the shared promise.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { SingleFlight } from "../src/singleflight.ts";
import { dirname, fromFileUrl, join } from "./_dev/paths.ts";

/** A promise with its settle functions, for calls the test finishes itself. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets queued microtasks and one timer turn run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("SingleFlight.do", () => {
  it("runs fn once for 10,000 concurrent callers of one key and gives all the value", async () => {
    const flight = new SingleFlight();
    const gate = deferred<{ payload: string }>();
    let runs = 0;
    const fn = () => {
      runs++;
      return gate.promise;
    };
    const calls = Array.from({ length: 10_000 }, () => flight.do("k", fn));
    assert.equal(runs, 1);
    assert.equal(flight.size, 1);
    const value = { payload: "loaded" };
    gate.resolve(value);
    const values = await Promise.all(calls);
    assert.equal(runs, 1);
    assert.equal(values.length, 10_000);
    assert.ok(values.every((v) => v === value), "a caller got another value");
  });

  it("shares one error object with every caller", async () => {
    const flight = new SingleFlight();
    const gate = deferred<never>();
    let runs = 0;
    const calls = Array.from({ length: 100 }, () =>
      flight.do("k", () => {
        runs++;
        return gate.promise;
      }));
    const err = new Error("load failed");
    gate.reject(err);
    const outcomes = await Promise.allSettled(calls);
    assert.equal(runs, 1);
    for (const o of outcomes) {
      assert.equal(o.status, "rejected");
      assert.equal((o as PromiseRejectedResult).reason, err);
    }
  });

  it("turns a synchronous throw in fn into a rejection for every caller", async () => {
    const flight = new SingleFlight();
    const err = new Error("thrown synchronously");
    let runs = 0;
    const fn = () => {
      runs++;
      throw err;
    };
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      assert.doesNotThrow(() => calls.push(flight.do("k", fn)));
    }
    const outcomes = await Promise.allSettled(calls);
    assert.equal(runs, 1);
    assert.deepEqual(
      outcomes.map((o) => o.status === "rejected" && o.reason === err),
      [true, true, true],
    );
  });

  it("resolves a plain (non-promise) return value", async () => {
    const flight = new SingleFlight();
    assert.equal(await flight.do("k", () => 7), 7);
    assert.equal(await flight.do("k", () => undefined), undefined);
  });

  it("adopts a thenable that fn returns", async () => {
    const flight = new SingleFlight();
    const thenable = {
      then(ok: (v: string) => void) {
        ok("from a thenable");
      },
    };
    assert.equal(
      await flight.do("k", () => thenable as unknown as Promise<string>),
      "from a thenable",
    );
  });

  const outcomes: [string, () => Promise<string>][] = [
    ["success", () => Promise.resolve("v")],
    ["an async failure", () => Promise.reject(new Error("no"))],
    ["a synchronous throw", () => {
      throw new Error("no");
    }],
  ];
  for (const [what, fn] of outcomes) {
    it(`releases the key after ${what}, so a later call runs fn again`, async () => {
      const flight = new SingleFlight();
      let runs = 0;
      const counted = () => {
        runs++;
        return fn();
      };
      const first = flight.do("k", counted);
      assert.equal(flight.has("k"), true);
      await first.catch(() => {});
      assert.equal(flight.has("k"), false);
      assert.equal(flight.size, 0);
      await flight.do("k", counted).catch(() => {});
      assert.equal(runs, 2);
      assert.equal(flight.has("k"), false);
    });
  }

  it("runs different keys independently", async () => {
    const flight = new SingleFlight();
    const a = deferred<string>();
    const b = deferred<string>();
    const started: string[] = [];
    const pa = flight.do("a", () => {
      started.push("a");
      return a.promise;
    });
    const pb = flight.do("b", () => {
      started.push("b");
      return b.promise;
    });
    assert.deepEqual(started, ["a", "b"]);
    assert.equal(flight.size, 2);
    b.resolve("B");
    assert.equal(await pb, "B");
    assert.equal(flight.has("a"), true);
    assert.equal(flight.has("b"), false);
    a.resolve("A");
    assert.equal(await pa, "A");
    assert.equal(flight.size, 0);
  });

  it("treats keys as exact strings", async () => {
    const flight = new SingleFlight();
    const gate = deferred<string>();
    const keys = ["k", "K", "k ", "", "__proto__", "constructor"];
    let runs = 0;
    const calls = keys.map((key) =>
      flight.do(key, () => {
        runs++;
        return gate.promise.then((v) => v + key);
      })
    );
    assert.equal(runs, keys.length);
    assert.equal(flight.size, keys.length);
    gate.resolve("v:");
    assert.deepEqual(await Promise.all(calls), keys.map((k) => "v:" + k));
  });

  it("lets a call from inside fn join the call in flight", async () => {
    const flight = new SingleFlight();
    let inner: Promise<string> | undefined;
    let hadKey = false;
    let innerRan = false;
    const outer = flight.do("k", () => {
      hadKey = flight.has("k");
      // Not awaited: waiting for itself would never finish.
      inner = flight.do("k", () => {
        innerRan = true;
        return "inner";
      });
      return "outer";
    });
    assert.equal(hadKey, true);
    assert.equal(flight.size, 1);
    assert.deepEqual(await Promise.all([outer, inner]), ["outer", "outer"]);
    assert.equal(innerRan, false);
  });
});

describe("SingleFlight.doShared", () => {
  it("reports shared false for a lone caller", async () => {
    const flight = new SingleFlight();
    assert.deepEqual(await flight.doShared("k", () => "v"), {
      value: "v",
      shared: false,
    });
  });

  it("reports shared true to every caller of a shared execution", async () => {
    const flight = new SingleFlight();
    const gate = deferred<string>();
    let runs = 0;
    const fn = () => {
      runs++;
      return gate.promise;
    };
    const calls = [1, 2, 3].map(() => flight.doShared("k", fn));
    gate.resolve("v");
    assert.deepEqual(await Promise.all(calls), [
      { value: "v", shared: true },
      { value: "v", shared: true },
      { value: "v", shared: true },
    ]);
    assert.equal(runs, 1);
  });

  it("reports shared true when a do caller joined its execution", async () => {
    const flight = new SingleFlight();
    const gate = deferred<string>();
    const first = flight.doShared("k", () => gate.promise);
    const joined = flight.do("k", () => "never runs");
    gate.resolve("v");
    assert.deepEqual(await first, { value: "v", shared: true });
    assert.equal(await joined, "v");
  });

  it("reports shared false for calls one after another", async () => {
    const flight = new SingleFlight();
    for (let i = 0; i < 3; i++) {
      const r = await flight.doShared("k", () => Promise.resolve(i));
      assert.deepEqual(r, { value: i, shared: false });
    }
  });

  it("does not count callers of other keys as sharing", async () => {
    const flight = new SingleFlight();
    const gate = deferred<string>();
    const a = flight.doShared("a", () => gate.promise);
    const b = flight.doShared("b", () => gate.promise);
    gate.resolve("v");
    assert.deepEqual(await Promise.all([a, b]), [
      { value: "v", shared: false },
      { value: "v", shared: false },
    ]);
  });

  it("rejects every caller with the shared error", async () => {
    const flight = new SingleFlight();
    const err = new Error("shared failure");
    const calls = [1, 2].map(() =>
      flight.doShared("k", () => Promise.reject(err))
    );
    for (const call of calls) {
      await assert.rejects(call, (e) => e === err);
    }
    assert.equal(flight.has("k"), false);
  });
});

describe("SingleFlight.forget", () => {
  it("lets a new execution start while the old one runs", async () => {
    const flight = new SingleFlight();
    const old = deferred<string>();
    const fresh = deferred<string>();
    let runs = 0;
    const first = flight.do("k", () => {
      runs++;
      return old.promise;
    });
    const joined = flight.do("k", () => "never runs");
    flight.forget("k");
    assert.equal(flight.has("k"), false);
    const second = flight.do("k", () => {
      runs++;
      return fresh.promise;
    });
    assert.equal(runs, 2);
    fresh.resolve("new");
    assert.equal(await second, "new");
    old.resolve("old");
    assert.deepEqual(await Promise.all([first, joined]), ["old", "old"]);
  });

  it("does not let the forgotten call release the newer one", async () => {
    const flight = new SingleFlight();
    const old = deferred<string>();
    const fresh = deferred<string>();
    const first = flight.do("k", () => old.promise);
    flight.forget("k");
    const second = flight.do("k", () => fresh.promise);
    old.resolve("old");
    await first;
    await settle();
    assert.equal(flight.has("k"), true, "the old call removed the new one");
    let joinedRan = false;
    const third = flight.do("k", () => {
      joinedRan = true;
      return "third";
    });
    fresh.resolve("new");
    assert.deepEqual(await Promise.all([second, third]), ["new", "new"]);
    assert.equal(joinedRan, false);
    assert.equal(flight.has("k"), false);
  });

  it("does nothing for a key not in flight", () => {
    const flight = new SingleFlight();
    assert.doesNotThrow(() => flight.forget("absent"));
    assert.equal(flight.size, 0);
  });

  it("forgets only the key given", async () => {
    const flight = new SingleFlight();
    const gate = deferred<string>();
    const a = flight.do("a", () => gate.promise);
    const b = flight.do("b", () => gate.promise);
    flight.forget("a");
    assert.equal(flight.has("a"), false);
    assert.equal(flight.has("b"), true);
    gate.resolve("v");
    await Promise.all([a, b]);
  });
});

// The test runners of Deno and Bun treat an unhandled rejection as their own
// failure and do not pass it to a node:process listener, so the check runs in
// a child process of the same runtime, where the listener sees every one.
// Each scenario is run in turn; the child prints how many unhandled
// rejections each caused. The first is a control that must report one,
// showing that the detector works; the second is the caller's own promise,
// which must report an ignored failure (as SingleFlight.do documents).
const childScript = (moduleUrl: string) => `
import process from "node:process";
import { SingleFlight } from ${JSON.stringify(moduleUrl)};

let seen = 0;
process.on("unhandledRejection", () => { seen++; });
const pause = () => new Promise((r) => setTimeout(r, 20));
const fail = () => Promise.reject(new Error("async failure"));
const throwing = () => { throw new Error("sync failure"); };
const later = () => new Promise((_, rej) => setTimeout(() => rej(new Error("late")), 5));

const scenarios = {
  "control: a rejected promise nobody handles": async () => {
    Promise.reject(new Error("control"));
  },
  "a failing flight whose caller ignores its promise": async () => {
    new SingleFlight().do("k", fail);
  },
  "do: an async failure, every caller handling it": async (f) => {
    await Promise.allSettled([f.do("k", fail), f.do("k", fail), f.do("k", fail)]);
  },
  "do: a late failure, every caller handling it": async (f) => {
    await Promise.allSettled([f.do("k", later), f.do("k", later)]);
  },
  "do: a synchronous throw, every caller handling it": async (f) => {
    await Promise.allSettled([f.do("k", throwing), f.do("k", throwing)]);
  },
  "doShared: an async failure, every caller handling it": async (f) => {
    await Promise.allSettled([f.doShared("k", fail), f.doShared("k", fail)]);
  },
  "doShared: a synchronous throw, every caller handling it": async (f) => {
    await Promise.allSettled([f.doShared("k", throwing), f.doShared("k", throwing)]);
  },
  "do and doShared callers of one failing flight, all handling it": async (f) => {
    await Promise.allSettled([f.doShared("k", later), f.do("k", later)]);
  },
  "a failing flight forgotten while it runs, its caller handling it": async (f) => {
    const first = f.do("k", later);
    f.forget("k");
    await Promise.allSettled([first, f.do("k", later)]);
  },
  "a failing flight with a re-entrant caller, both handling it": async (f) => {
    let inner;
    const outer = f.do("k", () => {
      inner = f.do("k", fail);
      return later();
    });
    await Promise.allSettled([outer, inner]);
  },
};

const counts = {};
for (const [name, run] of Object.entries(scenarios)) {
  seen = 0;
  await run(new SingleFlight());
  await pause();
  counts[name] = seen;
}
console.log(JSON.stringify(counts));
`;

describe("unhandled rejections", () => {
  let counts: Record<string, number> = {};
  let dir = "";

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "singleflight-"));
    const script = join(dir, "child.mjs");
    const moduleUrl = pathToFileURL(
      join(dirname(fromFileUrl(import.meta.url)), "../src/singleflight.ts"),
    ).href;
    writeFileSync(script, childScript(moduleUrl));
    const args = process.versions.bun !== undefined
      ? [script]
      : process.versions.deno !== undefined
      ? ["run", "--allow-read", script]
      : ["--experimental-strip-types", "--no-warnings", script];
    const out = execFileSync(process.execPath, args, {
      encoding: "utf8",
      timeout: 30_000,
    });
    counts = JSON.parse(out.trim().split("\n").pop()!);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const expected: [string, number][] = [
    ["control: a rejected promise nobody handles", 1],
    ["a failing flight whose caller ignores its promise", 0],
    ["do: an async failure, every caller handling it", 0],
    ["do: a late failure, every caller handling it", 0],
    ["do: a synchronous throw, every caller handling it", 0],
    ["doShared: an async failure, every caller handling it", 0],
    ["doShared: a synchronous throw, every caller handling it", 0],
    ["do and doShared callers of one failing flight, all handling it", 0],
    ["a failing flight forgotten while it runs, its caller handling it", 0],
    ["a failing flight with a re-entrant caller, both handling it", 0],
  ];
  for (const [scenario, want] of expected) {
    it(`reports ${want} for ${scenario}`, () => {
      assert.equal(counts[scenario], want, JSON.stringify(counts));
    });
  }
});
