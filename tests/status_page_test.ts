// statusPage(pool) (src/status_page.ts): one self-contained HTML page and
// the JSON it refreshes from, keys left out unless allowed, mounted by the
// user beside (never on) the peer path. The page in a real browser:
// status_browser_test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigError,
  HttpPool,
  Registry,
  silentLogger,
  statusPage,
  type StatusPageJson,
} from "../mod.ts";
import { makeCluster } from "./_dev/cluster.ts";

/** A two-node cluster whose node 1 is down after a get of a key with a secret in it. */
async function clusterWithAKeyInAnError() {
  const c = makeCluster({ nodes: 2, pool: { logger: silentLogger } });
  c.nodes[1].down = true;
  const key = c.keyOwnedBy(1, "secret-key-");
  await c.nodes[0].group.get(key);
  return { c, pool: c.nodes[0].pool, key };
}

describe("statusPage: the HTML page", () => {
  it("is one self-contained page: no URL to fetch but its own JSON, its script and style allowed by a per-response nonce", async () => {
    const pool = new HttpPool("http://a:1", { registry: new Registry() });
    const res = statusPage(pool)(new Request("http://a:1/status"));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(res.headers.get("cache-control"), "no-store");
    const html = await res.text();
    const csp = res.headers.get("content-security-policy")!;
    const nonce = /'nonce-([\w-]+)'/.exec(csp)![1];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    assert.ok(html.includes(`<script nonce="${nonce}">`));
    assert.ok(html.includes(`<style nonce="${nonce}">`));
    // Nothing loaded from elsewhere: no src, no stylesheet, no import.
    assert.doesNotMatch(
      html,
      /\ssrc=|<link rel="stylesheet"|@import|\bimport\s*\(/,
    );
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    assert.deepEqual([...new Set(urls)], ["http://www.w3.org/2000/svg"]);
    assert.match(html, /fetch\("\?format=json"/);
    const other = await statusPage(pool)(new Request("http://a:1/status"))
      .text();
    assert.notEqual(/nonce="([\w-]+)"/.exec(other)![1], nonce);
  });

  it("answers only GET and HEAD", () => {
    const page = statusPage(
      new HttpPool("http://a:1", { registry: new Registry() }),
    );
    assert.equal(
      page(new Request("http://a:1/status", { method: "HEAD" })).status,
      200,
    );
    const post = page(new Request("http://a:1/status", { method: "POST" }));
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  });

  const bad: [string, () => unknown][] = [
    ["no pool", () => statusPage(undefined as unknown as HttpPool)],
    [
      "a refresh of 0 ms",
      () =>
        statusPage(new HttpPool("http://a:1", { registry: new Registry() }), {
          refreshMs: 0,
        }),
    ],
    [
      "a history of NaN minutes",
      () =>
        statusPage(new HttpPool("http://a:1", { registry: new Registry() }), {
          historyMinutes: NaN,
        }),
    ],
  ];
  for (const [what, make] of bad) {
    it(`refuses ${what} with a ConfigError`, () => {
      assert.throws(make, ConfigError);
    });
  }
});

describe("statusPage: the JSON", () => {
  it("is pool.status(), with the ring's points when asked for", async () => {
    const pool = new HttpPool("http://a:1", { registry: new Registry() });
    pool.set("http://a:1", "http://b:1", "http://c:1");
    pool.newGroup("users", 1 << 20, (key) => key);
    const page = statusPage(pool);
    const res = page(new Request("http://a:1/status?format=json"));
    assert.equal(res.headers.get("content-type"), "application/json");
    const json: StatusPageJson = await res.json();
    const { at: _at, ...status } = pool.status();
    const { at: _at2, ...served } = json;
    assert.deepEqual(served, status);
    assert.equal(json.arcs, undefined);
    const { arcs } = await page(
      new Request("http://a:1/status?format=json&arcs=1"),
    ).json();
    assert.equal(arcs.ends.length, 150); // 3 peers, 50 points each
    assert.equal(arcs.owners.length, 150);
    assert.ok(
      arcs.ends.every((e: number, i: number) =>
        i === 0 || e >= arcs.ends[i - 1]
      ),
    );
    assert.deepEqual([...new Set(arcs.owners)].sort(), [0, 1, 2]);
  });

  it("never shows a key unless keys: true", async () => {
    const { pool, key } = await clusterWithAKeyInAnError();
    const hidden = statusPage(pool);
    const shown = statusPage(pool, { keys: true });
    for (
      const url of [
        "http://a/status",
        "http://a/status?format=json",
        "http://a/status?format=json&arcs=1",
      ]
    ) {
      assert.ok(!(await hidden(new Request(url)).text()).includes(key), url);
    }
    const json = await shown(new Request("http://a/status?format=json")).json();
    assert.equal(json.peers[0].lastError.key, key);
  });

  it("adds no work to the peer path: serving peers never reads the status", async () => {
    const c = makeCluster({ nodes: 2 });
    const [a, b] = c.nodes;
    let reads = 0;
    const status = a.pool.status.bind(a.pool);
    a.pool.status = (options) => {
      reads++;
      return status(options);
    };
    const page = statusPage(a.pool);
    for (let i = 0; i < 20; i++) await b.group.get(c.keyOwnedBy(0, `p${i}-`));
    assert.ok(a.requests.length >= 20);
    assert.equal(reads, 0);
    await page(new Request("http://a/status?format=json")).json();
    assert.equal(reads, 1);
  });
});
