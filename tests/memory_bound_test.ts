import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  ENTRY_OVERHEAD,
  type GetterContext,
  Group,
  Registry,
} from "../mod.ts";
import { collector, liveBytes } from "./_dev/memory.ts";

/**
 * Live bytes, collected around a turn of the event loop too, so that
 * buffers freed by the first collection are gone.
 */
async function live(gc: () => void): Promise<number> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 10));
  return liveBytes(gc);
}

const utf8 = (s: string) => new TextEncoder().encode(s).length;

describe("The byte budget", () => {
  it("charges ENTRY_OVERHEAD per entry by default, entryOverhead when given, Go's figure with 0", async () => {
    for (
      const [entryOverhead, charge] of [[undefined, ENTRY_OVERHEAD], [0, 0], [
        7,
        7,
      ]]
    ) {
      const g = new Group("charge", 1 << 20, () => "value", {
        registry: new Registry(),
        entryOverhead,
      });
      await g.get("key");
      assert.equal(g.cacheStats("main").bytes, 3 + 5 + charge!);
    }
    for (const bad of [-1, 1.5, NaN, "8"]) {
      assert.throws(
        () =>
          new Group("bad", 1024, (k) => k, {
            registry: new Registry(),
            entryOverhead: bad as number,
          }),
        ConfigError,
      );
    }
  });

  it("hands back uncached, evicting nothing, a value whose charge exceeds the budget", async () => {
    const budget = 64 << 10;
    const g = new Group("over", budget, (key) => {
      if (key === "fits") return new Uint8Array(budget - 4 - ENTRY_OVERHEAD);
      if (key === "over") {
        return new Uint8Array(budget - 4 - ENTRY_OVERHEAD + 1);
      }
      return "x";
    }, { registry: new Registry() });
    await g.get("a");
    assert.equal((await g.get("over")).length, budget - 3 - ENTRY_OVERHEAD);
    assert.deepEqual(
      [g.cacheStats("main").items, g.cacheStats("main").evictions],
      [1, 0],
    );
    await g.get("fits"); // exactly the budget: cached, the rest evicted
    assert.deepEqual(
      [g.cacheStats("main").items, g.cacheStats("main").bytes],
      [1, budget],
    );
  });

  it("counts key bytes, value bytes and the per-entry overhead of every entry held", async () => {
    // The model: the group's LRU order and Go's eviction rule, with each
    // entry charged key + value + ENTRY_OVERHEAD.
    for (const size of [1, 100, 10_000, 300_000, 1 << 20]) {
      const budget = 4 << 20;
      const g = new Group("bound", budget, () => new Uint8Array(size), {
        registry: new Registry(),
      });
      const model: [string, number][] = [];
      let modelBytes = 0;
      for (let i = 0; i < 200; i++) {
        const key = `key:${i}`;
        await g.get(key);
        const charge = utf8(key) + size + ENTRY_OVERHEAD;
        model.push([key, charge]);
        modelBytes += charge;
        while (modelBytes > budget) modelBytes -= model.shift()![1];
      }
      const stats = g.cacheStats("main");
      assert.equal(stats.items, model.length, `${size}-byte values`);
      assert.equal(stats.bytes, modelBytes, `${size}-byte values`);
      assert.ok(stats.bytes <= budget);
    }
  });

  it("hands the getter a context with no accessor of its own, whose signal follows the load", async () => {
    // An accessor made per miss (an object literal's `get signal()`) kept
    // each miss's sink and value copy alive through V8's young collections:
    // a churn of 1-KiB values grew Deno's RSS by 198 MiB where a bounded
    // Map grows it by 139 (bench/memory_bench.ts); the class's one getter
    // on its prototype does not.
    const contexts: GetterContext[] = [];
    const leaving = new AbortController();
    const g = new Group("context", 1 << 20, async (key, _dest, context) => {
      contexts.push(context);
      if (key === "slow") {
        await new Promise((r) => context.signal.addEventListener("abort", r));
      }
      return key;
    }, { registry: new Registry() });
    await g.get("a");
    await g.get("b");
    const slow = g.get("slow", { signal: leaving.signal });
    leaving.abort(new Error("gone"));
    await assert.rejects(slow, /gone/);
    assert.equal(contexts.length, 3);
    for (const context of contexts) {
      assert.equal(
        Object.getOwnPropertyDescriptor(context, "signal"),
        undefined,
      );
    }
    assert.equal(contexts[0].signal.aborted, false);
    assert.equal(contexts[2].signal.aborted, true, "the last caller left");
  });

  it("bounds the live heap: distinct keys through 4 MiB grow it by at most 2 × cacheBytes, 1-byte to 256 KiB values", async () => {
    const gc = collector();
    const budget = 4 << 20;
    // Every group stays alive (a dropped one may be freed during the next
    // measurement and hide its growth): each is measured by what it adds.
    const groups: Group[] = [];
    for (const size of [1, 100, 10_000, 256 << 10]) {
      const keys = Math.min(100_000, Math.ceil((8 * budget) / size));
      const value = new Uint8Array(size);
      const before = await live(gc);
      const g = new Group("heap", budget, () => value, {
        registry: new Registry(),
      });
      groups.push(g);
      for (let i = 0; i < keys; i++) await g.get(`key:${i}`);
      const growth = (await live(gc)) - before;
      assert.ok(g.cacheStats("main").evictions > 0, "the budget was filled");
      console.log(`${size} B: ${(growth / budget).toFixed(2)} × cacheBytes`);
      assert.ok(
        growth <= 2 * budget,
        `${size}-byte values: the heap grew by ${growth} bytes, ` +
          `${(growth / budget).toFixed(2)} × cacheBytes`,
      );
    }
  });
});
