// When the origin has nothing or fails (issue 22): NotFoundError answered
// distinguishably by our owners and remembered for notFoundTtlMs; an owner's
// getter error fails the get without a second, local getter run (unless
// onOwnerError: "load-locally"); Go-style ambiguous 500s still load locally.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  Group,
  HttpPool,
  NotFoundError,
  PeerError,
  Registry,
} from "../mod.ts";
import { makeCluster } from "./_dev/cluster.ts";
import { loopbackCluster } from "./_dev/loopback_cluster.ts";

const MiB = 1 << 20;

/** A getter with nothing for keys starting "missing", counting its runs. */
function origin() {
  const runs = new Map<string, number>();
  const value = (key: string) => {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    if (key.startsWith("missing")) throw new NotFoundError(`no such ${key}`);
    return `v:${key}`;
  };
  return { runs, value };
}

describe("NotFoundError on one node", () => {
  it("rejects with the getter's NotFoundError and remembers it for notFoundTtlMs", async () => {
    let now = 1_000;
    const { runs, value } = origin();
    const g = new Group("nf", MiB, value, {
      registry: new Registry(),
      now: () => now,
      notFoundTtlMs: 500,
    });
    await assert.rejects(g.get("missing-a"), {
      name: "NotFoundError",
      message: "no such missing-a",
    });
    now += 499;
    await assert.rejects(g.get("missing-a"), NotFoundError); // remembered
    assert.equal(runs.get("missing-a"), 1);
    now += 1; // the not-found's expiry: asked again
    await assert.rejects(g.get("missing-a"), NotFoundError);
    assert.equal(runs.get("missing-a"), 2);
    const s = g.stats;
    assert.deepEqual([s.notFounds, s.negativeHits, s.localLoadErrs], [2, 1, 0]);
    // Negative entries are not values: the main cache holds none.
    assert.equal(g.cacheStats("main").items, 0);
  });

  it("remembers nothing with notFoundTtlMs 0", async () => {
    const { runs, value } = origin();
    const g = new Group("nf0", MiB, value, {
      registry: new Registry(),
      notFoundTtlMs: 0,
    });
    for (let i = 0; i < 3; i++) {
      await assert.rejects(g.get("missing-a"), NotFoundError);
    }
    assert.equal(runs.get("missing-a"), 3);
  });

  it("remembers for 1 s by default", async () => {
    let now = 0;
    const { runs, value } = origin();
    const g = new Group("nfd", MiB, value, {
      registry: new Registry(),
      now: () => now,
    });
    await assert.rejects(g.get("missing-a"), NotFoundError);
    now = 999;
    await assert.rejects(g.get("missing-a"), NotFoundError);
    now = 1_000;
    await assert.rejects(g.get("missing-a"), NotFoundError);
    assert.equal(runs.get("missing-a"), 2);
  });

  for (const write of ["set", "remove"] as const) {
    it(`forgets a remembered not-found on ${write}`, async () => {
      const { runs, value } = origin();
      const g = new Group(`nf-${write}`, MiB, value, {
        registry: new Registry(),
        notFoundTtlMs: 60_000,
      });
      await assert.rejects(g.get("missing-a"), NotFoundError);
      if (write === "set") {
        await g.set("missing-a", "now here");
        assert.equal((await g.get("missing-a")).toString(), "now here");
        assert.equal(runs.get("missing-a"), 1);
      } else {
        await g.remove("missing-a");
        await assert.rejects(g.get("missing-a"), NotFoundError);
        assert.equal(runs.get("missing-a"), 2);
      }
    });
  }

  it("charges not-founds to the budget, and they give way before values", async () => {
    const { value } = origin();
    const g = new Group("nfb", 20_000, value, {
      registry: new Registry(),
      notFoundTtlMs: 60_000,
    });
    for (let i = 0; i < 40; i++) await g.get(`k${i}`);
    const main = g.cacheStats("main");
    for (let i = 0; i < 1_000; i++) {
      await assert.rejects(g.get(`missing-${i}`), NotFoundError);
    }
    // A flood of missing keys evicted no value, and stayed within budget.
    assert.deepEqual(g.cacheStats("main"), {
      ...main,
      gets: main.gets + 1_000,
    });
    assert.ok(main.bytes < 20_000 && main.items === 40);
  });

  it("refuses a notFoundTtlMs or onOwnerError it cannot use", () => {
    const registry = new Registry();
    for (
      const options of [
        { notFoundTtlMs: -1 },
        { notFoundTtlMs: Infinity },
        { onOwnerError: "retry" as "fail" },
      ]
    ) {
      assert.throws(
        () => new Group("bad", MiB, () => "", { registry, ...options }),
        ConfigError,
      );
    }
  });
});

describe("NotFoundError and owner errors between nodes", () => {
  it("a non-owner rejects with NotFoundError without running its getter; the owner remembers it", async () => {
    const runs = [0, 0];
    const c = makeCluster({
      nodes: 2,
      value: (key, node) => {
        runs[node]++;
        throw new NotFoundError(`nothing for ${key}`);
      },
    });
    const key = c.keyOwnedBy(1);
    for (let i = 0; i < 3; i++) {
      await assert.rejects(c.nodes[0].group.get(key), (err: Error) => {
        assert.ok(err instanceof NotFoundError);
        assert.match(err.message, /^peer http:\/\/node1\.test, group test/);
        assert.match(err.message, /nothing for key-0$/);
        return true;
      });
    }
    assert.deepEqual(runs, [0, 1]);
    const [a, b] = c.nodes.map((n) => n.group.stats);
    assert.deepEqual([a.peerErrors, a.notFounds, a.localLoadErrs], [0, 0, 0]);
    assert.deepEqual([b.notFounds, b.negativeHits], [1, 2]);
  });

  it("a set through a non-owner clears the owner's remembered not-found", async () => {
    const c = makeCluster({
      nodes: 2,
      value: (key) => {
        throw new NotFoundError(`nothing for ${key}`);
      },
      groupOptions: { notFoundTtlMs: 60_000 },
      pool: { secret: "not-found test secret" }, // writes between the nodes
    });
    const key = c.keyOwnedBy(1);
    await assert.rejects(c.nodes[0].group.get(key), NotFoundError);
    await c.nodes[0].group.set(key, "made");
    assert.equal((await c.nodes[0].group.get(key)).toString(), "made");
    await c.nodes[0].group.remove(key);
    await assert.rejects(c.nodes[0].group.get(key), NotFoundError);
    assert.equal(c.nodes[1].loads.get(key), 2); // asked again after the remove
  });

  it("an owner's getter error rejects with PeerError reason getter, the owner's URL and message, and no local load", async () => {
    const c = makeCluster({
      nodes: 2,
      value: (key) => {
        throw new Error(`origin down for ${key}`);
      },
    });
    const key = c.keyOwnedBy(1);
    const err = await c.nodes[0].group.get(key).catch((e) => e);
    assert.ok(err instanceof PeerError);
    assert.deepEqual([err.reason, err.peer, err.status], [
      "getter",
      "http://node1.test",
      500,
    ]);
    assert.match(err.message, /origin down for key-0/);
    assert.equal(c.nodes[0].loads.get(key), undefined);
    assert.equal(c.nodes[1].loads.get(key), 1);
    const s = c.nodes[0].group.stats;
    assert.deepEqual([s.ownerErrors, s.peerErrors, s.localLoadErrs], [1, 0, 0]);
    assert.equal(c.nodes[0].pool.peerHealth()[0].state, "up");
  });

  it("an ambiguous 500 (a Go or mailgun owner's getter error) still loads locally", async () => {
    const pool = new HttpPool("http://a.test", {
      registry: new Registry(),
      fetch: () => Promise.resolve(new Response("boom\n", { status: 500 })),
    });
    pool.set("http://a.test", "http://b.test");
    let key = "k";
    for (let i = 0; pool.owner(key) !== "http://b.test"; i++) key = `k${i}`;
    const g = new Group("go", MiB, (k) => `local:${k}`, { peers: pool });
    assert.equal((await g.get(key)).toString(), `local:${key}`);
    assert.deepEqual([g.stats.peerErrors, g.stats.ownerErrors], [1, 0]);
  });

  it("answers not-found 404 and getter errors 500, each with x-groupcache-error", async () => {
    const registry = new Registry();
    const pool = new HttpPool("http://a.test", { registry });
    new Group("w", MiB, (key) => {
      if (key === "none") throw new NotFoundError("no none");
      throw new Error("broken");
    }, { registry });
    const none = await pool.handler(
      new Request("http://a.test/_groupcache/w/none"),
    );
    assert.deepEqual(
      [none.status, none.headers.get("x-groupcache-error"), await none.text()],
      [404, "not-found", "no none\n"],
    );
    const broken = await pool.handler(
      new Request("http://a.test/_groupcache/w/x"),
    );
    assert.deepEqual(
      [
        broken.status,
        broken.headers.get("x-groupcache-error"),
        await broken.text(),
      ],
      [500, "getter", "broken\n"],
    );
    // A 404 of the router (no such group) has no such header.
    const group = await pool.handler(
      new Request("http://a.test/_groupcache/nope/x"),
    );
    assert.deepEqual([group.status, group.headers.get("x-groupcache-error")], [
      404,
      null,
    ]);
  });

  it("counts not-founds, negative hits and owner errors in pool.metrics()", async () => {
    const c = makeCluster({
      nodes: 2,
      value: (key) => {
        if (key.startsWith("m")) throw new NotFoundError();
        throw new Error("down");
      },
    });
    const missing = c.keyOwnedBy(0, "m");
    await assert.rejects(c.nodes[0].group.get(missing), NotFoundError);
    await assert.rejects(c.nodes[0].group.get(missing), NotFoundError);
    await assert.rejects(c.nodes[0].group.get(c.keyOwnedBy(1, "x")), {
      reason: "getter",
    });
    const text = c.nodes[0].pool.metrics();
    assert.match(text, /^groupcache_not_founds_total\{group="test"\} 1$/m);
    assert.match(text, /^groupcache_negative_hits_total\{group="test"\} 1$/m);
    assert.match(text, /^groupcache_owner_errors_total\{group="test"\} 1$/m);
  });
});

describe("over loopback HTTP, 3 nodes", () => {
  it("1,000 gets of 20 missing keys from every node run the getter once per key", async () => {
    let runs = 0;
    const c = await loopbackCluster(3, "nf", () => (key) => {
      runs++;
      throw new NotFoundError(`no ${key}`);
    }, { notFoundTtlMs: 60_000 });
    try {
      const gets = [];
      for (let i = 0; i < 1_000; i++) {
        const node = c.nodes[i % 3];
        gets.push(
          node.group.get(`missing-${i % 20}`).then(
            () => "value",
            (err) => err.name,
          ),
        );
      }
      const names = new Set(await Promise.all(gets));
      assert.deepEqual([...names], ["NotFoundError"]);
      assert.equal(runs, 20);
    } finally {
      await c.close();
    }
  });

  it("an owner whose getter fails runs it once per failing request", async () => {
    let runs = 0;
    const c = await loopbackCluster(3, "ge", () => async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 1));
      throw new Error("origin down");
    });
    try {
      for (let i = 0; i < 30; i++) {
        const node = c.nodes[i % 3];
        const err = await node.group.get(`k${i}`).catch((e) => e);
        const mine = c.ownerOf(`k${i}`) === node;
        assert.equal(err.name, mine ? "Error" : "PeerError");
      }
      assert.equal(runs, 30);
    } finally {
      await c.close();
    }
  });
});
