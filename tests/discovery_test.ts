// What every peer source does with a found list (src/discovery.ts): sorted,
// this node always in, pool.set only on a change, bad entries dropped with
// one warning each.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, HttpPool, Registry } from "../mod.ts";
import { loggerOption, PeerListWriter, sleep } from "../src/discovery.ts";
import { recordingLogger } from "./_dev/logs.ts";

const SELF = "http://10.0.0.2:8000";

function setup() {
  const pool = new HttpPool(SELF, { registry: new Registry() });
  const sets: string[][] = [];
  const set = pool.set.bind(pool);
  pool.set = (...peers: string[]) => {
    sets.push(peers);
    set(...peers);
  };
  const log = recordingLogger();
  const writer = new PeerListWriter(pool, "test source", log.logger);
  return { pool, sets, log, writer };
}

describe("PeerListWriter", () => {
  const cases: [string, string[], string[]][] = [
    [
      "sorts the list, so every node builds the same ring",
      ["http://10.0.0.3:8000", SELF, "http://10.0.0.1:8000"],
      ["http://10.0.0.1:8000", SELF, "http://10.0.0.3:8000"],
    ],
    [
      "adds this node when the source does not list it",
      ["http://10.0.0.3:8000"],
      [SELF, "http://10.0.0.3:8000"],
    ],
    [
      "lists each peer once",
      ["http://10.0.0.3:8000", "http://10.0.0.3:8000", SELF],
      [SELF, "http://10.0.0.3:8000"],
    ],
    ["keeps this node alone when the source lists nobody", [], [SELF]],
  ];
  for (const [name, found, want] of cases) {
    it(name, () => {
      const { pool, writer } = setup();
      assert.equal(writer.apply(found), true);
      assert.deepEqual(pool.peers, want);
      assert.deepEqual(writer.peers, want);
    });
  }

  it("calls pool.set only when the set changed, whatever the order", () => {
    const { sets, writer, log } = setup();
    const a = "http://10.0.0.1:8000", b = "http://10.0.0.3:8000";
    writer.apply([a, b]);
    writer.apply([b, a, SELF]);
    writer.apply([SELF, a, b]);
    assert.equal(sets.length, 1);
    writer.apply([a]);
    assert.deepEqual(sets, [[a, SELF, b], [a, SELF]]);
    assert.deepEqual(log.find("info", /test source/), [
      `groupcache test source: 3 peers, joined: ${a} ${SELF} ${b}`,
      `groupcache test source: 2 peers, left: ${b}`,
    ]);
  });

  it("drops what is not a peer URL, warning once per entry", () => {
    const { pool, writer, log } = setup();
    const good = "http://10.0.0.1:8000";
    for (let i = 0; i < 3; i++) {
      writer.apply([
        good,
        "10.0.0.9:8000",
        "http://10.0.0.8:8000/",
        "http://10.0.0.7:8000/_groupcache",
      ]);
    }
    assert.deepEqual(pool.peers, [good, SELF]);
    const warnings = log.find("warn", /ignored/);
    assert.equal(warnings.length, 3, warnings.join("\n"));
    assert.match(warnings[0], /"10\.0\.0\.9:8000" is not a URL/);
    assert.match(warnings[1], /must not end with "\/"/);
    assert.match(warnings[2], /contains the base path \/_groupcache\//);
  });

  it("drops hosts that are not host names and ports outside 1-65535", () => {
    const { pool, writer, log } = setup();
    const bad = [
      "http://zero.peers.test:0",
      "http://x\\@evil.test:8004",
      "http://evil\\040host.peers.test:8003",
      "http://evil host:8003",
      "http://-lead.test:1",
      "http://a..b:1",
      "http://big.test:65536",
    ];
    for (let i = 0; i < 2; i++) writer.apply(["http://n1.test:1", ...bad]);
    assert.deepEqual(pool.peers, [SELF, "http://n1.test:1"]);
    assert.equal(log.find("warn", /ignored/).length, bad.length);
  });
});

describe("loggerOption", () => {
  it("defaults to console and takes anything console-shaped", () => {
    assert.equal(loggerOption(undefined), console);
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    assert.equal(loggerOption(quiet), quiet);
  });
  const bad: [string, unknown][] = [
    ["null", null],
    ["an object without methods", {}],
    ["an object without debug and error", { info() {}, warn() {} }],
    ["a string", "console"],
  ];
  for (const [name, logger] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => loggerOption(logger), ConfigError);
    });
  }
});

describe("sleep", () => {
  it("ends at once when its signal aborts", async () => {
    const stop = new AbortController();
    const start = performance.now();
    const slept = sleep(10_000, stop.signal);
    stop.abort();
    await slept;
    assert.ok(performance.now() - start < 1_000);
  });
});
