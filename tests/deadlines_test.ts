// Tests of src/deadlines.ts: many waits of one duration on one timer.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Deadlines } from "../src/deadlines.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `done()` holds, at most 2 s (a loaded machine delays timers). */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 2_000; waited += 10) await sleep(10);
}

describe("Deadlines", () => {
  it("expires items in the order they were added, none before its time", async () => {
    const expired: [string, number][] = [];
    const deadlines = new Deadlines<{ expire(): void }>(30);
    const started = performance.now();
    const item = (name: string) => ({
      expire: () => expired.push([name, performance.now() - started]),
    });
    deadlines.add(item("a"));
    await sleep(10);
    deadlines.add(item("b"));
    await until(() => expired.length === 2);
    assert.deepEqual(expired.map(([name]) => name), ["a", "b"]);
    assert.ok(expired[0][1] >= 29, `a after ${expired[0][1]} ms`);
    assert.ok(expired[1][1] >= 39, `b after ${expired[1][1]} ms`);
    assert.equal(deadlines.size, 0);
  });

  it("never expires an item deleted in time, and keeps one timer for many items", async () => {
    const expired: number[] = [];
    const deadlines = new Deadlines<{ expire(): void }>(20);
    const items = Array.from({ length: 1_000 }, (_, i) => ({
      expire: () => expired.push(i),
    }));
    for (const item of items) deadlines.add(item);
    for (const item of items.filter((_, i) => i % 2 === 0)) {
      deadlines.delete(item);
    }
    await until(() => expired.length >= 500);
    await sleep(30); // and no more come
    assert.equal(expired.length, 500);
    assert.ok(expired.every((i) => i % 2 === 1));
  });

  it("expires an item that expire() of another adds, on its own later deadline", async () => {
    const expired: string[] = [];
    const deadlines = new Deadlines<{ expire(): void }>(100);
    const second = { expire: () => expired.push("second") };
    deadlines.add({
      expire: () => {
        expired.push("first");
        deadlines.add(second);
      },
    });
    await until(() => expired.length === 1);
    assert.deepEqual(expired, ["first"]); // "second" waits its own 100 ms
    await until(() => expired.length === 2);
    assert.deepEqual(expired, ["first", "second"]);
  });
  it("keeps its order through deletes at the front, middle and back, and lets a deleted or cleared item wait again", async () => {
    const expired: string[] = [];
    const deadlines = new Deadlines<{ expire(): void }>(10);
    const items = new Map(
      ["a", "b", "c", "d", "e"].map((name) => [name, {
        expire: () => expired.push(name),
      }]),
    );
    const item = (name: string) => items.get(name)!;
    for (const one of items.values()) deadlines.add(one);
    deadlines.add(item("a")); // already waiting: changes nothing
    deadlines.delete(item("a"));
    deadlines.delete(item("c"));
    deadlines.delete(item("e"));
    deadlines.delete(item("e")); // not waiting: changes nothing
    assert.equal(deadlines.size, 2);
    deadlines.add(item("a")); // waits again, now the newest
    await until(() => expired.length === 3);
    assert.deepEqual(expired, ["b", "d", "a"]);
    assert.equal(deadlines.size, 0);
    deadlines.add(item("c"));
    deadlines.add(item("e"));
    deadlines.clear();
    assert.equal(deadlines.size, 0);
    deadlines.add(item("e")); // cleared, so free to wait again
    assert.equal(deadlines.size, 1);
    await until(() => expired.length === 4);
    await sleep(20);
    assert.deepEqual(expired, ["b", "d", "a", "e"]);
  });
});
