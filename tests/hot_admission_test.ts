// Tests of src/hot_admission.ts and of the group's hot-cache policies:
// "popular" (the default), "go", "always", "never".
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, Group, type HotCachePolicy, Registry } from "../mod.ts";
import { Doorkeeper, doorkeeperCapacity } from "../src/hot_admission.ts";
import { makeCluster } from "./_dev/cluster.ts";
import { seededRandom, zipfSampler } from "./_dev/random.ts";

describe("Doorkeeper", () => {
  it("lets a key in the second time it comes within the window, never the first", () => {
    const door = new Doorkeeper(100);
    const rng = seededRandom(3);
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const key = `k${Math.floor(rng() * 50)}`;
      // Within a window larger than the key space the answer is exact.
      assert.equal(door.admit(key), seen.has(key), key);
      if (seen.has(key)) seen.delete(key);
      else seen.add(key);
    }
  });

  it("forgets the oldest key past its capacity, so a scan cannot prime it", () => {
    const door = new Doorkeeper(3);
    for (const key of ["a", "b", "c", "d"]) door.admit(key);
    assert.equal(door.size, 3);
    assert.equal(door.admit("a"), false); // pushed out by "d"
    assert.equal(door.admit("d"), true);
  });

  it("remembers one key per 4 KiB of budget (at least 64): about 2 % of it for 80-byte keys", () => {
    assert.equal(doorkeeperCapacity(1_000), 64);
    assert.equal(doorkeeperCapacity(64 << 20), 16_384);
    for (let budget = 1 << 20; budget <= 2 ** 32; budget *= 4) {
      assert.ok(doorkeeperCapacity(budget) * 80 <= 0.05 * budget);
    }
  });
});

describe("Hot-cache policies", () => {
  const remoteKeysOf = (
    c: ReturnType<typeof makeCluster>,
    owner: number,
    n: number,
    p = "r",
  ) => Array.from({ length: n }, (_, i) => c.keyOwnedBy(owner, `${p}${i}-`));
  const remoteKeys = (c: ReturnType<typeof makeCluster>, n: number, p = "r") =>
    remoteKeysOf(c, 1, n, p);
  const cluster = (hotCache: HotCachePolicy, cacheBytes = 1 << 20) =>
    makeCluster({
      nodes: 2,
      cacheBytes,
      // Go's accounting: the budgets below count entries of ~30 bytes.
      groupOptions: { hotCache, entryOverhead: 0 },
    });

  it("refuses an unknown policy with a ConfigError", () => {
    assert.throws(
      () =>
        new Group("g", 1024, (k) => k, {
          registry: new Registry(),
          hotCache: "sometimes" as HotCachePolicy,
        }),
      ConfigError,
    );
  });

  it('"never" mirrors nothing and "always" everything', async () => {
    for (const [policy, expected] of [["never", 0], ["always", 50]] as const) {
      const c = cluster(policy);
      for (const key of remoteKeys(c, 50)) await c.nodes[0].group.get(key);
      const g = c.nodes[0].group;
      assert.equal(g.cacheStats("hot").items, expected, policy);
      assert.equal(g.stats.hotAdmissions, expected);
      assert.equal(g.stats.hotRejections, 50 - expected);
    }
  });

  it('"popular" (the default) mirrors every key while there is room, then a key only the second time it is fetched', async () => {
    const c = makeCluster({
      nodes: 2,
      cacheBytes: 300,
      groupOptions: { entryOverhead: 0 }, // Go's accounting: room for ~10
    });
    const g = c.nodes[0].group;
    const keys = remoteKeys(c, 100);
    let i = 0;
    // While the budget has room, each first fetch is mirrored.
    for (; g.stats.hotRejections === 0; i++) await g.get(keys[i]);
    assert.ok(i > 5, `only ${i} fit`);
    assert.equal(g.stats.hotAdmissions, i - 1);
    // Full: a new key gets in the second time it is fetched, not the first.
    const key = keys[i];
    await g.get(key);
    assert.equal(await countMirrored(c, [key]), 0); // fetched again: now in
    assert.equal(await countMirrored(c, [key]), 1);
  });

  it('"popular" keeps every popular key through a scan of 10,000 one-off keys', async () => {
    // Room in the hot cache for about 40 entries of ~30 bytes.
    const c = cluster("popular", 1_200);
    const g = c.nodes[0].group;
    const popular = remoteKeys(c, 40, "p");
    for (let round = 0; round < 4; round++) {
      for (const key of popular) await g.get(key);
    }
    const hotBefore = await countMirrored(c, popular);
    assert.ok(hotBefore >= 36, `only ${hotBefore} popular keys mirrored`);
    for (let i = 0; i < 10_000; i++) await g.get(c.keyOwnedBy(1, `scan-${i}-`));
    assert.equal(await countMirrored(c, popular), hotBefore);
    // Scan keys filled the room that was left, and displaced nothing.
    assert.equal(g.cacheStats("hot").evictions, 0);
    assert.ok(g.stats.hotRejections > 9_000);
  });

  it('"popular" keeps its hot keys through a scan of 50,000 keys that starts while the budget has room', async () => {
    // Three nodes warmed briefly: the hot keys are mirrored, the budget is
    // far from full; then a scan fills it, mirroring every remote key it
    // meets while there is room, and evicting once there is none.
    const c = makeCluster({ nodes: 3, cacheBytes: 2 << 20 });
    const g = c.nodes[0].group;
    const hot = [...remoteKeys(c, 40, "p"), ...remoteKeysOf(c, 2, 35, "p")];
    for (let round = 0; round < 3; round++) {
      for (const key of hot) await g.get(key);
    }
    const hotBefore = await countMirrored(c, hot);
    assert.equal(hotBefore, hot.length);
    const { bytes: before } = g.cacheStats("hot");
    assert.ok(before < (2 << 20) / 16, `hot cache ${before} bytes: not low`);
    for (let i = 0; i < 50_000; i++) await g.get(`scan-${i}`);
    assert.ok(g.cacheStats("hot").evictions > 1_000, "the scan evicted");
    const after = await countMirrored(c, hot);
    assert.ok(after >= 0.9 * hotBefore, `${after} of ${hotBefore} still hot`);
  });

  it('"always" loses its popular keys to the same scan (mailgun\'s rule)', async () => {
    const c = cluster("always", 1_200);
    const g = c.nodes[0].group;
    const popular = remoteKeys(c, 40, "p");
    for (let round = 0; round < 4; round++) {
      for (const key of popular) await g.get(key);
    }
    for (let i = 0; i < 2_000; i++) await g.get(c.keyOwnedBy(1, `scan-${i}-`));
    assert.equal(await countMirrored(c, popular), 0);
  });

  it('"popular" asks owners for hot keys far less often than "go" on a Zipf stream', async () => {
    const fetchesPerGet = async (policy: HotCachePolicy) => {
      const c = makeCluster({
        nodes: 2,
        groupOptions: { hotCache: policy, random: seededRandom(5) },
      });
      const keys = remoteKeys(c, 500);
      const zipf = zipfSampler(keys.length, seededRandom(9));
      for (let i = 0; i < 5_000; i++) await c.nodes[0].group.get(keys[zipf()]);
      const before = c.nodes[1].requests.length;
      for (let i = 0; i < 5_000; i++) await c.nodes[0].group.get(keys[zipf()]);
      return (c.nodes[1].requests.length - before) / 5_000;
    };
    const popular = await fetchesPerGet("popular");
    const go = await fetchesPerGet("go");
    assert.ok(popular < go / 3, `popular ${popular}, go ${go}`);
  });
});

/** How many of `keys` node 0 answers without asking another node. */
async function countMirrored(
  c: ReturnType<typeof makeCluster>,
  keys: string[],
): Promise<number> {
  const asked = () => c.nodes.reduce((n, node) => n + node.requests.length, 0);
  let mirrored = 0;
  for (const key of keys) {
    const before = asked();
    await c.nodes[0].group.get(key);
    if (asked() === before) mirrored++;
  }
  return mirrored;
}
